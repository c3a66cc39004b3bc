/**
 * MQTT 5.0 section 4.13 (handling errors), the broker's side: a Malformed Packet or Protocol
 * Error closes the connection after DISCONNECT with its reason code, and nothing the client sent
 * behind the bad packet is acted on; a CONNACK or DISCONNECT of 0x80 or more is followed by the
 * close, whether or not the packet could be sent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { REASON_CODES, ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, Packet } from '../../src/core/codec/types.js';
import { connect, openClient, type TestClient } from '../helpers/broker-client.js';

/**
 * The file's broker. Its authenticate hook answers by username: "code:N" refuses with N. A
 * Receive Maximum of 2 and a Topic Alias Maximum of 2 give two more Protocol Errors.
 */
const broker = createBroker({
  receiveMaximum: 2,
  topicAliasMaximum: 2,
  hooks: { authenticate: (_client, username) => (username?.startsWith('code:') === true ? Number(username.slice(5)) : true) },
});
afterAll(() => broker.close());

function connectPacket(fields: Partial<ConnectPacket>): ConnectPacket {
  return { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c', ...fields };
}

function bytesOf(...packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((p) => encode(p, 5)));
}

/** What a client sends behind a bad packet: a PUBLISH to `after/<n>` (QoS 1, retained) and a SUBSCRIBE. */
function behind(n: string): Buffer {
  return bytesOf(
    { type: 'publish', topic: `after/${n}`, payload: Buffer.from('must not arrive'), qos: 1, packetId: 77, retain: true, dup: false },
    { type: 'subscribe', packetId: 78, subscriptions: [{ topicFilter: `after/${n}/#`, qos: 0 }] },
  );
}

/** A subscriber on `after/#` that must stay silent. */
let watch: TestClient;
async function watcher(): Promise<TestClient> {
  if (watch === undefined) {
    ({ client: watch } = await connect(broker, { clientId: 'watch', protocolVersion: 5 }));
    await watch.subscribe('after/#', 0);
  }
  return watch;
}

/** Reads until DISCONNECT; fails on an acknowledgement of what was sent behind the bad packet. */
async function untilDisconnect(client: TestClient): Promise<number> {
  for (;;) {
    const p = await client.next();
    if (p.type === 'disconnect') return p.reasonCode ?? 0;
    if ((p.type === 'puback' && p.packetId === 77) || p.type === 'suback') throw new Error(`acted on a packet behind the bad one: ${JSON.stringify(p)}`);
  }
}

/** Bad packets after CONNACK, each with the code its DISCONNECT must carry; `before` is sent first on its own. */
const badPackets: [string, number, Buffer, Buffer?][] = [
  ['a packet of type 0', ReasonCode.MalformedPacket, Buffer.from([0x00, 0x00])],
  ['a PUBLISH of QoS 3', ReasonCode.MalformedPacket, Buffer.from([0x36, 6, 0, 1, 0x74, 0, 1, 0])],
  ['a SUBSCRIBE with fixed header flags 0', ReasonCode.MalformedPacket, Buffer.from([0x80, 6, 0, 1, 0, 0, 1, 0x74])],
  ['a topic of ill-formed UTF-8', ReasonCode.MalformedPacket, Buffer.from([0x30, 5, 0, 2, 0xc3, 0x28, 0])],
  ['a Remaining Length past the packet', ReasonCode.MalformedPacket, Buffer.from([0x30, 3, 0, 9, 0x74])],
  ['a CONNACK from the client', ReasonCode.ProtocolError, bytesOf({ type: 'connack', sessionPresent: false, reasonCode: 0 })],
  ['a second CONNECT', ReasonCode.ProtocolError, bytesOf(connectPacket({ clientId: 'again' }))],
  ['AUTH without an Authentication Method', ReasonCode.ProtocolError, bytesOf({ type: 'auth', reasonCode: ReasonCode.ReAuthenticate })],
  ['No Local on a shared subscription', ReasonCode.ProtocolError, bytesOf({ type: 'subscribe', packetId: 9, subscriptions: [{ topicFilter: '$share/g/t', qos: 0, noLocal: true }] })],
  ['the Payload Format Indicator twice', ReasonCode.ProtocolError, Buffer.from([0x30, 8, 0, 1, 0x74, 4, 0x01, 0, 0x01, 0])],
  ['a Topic Alias of 0', ReasonCode.TopicAliasInvalid, Buffer.from([0x30, 7, 0, 1, 0x74, 3, 0x23, 0, 0])],
  ['a Topic Alias above the maximum 2', ReasonCode.TopicAliasInvalid, bytesOf({ type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } })],
  [
    'a third QoS 2 PUBLISH in flight with Receive Maximum 2',
    ReasonCode.ReceiveMaximumExceeded,
    bytesOf({ type: 'publish', topic: 'rm/t', payload: Buffer.alloc(0), qos: 2, packetId: 3, retain: false, dup: false }),
    bytesOf(
      { type: 'publish', topic: 'rm/t', payload: Buffer.alloc(0), qos: 2, packetId: 1, retain: false, dup: false },
      { type: 'publish', topic: 'rm/t', payload: Buffer.alloc(0), qos: 2, packetId: 2, retain: false, dup: false },
    ),
  ],
];

