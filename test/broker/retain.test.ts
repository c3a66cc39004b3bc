/** Retained messages: store, replace, delete, send on subscribe; 5.0 Retain Handling and Retain As Published. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import type { Subscription } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

function sub5(topicFilter: string, qos: 0 | 1 | 2, options: Partial<Subscription> = {}): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

/** Publishes a retained message and waits until the broker has it. */
async function retain(pub: TestClient, topic: string, payload: string, qos: 0 | 1 = 1): Promise<void> {
  pub.publish(topic, payload, { qos, retain: true });
  if (qos === 1) await pub.expect('puback');
  else {
    pub.send({ type: 'pingreq' });
    await pub.expect('pingresp');
  }
}

describe('retained messages', () => {
  // 3.1.1 [MQTT-3.3.1-5] stored; [MQTT-3.3.1-6] [MQTT-3.3.1-8] sent to a new subscription with RETAIN 1.
  it('stores a retained message and sends it on subscribe with the retain flag', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 'home/temp', '21');
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('home/+', 1);
    const m = await sub.receive();
    expect(m).toMatchObject({ topic: 'home/temp', retain: true, qos: 1 });
    expect(m.payload.toString()).toBe('21');
  });

  // 3.1.1 [MQTT-3.3.1-9] a message matching an established subscription goes out with RETAIN 0.
  it('3.1.1: forwards a retained publish to existing subscribers with RETAIN 0', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x', { retain: true });
    expect((await sub.expect('publish')).retain).toBe(false);
  });

  // 5.0 [MQTT-3.3.1-5] a new retained message replaces the stored one.
  it('replaces the stored message', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'old');
    await retain(pub, 't', 'new');
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    expect((await sub.expect('publish')).payload.toString()).toBe('new');
    await sub.expectNothing();
  });

  // 3.1.1 [MQTT-3.3.1-10] [MQTT-3.3.1-11] / 5.0 [MQTT-3.3.1-6] [MQTT-3.3.1-7]: an empty payload deletes and is not stored.
  it('deletes the stored message on an empty retained payload, which still reaches subscribers', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'value');
    const { client: live } = await connect(broker, { clientId: 'live' });
    await live.subscribe('t');
    expect((await live.expect('publish')).retain).toBe(true);
    await retain(pub, 't', '');
    const forwarded = await live.expect('publish');
    expect(forwarded.payload.length).toBe(0);
    expect(broker.inspect.retainedCount()).toBe(0);
    const { client: late } = await connect(broker, { clientId: 'late' });
    await late.subscribe('#');
    await late.expectNothing();
  });

  // 5.0 [MQTT-3.3.1-8] a non-retained publish neither stores nor removes the retained message.
  it('keeps the retained message when a non-retained one arrives on its topic', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'kept');
    pub.publish('t', 'passing', { qos: 1 });
    await pub.expect('puback');
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    expect((await sub.expect('publish')).payload.toString()).toBe('kept');
  });

  // 3.1.1 [MQTT-3.8.4-6] (5.0 [MQTT-3.8.4-8], the same rule): retained messages too arrive at min(stored QoS, granted QoS).
  it('sends every matching retained message at the lower of its QoS and the granted one', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 'r/a', 'a', 1);
    await retain(pub, 'r/b', 'b', 0);
    await retain(pub, 'other', 'o', 1);
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('r/#', 0);
    const got = [await sub.expect('publish'), await sub.expect('publish')];
    expect(got.map((m) => m.topic).sort()).toEqual(['r/a', 'r/b']);
    for (const m of got) expect(m).toMatchObject({ qos: 0, retain: true });
    await sub.expectNothing();
  });

  // [MQTT-4.7.2-1] the $ rule also holds for retained messages.
  it('does not send retained $ topics to a # subscription', async () => {
    broker = createBroker();
    broker.publishMessage('$SYS/version', 'mqt', { retain: true });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#');
    await sub.expectNothing();
    await sub.subscribe('$SYS/#');
    expect((await sub.expect('publish')).topic).toBe('$SYS/version');
  });

  // 5.0 section 4.8.2: retained messages are not sent to shared subscriptions.
  it('sends no retained messages to a shared subscription', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'x');
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('$share/g/t', 1)]);
    await sub.expectNothing();
    pub.publish('t', 'live', { qos: 1, retain: true });
    expect((await sub.receive()).payload.toString()).toBe('live');
  });

  it('refuses retained publishes when retain is not available (5.0 DISCONNECT 0x9A)', async () => {
    broker = createBroker({ retainAvailable: false });
    const { client, connack } = await connect(broker, { protocolVersion: 5 });
    expect(connack.properties?.retainAvailable).toBe(0);
    client.publish('t', 'x', { retain: true });
    // [MQTT-3.2.2-14] a retained PUBLISH after Retain Available 0 is answered 0x9A.
    expect((await client.expect('disconnect')).reasonCode).toBe(0x9a);
    expect(broker.inspect.retainedCount()).toBe(0);
  });
});

