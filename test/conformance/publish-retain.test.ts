/**
 * The RETAIN flag (section 3.3.1.3), whose statements are numbered differently in the two
 * versions: 3.1.1's run over protocol level 4 connections, 5.0's over 5 (with Retain Handling
 * and Retain As Published). One broker for the file; every test has topics of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import type { ProtocolVersion, QoS, Subscription } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());

let n = 0;
/** A connected client with an id of its own. */
async function client(protocolVersion: ProtocolVersion): Promise<TestClient> {
  return (await connect(broker, { clientId: `retain-${++n}`, protocolVersion })).client;
}

/** Publishes and waits until the broker has handled it (PUBACK, or a PINGRESP behind QoS 0). */
async function publishDone(pub: TestClient, topic: string, payload: string, qos: 0 | 1, retain: boolean): Promise<void> {
  pub.publish(topic, payload, { qos, retain });
  if (qos === 1) {
    await pub.expect('puback');
    return;
  }
  pub.send({ type: 'pingreq' });
  await pub.expect('pingresp');
}

/**
 * Every PUBLISH the broker sent before it answered a PINGREQ sent now, acknowledged; as
 * [topic, payload, qos, retain]. The broker answers in order, so what a SUBSCRIBE or an
 * acknowledged PUBLISH caused is out before the PINGRESP: no waiting for silence.
 */
async function drain(c: TestClient): Promise<[string, string, QoS, boolean][]> {
  const got: [string, string, QoS, boolean][] = [];
  c.send({ type: 'pingreq' });
  for (;;) {
    const p = await c.next();
    if (p.type === 'pingresp') return got;
    if (p.type !== 'publish') throw new Error(`expected PUBLISH or PINGRESP, got ${JSON.stringify(p)}`);
    if (p.qos === 1) c.send({ type: 'puback', packetId: p.packetId!, ...(c.version === 5 ? { reasonCode: 0 } : {}) });
    if (p.qos === 2) throw new Error('these tests deliver at QoS 0 and 1 only');
    got.push([p.topic, p.payload.toString(), p.qos, p.retain]);
  }
}

function sub5(topicFilter: string, qos: QoS, options: Partial<Subscription> = {}): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

