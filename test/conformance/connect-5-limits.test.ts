/**
 * MQTT 5.0 CONNECT properties that bind what the server sends afterwards (section 3.1.2.11):
 * Maximum Packet Size on the paths a message takes besides a live delivery (retained on
 * subscribe, queued while offline), Request Response Information 0, Request Problem Information 0.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { Packet } from '../../src/core/codec/types.js';
import { brokerFor, connect, tryConnect, until } from '../helpers/broker-client.js';

describe('MQTT 5.0 Maximum Packet Size of the client (3.1.2.11.4)', () => {
  // [MQTT-3.1.2-24] nothing larger than the client's Maximum Packet Size is sent to it, and
  // [MQTT-3.1.2-25] a message too large is dropped as if sent: retained messages on SUBSCRIBE
  // and messages queued for an offline session included.
  it('sends no retained or queued message larger than the client accepts, and keeps none of them owed [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async (ctx) => {
    const broker = brokerFor(ctx);
    const limit = 64;
    const { client: pub } = await connect(broker, { protocolVersion: 5, clientId: 'pub' });
    pub.publish('r/big', Buffer.alloc(200, 1), { qos: 1, retain: true });
    pub.publish('r/small', 'fits', { qos: 1, retain: true });
    await pub.expect('puback');
    await pub.expect('puback');
    const opts = { protocolVersion: 5 as const, clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 60, maximumPacketSize: limit } };
    const { client: sub } = await connect(broker, opts);
    const bytes: Buffer[] = [];
    sub.stream.on('data', (c: Buffer) => bytes.push(c));
    await sub.subscribe('r/#', 1);
    const retained = await sub.receive();
    expect(retained.topic).toBe('r/small');
    await sub.expectNothing();
    sub.kill();
    await until(() => broker.inspect.session('sub')?.connected === false);
    // Queued while away: one too large, one that fits.
    pub.publish('r/q', Buffer.alloc(300, 2), { qos: 1 });
    pub.publish('r/q', 'queued', { qos: 1 });
    await pub.expect('puback');
    await pub.expect('puback');
    const { client: back } = await connect(broker, opts);
    back.stream.on('data', (c: Buffer) => bytes.push(c));
    expect((await back.receive()).payload.toString()).toBe('queued');
    await back.expectNothing();
    // Behaving as if sent: nothing in flight or queued for the dropped ones, after a reconnect too.
    expect(broker.inspect.session('sub')).toMatchObject({ inflight: 0, queued: 0 });
    back.kill();
    await until(() => broker.inspect.session('sub')?.connected === false);
    const { client: again } = await connect(broker, opts);
    again.stream.on('data', (c: Buffer) => bytes.push(c));
    await again.expectNothing();
    // No packet on the wire was above the limit: every chunk here is one or more whole packets of ≤ 64 bytes.
    const all = Buffer.concat(bytes);
    expect(all.length).toBeGreaterThan(0);
    for (let pos = 0; pos < all.length; ) {
      let len = 0;
      let mult = 1;
      let i = pos + 1;
      for (;;) {
        const b = all[i++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) break;
      }
      expect(i + len - pos).toBeLessThanOrEqual(limit);
      pos = i + len;
    }
  });
});

describe('MQTT 5.0 Request Response Information (3.1.2.11.6)', () => {
  // [MQTT-3.1.2-28] 0 (and absent, which means 0): no Response Information in CONNACK.
  it('returns no Response Information when the client sends Request Response Information 0 or none [MQTT-3.1.2-28]', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [clientId, properties] of [['zero', { requestResponseInformation: 0 }], ['absent', undefined]] as const) {
      const { connack } = await connect(broker, { protocolVersion: 5, clientId, ...(properties ? { properties } : {}) });
      expect(connack.properties?.responseInformation).toBeUndefined();
    }
    // A refusing CONNACK carries none either.
    const refusing = brokerFor(ctx, { hooks: { authenticate: () => false } });
    const { connack } = await tryConnect(refusing, { protocolVersion: 5, clientId: 'r', properties: { requestResponseInformation: 0 } });
    expect(connack.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    expect(connack.properties?.responseInformation).toBeUndefined();
  });
});

describe('MQTT 5.0 Request Problem Information (3.1.2.11.7)', () => {
  /** Reason String or User Property on a packet other than PUBLISH, CONNACK and DISCONNECT. */
  const explains = (p: Packet): boolean => {
    const props = (p as { properties?: { reasonString?: string; userProperties?: unknown[] } }).properties;
    return props?.reasonString !== undefined || props?.userProperties !== undefined;
  };

  // [MQTT-3.1.2-29] with 0, no Reason String or User Property on anything but PUBLISH, CONNACK
  // and DISCONNECT: the refusals in PUBACK, PUBREC, SUBACK and UNSUBACK come bare.
  it('sends no Reason String or User Properties on acknowledgements when the client sends Request Problem Information 0 [MQTT-3.1.2-29]', async (ctx) => {
    const broker = brokerFor(ctx, {
      hooks: {
        authorizePublish: (_c, topic) => topic !== 'denied',
        authorizeSubscribe: (_c, filter, qos) => (filter === 'denied' ? false : qos),
      },
    });
    const { client } = await connect(broker, { protocolVersion: 5, clientId: 'quiet', properties: { requestProblemInformation: 0 } });
    const seen: Packet[] = [];
    client.publish('denied', 'x', { qos: 1, packetId: 1, properties: { userProperties: [['k', 'v']] } });
    seen.push(await client.expect('puback'));
    client.publish('denied', 'x', { qos: 2, packetId: 2 });
    seen.push(await client.expect('pubrec'));
    client.publish('free', 'x', { qos: 2, packetId: 3 });
    seen.push(await client.expect('pubrec'));
    client.send({ type: 'pubrel', packetId: 3, reasonCode: 0 });
    seen.push(await client.expect('pubcomp'));
    // PUBREL for an id the broker does not hold: PUBCOMP 0x92 Packet Identifier not found.
    client.send({ type: 'pubrel', packetId: 9, reasonCode: 0 });
    seen.push(await client.expect('pubcomp'));
    client.send({ type: 'subscribe', packetId: 4, subscriptions: [{ topicFilter: 'denied', qos: 1 }, { topicFilter: 'ok', qos: 1 }], properties: { userProperties: [['k', 'v']] } });
    seen.push(await client.expect('suback'));
    client.send({ type: 'unsubscribe', packetId: 5, topicFilters: ['never'] });
    seen.push(await client.expect('unsuback'));
    expect(seen.map((p) => [p.type, (p as { reasonCode?: number }).reasonCode ?? (p as { reasonCodes?: number[] }).reasonCodes])).toEqual([
      ['puback', ReasonCode.NotAuthorized],
      ['pubrec', ReasonCode.NotAuthorized],
      ['pubrec', ReasonCode.NoMatchingSubscribers],
      ['pubcomp', ReasonCode.Success],
      ['pubcomp', ReasonCode.PacketIdentifierNotFound],
      ['suback', [ReasonCode.NotAuthorized, 1]],
      ['unsuback', [ReasonCode.NoSubscriptionExisted]],
    ]);
    expect(seen.filter(explains)).toEqual([]);
  });
});
