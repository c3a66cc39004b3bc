/**
 * Topic names and topic filters (section 4.7 of MQTT 3.1.1 and of 5.0) against the broker, over
 * an in-process connection: wildcards only in filters and only where they may stand, the `$`
 * rule, the length and character rules, and matching that compares the bytes as sent.
 *
 * The ids differ between the versions: the '#' rule is 3.1.1 MQTT-4.7.1-2 and 5.0 MQTT-4.7.1-1,
 * the '+' rule 3.1.1 MQTT-4.7.1-3 and 5.0 MQTT-4.7.1-2, "no wildcard in a name" 3.1.1
 * MQTT-4.7.1-1 and 5.0 MQTT-4.7.0-1; the others share their numbers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ProtocolVersion, Subscription } from '../../src/core/codec/types.js';
import { connect, until, type TestClient } from '../helpers/broker-client.js';

// One broker for the file; every test has client ids of its own.
const broker = createBroker();
afterAll(() => broker.close());

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const;

let ids = 0;
/** A connected client of `version`, with a client id no other test uses. */
async function client(version: ProtocolVersion, what: string): Promise<TestClient> {
  const { client: c } = await connect(broker, { clientId: `${what}-${version}-${ids++}`, protocolVersion: version });
  return c;
}

/** A subscription in the form of `version` (5.0 carries its options). */
function sub(version: ProtocolVersion, topicFilter: string, qos: 0 | 1 | 2 = 0): Subscription {
  return version === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } : { topicFilter, qos };
}

/**
 * Topics of the PUBLISHes that arrive up to and including `last` (the last one the test sent
 * that this client matches: one publisher's messages arrive in order), then a short silence.
 */
async function topicsUntil(c: TestClient, last: string): Promise<string[]> {
  const topics: string[] = [];
  for (let t = ''; t !== last; ) {
    t = (await c.expect('publish')).topic;
    topics.push(t);
  }
  await c.expectNothing(50);
  return topics;
}

/** The SUBACK refusal code of `version` for an invalid filter: 0x80 in 3.1.1, 0x8F in 5.0. */
const refused = (version: ProtocolVersion): number => (version === 5 ? ReasonCode.TopicFilterInvalid : 0x80);

/**
 * How the broker ends a connection that sent a PUBLISH it must not accept: 3.1.1 has no server
 * DISCONNECT, so it closes; 5.0 sends DISCONNECT with `code` first.
 */
async function expectEnded(c: TestClient, version: ProtocolVersion, code: number): Promise<void> {
  if (version === 5) expect((await c.expect('disconnect')).reasonCode).toBe(code);
  await c.expectClosed();
}

