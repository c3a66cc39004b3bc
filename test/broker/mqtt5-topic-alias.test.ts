/** 5.0 Topic Aliases in both directions (section 3.3.2.3.4). */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { connect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('client to broker', () => {
  // [MQTT-3.3.2-12] the broker accepts every alias up to the maximum it announced; an empty topic uses it.
  it('sets an alias with a topic, then resolves an empty topic through it', async () => {
    broker = createBroker({ topicAliasMaximum: 3 });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#');
    const { client: pub, connack } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.topicAliasMaximum).toBe(3);
    pub.publish('long/topic/name', 'one', { properties: { topicAlias: 3 } });
    pub.publish('', 'two', { properties: { topicAlias: 3 } });
    // A topic with a known alias remaps it.
    pub.publish('other', 'three', { properties: { topicAlias: 3 } });
    pub.publish('', 'four', { properties: { topicAlias: 3 } });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await sub.expect('publish'));
    expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual([
      ['long/topic/name', 'one'],
      ['long/topic/name', 'two'],
      ['other', 'three'],
      ['other', 'four'],
    ]);
  });

  // The alias is the publisher's: subscribers get the topic, never the alias.
  it('does not forward the publisher’s alias to a 5.0 subscriber without aliases', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t');
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { properties: { topicAlias: 1 } });
    const m = await sub.expect('publish');
    expect(m.topic).toBe('t');
    expect(m.properties?.topicAlias).toBeUndefined();
  });

  // [MQTT-3.2.2-17] [MQTT-3.3.2-9] an alias above the announced maximum: DISCONNECT 0x94.
  it('disconnects with 0x94 for an alias above the maximum', async () => {
    broker = createBroker({ topicAliasMaximum: 2 });
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { properties: { topicAlias: 3 } });
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicAliasInvalid);
    await pub.expectClosed();
  });

  // Topic Alias Maximum 0 means the broker accepts no aliases at all.
  it('disconnects with 0x94 for any alias when the maximum is 0', async () => {
    broker = createBroker({ topicAliasMaximum: 0 });
    const { client: pub, connack } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.topicAliasMaximum ?? 0).toBe(0);
    pub.publish('t', 'x', { properties: { topicAlias: 1 } });
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.TopicAliasInvalid);
  });

  // 5.0 section 3.3.4: an empty topic with an alias that was never set is a Protocol Error.
  it('disconnects with 0x82 for an empty topic with an unknown alias', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('', 'x', { properties: { topicAlias: 1 } });
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await pub.expectClosed();
  });

  // [MQTT-3.3.2-7] aliases do not carry over to a new connection.
  it('forgets aliases when the connection ends', async () => {
    broker = createBroker();
    const { client: first } = await connect(broker, { clientId: 'pub', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    first.publish('t', 'x', { properties: { topicAlias: 1 } });
    first.send({ type: 'pingreq' });
    await first.expect('pingresp');
    await first.disconnect({ reasonCode: 0 });
    const { client: second } = await connect(broker, { clientId: 'pub', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    second.publish('', 'y', { properties: { topicAlias: 1 } });
    expect((await second.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
  });
});

describe('broker to client', () => {
  // [MQTT-3.1.2-26] [MQTT-3.3.2-11] the broker assigns aliases up to the client's maximum, never above.
  it('assigns aliases up to the client’s Topic Alias Maximum and then sends full topics', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { topicAliasMaximum: 2 } });
    await sub.subscribe('#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (const topic of ['x', 'x', 'y', 'z', 'y', 'z', 'x']) pub.publish(topic, topic);
    const seen: [string, number | undefined, string][] = [];
    for (let i = 0; i < 7; i++) {
      const m = await sub.expect('publish');
      seen.push([m.topic, m.properties?.topicAlias, m.payload.toString()]);
    }
    const aliasOf = new Map<number, string>();
    for (const [topic, alias, payload] of seen) {
      if (alias !== undefined) {
        expect(alias).toBeGreaterThanOrEqual(1);
        expect(alias).toBeLessThanOrEqual(2);
        if (topic !== '') aliasOf.set(alias, topic);
        // An empty topic must resolve, through an alias already sent, to the published topic.
        expect(topic === '' ? aliasOf.get(alias) : topic).toBe(payload);
      } else {
        expect(topic).toBe(payload);
      }
    }
    // Repeats of an aliased topic travel with an empty topic name: the point of the alias.
    expect(seen.filter(([topic]) => topic === '').length).toBeGreaterThan(0);
  });

  // [MQTT-3.1.2-27] a client that announced no Topic Alias Maximum gets no aliases.
  it('sends no aliases to a client that did not allow them', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('#');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('x', '1');
    pub.publish('x', '2');
    for (let i = 0; i < 2; i++) {
      const m = await sub.expect('publish');
      expect(m.topic).toBe('x');
      expect(m.properties?.topicAlias).toBeUndefined();
    }
  });

  // [MQTT-3.3.2-7] a new connection starts without aliases: the first message has the full topic again.
  it('starts afresh on a new connection', async () => {
    broker = createBroker();
    const opts = { clientId: 'sub', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60, topicAliasMaximum: 5 } };
    const { client: first } = await connect(broker, opts);
    await first.subscribe('t');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', '1');
    expect((await first.expect('publish')).topic).toBe('t');
    first.kill();
    const { client: second } = await connect(broker, opts);
    pub.publish('t', '2');
    const m = await second.expect('publish');
    expect(m.topic).toBe('t');
  });
});
