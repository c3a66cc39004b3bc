/**
 * SUBSCRIBE and UNSUBSCRIBE: wildcards, replacement, overlapping subscriptions, SUBACK codes,
 * the `$` rule, No Local and shared subscriptions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { Subscription } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

/** A 5.0 subscription with explicit options. */
function sub5(topicFilter: string, qos: 0 | 1 | 2, options: Partial<Subscription> = {}): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

/** Topics of every PUBLISH that arrives until the client falls silent. */
async function topicsReceived(client: TestClient): Promise<string[]> {
  const topics: string[] = [];
  for (;;) {
    try {
      topics.push((await client.expect('publish', 100)).topic);
    } catch {
      return topics;
    }
  }
}

describe('topic filters', () => {
  // '#' matches its parent and any number of levels (3.1.1 section 4.7.1.2; where '#' may stand
  // is test/conformance/topics-rules.test.ts); [MQTT-4.7.1-3] '+' exactly one level, at the
  // first and the last level too.
  it.each([
    ['a/+', ['a/b', 'a/'], ['a', 'a/b/c', 'b/a']],
    ['a/#', ['a', 'a/b', 'a/b/c'], ['b', 'ab']],
    ['+/+', ['a/b', '/b', 'a/'], ['a', 'a/b/c']],
    ['+', ['a', 'x'], ['a/b', '/a']],
    ['#', ['a', 'a/b', '/'], []],
    ['a/+/c', ['a/b/c', 'a//c'], ['a/b/c/d', 'a/c']],
    ['/#', ['/', '/a'], ['a']],
  ])('%s matches the right topics', async (filter, yes, no) => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe(filter);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (const topic of [...no, ...yes]) pub.publish(topic, topic);
    expect(await topicsReceived(sub)).toEqual(yes);
  });

  // [MQTT-4.7.2-1] filters starting with a wildcard do not match topics starting with '$'.
  it('applies the $ rule: # and +/… skip $ topics, $x/# gets them', async () => {
    broker = createBroker();
    const { client: all } = await connect(broker, { clientId: 'all' });
    await all.subscribe(['#', '+/info']);
    const { client: dollar } = await connect(broker, { clientId: 'dollar' });
    await dollar.subscribe('$app/#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('$app/info', 'x');
    pub.publish('app/info', 'y');
    expect(await topicsReceived(all)).toEqual(['app/info']);
    expect(await topicsReceived(dollar)).toEqual(['$app/info']);
    broker.publishMessage('$SYS/broker/uptime', '1');
    await all.expectNothing();
  });

  // [MQTT-3.8.4-1] [MQTT-3.9.3-1] one SUBACK code per filter, in order; 3.1.1 refuses with 0x80 [MQTT-3.9.3-2].
  it('3.1.1: answers 0x80 for each invalid filter and grants the valid ones', async () => {
    broker = createBroker();
    const { client } = await connect(broker);
    const suback = await client.trySubscribe(['a/#/b', 'ok/+', 'a+', '', 'x/#'], 1);
    expect(suback.reasonCodes).toEqual([0x80, 1, 0x80, 0x80, 1]);
    expect(broker.inspect.session('c')!.subscriptions.length).toBe(2);
  });

  // 5.0 section 3.9.3: 0x8F Topic Filter invalid, 0x87 Not authorized.
  it('5.0: answers 0x8F for an invalid filter and 0x87 for a refused one', async () => {
    broker = createBroker({ hooks: { authorizeSubscribe: (_c, filter, qos) => (filter.startsWith('private') ? false : qos) } });
    const { client } = await connect(broker, { protocolVersion: 5 });
    const suback = await client.trySubscribe([sub5('#/a', 0), sub5('private/x', 1), sub5('$share/g/a/+', 2), sub5('$share//a', 0)]);
    expect(suback.reasonCodes).toEqual([ReasonCode.TopicFilterInvalid, ReasonCode.NotAuthorized, 2, ReasonCode.TopicFilterInvalid]);
  });

  it('3.1.1: a filter refused by authorizeSubscribe is 0x80; a lower grant is honoured', async () => {
    broker = createBroker({ hooks: { authorizeSubscribe: (_c, filter) => (filter === 'no' ? false : 0) } });
    const { client } = await connect(broker);
    expect((await client.trySubscribe(['no', 'yes'], 2)).reasonCodes).toEqual([0x80, 0]);
  });

  // A QoS above the broker's maximum is granted at the maximum (a 3.1.1 client: 5.0's Maximum QoS
  // in CONNACK, statement 3.2.2-9, is tested in test/conformance/connack-5.test.ts).
  it('grants at most the configured maximum QoS', async () => {
    broker = createBroker({ maxQoS: 1 });
    const { client } = await connect(broker);
    expect((await client.subscribe(['a', 'b', 'c'], 2)).reasonCodes).toEqual([1, 1, 1]);
  });
});

