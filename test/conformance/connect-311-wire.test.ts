/**
 * MQTT 3.1.1 sections 1.5.3 (UTF-8 strings), 2.2.2 (reserved flag bits) and 2.3.1 (packet
 * identifiers), the broker's and the codec's side: what the broker must close on, and what it
 * must keep in what it sends. Raw bytes where the rule is about bytes.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import { SessionRecord } from '../../src/core/broker/session-record.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { Packet, PublishPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, recordFrames, type TestClient } from '../helpers/broker-client.js';

/** Length-prefixed string field from raw bytes. */
function field(bytes: number[]): number[] {
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

function utf8(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

/** A 3.1.1 PUBLISH QoS 0 with the topic as raw bytes. */
function rawPublish(topic: number[], payload: number[] = [0x78]): Buffer {
  const body = [...field(topic), ...payload];
  return Buffer.from([0x30, body.length, ...body]);
}

/** A 3.1.1 SUBSCRIBE (packet id 1) with one filter as raw bytes. */
function rawSubscribe(filter: number[]): Buffer {
  const body = [0, 1, ...field(filter), 0];
  return Buffer.from([0x82, body.length, ...body]);
}

/** A 3.1.1 CONNECT with the client id as raw bytes (clean session 1, or the flags given). */
function rawConnect(clientId: number[], flags = 0x02, rest: number[] = []): Buffer {
  const body = [0, 4, ...utf8('MQTT'), 4, flags, 0, 0, ...field(clientId), ...rest];
  return Buffer.from([0x10, body.length, ...body]);
}

/** A watcher on '#' (QoS 1) and a connected sender. */
async function watcherAndSender(broker: Broker): Promise<{ watcher: TestClient; sender: TestClient }> {
  const { client: watcher } = await connect(broker, { clientId: 'watcher' });
  await watcher.subscribe('#', 1);
  const { client: sender } = await connect(broker, { clientId: 'sender' });
  return { watcher, sender };
}

// Ill-formed UTF-8 (RFC 3629): bad and lone continuation bytes, an overlong form, encoded
// surrogates, a sequence cut short, a byte that never occurs.
const ILL_FORMED: [string, number[]][] = [
  ['a bad continuation byte', [0x61, 0xc3, 0x28]],
  ['a lone continuation byte', [0x80]],
  ['an overlong encoding of "/"', [0xc0, 0xaf]],
  ['an encoded surrogate U+D800', [0xed, 0xa0, 0x80]],
  ['an encoded surrogate U+DFFF', [0xed, 0xbf, 0xbf]],
  ['a 3-byte sequence cut short', [0x61, 0xe2, 0x82]],
  ['byte 0xFF', [0x61, 0xff]],
];

describe('3.1.1 section 1.5.3: UTF-8 encoded strings', () => {
  // [MQTT-1.5.3-1] ill-formed UTF-8, encoded surrogates included, in a received packet: the server
  // closes the network connection; nothing of the packet is acted on.
  it('closes on ill-formed UTF-8 in a PUBLISH topic, a SUBSCRIBE filter or a CONNECT client id, acting on none', async (ctx) => {
    const broker = brokerFor(ctx);
    const { watcher } = await watcherAndSender(broker);
    for (const [what, bytes] of ILL_FORMED) {
      const { client: pub } = await connect(broker, { clientId: 'pub' });
      pub.sendRaw(rawPublish(bytes));
      await pub.expectClosed().catch((e: Error) => {
        throw new Error(`PUBLISH topic with ${what}: ${e.message}`);
      });
      const { client: sub } = await connect(broker, { clientId: 'sub' });
      sub.sendRaw(rawSubscribe(bytes));
      await sub.expectClosed().catch((e: Error) => {
        throw new Error(`SUBSCRIBE filter with ${what}: ${e.message}`);
      });
      const fresh = openClient(broker);
      fresh.sendRaw(rawConnect(bytes));
      // Closed without a CONNACK (expectClosed fails on any packet received).
      await fresh.expectClosed().catch((e: Error) => {
        throw new Error(`CONNECT client id with ${what}: ${e.message}`);
      });
    }
    await watcher.expectNothing(50);
    // The watcher's and the sender's: none for the ids refused, none left by the closed clean sessions.
    expect(broker.inspect.sessionCount()).toBe(2);
  });

  // [MQTT-1.5.3-2] U+0000 in a string: the receiver closes the connection. In a topic, a filter,
  // a client id and a user name.
  it('closes on U+0000 in a PUBLISH topic, a SUBSCRIBE filter, a client id or a user name', async (ctx) => {
    const broker = brokerFor(ctx);
    const { watcher } = await watcherAndSender(broker);
    const withNul = [0x61, 0x00, 0x62];
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.sendRaw(rawPublish(withNul));
    await pub.expectClosed();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    sub.sendRaw(rawSubscribe(withNul));
    await sub.expectClosed();
    const byId = openClient(broker);
    byId.sendRaw(rawConnect(withNul));
    await byId.expectClosed();
    const byUser = openClient(broker);
    byUser.sendRaw(rawConnect(utf8('u'), 0x82, field(withNul)));
    await byUser.expectClosed();
    await watcher.expectNothing(50);
  });

  // [MQTT-1.5.3-1] [MQTT-1.5.3-2] what the codec writes is well-formed: a lone surrogate (no UTF-8
  // form) or U+0000 in a string is refused before any byte goes out.
  it('the encoder refuses a string with a lone surrogate or U+0000', () => {
    for (const topic of ['a\ud800', 'a\udc00b', 'a\u0000b']) {
      expect(() => encode({ type: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4)).toThrow(MqttError);
    }
    // A pair is fine: U+1F600 is four bytes.
    expect(encode({ type: 'publish', topic: 'a\ud83d\ude00', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4)).toEqual(Buffer.from([0x30, 7, 0, 5, 0x61, 0xf0, 0x9f, 0x98, 0x80]));
  });

  // [MQTT-1.5.3-3] 0xEF 0xBB 0xBF is U+FEFF wherever it appears, never skipped or stripped: a topic
  // that starts with it is its own topic, delivered with those bytes, and not the topic without it.
  it('keeps a leading U+FEFF in a topic: routed as its own topic and delivered with its bytes', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: bom } = await connect(broker, { clientId: 'bom' });
    await bom.subscribe('\ufefft', 0);
    const { client: plain } = await connect(broker, { clientId: 'plain' });
    await plain.subscribe('t', 0);
    const frames = recordFrames(bom);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.sendRaw(rawPublish([0xef, 0xbb, 0xbf, 0x74]));
    const m = await bom.expect('publish');
    expect(m.topic).toBe('\ufefft');
    expect(frames.at(-1)).toEqual(rawPublish([0xef, 0xbb, 0xbf, 0x74]));
    await plain.expectNothing(50);
    // And in the middle of a client id: the session is found under the id with U+FEFF kept.
    const raw = openClient(broker);
    raw.sendRaw(rawConnect([0x69, 0xef, 0xbb, 0xbf, 0x64]));
    expect((await raw.expect('connack')).reasonCode).toBe(0);
    expect(broker.inspect.session('i\ufeffd')).toBeDefined();
    expect(broker.inspect.session('id')).toBeUndefined();
  });

  // [MQTT-1.5.3-3] the parser keeps U+FEFF as it is, in the middle and at the start.
  it('the parser keeps 0xEF 0xBB 0xBF as U+FEFF', () => {
    const [p] = new Parser({ protocolVersion: 4 }).push(rawPublish([0xef, 0xbb, 0xbf, 0x61, 0xef, 0xbb, 0xbf]));
    expect(p).toMatchObject({ type: 'publish', topic: '\ufeffa\ufeff' });
  });
});

/** The packets a 3.1.1 client may send, each with a reserved-flags nibble other than the one Table 2.2 lists. */
const WRONG_FLAGS: [string, number[]][] = [
  ['PUBACK with flags 0001', [0x41, 2, 0, 1]],
  ['PUBREC with flags 1000', [0x58, 2, 0, 1]],
  ['PUBREL with flags 0000', [0x60, 2, 0, 1]],
  ['PUBREL with flags 0011', [0x63, 2, 0, 1]],
  ['PUBCOMP with flags 0100', [0x74, 2, 0, 1]],
  ['SUBSCRIBE with flags 0000', [0x80, 6, 0, 1, 0, 1, 0x23, 0]],
  ['SUBSCRIBE with flags 1010', [0x8a, 6, 0, 1, 0, 1, 0x23, 0]],
  ['UNSUBSCRIBE with flags 0000', [0xa0, 5, 0, 1, 0, 1, 0x23]],
  ['PINGREQ with flags 0001', [0xc1, 0]],
  ['DISCONNECT with flags 0010', [0xe2, 0]],
];

describe('3.1.1 section 2.2.2: reserved flag bits', () => {
  // [MQTT-2.2.2-2] invalid flags received: the server closes the network connection. Each case
  // after a good CONNECT; the same bytes with the right flags are accepted (checked first).
  it('closes the connection on every packet with reserved flags other than Table 2.2 lists', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [what, bytes] of WRONG_FLAGS) {
      const right = [...bytes];
      const type = right[0]! >> 4;
      right[0] = (type << 4) | (type === 6 || type === 8 || type === 10 ? 0b0010 : 0);
      expect(() => new Parser({ protocolVersion: 4 }).push(Buffer.from(right)), `${what}, with the right flags`).not.toThrow();
      const { client } = await connect(broker, { clientId: 'c' });
      client.sendRaw(bytes);
      await client.expectClosed().catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    // CONNECT itself with flags 0001: closed without a CONNACK.
    const first = openClient(broker);
    const connect311 = rawConnect(utf8('x'));
    connect311[0] = 0x11;
    first.sendRaw(connect311);
    await first.expectClosed();
  });

  // [MQTT-2.2.2-2] a DISCONNECT with wrong flags is no DISCONNECT: the connection is closed as for
  // a protocol violation, so the will is published.
  it('a DISCONNECT with reserved flags set closes the connection and publishes the will', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: watcher } = await connect(broker, { clientId: 'watcher' });
    await watcher.subscribe('will', 0);
    const { client } = await connect(broker, { clientId: 'v', will: { topic: 'will', payload: Buffer.from('w'), qos: 0, retain: false } });
    client.sendRaw([0xe1, 0]);
    await client.expectClosed();
    expect((await watcher.expect('publish')).payload.toString()).toBe('w');
  });

  // [MQTT-2.2.2-1] what the broker sends carries the flags Table 2.2 lists: CONNACK, PUBACK, PUBREC,
  // PUBREL 0010, PUBCOMP, SUBACK, UNSUBACK, PINGRESP 0000; PUBLISH's flags are DUP/QoS/RETAIN.
  it('every packet the broker sends has the reserved flags of Table 2.2', async (ctx) => {
    const broker = brokerFor(ctx);
    const client = openClient(broker);
    const frames = recordFrames(client);
    client.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'flags' });
    await client.expect('connack');
    await client.subscribe('q/#', 2);
    // The order of an ack and the delivery of the same message is the broker's: take both.
    const two = async (): Promise<Packet[]> => [await client.next(), await client.next()];
    client.publish('q/1', 'a', { qos: 1 });
    const got1 = await two();
    expect(got1.map((p) => p.type).sort()).toEqual(['puback', 'publish']);
    const d1 = got1.find((p) => p.type === 'publish') as PublishPacket;
    client.send({ type: 'puback', packetId: d1.packetId! });
    const q2 = client.publish('q/2', 'b', { qos: 2 });
    const got2 = await two();
    expect(got2.map((p) => p.type).sort()).toEqual(['publish', 'pubrec']);
    const d2 = got2.find((p) => p.type === 'publish') as PublishPacket;
    client.send({ type: 'pubrel', packetId: q2 });
    await client.expect('pubcomp');
    client.send({ type: 'pubrec', packetId: d2.packetId! });
    await client.expect('pubrel');
    client.send({ type: 'pubcomp', packetId: d2.packetId! });
    client.send({ type: 'unsubscribe', packetId: client.packetId(), topicFilters: ['q/#'] });
    await client.expect('unsuback');
    client.send({ type: 'pingreq' });
    await client.expect('pingresp');
    const firsts = new Map<number, number>();
    for (const f of frames) firsts.set(f[0]! >> 4, f[0]! & 0x0f);
    expect(Object.fromEntries(firsts)).toEqual({
      2: 0b0000, // CONNACK
      9: 0b0000, // SUBACK
      4: 0b0000, // PUBACK
      3: firsts.get(3), // PUBLISH: DUP/QoS/RETAIN, checked below
      5: 0b0000, // PUBREC
      7: 0b0000, // PUBCOMP
      6: 0b0010, // PUBREL
      11: 0b0000, // UNSUBACK
      13: 0b0000, // PINGRESP
    });
    for (const f of frames.filter((x) => x[0]! >> 4 === 3)) expect([0b0010, 0b0100]).toContain(f[0]! & 0x0f);
  });

  // [MQTT-2.2.2-1] what the codec writes for our raw clients (bench, lwt-test) keeps Table 2.2 too.
  it('the encoder writes SUBSCRIBE, UNSUBSCRIBE and PUBREL with flags 0010 and the rest with 0000', () => {
    const first = (p: Parameters<typeof encode>[0]): number => encode(p, 4)[0]!;
    expect(first({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'x' })).toBe(0x10);
    expect(first({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] })).toBe(0x82);
    expect(first({ type: 'unsubscribe', packetId: 1, topicFilters: ['a'] })).toBe(0xa2);
    expect(first({ type: 'pubrel', packetId: 1 })).toBe(0x62);
    expect(first({ type: 'puback', packetId: 1 })).toBe(0x40);
    expect(first({ type: 'pubrec', packetId: 1 })).toBe(0x50);
    expect(first({ type: 'pubcomp', packetId: 1 })).toBe(0x70);
    expect(first({ type: 'pingreq' })).toBe(0xc0);
    expect(first({ type: 'disconnect' })).toBe(0xe0);
  });
});

