/** QoS 1 publishing: PUBACK both ways, per-session packet ids, re-delivery with DUP on resume. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { connect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('QoS 1, client to broker', () => {
  // [MQTT-4.3.2-4] the receiver answers PUBACK with the packet id of the PUBLISH.
  it('acknowledges with PUBACK carrying the same packet id', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'a', { qos: 1, packetId: 4242 });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 4242 });
    expect((await sub.receive()).payload.toString()).toBe('a');
  });

  it('5.0: acknowledges 0x10 when nobody subscribes, 0x00 otherwise', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('none', 'a', { qos: 1, packetId: 1 });
    expect(await pub.expect('puback')).toMatchObject({ packetId: 1, reasonCode: ReasonCode.NoMatchingSubscribers });
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('some', 1);
    pub.publish('some', 'a', { qos: 1, packetId: 2 });
    expect(await pub.expect('puback')).toMatchObject({ packetId: 2, reasonCode: 0 });
  });

  it('5.0: a publish refused by authorizePublish is PUBACK 0x87 and is not delivered', async () => {
    broker = createBroker({ hooks: { authorizePublish: (_c, topic) => topic !== 'secret' } });
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('#', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('secret', 'a', { qos: 1, packetId: 7 });
    expect(await pub.expect('puback')).toMatchObject({ packetId: 7, reasonCode: ReasonCode.NotAuthorized });
    await sub.expectNothing();
  });

  // [MQTT-3.3.1-3] the DUP flag of an incoming PUBLISH is not propagated to subscribers.
  it('delivers a re-sent PUBLISH (DUP 1) with DUP 0', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'again', { qos: 1, packetId: 5, dup: true });
    await pub.expect('puback');
    expect(await sub.receive()).toMatchObject({ dup: false, qos: 1 });
  });
});

describe('QoS 1, broker to client', () => {
  // [MQTT-2.2.1-4] each new QoS > 0 PUBLISH gets a non-zero packet id not in use in that session.
  it('allocates packet ids per session: distinct while unacknowledged, independent across sessions', async () => {
    broker = createBroker();
    const { client: a } = await connect(broker, { clientId: 'a' });
    await a.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 3; i++) pub.publish('t', String(i), { qos: 1 });
    const first = await Promise.all([a.expect('publish'), a.expect('publish'), a.expect('publish')]);
    const ids = first.map((p) => p.packetId!);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toBeGreaterThan(0);
    // A second session numbers its own deliveries: it may reuse ids the first one holds.
    const { client: b } = await connect(broker, { clientId: 'b' });
    await b.subscribe('t', 1);
    pub.publish('t', 'x', { qos: 1 });
    const toA = await a.expect('publish');
    const toB = await b.expect('publish');
    expect(ids).not.toContain(toA.packetId);
    expect(toB.packetId).toBeGreaterThan(0);
    expect(broker.inspect.session('a')!.inflight).toBe(4);
    for (const p of [...first, toA]) a.send({ type: 'puback', packetId: p.packetId! });
    a.send({ type: 'pingreq' });
    await a.expect('pingresp');
    expect(broker.inspect.session('a')!.inflight).toBe(0);
  });

  // 3.1.1 [MQTT-3.8.4-6] (5.0 [MQTT-3.8.4-8], the same rule) delivered at min(published QoS, granted QoS).
  it.each([
    [1, 0, 0],
    [0, 1, 0],
    [1, 1, 1],
    [1, 2, 1],
    [2, 1, 1],
  ] as const)('published at QoS %i to a QoS %i subscription arrives at QoS %i', async (pubQos, subQos, expected) => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('q', subQos);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('q', 'x', { qos: pubQos });
    const m = await sub.receive();
    expect(m.qos).toBe(expected);
    expect(m.packetId === undefined).toBe(expected === 0);
  });

  // [MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged PUBLISH is re-sent with DUP 1 and its original id on resume.
  it('re-sends an unacknowledged message with DUP 1 when a persistent session resumes', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', clean: false });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'unacked', { qos: 1 });
    const original = await sub.expect('publish');
    expect(original.dup).toBe(false);
    sub.kill();
    const { client: back, connack } = await connect(broker, { clientId: 'sub', clean: false });
    expect(connack.sessionPresent).toBe(true);
    const again = await back.expect('publish');
    expect(again).toMatchObject({ topic: 't', qos: 1, dup: true, packetId: original.packetId });
    expect(again.payload.toString()).toBe('unacked');
    back.send({ type: 'puback', packetId: again.packetId! });
    back.send({ type: 'pingreq' });
    await back.expect('pingresp');
    back.kill();
    // Acknowledged now: nothing more on the next resume.
    const { client: third } = await connect(broker, { clientId: 'sub', clean: false });
    await third.expectNothing();
  });
});