describe('re-subscription and overlap', () => {
  // [MQTT-3.8.4-3] the same filter again replaces the subscription: one copy, at the new QoS.
  it('replaces a subscription to the same filter', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 2);
    await sub.subscribe('t', 0);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x', { qos: 2 });
    expect((await sub.expect('publish')).qos).toBe(0);
    await sub.expectNothing();
    expect(broker.inspect.subscriptionCount()).toBe(1);
  });

  // [MQTT-3.3.5-1] (3.1.1) overlapping subscriptions: one copy at the highest granted QoS.
  it('3.1.1: delivers one copy at the highest QoS of overlapping subscriptions', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe([{ topicFilter: 'a/+', qos: 0 }, { topicFilter: 'a/#', qos: 2 }, { topicFilter: 'a/b', qos: 1 }]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('a/b', 'x', { qos: 2 });
    expect((await sub.receive()).qos).toBe(2);
    await sub.expectNothing();
  });

  // [MQTT-3.3.4-2] highest QoS; [MQTT-3.3.4-3] [MQTT-3.3.4-4] every matching subscription identifier.
  it('5.0: one copy at the highest QoS carrying every matching subscription identifier', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('a/+', 0)], 0, { subscriptionIdentifiers: [11] });
    await sub.subscribe([sub5('a/#', 1)], 0, { subscriptionIdentifiers: [22] });
    await sub.subscribe([sub5('+/b', 0)]); // no identifier
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('a/b', 'x', { qos: 1 });
    const m = await sub.receive();
    expect(m.qos).toBe(1);
    expect([...(m.properties?.subscriptionIdentifiers ?? [])].sort((x, y) => x - y)).toEqual([11, 22]);
    await sub.expectNothing();
    // Only the matching subscriptions' ids travel.
    pub.publish('a/c/d', 'y', { qos: 1 });
    expect((await sub.receive()).properties?.subscriptionIdentifiers).toEqual([22]);
  });

  // 5.0 section 3.8.2.1.2: a SUBSCRIBE without an identifier replaces one that had it.
  it('5.0: re-subscribing without an identifier drops the old identifier', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('t', 0)], 0, { subscriptionIdentifiers: [5] });
    await sub.subscribe([sub5('t', 0)]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x');
    expect((await sub.expect('publish')).properties?.subscriptionIdentifiers).toBeUndefined();
  });
});

describe('No Local', () => {
  // [MQTT-3.8.3-3] No Local: the publisher's own messages are not sent back to it.
  it('5.0: does not send a client its own messages', async () => {
    broker = createBroker();
    const { client: me } = await connect(broker, { clientId: 'me', protocolVersion: 5 });
    await me.subscribe([sub5('t', 0, { noLocal: true }), sub5('u', 0)]);
    me.publish('t', 'mine');
    me.publish('u', 'echoed');
    expect((await me.expect('publish')).topic).toBe('u');
    await me.expectNothing();
    const { client: other } = await connect(broker, { clientId: 'other' });
    other.publish('t', 'theirs');
    expect((await me.expect('publish')).payload.toString()).toBe('theirs');
  });

  // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
  it('5.0: No Local on $share is DISCONNECT 0x82', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { protocolVersion: 5 });
    client.send({ type: 'subscribe', packetId: 1, subscriptions: [sub5('$share/g/t', 0, { noLocal: true })] });
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await client.expectClosed();
    expect(broker.inspect.subscriptionCount()).toBe(0);
  });
});

