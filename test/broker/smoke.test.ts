import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { connect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('broker smoke', () => {
  it('routes a QoS 1 publish between two 3.1.1 clients', async () => {
    broker = createBroker();
    const { client: sub, connack } = await connect(broker, { clientId: 'sub' });
    expect(connack.reasonCode).toBe(0);
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 1 }] });
    expect(await sub.expect('suback')).toEqual({ type: 'suback', packetId: 1, reasonCodes: [1] });
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.send({ type: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, retain: false, dup: false, packetId: 9 });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 9 });
    const msg = await sub.expect('publish');
    expect(msg).toMatchObject({ topic: 'a/b', qos: 1, retain: false, dup: false });
    expect(msg.payload.toString()).toBe('hi');
    sub.send({ type: 'puback', packetId: msg.packetId! });
  });

  it('5.0: topic alias, subscription id, retained and will', async () => {
    broker = createBroker();
    const { client: sub, connack } = await connect(broker, { clientId: 's5', protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
    expect(connack.properties?.topicAliasMaximum).toBe(65535);
    sub.send({ type: 'subscribe', packetId: 1, properties: { subscriptionIdentifiers: [7] }, subscriptions: [{ topicFilter: 'w/#', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 0 }] });
    expect((await sub.expect('suback')).reasonCodes).toEqual([2]);
    const { client: victim } = await connect(broker, { clientId: 'v', protocolVersion: 5, will: { topic: 'w/x', payload: Buffer.from('bye'), qos: 1, retain: true } });
    victim.kill();
    const will = await sub.expect('publish');
    expect(will).toMatchObject({ topic: 'w/x', qos: 1, retain: true, properties: { subscriptionIdentifiers: [7], topicAlias: 1 } });
    sub.send({ type: 'puback', packetId: will.packetId!, reasonCode: 0 });
    expect(broker.inspect.retained('w/x')?.payload.toString()).toBe('bye');
  });
});