describe.each(VERSIONS)('MQTT %s', (name, v) => {
  // 3.1.1 [MQTT-4.7.1-1], 5.0 [MQTT-4.7.0-1]: no wildcard within a Topic Name; the broker
  // refuses such a PUBLISH (closes; 5.0 with DISCONNECT 0x90) and delivers it to no one.
  it(`${name}: a PUBLISH whose topic name holds + or # is refused and routed nowhere`, async () => {
    const all = await client(v, 'all');
    await all.subscribe(['#', 'a/#', '+/+']);
    for (const topic of ['a/+', 'a/#', '+', '#', 'a/b+', 'a#/b']) {
      const pub = await client(v, 'pub');
      pub.publish(topic, 'x');
      await expectEnded(pub, v, ReasonCode.TopicNameInvalid);
    }
    await all.expectNothing();
  });

  // 3.1.1 [MQTT-4.7.1-2], 5.0 [MQTT-4.7.1-1]: '#' stands alone or after a '/', and last.
  it(`${name}: a filter with # anywhere but alone at the last level is refused; # and a/# are granted`, async () => {
    const id = `hash-${v}-${ids}`;
    const c = await client(v, 'hash');
    const bad = ['a/#/b', 'a#', '#/', '#/a', 'a/b#', '##', 'a/#b'];
    const good = ['#', 'a/#', '/#', '+/#'];
    const suback = await c.trySubscribe([...bad, ...good].map((f) => sub(v, f, 1)));
    expect(suback.reasonCodes).toEqual([...bad.map(() => refused(v)), ...good.map(() => 1)]);
    expect(broker.inspect.session(id)!.subscriptions.map((s) => s.topicFilter).sort()).toEqual([...good].sort());
  });

  // Where '#' stands, it matches its parent level and any number of levels below (section
  // 4.7.1.2 of both versions: the text around the rule above, not a numbered statement).
  it(`${name}: a/# matches a, a/ and every level below a, nothing else`, async () => {
    const s = await client(v, 'hash-sub');
    await s.subscribe(sub(v, 'a/#'));
    const p = await client(v, 'hash-pub');
    for (const t of ['b', 'ab', 'b/a', '/a', 'a', 'a/', 'a/b', 'a/b/c/d']) p.publish(t, t);
    expect(await topicsUntil(s, 'a/b/c/d')).toEqual(['a', 'a/', 'a/b', 'a/b/c/d']);
  });

  // 3.1.1 [MQTT-4.7.1-3], 5.0 [MQTT-4.7.1-2]: '+' fills a whole level, at any level.
  it(`${name}: a filter with + sharing a level with anything is refused; + at the first and last level is granted`, async () => {
    const c = await client(v, 'plus');
    const bad = ['a+', '+a', 'a/+b', 'a/b+/c', '++', '+#', 'a/+/b+'];
    const good = ['+', '+/b', 'a/+', '+/+/+', '+/#'];
    const suback = await c.trySubscribe([...bad, ...good].map((f) => sub(v, f, 2)));
    expect(suback.reasonCodes).toEqual([...bad.map(() => refused(v)), ...good.map(() => 2)]);
  });

  // 3.1.1 [MQTT-4.7.1-3], 5.0 [MQTT-4.7.1-2]: '+' matches exactly one level, an empty one too.
  it(`${name}: + at the first and the last level matches exactly one level each`, async () => {
    const first = await client(v, 'plus-first');
    await first.subscribe(sub(v, '+/b'));
    const last = await client(v, 'plus-last');
    await last.subscribe(sub(v, 'a/+'));
    const p = await client(v, 'plus-pub');
    for (const t of ['b', 'a/b/c', 'x/y/b', '/b', 'a/', 'a/x', 'a/b']) p.publish(t, t);
    expect(await topicsUntil(first, 'a/b')).toEqual(['/b', 'a/b']);
    expect(await topicsUntil(last, 'a/b')).toEqual(['a/', 'a/x', 'a/b']);
  });

  // [MQTT-4.7.2-1] (both versions): a filter starting with '#' or '+' never matches a topic
  // starting with '$'; a filter starting with that '$' level does.
  it(`${name}: # and +/… never match $ topics; $app/# and $app/+ do`, async () => {
    const wild = await client(v, 'wild');
    await wild.subscribe(['#', '+', '+/x', '+/#'].map((f) => sub(v, f)));
    // A shared subscription's filter is matched the same way (the prefix is honoured in 3.1.1
    // too). Two shared subscriptions are two, each with its own copy (5.0 section 4.8.2).
    const shared = await client(v, 'wild-shared');
    await shared.subscribe([`$share/w${v}/#`, `$share/w${v}/+/x`].map((f) => sub(v, f)));
    const dollar = await client(v, 'dollar');
    await dollar.subscribe(['$app/#', '$app/+'].map((f) => sub(v, f)));
    const p = await client(v, 'dollar-pub');
    for (const t of ['$app', '$app/x', '$app/x/y']) p.publish(t, t);
    broker.publishMessage('$SYS/broker/uptime', '1');
    p.publish('app/x', 'plain');
    // Only the plain topic (once: overlapping subscriptions give one copy).
    expect(await topicsUntil(wild, 'app/x')).toEqual(['app/x']);
    expect([(await shared.expect('publish')).topic, (await shared.expect('publish')).topic]).toEqual(['app/x', 'app/x']);
    await shared.expectNothing(50);
    expect(await topicsUntil(dollar, '$app/x/y')).toEqual(['$app', '$app/x', '$app/x/y']);
  });

  // [MQTT-4.7.3-1]: a Topic Name is at least one character long. An empty topic (in 5.0:
  // without a Topic Alias to stand for it) is not accepted, and reaches no one.
  it(`${name}: a PUBLISH with an empty topic name is refused`, async () => {
    const all = await client(v, 'empty-all');
    await all.subscribe(sub(v, '#'));
    const pub = await client(v, 'empty-pub');
    pub.publish('', 'x');
    // 5.0: an empty topic without an alias is a Protocol Error (section 3.3.2.3.4).
    await expectEnded(pub, v, ReasonCode.ProtocolError);
    await all.expectNothing();
  });

  // [MQTT-4.7.3-1]: a Topic Filter is at least one character long.
  it(`${name}: a SUBSCRIBE with an empty topic filter is refused`, async () => {
    const c = await client(v, 'empty-filter');
    const suback = await c.trySubscribe([sub(v, ''), sub(v, 'ok', 1)]);
    expect(suback.reasonCodes).toEqual([refused(v), 1]);
  });

  // [MQTT-4.7.3-2]: no U+0000 in a Topic Name or a Topic Filter: a malformed string, so the
  // connection is closed (5.0: DISCONNECT 0x81 first) and nothing is routed or subscribed.
  it(`${name}: a topic name or a topic filter holding U+0000 closes the connection`, async () => {
    const all = await client(v, 'nul-all');
    await all.subscribe(sub(v, '#'));
    const props = v === 5 ? [0] : [];
    // Raw bytes: our encoder refuses to write such a string at all (checked last).
    const pub = await client(v, 'nul-pub');
    const publish = [0x00, 0x03, 0x61, 0x00, 0x62, ...props, 0x78];
    pub.sendRaw([0x30, publish.length, ...publish]);
    await expectEnded(pub, v, ReasonCode.MalformedPacket);
    const s = await client(v, 'nul-sub');
    const subscribe = [0x00, 0x01, ...props, 0x00, 0x03, 0x61, 0x2f, 0x00, 0x00];
    s.sendRaw([0x82, subscribe.length, ...subscribe]);
    await expectEnded(s, v, ReasonCode.MalformedPacket);
    expect(broker.inspect.sessions().some((x) => x.subscriptions.some((f) => f.topicFilter.includes('\u0000')))).toBe(false);
    await all.expectNothing();
    expect(() => encode({ type: 'publish', topic: 'a\u0000b', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, v)).toThrow(/U\+0000/);
    expect(() => encode({ type: 'subscribe', packetId: 1, subscriptions: [sub(v, 'a/\u0000')] }, v)).toThrow(/U\+0000/);
  });

  // [MQTT-4.7.3-3]: at most 65,535 bytes of UTF-8: the longest topic goes through whole, as
  // name and as filter; one byte more cannot even be encoded (the length field is 16 bits).
  it(`${name}: a topic of 65,535 bytes is subscribed and delivered intact; 65,536 bytes cannot be encoded`, async () => {
    // 21,845 three-byte characters: 65,535 bytes, though only 21,845 UTF-16 units.
    const longest = '\u20ac'.repeat(21_845);
    expect(Buffer.byteLength(longest)).toBe(65_535);
    const s = await client(v, 'long-sub');
    await s.subscribe(sub(v, longest, 1));
    const p = await client(v, 'long-pub');
    p.publish(longest, 'x', { qos: 1 });
    expect((await s.receive()).topic).toBe(longest);
    const tooLong = `${longest}a`;
    expect(() => encode({ type: 'publish', topic: tooLong, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, v)).toThrow(/longer than 65535 bytes/);
    expect(() => encode({ type: 'subscribe', packetId: 1, subscriptions: [sub(v, tooLong)] }, v)).toThrow(/longer than 65535 bytes/);
  });

  // [MQTT-4.7.3-4]: matching compares topics as sent: no case folding, no Unicode
  // normalisation (NFC 'é' is not NFD 'e' + U+0301), a trailing '/' or an empty level is a level
  // of its own, and characters the broker does not know (unassigned, private use, U+FEFF) are
  // neither changed nor dropped.
  it(`${name}: topics that differ only in case, normal form, slashes or unknown characters are different topics`, async () => {
    const topics = [
      'Sensor/Temp',
      'sensor/temp',
      'SENSOR/TEMP',
      'caf\u00e9', // NFC
      'cafe\u0301', // NFD of the same text
      'a/b',
      'a/b/',
      '/a/b',
      'a//b',
      'a/\u0378', // unassigned code point
      'a/\ue000', // private use
      'a/\ufeffb', // ZERO WIDTH NO-BREAK SPACE, not stripped: 3.1.1 [MQTT-1.5.3-3], 5.0 [MQTT-1.5.4-3]
      'a/b\u{1f600}', // outside the BMP (a surrogate pair in UTF-16)
    ];
    const subs: TestClient[] = [];
    for (const t of topics) {
      const s = await client(v, 'exact');
      await s.subscribe(sub(v, t));
      subs.push(s);
    }
    // A wildcard filter over the same levels gets each topic once, byte for byte as published.
    const wild = await client(v, 'exact-wild');
    await wild.subscribe(sub(v, 'a/+'));
    const p = await client(v, 'exact-pub');
    for (const t of topics) p.publish(t, t);
    for (let i = 0; i < topics.length; i++) {
      const got = await subs[i]!.expect('publish');
      expect(Buffer.from(got.topic)).toEqual(Buffer.from(topics[i]!));
      expect(got.payload.toString()).toBe(topics[i]);
    }
    // And nothing else: no subscriber got a topic that merely looks like its own.
    await Promise.all(subs.map((s) => s.expectNothing(50)));
    expect(await topicsUntil(wild, 'a/b\u{1f600}')).toEqual(['a/b', 'a/\u0378', 'a/\ue000', 'a/\ufeffb', 'a/b\u{1f600}']);

    // Retained messages are matched the same way (their own index): a later subscriber to
    // each topic gets that topic's retained message and no other.
    for (const t of topics) p.publish(t, `kept ${t}`, { retain: true });
    await until(() => topics.every((t) => broker.inspect.retained(t) !== undefined), 2000, 'the retained messages');
    const later: TestClient[] = [];
    for (const t of topics) {
      const s = await client(v, 'exact-later');
      await s.subscribe(sub(v, t));
      const got = await s.expect('publish');
      expect(got.retain).toBe(true);
      expect(Buffer.from(got.topic)).toEqual(Buffer.from(t));
      expect(got.payload.toString()).toBe(`kept ${t}`);
      later.push(s);
    }
    await Promise.all(later.map((s) => s.expectNothing(50)));
    // Gone again, for the tests that follow on this broker.
    for (const t of topics) p.publish(t, '', { retain: true });
    await until(() => topics.every((t) => broker.inspect.retained(t) === undefined), 2000, 'the retained messages to be deleted');
  });
});
