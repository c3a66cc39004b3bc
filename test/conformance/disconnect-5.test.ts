/**
 * MQTT 5.0 section 3.14 (DISCONNECT), the broker's side: no DISCONNECT before a CONNACK that
 * accepted; reserved bits; only DISCONNECT reason codes, never a Session Expiry Interval or a
 * User Property, and a Reason String only while it fits the client's Maximum Packet Size;
 * nothing sent after a DISCONNECT, and the close; the will after the client's DISCONNECT.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ALLOWED_REASON_CODES, ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, DisconnectPacket, Packet } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, recordFrames, type TestClient } from '../helpers/broker-client.js';

/** The file's broker: Maximum QoS 1 and a Maximum Packet Size of 1024 give two more DISCONNECT causes. */
const broker = createBroker({ maxQoS: 1, maxPacketSize: 1024 });
afterAll(() => broker.close());

function connectPacket(fields: Partial<ConnectPacket>): ConnectPacket {
  return { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c', ...fields };
}

const DISCONNECT = 0xe0;
const CONNACK = 0x20;

/** An authenticate hook that answers only when the test says so: a connection that waits for its CONNACK. */
function heldAuthenticate(): { hook: () => Promise<boolean>; release: () => void; asked: () => boolean } {
  let release = (): void => undefined;
  let asked = false;
  const answer = new Promise<boolean>((resolve) => {
    release = () => resolve(true);
  });
  return {
    hook: () => {
      asked = true;
      return answer;
    },
    release: () => release(),
    asked: () => asked,
  };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within 2000 ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('no DISCONNECT before CONNACK', () => {
  const firstPackets: [string, number[]][] = [
    ['a PUBLISH', [0x30, 4, 0, 1, 0x74, 0x78]],
    ['a DISCONNECT', [0xe0, 0]],
    ['a malformed Remaining Length', [0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ['a CONNECT with the reserved flag set', [...encode(connectPacket({ clientId: 'r' }), 5)].map((b, i) => (i === 9 ? b | 0x01 : b))],
  ];
  for (const [what, bytes] of firstPackets) {
    // [MQTT-3.14.0-1] no DISCONNECT until a CONNACK below 0x80 was sent: a bad first packet closes
    // the connection without one.
    it(`closes on ${what} as first packet without DISCONNECT`, async () => {
      const client = openClient(broker, 5);
      const frames = recordFrames(client);
      client.sendRaw(bytes);
      await client.expectClosed();
      expect(frames.filter((f) => f[0] === DISCONNECT)).toEqual([]);
      expect(frames.every((f) => f[0] === CONNACK && f[3]! >= 0x80)).toBe(true);
    });
  }

  // [MQTT-3.14.0-1] a refused CONNECT: CONNACK with 0x80 or more, the close, and no DISCONNECT,
  // though the client sent a protocol error (a second CONNECT) right behind it.
  it('refuses a CONNECT with CONNACK alone, no DISCONNECT', async () => {
    const client = openClient(broker, 5);
    const frames = recordFrames(client);
    // A will of QoS 2 on a broker of Maximum QoS 1: 0x9B.
    const refused = connectPacket({ clientId: 'refused', will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false } });
    client.sendRaw(Buffer.concat([encode(refused, 5), encode(connectPacket({ clientId: 'refused' }), 5)]));
    expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: ReasonCode.QoSNotSupported });
    await client.expectClosed();
    expect(frames.map((f) => f[0])).toEqual([CONNACK]);
  });

  // [MQTT-3.14.0-1] a connection that never sends its CONNECT is closed at the connect deadline
  // without DISCONNECT.
  it('closes a connection that sends no CONNECT without DISCONNECT', async (ctx) => {
    const b = brokerFor(ctx, { connectTimeoutMs: 50 });
    const client = openClient(b, 5);
    const frames = recordFrames(client);
    client.sendRaw([0x10, 20, 0, 4]); // a CONNECT that never completes
    await client.expectClosed();
    expect(frames).toEqual([]);
  });

  // [MQTT-3.14.0-1] the broker shutting down while a CONNECT waits for its authenticate hook:
  // that connection has had no CONNACK, so it is closed without DISCONNECT 0x8B (a connected
  // client still gets one).
  it('shuts down without DISCONNECT to a connection still waiting for its CONNACK', async (ctx) => {
    const auth = heldAuthenticate();
    const b = brokerFor(ctx, { hooks: { authenticate: (_c, username) => (username === 'wait' ? auth.hook() : true) } });
    const { client: connected } = await connect(b, { clientId: 'in', protocolVersion: 5 });
    const waiting = openClient(b, 5);
    const frames = recordFrames(waiting);
    waiting.send(connectPacket({ clientId: 'waiting', username: 'wait' }));
    await waitFor(auth.asked, 'the hook was asked');
    await b.close();
    expect((await connected.expect('disconnect')).reasonCode).toBe(ReasonCode.ServerShuttingDown);
    await connected.expectClosed();
    auth.release();
    await waiting.expectClosed();
    expect(frames.filter((f) => f[0] === DISCONNECT)).toEqual([]);
  });

  // [MQTT-3.14.0-1] a malformed packet sent while the CONNECT waits for its authenticate hook is
  // read after the hook accepts: its DISCONNECT 0x81 comes after CONNACK 0x00, never before.
  it('answers a malformed packet sent behind a CONNECT waiting for its hook only after CONNACK 0x00', async (ctx) => {
    const auth = heldAuthenticate();
    const b = brokerFor(ctx, { hooks: { authenticate: () => auth.hook() } });
    const client = openClient(b, 5);
    const frames = recordFrames(client);
    client.send(connectPacket({ clientId: 'malformed-behind' }));
    await waitFor(auth.asked, 'the hook was asked');
    client.sendRaw([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    await client.expectNothing(50);
    auth.release();
    expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: ReasonCode.Success });
    expect(await client.next()).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.MalformedPacket });
    await client.expectClosed();
    expect(frames.map((f) => f[0])).toEqual([CONNACK, DISCONNECT]);
  });
});