describe('3.1.1 section 2.3.1: packet identifiers', () => {
  // [MQTT-2.3.1-1] SUBSCRIBE, UNSUBSCRIBE and QoS > 0 PUBLISH must carry a non-zero packet id: one
  // with id 0 closes the connection, and is not acted on.
  it('closes on a QoS 1 or 2 PUBLISH, a SUBSCRIBE or an UNSUBSCRIBE with packet id 0', async (ctx) => {
    const broker = brokerFor(ctx);
    const { watcher } = await watcherAndSender(broker);
    const cases: [string, number[]][] = [
      ['PUBLISH QoS 1', [0x32, 6, 0, 1, 0x74, 0, 0, 0x78]],
      ['PUBLISH QoS 2', [0x34, 6, 0, 1, 0x74, 0, 0, 0x78]],
      ['SUBSCRIBE', [0x82, 6, 0, 0, 0, 1, 0x23, 0]],
      ['UNSUBSCRIBE', [0xa2, 5, 0, 0, 0, 1, 0x23]],
    ];
    for (const [what, bytes] of cases) {
      const { client } = await connect(broker, { clientId: 'zero' });
      client.sendRaw(bytes);
      await client.expectClosed().catch((e: Error) => {
        throw new Error(`${what} with packet id 0: ${e.message}`);
      });
    }
    await watcher.expectNothing(50);
  });

  // [MQTT-2.3.1-1] [MQTT-2.3.1-4] the broker's own QoS > 0 PUBLISH carries a non-zero id not in
  // use: the ids wrap from 65535 to 1, never 0, and skip ids still waiting for their ack.
  it('the session allocates non-zero ids, wrapping past 65535 to 1 and skipping those in flight', () => {
    const record = new SessionRecord('c');
    record.nextPacketId = 0xfffe;
    const inflight = new Map<number, never>();
    record.inflight = inflight as unknown as SessionRecord['inflight'];
    inflight.set(0xffff, undefined as never);
    inflight.set(1, undefined as never);
    inflight.set(2, undefined as never);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = record.allocatePacketId();
      ids.push(id);
      inflight.set(id, undefined as never);
    }
    expect(ids).toEqual([0xfffe, 3, 4]);
  });

  // [MQTT-2.3.1-4] (2.3.1-2 and -3 for the server): each new PUBLISH gets an id not in use, and a
  // re-send uses the same id; an id is free again only after its PUBACK (QoS 1) or PUBCOMP (QoS 2).
  it('gives each unacknowledged delivery its own id and re-sends each with the same id on resume', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', clean: false });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'one', { qos: 1 });
    pub.publish('t', 'two', { qos: 2 });
    pub.publish('t', 'three', { qos: 1 });
    const first = [await sub.expect('publish'), await sub.expect('publish'), await sub.expect('publish')];
    const ids = first.map((p) => p.packetId!);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toBeGreaterThan(0);
    // QoS 2 'two' gets PUBREC: its id stays in use until PUBCOMP, now as a PUBREL.
    const two = first.find((p) => p.payload.toString() === 'two')!;
    sub.send({ type: 'pubrec', packetId: two.packetId! });
    expect(await sub.expect('pubrel')).toEqual({ type: 'pubrel', packetId: two.packetId });
    // 'one' is acknowledged: its id is free; 'three' is not.
    const one = first.find((p) => p.payload.toString() === 'one')!;
    sub.send({ type: 'puback', packetId: one.packetId! });
    sub.send({ type: 'pingreq' });
    await sub.expect('pingresp');
    sub.kill();
    await sub.closedPromise;
    const { client: back, connack } = await connect(broker, { clientId: 'sub', clean: false });
    expect(connack.sessionPresent).toBe(true);
    // Re-sent: the PUBREL of 'two' and the PUBLISH of 'three', each with its first id (DUP set).
    const again = [await back.next(), await back.next()];
    const three = first.find((p) => p.payload.toString() === 'three')!;
    expect(again).toContainEqual({ type: 'pubrel', packetId: two.packetId });
    const resent = again.find((p) => p.type === 'publish');
    expect(resent).toMatchObject({ packetId: three.packetId, dup: true, qos: 1 });
    expect(resent!.type === 'publish' && resent!.payload.toString()).toBe('three');
    // A new message while those two ids are in use gets another id.
    pub.publish('t', 'four', { qos: 1 });
    const four = await back.expect('publish');
    expect([two.packetId, three.packetId]).not.toContain(four.packetId);
    expect(four.packetId).toBeGreaterThan(0);
    await back.expectNothing(50);
  });

  // [MQTT-2.3.1-5] a QoS 0 PUBLISH has no packet id: the broker's QoS 0 deliveries (also one
  // downgraded from QoS 1 by a QoS 0 subscription) are topic and payload only.
  it('sends QoS 0 deliveries without a packet id, also when a QoS 1 message is downgraded', async (ctx) => {
    const broker = brokerFor(ctx);
    const client = openClient(broker);
    const frames = recordFrames(client);
    client.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'zero' });
    await client.expect('connack');
    await client.subscribe('t', 0);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'ab', { qos: 0 });
    pub.publish('t', 'cd', { qos: 1 });
    expect((await client.expect('publish')).packetId).toBeUndefined();
    expect((await client.expect('publish')).packetId).toBeUndefined();
    const publishes = frames.filter((f) => f[0]! >> 4 === 3);
    // 0x30, remaining length 5 = topic (2 + 1) + payload (2): no room for an id.
    expect(publishes).toEqual([Buffer.from([0x30, 5, 0, 1, 0x74, 0x61, 0x62]), Buffer.from([0x30, 5, 0, 1, 0x74, 0x63, 0x64])]);
  });

  // [MQTT-2.3.1-5] a received QoS 0 PUBLISH has no packet id: the two bytes after the topic are payload.
  it('the parser reads the bytes after a QoS 0 topic as payload', () => {
    const [p] = new Parser({ protocolVersion: 4 }).push(Buffer.from([0x30, 5, 0, 1, 0x74, 0, 7]));
    expect(p).toMatchObject({ type: 'publish', qos: 0, payload: Buffer.from([0, 7]) });
    expect((p as { packetId?: number }).packetId).toBeUndefined();
  });

  // [MQTT-2.3.1-6] PUBACK and PUBREC carry the id of the client's PUBLISH; the broker's PUBREL
  // carries the id of its own PUBLISH.
  it('acknowledges with the PUBLISH packet id: PUBACK, PUBREC and PUBREL', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, { clientId: 'ids' });
    for (const id of [1, 0x1234, 0xffff]) {
      client.publish('x', 'a', { qos: 1, packetId: id });
      expect(await client.expect('puback')).toEqual({ type: 'puback', packetId: id });
      client.publish('x', 'b', { qos: 2, packetId: id });
      expect(await client.expect('pubrec')).toEqual({ type: 'pubrec', packetId: id });
      client.send({ type: 'pubrel', packetId: id });
      expect(await client.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: id });
    }
    await client.subscribe('y', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('y', 'c', { qos: 2 });
    const m = await client.expect('publish');
    client.send({ type: 'pubrec', packetId: m.packetId! });
    expect(await client.expect('pubrel')).toEqual({ type: 'pubrel', packetId: m.packetId });
    client.send({ type: 'pubcomp', packetId: m.packetId! });
    await client.expectNothing(50);
  });

  // [MQTT-2.3.1-7] SUBACK and UNSUBACK carry the id of their SUBSCRIBE and UNSUBSCRIBE.
  it('answers SUBSCRIBE and UNSUBSCRIBE with their packet ids', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, { clientId: 'ids' });
    for (const id of [1, 0x00ff, 0x0100, 0xffff]) {
      client.send({ type: 'subscribe', packetId: id, subscriptions: [{ topicFilter: 'a', qos: 1 }] });
      expect(await client.expect('suback')).toEqual({ type: 'suback', packetId: id, reasonCodes: [1] });
      client.send({ type: 'unsubscribe', packetId: id, topicFilters: ['a'] });
      expect(await client.expect('unsuback')).toEqual({ type: 'unsuback', packetId: id });
    }
  });
});