describe('UNSUBSCRIBE', () => {
  // [MQTT-3.10.4-1] [MQTT-3.10.4-4] [MQTT-3.10.4-5] removed, UNSUBACK with the same id even when nothing matched.
  it('3.1.1: stops delivery and answers UNSUBACK', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe(['a', 'b']);
    sub.send({ type: 'unsubscribe', packetId: 77, topicFilters: ['a', 'never'] });
    expect(await sub.expect('unsuback')).toEqual({ type: 'unsuback', packetId: 77 });
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('a', 'x');
    pub.publish('b', 'y');
    expect(await topicsReceived(sub)).toEqual(['b']);
  });

  // 5.0 section 3.11.3: 0x00 success, 0x11 No subscription existed.
  it('5.0: answers 0x00 per removed filter and 0x11 for one that was not subscribed', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('a/#', 0), sub5('$share/g/b', 0)]);
    sub.send({ type: 'unsubscribe', packetId: 2, topicFilters: ['a/#', 'zzz', '$share/g/b', 'a/#'] });
    expect(await sub.expect('unsuback')).toMatchObject({ packetId: 2, reasonCodes: [0, ReasonCode.NoSubscriptionExisted, 0, ReasonCode.NoSubscriptionExisted] });
    expect(broker.inspect.subscriptionCount()).toBe(0);
  });
});

describe('shared subscriptions', () => {
  // 5.0 section 4.8.2: each message goes to one member of each share group, in turn.
  it('delivers each message to one member of each group, rotating', async () => {
    broker = createBroker();
    const members: TestClient[] = [];
    for (const id of ['m1', 'm2', 'm3']) {
      const { client } = await connect(broker, { clientId: id, protocolVersion: 5 });
      await client.subscribe([sub5('$share/g/jobs/+', 1)]);
      members.push(client);
    }
    const { client: solo } = await connect(broker, { clientId: 'solo', protocolVersion: 5 });
    await solo.subscribe([sub5('$share/h/jobs/#', 0)]);
    const { client: plain } = await connect(broker, { clientId: 'plain' });
    await plain.subscribe('jobs/+');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 6; i++) pub.publish(`jobs/${i}`, String(i), { qos: 1 });
    for (let i = 0; i < 6; i++) await pub.expect('puback');
    const counts = await Promise.all(members.map(async (m) => (await topicsReceived(m)).length));
    expect(counts).toEqual([2, 2, 2]);
    expect(await topicsReceived(solo)).toHaveLength(6);
    expect(await topicsReceived(plain)).toHaveLength(6);
  });

  it('skips members whose client is offline', async () => {
    broker = createBroker();
    const { client: a } = await connect(broker, { clientId: 'a' });
    await a.subscribe('$share/g/t', 1);
    const { client: b } = await connect(broker, { clientId: 'b', clean: false });
    await b.subscribe('$share/g/t', 1);
    b.kill();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 4; i++) pub.publish('t', String(i), { qos: 1 });
    for (let i = 0; i < 4; i++) expect((await a.receive()).payload.toString()).toBe(String(i));
    const { client: back } = await connect(broker, { clientId: 'b', clean: false });
    await back.expectNothing();
  });

  // With every member away, the message waits in one member's session rather than being lost.
  it('queues for one offline member when no member is online', async () => {
    broker = createBroker();
    for (const id of ['a', 'b']) {
      const { client } = await connect(broker, { clientId: id, clean: false });
      await client.subscribe('$share/g/t', 1);
      client.kill();
    }
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 4; i++) pub.publish('t', String(i), { qos: 1 });
    for (let i = 0; i < 4; i++) await pub.expect('puback');
    const { client: a } = await connect(broker, { clientId: 'a', clean: false });
    const { client: b } = await connect(broker, { clientId: 'b', clean: false });
    const got = [...(await topicsReceived(a)), ...(await topicsReceived(b))];
    expect(got).toHaveLength(4);
  });

  // A subscriber in a share group and with a plain subscription gets the message through both.
  it('treats a share group apart from the same client’s plain subscription', async () => {
    broker = createBroker();
    const { client: both } = await connect(broker, { clientId: 'both' });
    await both.subscribe(['$share/g/t', 't']);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x');
    expect(await topicsReceived(both)).toEqual(['t', 't']);
  });
});