describe('3.1.1 RETAIN', () => {
  // [MQTT-3.3.1-5] a retained message is stored with its QoS and reaches future subscribers at
  // that QoS (a QoS 2 subscription gets the QoS 1 one at 1, the QoS 0 one at 0).
  it('stores a retained message with its QoS for future subscribers', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311a/q1', 'one', 1, true);
    await publishDone(pub, 'r311a/q0', 'zero', 0, true);
    const sub = await client(4);
    await sub.subscribe('r311a/#', 2);
    expect((await drain(sub)).sort()).toEqual([
      ['r311a/q0', 'zero', 0, true],
      ['r311a/q1', 'one', 1, true],
    ]);
  });

  // [MQTT-3.3.1-6] a new subscription gets the last retained message of each matching topic
  // (and only of matching topics).
  it('sends the last retained message of every matching topic to a new subscription', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311b/x/1', 'old', 1, true);
    await publishDone(pub, 'r311b/x/1', 'last', 1, true);
    await publishDone(pub, 'r311b/x/2', 'two', 1, true);
    await publishDone(pub, 'r311b/y', 'other', 1, true);
    const sub = await client(4);
    await sub.subscribe('r311b/x/+', 1);
    expect((await drain(sub)).sort()).toEqual([
      ['r311b/x/1', 'last', 1, true],
      ['r311b/x/2', 'two', 1, true],
    ]);
  });

  // [MQTT-3.3.1-7] a retained QoS 0 message discards the one retained before it (and is kept).
  it('replaces a retained message with a retained QoS 0 one', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311c', 'qos1', 1, true);
    await publishDone(pub, 'r311c', 'qos0', 0, true);
    const sub = await client(4);
    await sub.subscribe('r311c', 2);
    expect(await drain(sub)).toEqual([['r311c', 'qos0', 0, true]]);
  });

  // [MQTT-3.3.1-8] a message sent because a subscription was made carries RETAIN 1, also when
  // the SUBSCRIBE replaces an existing subscription.
  it('sets RETAIN 1 on retained messages sent because of a new subscription', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311d', 'kept', 1, true);
    const sub = await client(4);
    await sub.subscribe('r311d', 1);
    expect(await drain(sub)).toEqual([['r311d', 'kept', 1, true]]);
    await sub.subscribe('r311d', 0);
    expect(await drain(sub)).toEqual([['r311d', 'kept', 0, true]]);
  });

  // [MQTT-3.3.1-9] a message matching an established subscription goes out with RETAIN 0,
  // even when it was published retained.
  it('sets RETAIN 0 on messages to established subscriptions, retained or not', async () => {
    const sub = await client(4);
    await sub.subscribe('r311e', 1);
    const pub = await client(4);
    await publishDone(pub, 'r311e', 'retained', 1, true);
    await publishDone(pub, 'r311e', 'plain', 1, false);
    expect(await drain(sub)).toEqual([
      ['r311e', 'retained', 1, false],
      ['r311e', 'plain', 1, false],
    ]);
  });

  // [MQTT-3.3.1-10] a retained PUBLISH with an empty payload goes to the subscribers as usual,
  // and removes the retained message: a later subscriber gets none.
  it('forwards an empty retained message and removes the retained one', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311f', 'value', 1, true);
    const live = await client(4);
    await live.subscribe('r311f', 1);
    expect(await drain(live)).toEqual([['r311f', 'value', 1, true]]);
    await publishDone(pub, 'r311f', '', 1, true);
    expect(await drain(live)).toEqual([['r311f', '', 1, false]]);
    const late = await client(4);
    await late.subscribe('r311f', 1);
    expect(await drain(late)).toEqual([]);
  });

  // [MQTT-3.3.1-11] an empty retained message is not stored, with or without one before it.
  it('does not store an empty retained message', async () => {
    const before = broker.inspect.retainedCount();
    const pub = await client(4);
    await publishDone(pub, 'r311g/never', '', 1, true);
    await publishDone(pub, 'r311g/once', 'x', 0, true);
    await publishDone(pub, 'r311g/once', '', 0, true);
    expect(broker.inspect.retainedCount()).toBe(before);
    const sub = await client(4);
    await sub.subscribe('r311g/#', 1);
    expect(await drain(sub)).toEqual([]);
  });

  // [MQTT-3.3.1-12] RETAIN 0: not stored, and the retained message of the topic stays.
  it('neither stores nor removes anything for a PUBLISH with RETAIN 0', async () => {
    const pub = await client(4);
    await publishDone(pub, 'r311h/kept', 'kept', 1, true);
    await publishDone(pub, 'r311h/kept', 'passing', 1, false);
    await publishDone(pub, 'r311h/none', 'passing', 0, false);
    const sub = await client(4);
    await sub.subscribe('r311h/#', 1);
    expect(await drain(sub)).toEqual([['r311h/kept', 'kept', 1, true]]);
  });
});

