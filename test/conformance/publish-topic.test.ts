/**
 * The Topic Name of a PUBLISH (section 3.3.2.1, both versions) and 5.0's Topic Aliases
 * (section 3.3.2.3.4), the broker's side: what it closes on, what topic it delivers (shared
 * subscriptions and aliases in and out included), which aliases it accepts and sends.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBroker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker({ topicAliasMaximum: 4 });
afterAll(() => broker.close());

/** A broker of its own for a test that needs other settings, closed when the test ends. */
function ownBroker(options: CreateBrokerOptions) {
  const b = createBroker(options);
  onTestFinished(() => b.close());
  return b;
}

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1.1', 4],
  ['5.0', 5],
];

let n = 0;
async function client(protocolVersion: ProtocolVersion, extra: Parameters<typeof connect>[1] = {}): Promise<TestClient> {
  return (await connect(broker, { clientId: `topic-${++n}`, protocolVersion, ...extra })).client;
}

/** The raw bytes the broker writes to `c`, from now on. */
function tap(c: TestClient): Buffer[] {
  const chunks: Buffer[] = [];
  c.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return chunks;
}

/** A PUBLISH QoS 0 whose topic field is the raw bytes `topic` (5.0: empty properties). */
function rawPublish(topic: number[], protocolVersion: ProtocolVersion): Buffer {
  const body = [topic.length >> 8, topic.length & 0xff, ...topic, ...(protocolVersion === 5 ? [0] : []), 0x78];
  return Buffer.from([0x30, body.length, ...body]);
}

