/** QoS 0 publishing: at most once, no acknowledgement, delivered at QoS 0 whatever the subscription. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { connect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('QoS 0', () => {
  it('is delivered without a packet id and without any acknowledgement to the publisher', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('a/b');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('a/b', 'hello');
    // [MQTT-3.3.1-2] DUP is 0 for QoS 0; [MQTT-2.2.1-2] no packet id.
    expect(await sub.expect('publish')).toEqual({ type: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false });
    await pub.expectNothing();
  });

  // [MQTT-3.8.4-8] the delivery QoS is the lower of the message's and the subscription's.
  it('stays QoS 0 for a QoS 2 subscription', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    expect((await sub.subscribe('t', 2)).reasonCodes).toEqual([2]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x');
    const m = await sub.expect('publish');
    expect(m.qos).toBe(0);
    expect(m.packetId).toBeUndefined();
  });

  // [MQTT-4.6.0-6] messages on one topic reach a subscriber in the order they were published.
  it('keeps order across many messages and every subscriber', async () => {
    broker = createBroker();
    const subs = await Promise.all(['s1', 's2', 's3'].map(async (id) => (await connect(broker, { clientId: id })).client));
    for (const s of subs) await s.subscribe('seq/#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 200; i++) pub.publish(`seq/${i % 3}`, String(i));
    for (const s of subs) {
      for (let i = 0; i < 200; i++) expect((await s.expect('publish')).payload.toString()).toBe(String(i));
    }
  });

  it('crosses protocol versions: 5.0 publisher to 3.1 and 3.1.1 subscribers and back', async () => {
    broker = createBroker();
    const { client: s3 } = await connect(broker, { clientId: 's3', protocolVersion: 3 });
    const { client: s5 } = await connect(broker, { clientId: 's5', protocolVersion: 5 });
    await s3.subscribe('x');
    await s5.subscribe('x');
    const { client: p5 } = await connect(broker, { clientId: 'p5', protocolVersion: 5 });
    p5.publish('x', 'from5', { properties: { contentType: 'text/plain' } });
    const m3 = await s3.expect('publish');
    expect(m3.payload.toString()).toBe('from5');
    expect(m3.properties).toBeUndefined();
    expect((await s5.expect('publish')).properties).toEqual({ contentType: 'text/plain' });
    const { client: p3 } = await connect(broker, { clientId: 'p3', protocolVersion: 3 });
    p3.publish('x', 'from3');
    expect((await s5.expect('publish')).payload.toString()).toBe('from3');
    expect((await s3.expect('publish')).payload.toString()).toBe('from3');
  });

  it('goes nowhere without subscribers and the publisher carries on', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('nobody/listens', 'x');
    pub.send({ type: 'pingreq' });
    await pub.expect('pingresp');
  });

  // [MQTT-3.3.2-2] a topic name must not contain wildcards: the 3.1.1 connection is closed.
  it('3.1.1: a wildcard in the topic name closes the connection', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('a/+', 'x');
    await pub.expectClosed();
    await sub.expectNothing();
  });

  // [MQTT-3.3.2-2] in 5.0 the DISCONNECT says 0x90 Topic Name invalid.
  it('5.0: a wildcard in the topic name is DISCONNECT 0x90', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('a/#', 'x');
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicNameInvalid);
    await pub.expectClosed();
  });

  // Default authorizePublish: $SYS belongs to the broker; a client's publish there is dropped.
  it('drops a client publish to $SYS', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('$SYS/#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('$SYS/fake', 'x');
    await sub.expectNothing();
    broker.publishMessage('$SYS/real', 'y');
    expect((await sub.expect('publish')).topic).toBe('$SYS/real');
  });
});