describe('the reserved bits of DISCONNECT', () => {
  for (const flags of [0x01, 0x08]) {
    // [MQTT-3.14.1-1] reserved bits not 0: DISCONNECT 0x81 Malformed Packet, then the close; the
    // packet is no normal DISCONNECT, so the will is published.
    it(`answers a DISCONNECT with flags 0x${flags.toString(16)} by DISCONNECT 0x81 and publishes the will`, async () => {
      const { client: watch } = await connect(broker, { clientId: `flags-watch-${flags}`, protocolVersion: 5 });
      await watch.subscribe(`will/flags-${flags}`, 0);
      const { client } = await connect(broker, { clientId: `flags-${flags}`, protocolVersion: 5, will: { topic: `will/flags-${flags}`, payload: Buffer.from('gone'), qos: 0, retain: false } });
      client.sendRaw([0xe0 | flags, 0x00]);
      expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
      await client.expectClosed();
      expect(await watch.expect('publish')).toMatchObject({ topic: `will/flags-${flags}` });
    });
  }
});

/** Ways to make the broker send DISCONNECT, each with the code it must carry. */
const causes: [string, number, (client: TestClient, clientId: string, b: Broker) => void | Promise<void>][] = [
  ['a malformed packet', ReasonCode.MalformedPacket, (c) => c.sendRaw([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])],
  ['a CONNACK from the client', ReasonCode.ProtocolError, (c) => c.send({ type: 'connack', sessionPresent: false, reasonCode: 0 })],
  // The parser's refusal of an unknown level is 0x84, a CONNACK code: DISCONNECT says Protocol Error.
  ['a second CONNECT of protocol level 6', ReasonCode.ProtocolError, (c) => c.sendRaw([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0x02, 0, 0, 0, 1, 0x78])],
  ['a Topic Alias of 0', ReasonCode.TopicAliasInvalid, (c) => c.sendRaw([0x30, 0x07, 0x00, 0x01, 0x61, 0x03, 0x23, 0x00, 0x00])],
  ['a PUBLISH over the broker’s Maximum Packet Size', ReasonCode.PacketTooLarge, (c) => void c.publish('big', Buffer.alloc(2000))],
  ['a PUBLISH of QoS 2 above Maximum QoS 1', ReasonCode.QoSNotSupported, (c) => void c.publish('q2', 'x', { qos: 2 })],
  ['a topic name with a wildcard', ReasonCode.TopicNameInvalid, (c) => void c.publish('bad/#', 'x')],
  ['a takeover', ReasonCode.SessionTakenOver, async (_c, id, b) => void (await connect(b, { clientId: id, protocolVersion: 5 }))],
  ['a kick', ReasonCode.AdministrativeAction, (_c, id, b) => void b.kick(id)],
];