describe('5.0 RETAIN', () => {
  // [MQTT-3.3.1-5] a retained PUBLISH replaces the topic's retained message and is stored.
  it('5.0: replaces the retained message of the topic and stores the new one', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5a', 'old', 1, true);
    await publishDone(pub, 'r5a', 'new', 0, true);
    const sub = await client(5);
    await sub.subscribe([sub5('r5a', 1)]);
    expect(await drain(sub)).toEqual([['r5a', 'new', 0, true]]);
  });

  // [MQTT-3.3.1-6] an empty payload is processed normally (forwarded) and removes the retained
  // message: a later subscriber gets none.
  it('5.0: forwards an empty retained message and removes the retained one', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5b', 'value', 1, true);
    const live = await client(5);
    await live.subscribe([sub5('r5b', 1)]);
    expect(await drain(live)).toEqual([['r5b', 'value', 1, true]]);
    await publishDone(pub, 'r5b', '', 1, true);
    expect(await drain(live)).toEqual([['r5b', '', 1, false]]);
    const late = await client(5);
    await late.subscribe([sub5('r5b', 1)]);
    expect(await drain(late)).toEqual([]);
  });

  // [MQTT-3.3.1-7] an empty retained message is not stored.
  it('5.0: does not store an empty retained message', async () => {
    const before = broker.inspect.retainedCount();
    const pub = await client(5);
    await publishDone(pub, 'r5c/never', '', 1, true);
    expect(broker.inspect.retainedCount()).toBe(before);
    const sub = await client(5);
    await sub.subscribe([sub5('r5c/#', 1)]);
    expect(await drain(sub)).toEqual([]);
  });

  // [MQTT-3.3.1-8] RETAIN 0: not stored, and the retained message of the topic stays.
  it('5.0: neither stores nor removes anything for a PUBLISH with RETAIN 0', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5d/kept', 'kept', 1, true);
    await publishDone(pub, 'r5d/kept', 'passing', 1, false);
    await publishDone(pub, 'r5d/none', 'passing', 1, false);
    const sub = await client(5);
    await sub.subscribe([sub5('r5d/#', 1)]);
    expect(await drain(sub)).toEqual([['r5d/kept', 'kept', 1, true]]);
  });

  // [MQTT-3.3.1-9] Retain Handling 0: the retained messages on every SUBSCRIBE, a repeated
  // one included.
  it('5.0: Retain Handling 0 sends the retained messages on every subscribe', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5e', 'x', 1, true);
    const sub = await client(5);
    await sub.subscribe([sub5('r5e', 1, { retainHandling: 0 })]);
    expect(await drain(sub)).toEqual([['r5e', 'x', 1, true]]);
    await sub.subscribe([sub5('r5e', 1, { retainHandling: 0 })]);
    expect(await drain(sub)).toEqual([['r5e', 'x', 1, true]]);
  });

  // [MQTT-3.3.1-10] Retain Handling 1: the retained messages only when the subscription did not
  // exist; a SUBSCRIBE that replaces it gets none.
  it('5.0: Retain Handling 1 sends the retained messages only for a new subscription', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5f', 'x', 1, true);
    const sub = await client(5);
    await sub.subscribe([sub5('r5f', 1, { retainHandling: 1 })]);
    expect(await drain(sub)).toEqual([['r5f', 'x', 1, true]]);
    await sub.subscribe([sub5('r5f', 0, { retainHandling: 1 })]);
    expect(await drain(sub)).toEqual([]);
  });

  // [MQTT-3.3.1-11] Retain Handling 2: never the retained messages, new subscription or not.
  it('5.0: Retain Handling 2 never sends the retained messages on subscribe', async () => {
    const pub = await client(5);
    await publishDone(pub, 'r5g', 'x', 1, true);
    const sub = await client(5);
    await sub.subscribe([sub5('r5g', 1, { retainHandling: 2 })]);
    expect(await drain(sub)).toEqual([]);
    await sub.subscribe([sub5('r5g', 1, { retainHandling: 2 })]);
    expect(await drain(sub)).toEqual([]);
    await publishDone(pub, 'r5g', 'live', 1, false);
    expect(await drain(sub)).toEqual([['r5g', 'live', 1, false]]);
  });

  // [MQTT-3.3.1-12] Retain As Published 0: RETAIN 0 on forwarded messages, published retained or not.
  it('5.0: Retain As Published 0 forwards with RETAIN 0', async () => {
    const sub = await client(5);
    await sub.subscribe([sub5('r5h', 1, { retainAsPublished: false })]);
    const pub = await client(5);
    await publishDone(pub, 'r5h', 'retained', 1, true);
    await publishDone(pub, 'r5h', 'plain', 1, false);
    expect(await drain(sub)).toEqual([
      ['r5h', 'retained', 1, false],
      ['r5h', 'plain', 1, false],
    ]);
  });

  // [MQTT-3.3.1-13] Retain As Published 1: the RETAIN flag as it was received.
  it('5.0: Retain As Published 1 forwards the RETAIN flag as published', async () => {
    const sub = await client(5);
    await sub.subscribe([sub5('r5i', 1, { retainAsPublished: true })]);
    const pub = await client(5);
    await publishDone(pub, 'r5i', 'retained', 1, true);
    await publishDone(pub, 'r5i', 'plain', 1, false);
    expect(await drain(sub)).toEqual([
      ['r5i', 'retained', 1, true],
      ['r5i', 'plain', 1, false],
    ]);
  });
});
