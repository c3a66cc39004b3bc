/**
 * [MQTT-3.1.2-24] beyond PUBLISH: a CONNACK, SUBACK or UNSUBACK that the client's Maximum Packet
 * Size cannot hold is not sent. A CONNACK that does not fit refuses the CONNECT with a bare 0x95
 * before any session is touched; an ack that does not fit ends the connection with a bare
 * DISCONNECT 0x95 (the Reason String is dropped first: [MQTT-3.14.2-3]).
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { Packet } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, tryConnect, until } from '../helpers/broker-client.js';

/** The size of the CONNACK this broker sends a 5.0 client with a given id: its properties included. */
function wireSize(p: Packet): number {
  return encode(p, 5).length;
}

describe('MQTT 5.0 control packets larger than the client accepts', () => {
  // [MQTT-3.1.2-24] the success CONNACK (19 bytes with every property said outright, 8 without
  // those that restate their defaults) cannot fit 7 bytes: the broker answers a bare CONNACK 0x95
  // (5 bytes) instead, and opens and takes over nothing. At 8 bytes the short CONNACK goes out.
  it('refuses a CONNECT whose CONNACK would exceed the client\'s Maximum Packet Size, leaving the session and the connection it would take over alone', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: first } = await connect(broker, { protocolVersion: 5, clientId: 'same', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribe('kept/#', 1);
    const chunks: Buffer[] = [];
    const second = openClient(broker, 5);
    second.stream.on('data', (c: Buffer) => chunks.push(c));
    second.send({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'same', properties: { maximumPacketSize: 7 } });
    const connack = await second.expect('connack');
    expect(connack).toMatchObject({ reasonCode: ReasonCode.PacketTooLarge });
    expect(connack.properties?.reasonString).toBeUndefined();
    await second.expectClosed();
    expect(Buffer.concat(chunks).length).toBeLessThanOrEqual(7);
    // Clean Start 1 would have discarded the session and taken the connection over: neither happened.
    expect(first.closed).toBe(false);
    expect(broker.inspect.session('same')).toMatchObject({ connected: true });
    expect(broker.inspect.session('same')?.subscriptions.map((o) => o.topicFilter)).toEqual(['kept/#']);
    // With room for the short CONNACK another client connects: only Topic Alias Maximum is said.
    const { connack: short } = await tryConnect(broker, { protocolVersion: 5, clientId: 'other', properties: { maximumPacketSize: 8 } });
    expect(short).toMatchObject({ reasonCode: ReasonCode.Success, properties: { topicAliasMaximum: 65535 } });
    expect(Object.keys(short.properties ?? {})).toEqual(['topicAliasMaximum']);
    const { connack: full } = await tryConnect(broker, { protocolVersion: 5, clientId: 'roomy', properties: { maximumPacketSize: 64 } });
    expect(full.properties).toMatchObject({ receiveMaximum: 65535, retainAvailable: 1, sharedSubscriptionAvailable: 1 });
  });

  // [MQTT-3.1.2-24] a CONNACK too large even for a bare refusal (limit 4 < 5 bytes): nothing is sent, the connection closes.
  it('sends nothing at all when not even the bare refusal fits, and closes', async (ctx) => {
    const broker = brokerFor(ctx);
    const client = openClient(broker, 5);
    const chunks: Buffer[] = [];
    client.stream.on('data', (c: Buffer) => chunks.push(c));
    client.send({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'tiny', properties: { maximumPacketSize: 4 } });
    await client.expectClosed();
    expect(chunks).toEqual([]);
    expect(broker.inspect.session('tiny')).toBeUndefined();
  });

  // [MQTT-3.1.2-24] a SUBACK with one code per filter outgrows a small limit: it is not sent; a
  // bare DISCONNECT 0x95 (3 bytes) is, and the connection closes. A SUBACK that fits still goes out.
  it('ends the connection with DISCONNECT 0x95 instead of sending a SUBACK or UNSUBACK larger than the client accepts', async (ctx) => {
    const broker = brokerFor(ctx);
    const probe = wireSize({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 65535, retainAvailable: 1, topicAliasMaximum: 65535, wildcardSubscriptionAvailable: 1, subscriptionIdentifiersAvailable: 1, sharedSubscriptionAvailable: 1 } });
    const limit = Math.max(probe, 24);
    for (const kind of ['subscribe', 'unsubscribe'] as const) {
      const { client } = await connect(broker, { protocolVersion: 5, clientId: `acks-${kind}`, properties: { maximumPacketSize: limit } });
      const chunks: Buffer[] = [];
      client.stream.on('data', (c: Buffer) => chunks.push(c));
      // Two filters fit (2 + 2 + 1 + 2 bytes); limit - 4 filters make an ack of limit + 1 bytes.
      const few = ['a/1', 'a/2'];
      const many = Array.from({ length: limit - 4 }, (_, i) => `m/${i}`);
      if (kind === 'subscribe') {
        expect((await client.subscribe(few, 0)).reasonCodes).toEqual([0, 0]);
        client.send({ type: 'subscribe', packetId: 7, subscriptions: many.map((topicFilter) => ({ topicFilter, qos: 0 })) });
      } else {
        client.send({ type: 'unsubscribe', packetId: 6, topicFilters: few });
        expect(await client.expect('unsuback')).toMatchObject({ reasonCodes: [0x11, 0x11] });
        client.send({ type: 'unsubscribe', packetId: 7, topicFilters: many });
      }
      const disconnect = await client.expect('disconnect');
      expect(disconnect, kind).toMatchObject({ reasonCode: ReasonCode.PacketTooLarge });
      expect(disconnect.properties?.reasonString).toBeUndefined();
      await client.expectClosed();
      for (const c of chunks) expect(c.length, kind).toBeLessThanOrEqual(limit);
    }
    await until(() => broker.inspect.session('acks-subscribe') === undefined);
  });
});
