/**
 * MQTT 5.0 sections 1.5, 2.1-2.2 and 3.1 on the wire: what the codec refuses and keeps, seen
 * through the broker (raw bytes in over an in-process pair, what comes back) and, where the rule
 * is about what we write, through encode(). Every case has a well-formed twin that is accepted,
 * so a refusal cannot come from something else in the bytes.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker, CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { Packet, PublishPacket } from '../../src/core/codec/types.js';
import { varintLength, writeVarint } from '../../src/core/codec/varint.js';
import { brokerFor, connect, openClient, type TestClient } from '../helpers/broker-client.js';

const WILL = 0x04;
const CLEAN = 0x02;
const USER = 0x80;
const PASS = 0x40;

function varint(n: number): number[] {
  const b = Buffer.alloc(varintLength(n));
  writeVarint(b, 0, n);
  return [...b];
}

/** A length-prefixed field: a string's UTF-8 bytes, or bytes as given. */
function field(s: string | number[]): number[] {
  const b = typeof s === 'string' ? [...Buffer.from(s, 'utf8')] : s;
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** A 5.0 CONNECT from its parts: connect flags, the property bytes (length added), the payload bytes. */
function connect5(flags: number, payload: number[], props: number[] = []): Buffer {
  const body = [...field('MQTT'), 5, flags, 0, 0, ...varint(props.length), ...props, ...payload];
  return Buffer.from([0x10, ...varint(body.length), ...body]);
}

/** Bytes of a complete will in the payload: no will properties, topic, message. */
const willFields = (topic: string | number[] = 'w', message = 'bye'): number[] => [0, ...field(topic), ...field(message)];

/** Sends raw CONNECT bytes; the connection must be accepted with CONNACK 0x00. */
async function accepted(broker: Broker, bytes: Buffer): Promise<TestClient> {
  const client = openClient(broker, 5);
  client.sendRaw(bytes);
  const connack = await client.expect('connack');
  expect(connack.reasonCode).toBe(ReasonCode.Success);
  return client;
}

/** Sends raw CONNECT bytes; the broker must close without answering and keep no session. */
async function closedUnanswered(broker: Broker, bytes: Buffer): Promise<void> {
  const before = broker.inspect.sessionCount();
  const client = openClient(broker, 5);
  client.sendRaw(bytes);
  // expectClosed fails on any packet the broker sent first, CONNACK included.
  await client.expectClosed();
  expect(broker.inspect.sessionCount()).toBe(before);
}

/** A connected 5.0 client sends raw bytes: DISCONNECT 0x81 Malformed Packet, then the close. */
async function malformedAfterConnect(broker: Broker, bytes: number[] | Buffer, clientId = 'm'): Promise<void> {
  const { client } = await connect(broker, { protocolVersion: 5, clientId });
  client.sendRaw(bytes);
  expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
  await client.expectClosed();
}

function start(ctx: TestContext, options: CreateBrokerOptions = {}): Broker {
  return brokerFor(ctx, options);
}

/** Everything the broker writes to `client` from now on, as received bytes. */
function recordBytes(client: TestClient): () => Buffer {
  const chunks: Buffer[] = [];
  client.stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

describe('MQTT 5.0 CONNECT flags and payload (3.1.2, 3.1.3)', () => {
  it('a CONNECT with the reserved flag set is closed without CONNACK [MQTT-3.1.2-3] [MQTT-3.1.4-1]', async (ctx) => {
    const broker = start(ctx);
    await accepted(broker, connect5(CLEAN, field('ok')));
    await closedUnanswered(broker, connect5(CLEAN | 0x01, field('bad')));
  });

  // [MQTT-3.1.2-9] will flag 1: will properties, will topic and will message must all be there.
  it('will flag 1 with the will properties, topic or message missing is closed without CONNACK [MQTT-3.1.2-9]', async (ctx) => {
    const broker = start(ctx);
    await accepted(broker, connect5(CLEAN | WILL, [...field('ok'), ...willFields()]));
    await closedUnanswered(broker, connect5(CLEAN | WILL, field('none')));
    await closedUnanswered(broker, connect5(CLEAN | WILL, [...field('props-only'), 0]));
    await closedUnanswered(broker, connect5(CLEAN | WILL, [...field('no-message'), 0, ...field('w')]));
    // Without the will property length, the topic's length bytes are read as properties.
    await closedUnanswered(broker, connect5(CLEAN | WILL, [...field('no-props'), ...field('w'), ...field('bye')]));
  });

  it('will QoS set without the will flag is closed without CONNACK [MQTT-3.1.2-11]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | (1 << 3), field('q1')));
    await closedUnanswered(broker, connect5(CLEAN | (2 << 3), field('q2')));
    await accepted(broker, connect5(CLEAN, field('q0')));
  });

  // [MQTT-3.1.2-12] will QoS 0, 1 or 2 with the will flag; 3 is a Malformed Packet.
  it('will QoS 0, 1 and 2 are accepted, will QoS 3 is closed without CONNACK [MQTT-3.1.2-12]', async (ctx) => {
    const broker = start(ctx);
    for (const qos of [0, 1, 2]) await accepted(broker, connect5(CLEAN | WILL | (qos << 3), [...field(`w${qos}`), ...willFields()]));
    await closedUnanswered(broker, connect5(CLEAN | WILL | (3 << 3), [...field('w3'), ...willFields()]));
  });

  it('will retain set without the will flag is closed without CONNACK [MQTT-3.1.2-13]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | 0x20, field('r')));
    await accepted(broker, connect5(CLEAN | WILL | 0x20, [...field('r'), ...willFields()]));
  });

  it('user name flag 0 with a user name in the payload is closed without CONNACK [MQTT-3.1.2-16]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN, [...field('u0'), ...field('alice')]));
    await accepted(broker, connect5(CLEAN | USER, [...field('u0'), ...field('alice')]));
  });

  it('user name flag 1 with no user name is closed without CONNACK [MQTT-3.1.2-17]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | USER, field('u1')));
    await accepted(broker, connect5(CLEAN | USER, [...field('u1'), ...field('')]));
  });

  it('password flag 0 with a password in the payload is closed without CONNACK [MQTT-3.1.2-18]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | USER, [...field('p0'), ...field('alice'), ...field('secret')]));
    await accepted(broker, connect5(CLEAN | USER | PASS, [...field('p0'), ...field('alice'), ...field('secret')]));
  });

  it('password flag 1 with no password is closed without CONNACK [MQTT-3.1.2-19]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | USER | PASS, [...field('p1'), ...field('alice')]));
    // 5.0 allows a password without a user name.
    await accepted(broker, connect5(CLEAN | PASS, [...field('p1'), ...field('secret')]));
  });

  // [MQTT-3.1.3-1] client id, will topic, will message, user name, password: in that order, both ways.
  it('reads and writes the payload in the order client id, will topic, will message, user name, password [MQTT-3.1.3-1]', async (ctx) => {
    const seen: [string, string | undefined, string | undefined][] = [];
    const broker = start(ctx, {
      hooks: {
        authenticate: (c, username, password) => {
          seen.push([c.clientId, username, password?.toString()]);
          return true;
        },
      },
    });
    const { client: watcher } = await connect(broker, { protocolVersion: 5, clientId: 'watcher' });
    await watcher.subscribe('will/#');
    seen.length = 0;
    const bytes = connect5(CLEAN | WILL | USER | PASS, [...field('ordered'), 0, ...field('will/t'), ...field('message'), ...field('user'), ...field('pass')]);
    // Our encoder writes exactly these bytes for the same fields.
    expect(encode({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'ordered', will: { topic: 'will/t', payload: Buffer.from('message'), qos: 0, retain: false }, username: 'user', password: Buffer.from('pass') }, 5)).toEqual(bytes);
    const client = await accepted(broker, bytes);
    expect(seen).toEqual([['ordered', 'user', 'pass']]);
    client.kill();
    const will = await watcher.expect('publish');
    expect(will.topic).toBe('will/t');
    expect(will.payload.toString()).toBe('message');
  });

  it('a CONNECT without a client id is closed without CONNACK [MQTT-3.1.3-3]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN, []));
    await closedUnanswered(broker, connect5(CLEAN, [0]));
    // A zero-length client id is present (and is assigned one): the field itself is what is required.
    await accepted(broker, connect5(CLEAN, field('')));
  });

  it('a client id that is not UTF-8 is closed without CONNACK [MQTT-3.1.3-4]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN, field([0xc3, 0x28])));
    await closedUnanswered(broker, connect5(CLEAN, field([0x61, 0xff])));
    await accepted(broker, connect5(CLEAN, field('é')));
    expect(broker.inspect.session('é')).toBeDefined();
  });

  it('a will topic that is not UTF-8 is closed without CONNACK [MQTT-3.1.3-11]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | WILL, [...field('wt'), ...willFields([0x77, 0xc0, 0xaf])]));
    await accepted(broker, connect5(CLEAN | WILL, [...field('wt'), ...willFields('wé')]));
  });

  it('a user name that is not UTF-8 is closed without CONNACK [MQTT-3.1.3-12]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN | USER, [...field('un'), ...field([0x80])]));
    await accepted(broker, connect5(CLEAN | USER, [...field('un'), ...field('ü')]));
  });
});