describe('5.0 Retain Handling', () => {
  // [MQTT-3.3.1-9] 0: sent on every subscribe, re-subscriptions included.
  it('0: sends retained messages on every subscribe', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'x');
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('t', 0, { retainHandling: 0 })]);
    await sub.expect('publish');
    await sub.subscribe([sub5('t', 0, { retainHandling: 0 })]);
    await sub.expect('publish');
  });

  // [MQTT-3.3.1-10] 1: only when the subscription did not exist before.
  it('1: sends retained messages only for a new subscription', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'x');
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('t', 0, { retainHandling: 1 })]);
    await sub.expect('publish');
    await sub.subscribe([sub5('t', 1, { retainHandling: 1 })]);
    await sub.expectNothing();
  });

  // [MQTT-3.3.1-11] 2: never on subscribe.
  it('2: sends no retained messages on subscribe, live ones still arrive', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'x');
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('t', 0, { retainHandling: 2 })]);
    await sub.expectNothing();
    pub.publish('t', 'y');
    expect((await sub.expect('publish')).payload.toString()).toBe('y');
  });
});

// [MQTT-3.3.4-3] a retained message sent because of a subscription carries its identifier.
it('5.0: sends retained messages on subscribe with the subscription identifier', async () => {
  broker = createBroker();
  const { client: pub } = await connect(broker, { clientId: 'pub' });
  await retain(pub, 't', 'x');
  const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
  await sub.subscribe([sub5('t', 1)], 0, { subscriptionIdentifiers: [42] });
  expect(await sub.receive()).toMatchObject({ retain: true, properties: { subscriptionIdentifiers: [42] } });
});

describe('5.0 Retain As Published', () => {
  // [MQTT-3.3.1-12] RAP 0: live deliveries carry RETAIN 0; [MQTT-3.3.1-13] RAP 1: as published.
  it('keeps the retain flag on live deliveries only with Retain As Published', async () => {
    broker = createBroker();
    const { client: rap } = await connect(broker, { clientId: 'rap', protocolVersion: 5 });
    await rap.subscribe([sub5('t', 0, { retainAsPublished: true })]);
    const { client: plain } = await connect(broker, { clientId: 'plain', protocolVersion: 5 });
    await plain.subscribe([sub5('t', 0)]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'r', { retain: true });
    pub.publish('t', 'n', { retain: false });
    expect((await rap.expect('publish')).retain).toBe(true);
    expect((await rap.expect('publish')).retain).toBe(false);
    expect((await plain.expect('publish')).retain).toBe(false);
    expect((await plain.expect('publish')).retain).toBe(false);
  });

  // Messages sent because of a new subscription carry RETAIN 1 whatever Retain As Published says.
  it('sets RETAIN 1 on retained messages sent at subscribe time even without Retain As Published', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await retain(pub, 't', 'x');
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe([sub5('t', 0, { retainAsPublished: false })]);
    expect((await sub.expect('publish')).retain).toBe(true);
  });
});