describe('Topic Name', () => {
  // [MQTT-3.3.2-1] the Topic Name is the first field, a UTF-8 string: the broker writes it so
  // (length, then the UTF-8 bytes, right after the fixed header), and closes on a PUBLISH whose
  // topic is not well-formed UTF-8 or that is too short to hold one (5.0: DISCONNECT 0x81).
  it.each(VERSIONS)('writes the topic first as UTF-8 and closes on a topic that is not UTF-8 (%s)', async (name, protocolVersion) => {
    const topic = `topic/ü/€/${name}`;
    const sub = await client(protocolVersion);
    await sub.subscribe(topic);
    const bytes = tap(sub);
    const pub = await client(protocolVersion);
    pub.publish(topic, 'x');
    expect((await sub.expect('publish')).topic).toBe(topic);
    const utf8 = Buffer.from(topic, 'utf8');
    const wire = Buffer.concat(bytes);
    expect(wire[0]).toBe(0x30);
    // One length byte (the packet is short), then the topic's length and its UTF-8 bytes.
    expect(wire.subarray(2, 4 + utf8.length)).toEqual(Buffer.concat([Buffer.from([utf8.length >> 8, utf8.length & 0xff]), utf8]));

    pub.sendRaw(rawPublish([0x74, 0xc3, 0x28], protocolVersion));
    if (protocolVersion === 5) expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await pub.expectClosed();
    const short = await client(protocolVersion);
    // Remaining length 1: not even the topic's length fits.
    short.sendRaw([0x30, 0x01, 0x00]);
    if (protocolVersion === 5) expect((await short.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await short.expectClosed();
    // An empty Topic Name (5.0: and no Topic Alias to stand for it) names no topic at all.
    const empty = await client(protocolVersion);
    empty.sendRaw(rawPublish([], protocolVersion));
    if (protocolVersion === 5) expect((await empty.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await empty.expectClosed();
    await sub.expectNothing();
  });

  // [MQTT-3.3.2-2] a wildcard in a Topic Name: 3.1.1 closes, 5.0 sends DISCONNECT 0x90 and
  // closes; nothing is delivered to a '#' subscriber.
  it.each(VERSIONS)('closes on a Topic Name with + or # (%s)', async (_name, protocolVersion) => {
    const watcher = await client(protocolVersion);
    await watcher.subscribe('wild/#');
    for (const topic of ['wild/+', 'wild/#', 'wild/a+b']) {
      const pub = await client(protocolVersion);
      pub.sendRaw(rawPublish([...Buffer.from(topic)], protocolVersion));
      if (protocolVersion === 5) expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicNameInvalid);
      await pub.expectClosed();
    }
    await watcher.expectNothing();
  });

  // [MQTT-3.3.2-3] what a subscriber receives is the published Topic Name, which matches its
  // filter: a wildcard filter and a shared subscription deliver the topic, not the filter or
  // the $share name.
  it.each(VERSIONS)('delivers the published topic through wildcard and shared subscriptions (%s)', async (name, protocolVersion) => {
    const wild = await client(protocolVersion);
    await wild.subscribe(`dt${name}/+/c`);
    const shared = await client(protocolVersion);
    await shared.subscribe(`$share/g/dt${name}/#`);
    const pub = await client(protocolVersion);
    pub.publish(`dt${name}/b/c`, 'x');
    expect((await wild.expect('publish')).topic).toBe(`dt${name}/b/c`);
    expect((await shared.expect('publish')).topic).toBe(`dt${name}/b/c`);
  });

  // [MQTT-3.3.2-3] with aliases: a topic the publisher sent through its alias reaches a
  // subscriber as that topic; to a subscriber that takes aliases the broker's own alias stands
  // for that same topic (an empty topic resolves through an alias it set before).
  it('5.0: delivers the published topic when aliases are used on the way in and out', async () => {
    const plain = await client(5);
    await plain.subscribe('da/#');
    const aliased = await client(5, { properties: { topicAliasMaximum: 5 } });
    await aliased.subscribe('da/#');
    const pub = await client(5);
    pub.publish('da/one', '1', { properties: { topicAlias: 2 } });
    pub.publish('', '2', { properties: { topicAlias: 2 } });
    pub.publish('da/two', '3', { properties: { topicAlias: 2 } });
    pub.publish('', '4', { properties: { topicAlias: 2 } });
    const expected = ['da/one', 'da/one', 'da/two', 'da/two'];
    const got: PublishPacket[] = [];
    for (let i = 0; i < 4; i++) got.push(await plain.expect('publish'));
    expect(got.map((p) => [p.topic, p.properties?.topicAlias])).toEqual(expected.map((t) => [t, undefined]));
    const aliases = new Map<number, string>();
    const resolved: string[] = [];
    let empty = 0;
    for (let i = 0; i < 4; i++) {
      const p = await aliased.expect('publish');
      const alias = p.properties?.topicAlias;
      if (alias !== undefined && p.topic !== '') aliases.set(alias, p.topic);
      if (p.topic === '') empty++;
      resolved.push(p.topic === '' ? aliases.get(alias!)! : p.topic);
    }
    expect(resolved).toEqual(expected);
    expect(empty).toBe(2);
  });
});

describe('5.0 Topic Aliases', () => {
  // [MQTT-3.3.2-7] the broker, as receiver, starts each connection without the client's
  // aliases (resumed session or not): an empty topic with the old alias is a Protocol Error.
  // As sender it starts afresh too: the first PUBLISH on the new connection names the topic.
  it('5.0: carries no alias mapping from one connection to the next, either way', async () => {
    const session = { clientId: 'alias-carry', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60, topicAliasMaximum: 4 } };
    const first = (await connect(broker, session)).client;
    await first.subscribe('carry/t');
    first.publish('carry/t', 'set', { properties: { topicAlias: 1 } });
    const m1 = await first.expect('publish');
    expect(m1.topic).toBe('carry/t');
    expect(m1.properties?.topicAlias).toBeDefined();
    first.publish('carry/t', 'again');
    expect((await first.expect('publish')).topic).toBe('');
    await first.disconnect({ reasonCode: 0 });
    const second = (await connect(broker, session)).client;
    const pub = await client(4);
    pub.publish('carry/t', 'fresh');
    expect((await second.expect('publish')).topic).toBe('carry/t');
    second.publish('', 'old alias', { properties: { topicAlias: 1 } });
    expect((await second.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await second.expectClosed();
  });

  // [MQTT-3.3.2-8] the broker never sends Topic Alias 0 (its aliases count from 1; checked on
  // the wire, where a 0 could hide from a decoder); it refuses 0 from a client with 0x94.
  it('5.0: never sends Topic Alias 0, and refuses it with 0x94', async () => {
    const sub = await client(5, { properties: { topicAliasMaximum: 3 } });
    await sub.subscribe('zero/#');
    const bytes = tap(sub);
    const pub = await client(4);
    for (const t of ['a', 'b', 'c', 'a', 'd']) pub.publish(`zero/${t}`, t);
    for (let i = 0; i < 5; i++) {
      const p = await sub.expect('publish');
      if (p.properties?.topicAlias !== undefined) expect(p.properties.topicAlias).toBeGreaterThan(0);
    }
    // Property 0x23 (Topic Alias) followed by 0x0000 appears nowhere in what was written.
    expect(Buffer.concat(bytes).includes(Buffer.from([0x23, 0x00, 0x00]))).toBe(false);
    const bad = await client(5);
    bad.sendRaw([0x30, 0x07, 0x00, 0x01, 0x61, 0x03, 0x23, 0x00, 0x00]);
    expect((await bad.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicAliasInvalid);
    await bad.expectClosed();
  });

  // [MQTT-3.3.2-9] a client alias above the Topic Alias Maximum of the CONNACK: the broker
  // answers DISCONNECT 0x94 and delivers nothing of it.
  it('5.0: disconnects with 0x94 a client sending an alias above the announced maximum', async () => {
    const watcher = await client(5);
    await watcher.subscribe('over/#');
    const { client: pub, connack } = await connect(broker, { clientId: 'alias-over', protocolVersion: 5 });
    expect(connack.properties?.topicAliasMaximum).toBe(4);
    pub.publish('over/t', 'x', { properties: { topicAlias: 5 } });
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicAliasInvalid);
    await pub.expectClosed();
    await watcher.expectNothing();
  });

  // [MQTT-3.3.2-11] never an alias above the client's Topic Alias Maximum: with 2, at most
  // aliases 1 and 2 over five topics; with none announced, no alias at all.
  it('5.0: sends no alias above the client’s Topic Alias Maximum, and none without one', async () => {
    const two = await client(5, { properties: { topicAliasMaximum: 2 } });
    await two.subscribe('max/#');
    const none = await client(5);
    await none.subscribe('max/#');
    const pub = await client(4);
    const topics = ['a', 'b', 'c', 'd', 'e', 'a', 'b', 'c'];
    for (const t of topics) pub.publish(`max/${t}`, t);
    const aliases = new Map<number, string>();
    for (const t of topics) {
      const p = await two.expect('publish');
      const alias = p.properties?.topicAlias;
      if (alias !== undefined) {
        expect(alias).toBeGreaterThanOrEqual(1);
        expect(alias).toBeLessThanOrEqual(2);
        if (p.topic !== '') aliases.set(alias, p.topic);
      }
      expect(p.topic === '' ? aliases.get(alias!) : p.topic).toBe(`max/${t}`);
    }
    expect(aliases.size).toBe(2);
    for (const t of topics) {
      const p = await none.expect('publish');
      expect([p.topic, p.properties?.topicAlias]).toEqual([`max/${t}`, undefined]);
    }
  });

  // [MQTT-3.3.2-12] every alias from 1 to the announced maximum is accepted, the maximum
  // included, and then stands for its topic.
  it('5.0: accepts every alias from 1 to the Topic Alias Maximum it announced', async () => {
    const b = ownBroker({ topicAliasMaximum: 3 });
    const { client: sub } = await connect(b, { clientId: 'sub' });
    await sub.subscribe('acc/#');
    const { client: pub, connack } = await connect(b, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.topicAliasMaximum).toBe(3);
    for (const alias of [1, 2, 3]) pub.publish(`acc/${alias}`, 'set', { properties: { topicAlias: alias } });
    for (const alias of [3, 1, 2]) pub.publish('', 'use', { properties: { topicAlias: alias } });
    const got: [string, string][] = [];
    for (let i = 0; i < 6; i++) {
      const p = await sub.expect('publish');
      got.push([p.topic, p.payload.toString()]);
    }
    expect(got).toEqual([
      ['acc/1', 'set'],
      ['acc/2', 'set'],
      ['acc/3', 'set'],
      ['acc/3', 'use'],
      ['acc/1', 'use'],
      ['acc/2', 'use'],
    ]);
    pub.send({ type: 'pingreq' });
    await pub.expect('pingresp');
  });
});