describe('MQTT 5.0 data representation (1.5)', () => {
  // [MQTT-1.5.4-1] no ill-formed UTF-8, in particular no encoded surrogates, in any string.
  it('refuses encoded surrogates U+D800..U+DFFF in strings, reading and writing [MQTT-1.5.4-1]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN, field([0xed, 0xa0, 0x80])));
    await closedUnanswered(broker, connect5(CLEAN, field([0xed, 0xbf, 0xbf])));
    // A PUBLISH topic of 'a' + U+D800, from a connected client.
    const publish = [0x30, 7, ...field([0x61, 0xed, 0xa0, 0x80]), 0];
    await malformedAfterConnect(broker, publish);
    // U+10000 is four bytes, not a surrogate pair in CESU form: accepted.
    await accepted(broker, connect5(CLEAN, field('\u{10000}')));
    expect(() => encode({ type: 'publish', topic: 'a\ud800', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 5)).toThrow(MqttError);
  });

  it('refuses U+0000 in strings, reading and writing [MQTT-1.5.4-2]', async (ctx) => {
    const broker = start(ctx);
    await closedUnanswered(broker, connect5(CLEAN, field([0x61, 0x00])));
    await malformedAfterConnect(broker, [0x30, 5, ...field([0x61, 0x00]), 0]);
    expect(() => encode({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'a\u0000' }, 5)).toThrow(MqttError);
  });

  // [MQTT-1.5.4-3] EF BB BF is U+FEFF wherever it stands, never skipped or stripped.
  it('keeps a leading U+FEFF in topics and client ids [MQTT-1.5.4-3]', async (ctx) => {
    const broker = start(ctx);
    const { client: withBom } = await connect(broker, { protocolVersion: 5, clientId: 'with-bom' });
    await withBom.subscribe('\ufeffbom');
    const { client: withoutBom } = await connect(broker, { protocolVersion: 5, clientId: 'without-bom' });
    await withoutBom.subscribe('bom');
    const bytes = recordBytes(withBom);
    const { client: pub } = await connect(broker, { protocolVersion: 5, clientId: 'pub' });
    pub.sendRaw([0x30, 10, ...field([0xef, 0xbb, 0xbf, ...Buffer.from('bom')]), 0, 0x78]);
    const m = await withBom.expect('publish');
    expect(m.topic).toBe('\ufeffbom');
    expect(bytes().subarray(2, 10)).toEqual(Buffer.from([0, 6, 0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]));
    await withoutBom.expectNothing();
    await accepted(broker, connect5(CLEAN, field([0xef, 0xbb, 0xbf, 0x69, 0x64])));
    expect(broker.inspect.session('\ufeffid')).toBeDefined();
    expect(broker.inspect.session('id')).toBeUndefined();
  });

  // [MQTT-1.5.5-1] a variable byte integer uses the fewest bytes: we write so, and refuse longer forms.
  it('writes variable byte integers in the fewest bytes and refuses overlong ones [MQTT-1.5.5-1]', async (ctx) => {
    // Remaining Length 127 | 128 | 16,383 | 16,384: 1, 2, 2, 3 length bytes.
    for (const [remaining, lengthBytes] of [[127, 1], [128, 2], [16_383, 2], [16_384, 3]] as const) {
      // PUBLISH QoS 0, topic 't', property length 0: 2 + 1 + 1 header bytes before the payload.
      const bytes = encode({ type: 'publish', topic: 't', payload: Buffer.alloc(remaining - 4), qos: 0, retain: false, dup: false }, 5);
      expect(bytes.length).toBe(1 + lengthBytes + remaining);
    }
    // A property length of 127 | 128: 1 | 2 bytes (a user property of 124 | 125 bytes of value, 5 bytes around it).
    for (const [propsLen, lengthBytes] of [[127, 1], [128, 2]] as const) {
      const bytes = encode({ type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, properties: { userProperties: [['k', 'v'.repeat(propsLen - 6)]] } }, 5);
      expect(bytes.length).toBe(1 + varintLength(3 + lengthBytes + propsLen) + 3 + lengthBytes + propsLen);
    }
    expect(() => new Parser({ protocolVersion: 5 }).push(Buffer.from([0xc0, 0x80, 0x00]))).toThrow(MqttError);
    const broker = start(ctx);
    // PINGREQ with Remaining Length 0 written as 0x80 0x00.
    await malformedAfterConnect(broker, [0xc0, 0x80, 0x00], 'overlong-length');
    // A CONNECT whose property length 0 is written as 0x80 0x00.
    const body = [...field('MQTT'), 5, CLEAN, 0, 0, 0x80, 0x00, ...field('overlong-props')];
    await closedUnanswered(broker, Buffer.from([0x10, body.length, ...body]));
    // A CONNECT whose Remaining Length is written in one byte more than needed.
    const good = connect5(CLEAN, field('overlong-connect'));
    await closedUnanswered(broker, Buffer.from([0x10, good[1]! | 0x80, 0x00, ...good.subarray(2)]));
    await accepted(broker, good);
  });

  // [MQTT-1.5.7-1] both strings of a UTF-8 String Pair (a user property) are UTF-8 Encoded Strings.
  it('refuses a user property whose name or value is not UTF-8 [MQTT-1.5.7-1]', async (ctx) => {
    const broker = start(ctx);
    const pair = (k: string | number[], v: string | number[]): number[] => [0x26, ...field(k), ...field(v)];
    await accepted(broker, connect5(CLEAN, field('pair-ok'), pair('k', 'v')));
    await closedUnanswered(broker, connect5(CLEAN, field('bad-name'), pair([0xff], 'v')));
    await closedUnanswered(broker, connect5(CLEAN, field('bad-value'), pair('k', [0xc3])));
    await closedUnanswered(broker, connect5(CLEAN, field('null-value'), pair('k', [0x00])));
    // In a PUBLISH from a connected client: topic 't', properties = one pair with a bad value.
    const props = pair('k', [0xed, 0xa0, 0x80]);
    await malformedAfterConnect(broker, [0x30, 3 + 1 + props.length, ...field('t'), props.length, ...props]);
  });
});