describe('what a server DISCONNECT carries, and what follows it', () => {
  for (const [what, code, provoke] of causes) {
    // [MQTT-3.14.2-1] the code is one of the DISCONNECT table; [MQTT-3.14.2-2] no Session Expiry
    // Interval from the server; [MQTT-3.14.2-4] no User Property (none is ever sent, so none can
    // exceed the client's Maximum Packet Size); [MQTT-3.14.4-1] nothing is sent after it;
    // [MQTT-3.14.4-2] the server closes the connection, as after any code of 0x80 or more [MQTT-4.13.2-1].
    it(`sends DISCONNECT 0x${code.toString(16)} for ${what}: a DISCONNECT code, no Session Expiry Interval or User Property, then only the close`, async () => {
      const id = `cause-${code}-${what.length}`;
      const { client } = await connect(broker, { clientId: id, protocolVersion: 5, properties: { sessionExpiryInterval: 30 } });
      const frames = recordFrames(client);
      await provoke(client, id, broker);
      const d: DisconnectPacket = await client.expect('disconnect');
      expect(d.reasonCode).toBe(code);
      expect(ALLOWED_REASON_CODES['disconnect']![d.reasonCode ?? 0]).toBe(1);
      expect(d.properties?.sessionExpiryInterval).toBeUndefined();
      expect(d.properties?.userProperties).toBeUndefined();
      await client.expectClosed();
      expect(frames.at(-1)![0]).toBe(DISCONNECT);
    });
  }

  // [MQTT-3.14.2-1] [MQTT-3.14.2-2] the same for the DISCONNECT of a broker shutting down (0x8B).
  it('sends DISCONNECT 0x8B on shutdown: a DISCONNECT code, no Session Expiry Interval, then the close', async (ctx) => {
    const b = brokerFor(ctx);
    const { client } = await connect(b, { clientId: 'shutdown', protocolVersion: 5, properties: { sessionExpiryInterval: 30 } });
    await b.close();
    const d = await client.expect('disconnect');
    expect(d.reasonCode).toBe(ReasonCode.ServerShuttingDown);
    expect(ALLOWED_REASON_CODES['disconnect']![d.reasonCode ?? 0]).toBe(1);
    expect(d.properties?.sessionExpiryInterval).toBeUndefined();
    await client.expectClosed();
  });

  // [MQTT-3.14.4-1] nothing after the DISCONNECT, though messages for the client keep arriving
  // while it is kicked: its last frame is the DISCONNECT. [MQTT-3.14.4-2] and it is closed.
  it('sends nothing after DISCONNECT while messages for the client keep coming', async () => {
    const { client: sub } = await connect(broker, { clientId: 'flow', protocolVersion: 5, properties: { sessionExpiryInterval: 30 } });
    const frames = recordFrames(sub);
    await sub.subscribe('flow/#', 1);
    const { client: pub } = await connect(broker, { clientId: 'flow-pub', protocolVersion: 5 });
    const flood: Packet[] = [];
    for (let i = 0; i < 300; i++) flood.push({ type: 'publish', topic: `flow/${i}`, payload: Buffer.from('x'), qos: i % 2 === 0 ? 0 : 1, packetId: i % 2 === 0 ? undefined : i, retain: false, dup: false } as Packet);
    pub.sendRaw(Buffer.concat(flood.map((p) => encode(p, 5))));
    await sub.expect('publish');
    broker.kick('flow');
    pub.sendRaw(Buffer.concat(flood.map((p) => encode(p, 5))));
    await sub.closedPromise;
    const last = frames.at(-1)!;
    expect(last[0]).toBe(DISCONNECT);
    expect(last[2]).toBe(ReasonCode.AdministrativeAction);
    expect(frames.filter((f) => f[0] === DISCONNECT)).toHaveLength(1);
  });
});

describe('the Reason String against the client’s Maximum Packet Size', () => {
  /** The DISCONNECT (0x90 with its Reason String) a client of `maximumPacketSize` gets, raw. */
  async function disconnected(clientId: string, maximumPacketSize?: number): Promise<{ frame: Buffer; packet: DisconnectPacket }> {
    const { client } = await connect(broker, { clientId, protocolVersion: 5, properties: maximumPacketSize === undefined ? {} : { maximumPacketSize } });
    const frames = recordFrames(client);
    client.publish('bad/#', 'x');
    const packet = await client.expect('disconnect');
    await client.expectClosed();
    return { frame: frames.at(-1)!, packet };
  }

  // [MQTT-3.14.2-3] a Reason String that fits the client's Maximum Packet Size exactly is sent;
  // one byte less and it is left out, and the DISCONNECT still goes out.
  it('sends the Reason String in a DISCONNECT only while it fits', async () => {
    const roomy = await disconnected('why-roomy');
    expect(roomy.packet.properties?.reasonString).toMatch(/.+/);
    const exact = await disconnected('why-exact', roomy.frame.length);
    expect(exact.packet.properties?.reasonString).toBe(roomy.packet.properties?.reasonString);
    const tight = await disconnected('why-tight', roomy.frame.length - 1);
    expect(tight.packet.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    expect(tight.packet.properties?.reasonString).toBeUndefined();
    expect(tight.frame.length).toBeLessThanOrEqual(roomy.frame.length - 1);
  });
});

describe('the client’s DISCONNECT and the will', () => {
  const endings: [string, number, boolean][] = [
    ['0x00 normal disconnection', ReasonCode.NormalDisconnection, false],
    ['0x04 disconnect with will message', ReasonCode.DisconnectWithWillMessage, true],
    ['0x83 implementation specific error', ReasonCode.ImplementationSpecificError, true],
  ];
  for (const [what, code, published] of endings) {
    // [MQTT-3.14.4-3] only DISCONNECT 0x00 discards the will; with any other code it is published.
    it(`${published ? 'publishes' : 'discards'} the will after DISCONNECT ${what}`, async () => {
      const id = `will-${code}`;
      const { client: watch } = await connect(broker, { clientId: `${id}-watch`, protocolVersion: 5 });
      await watch.subscribe(`will/${id}`, 0);
      const { client } = await connect(broker, { clientId: id, protocolVersion: 5, will: { topic: `will/${id}`, payload: Buffer.from('gone'), qos: 0, retain: false } });
      await client.disconnect({ reasonCode: code });
      if (published) expect(await watch.expect('publish')).toMatchObject({ topic: `will/${id}` });
      else await watch.expectNothing(150);
    });
  }
});