describe('Malformed Packet and Protocol Error', () => {
  badPackets.forEach(([what, code, bad, before], n) => {
    // [MQTT-4.13.1-1] a Malformed Packet or Protocol Error with a reason code in the spec: DISCONNECT
    // with that code and the close; the PUBLISH and SUBSCRIBE sent right behind it are never acted on.
    it(`closes after DISCONNECT 0x${code.toString(16)} on ${what}, acting on nothing behind it`, async () => {
      const w = await watcher();
      const { client } = await connect(broker, { clientId: `bad-${n}`, protocolVersion: 5 });
      if (before !== undefined) {
        client.sendRaw(before);
        await client.expect('pubrec');
        await client.expect('pubrec');
      }
      client.sendRaw(Buffer.concat([bad, behind(String(n))]));
      expect(await untilDisconnect(client)).toBe(code);
      await client.expectClosed();
      await w.expectNothing(20);
      expect(broker.inspect.retained(`after/${n}`)).toBeUndefined();
    });
  });
});

describe('after a reason code of 0x80 or more', () => {
  const refusals = REASON_CODES.filter((r) => r.code >= 0x80 && r.packets.includes('connack'));
  for (const { code, name } of refusals) {
    // [MQTT-4.13.2-1] a CONNACK of 0x80 or more: the connection is closed, and the PUBLISH and
    // SUBSCRIBE the client sent behind its CONNECT are never acted on.
    it(`closes after CONNACK 0x${code.toString(16)} (${name}), acting on nothing behind the CONNECT`, async () => {
      const w = await watcher();
      const client = openClient(broker, 5);
      client.sendRaw(Buffer.concat([bytesOf(connectPacket({ clientId: `refused-${code}`, username: `code:${code}` })), behind(`r${code}`)]));
      expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: code, sessionPresent: false });
      await client.expectClosed();
      await w.expectNothing(20);
      expect(broker.inspect.session(`refused-${code}`)).toBeUndefined();
    });
  }

  // [MQTT-4.13.2-1] closed whether or not the CONNACK is sent: to a client whose Maximum Packet
  // Size (2 bytes) no refusing CONNACK fits, none is sent [MQTT-3.1.2-24], and the connection is
  // closed all the same.
  it('closes after a refusal whose CONNACK the client’s Maximum Packet Size cannot take, sending nothing', async () => {
    const client = openClient(broker, 5);
    client.send(connectPacket({ clientId: 'tiny-refused', username: `code:${ReasonCode.NotAuthorized}`, properties: { maximumPacketSize: 2 } }));
    await client.expectClosed();
    expect(client.received).toEqual([]);
  });

  // [MQTT-4.13.2-1] the same for a DISCONNECT: a client whose Maximum Packet Size of 11 takes only
  // the short CONNACK (Receive Maximum and Topic Alias Maximum, the rest restate defaults) gets a bare DISCONNECT 0x82 for a
  // Protocol Error, its Reason String dropped [MQTT-3.1.2-24], then the close.
  it('closes after a Protocol Error with a DISCONNECT cut to the client’s Maximum Packet Size', async () => {
    const client = openClient(broker, 5);
    const chunks: Buffer[] = [];
    client.stream.on('data', (c: Buffer) => chunks.push(c));
    client.send(connectPacket({ clientId: 'tiny-error', properties: { maximumPacketSize: 11 } }));
    expect(await client.expect('connack')).toMatchObject({ reasonCode: 0 });
    client.send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    const disconnect = await client.expect('disconnect');
    expect(disconnect).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
    expect(disconnect.properties?.reasonString).toBeUndefined();
    await client.expectClosed();
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(11);
  });

  // [MQTT-4.13.2-1] a client's DISCONNECT of 0x80 or more: the broker closes the connection, and
  // what the client sent behind it is never acted on.
  it('closes after the client’s DISCONNECT 0x83, acting on nothing behind it', async () => {
    const w = await watcher();
    const { client } = await connect(broker, { clientId: 'leaves-with-error', protocolVersion: 5 });
    client.sendRaw(Buffer.concat([bytesOf({ type: 'disconnect', reasonCode: ReasonCode.ImplementationSpecificError }), behind('leaving')]));
    await client.expectClosed();
    await w.expectNothing(20);
    expect(broker.inspect.retained('after/leaving')).toBeUndefined();
  });
});