describe('MQTT 5.0 fixed header flags (2.1.3)', () => {
  // [MQTT-2.1.3-1] reserved flag bits must carry the listed value: PUBREL, SUBSCRIBE, UNSUBSCRIBE
  // 0010, the others 0000. We refuse other values, and write the listed ones.
  it('refuses packets whose reserved flag bits differ from the listed value and writes the listed value [MQTT-2.1.3-1]', async (ctx) => {
    const broker = start(ctx);
    const good = connect5(CLEAN, field('flags-ok'));
    await closedUnanswered(broker, Buffer.from([0x11, ...good.subarray(1)]));
    await accepted(broker, good);
    await malformedAfterConnect(broker, [0xc1, 0x00], 'pingreq-0001'); // PINGREQ 0001
    await malformedAfterConnect(broker, [0x80, 7, 0, 1, 0, ...field('a'), 0], 'subscribe-0000'); // SUBSCRIBE 0000
    await malformedAfterConnect(broker, [0xa0, 6, 0, 1, 0, ...field('a')], 'unsubscribe-0000'); // UNSUBSCRIBE 0000
    await malformedAfterConnect(broker, [0x60, 2, 0, 1], 'pubrel-0000'); // PUBREL 0000
    await malformedAfterConnect(broker, [0x42, 2, 0, 1], 'puback-0010'); // PUBACK 0010
    await malformedAfterConnect(broker, [0xe1, 0], 'disconnect-0001'); // DISCONNECT 0001

    // What the broker writes: SUBACK 1001 0000, PUBREC 0101 0000, PUBREL 0110 0010, UNSUBACK 1011 0000.
    const { client } = await connect(broker, { protocolVersion: 5, clientId: 'writer' });
    const bytes = recordBytes(client);
    await client.subscribe('t', 2);
    const id = client.publish('t', 'x', { qos: 2 });
    // Its own PUBREC and the delivery of the message to itself, in either order.
    const two = [await client.next(), await client.next()];
    expect(two.find((p) => p.type === 'pubrec')).toMatchObject({ packetId: id });
    const delivered = two.find((p) => p.type === 'publish') as PublishPacket;
    client.send({ type: 'pubrel', packetId: id, reasonCode: 0 });
    await client.expect('pubcomp');
    client.send({ type: 'pubrec', packetId: delivered.packetId!, reasonCode: 0 });
    await client.expect('pubrel');
    client.send({ type: 'pubcomp', packetId: delivered.packetId!, reasonCode: 0 });
    client.send({ type: 'unsubscribe', packetId: 99, topicFilters: ['t'] });
    await client.expect('unsuback');
    expect(delivered.qos).toBe(2);
    const firstBytes = packetsIn(bytes()).map((p) => p[0]!);
    expect(firstBytes).toEqual(expect.arrayContaining([0x90, 0x50, 0x62, 0x70, 0xb0]));
    for (const b of firstBytes) {
      const type = b >> 4;
      if (type === 3) continue; // PUBLISH: its flags are DUP, QoS and RETAIN
      expect(b & 0x0f).toBe(type === 6 || type === 8 || type === 10 ? 0b0010 : 0);
    }
  });
});

/** Cuts a byte stream into whole packets (fixed header + body). */
function packetsIn(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < stream.length) {
    let len = 0;
    let mult = 1;
    let i = pos + 1;
    for (;;) {
      const b = stream[i++]!;
      len += (b & 0x7f) * mult;
      mult *= 128;
      if ((b & 0x80) === 0) break;
    }
    out.push(stream.subarray(pos, i + len));
    pos = i + len;
  }
  return out;
}

describe('MQTT 5.0 packet identifier and properties (2.2)', () => {
  // [MQTT-2.2.1-2] a QoS 0 PUBLISH has no packet identifier: not written, not read.
  it('writes QoS 0 PUBLISH packets without a packet identifier and reads none from them [MQTT-2.2.1-2]', async (ctx) => {
    const broker = start(ctx);
    const { client: sub } = await connect(broker, { protocolVersion: 5, clientId: 'sub' });
    await sub.subscribe('t', 2);
    const bytes = recordBytes(sub);
    const { client: pub } = await connect(broker, { protocolVersion: 5, clientId: 'pub' });
    // QoS 0: topic 't', property length 0, then payload 00 07 'x' (would be a packet id if one were read).
    pub.sendRaw([0x30, 7, ...field('t'), 0, 0x00, 0x07, 0x78]);
    const m = await sub.expect('publish');
    expect(m.qos).toBe(0);
    expect(m.packetId).toBeUndefined();
    expect(m.payload).toEqual(Buffer.from([0x00, 0x07, 0x78]));
    // On the wire to the subscriber: 30 07 | 00 01 't' | 00 (properties) | payload: no identifier.
    expect(bytes()).toEqual(Buffer.from([0x30, 7, 0, 1, 0x74, 0, 0x00, 0x07, 0x78]));
    // The encoder leaves out an identifier a QoS 0 packet object happens to carry.
    expect(encode({ type: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, packetId: 5 }, 5)).toEqual(Buffer.from([0x30, 5, 0, 1, 0x74, 0, 0x78]));
  });

  // [MQTT-2.2.2-1] no properties: a Property Length of zero, in what the broker and the encoder write.
  it('writes a Property Length of 0 when a packet has no properties [MQTT-2.2.2-1]', async (ctx) => {
    const broker = start(ctx);
    const { client } = await connect(broker, { protocolVersion: 5, clientId: 'props' });
    const bytes = recordBytes(client);
    client.send({ type: 'subscribe', packetId: 0x0102, subscriptions: [{ topicFilter: 't', qos: 1 }] });
    await client.expect('suback');
    client.publish('t', 'p', { qos: 0 });
    await client.expect('publish');
    client.send({ type: 'unsubscribe', packetId: 0x0103, topicFilters: ['t'] });
    await client.expect('unsuback');
    expect(packetsIn(bytes())).toEqual([
      Buffer.from([0x90, 4, 0x01, 0x02, 0x00, 0x01]), // SUBACK: id, property length 0, granted QoS 1
      Buffer.from([0x30, 5, 0, 1, 0x74, 0x00, 0x70]), // PUBLISH: topic, property length 0, payload
      Buffer.from([0xb0, 4, 0x01, 0x03, 0x00, 0x00]), // UNSUBACK: id, property length 0, success
    ]);
    const none: Packet[] = [
      { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' },
      { type: 'connack', sessionPresent: false, reasonCode: 0 },
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0 }] },
      { type: 'unsubscribe', packetId: 1, topicFilters: ['t'] },
      { type: 'auth', reasonCode: 0x18 },
    ];
    // (PUBACK, PUBREC, PUBREL, PUBCOMP and DISCONNECT may leave out both the reason code and the
    // property length when they are 0 and there are no properties, 5.0 sections 3.4.2.2 and 3.14.2.2.)
    // Where each packet's property length stands: after the fixed header and its variable header fields.
    const at: Record<string, number> = { connect: 12, connack: 4, subscribe: 4, unsubscribe: 4, auth: 3 };
    for (const p of none) {
      const b = encode(p, 5);
      expect([p.type, b[at[p.type]!]]).toEqual([p.type, 0]);
      // And the parser reads it back the same, with no properties.
      const back = new Parser({ protocolVersion: 5 }).push(b)[0]!;
      expect((back as { properties?: unknown }).properties).toBeUndefined();
    }
  });
});
