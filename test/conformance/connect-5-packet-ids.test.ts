/**
 * MQTT 5.0 section 2.2.1, the server's side: the broker gives each QoS 1/2 PUBLISH it sends a
 * non-zero packet identifier not in use, and every acknowledgement it sends echoes the
 * identifier of the packet it answers.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { PublishPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, until } from '../helpers/broker-client.js';

describe('MQTT 5.0 packet identifiers, server side (2.2.1)', () => {
  // [MQTT-2.2.1-4] every new QoS > 0 PUBLISH the server sends has a non-zero identifier unused at that moment.
  it('gives every QoS 1 and 2 PUBLISH it sends a non-zero packet identifier not in use [MQTT-2.2.1-4]', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { protocolVersion: 5, clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 60 } });
    await sub.subscribe([{ topicFilter: 'q1', qos: 1 }, { topicFilter: 'q2', qos: 2 }]);
    const { client: pub } = await connect(broker, { protocolVersion: 5, clientId: 'pub' });
    const inUse = new Set<number>();
    const take = async (n: number): Promise<PublishPacket[]> => {
      const got: PublishPacket[] = [];
      for (let i = 0; i < n; i++) {
        const m = await sub.expect('publish');
        expect(m.packetId).toBeGreaterThan(0);
        expect(m.packetId).toBeLessThanOrEqual(0xffff);
        expect(inUse.has(m.packetId!)).toBe(false);
        inUse.add(m.packetId!);
        got.push(m);
      }
      return got;
    };
    for (let i = 0; i < 6; i++) pub.publish(i % 2 === 0 ? 'q1' : 'q2', `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    const first = await take(6);
    // Free two (a PUBACK, a PUBREC → PUBREL → PUBCOMP), keep the rest unacknowledged.
    await sub.ack(first[0]!);
    inUse.delete(first[0]!.packetId!);
    await sub.ack(first[1]!);
    inUse.delete(first[1]!.packetId!);
    for (let i = 0; i < 6; i++) pub.publish('q1', `n${i}`, { qos: 1 });
    await take(6);
    // Across a reconnect the unacknowledged keep their ids, and new ones still avoid them.
    sub.kill();
    await until(() => broker.inspect.session('sub')?.connected === false);
    const { client: back } = await connect(broker, { protocolVersion: 5, clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 60 } });
    const resent = new Set<number>();
    for (let i = 0; i < inUse.size; i++) resent.add((await back.expect('publish')).packetId!);
    expect(resent).toEqual(inUse);
    pub.publish('q2', 'after', { qos: 2 });
    const fresh = await back.expect('publish');
    expect(fresh.payload.toString()).toBe('after');
    expect(fresh.packetId).toBeGreaterThan(0);
    expect(inUse.has(fresh.packetId!)).toBe(false);
  });

  // [MQTT-2.2.1-5] PUBACK, PUBREC, PUBREL and PUBCOMP carry the identifier of the PUBLISH they belong to.
  it('answers with PUBACK, PUBREC, PUBCOMP and sends PUBREL carrying the identifier of their PUBLISH [MQTT-2.2.1-5]', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { protocolVersion: 5, clientId: 'sub' });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { protocolVersion: 5, clientId: 'pub' });
    for (const id of [1, 0x1234, 0xffff]) {
      pub.publish('t', 'one', { qos: 1, packetId: id });
      expect(await pub.expect('puback')).toMatchObject({ packetId: id, reasonCode: ReasonCode.Success });
      pub.publish('t', 'two', { qos: 2, packetId: id });
      expect(await pub.expect('pubrec')).toMatchObject({ packetId: id, reasonCode: ReasonCode.Success });
      pub.send({ type: 'pubrel', packetId: id, reasonCode: 0 });
      expect(await pub.expect('pubcomp')).toMatchObject({ packetId: id, reasonCode: ReasonCode.Success });
    }
    // The broker's PUBREL to a subscriber carries the id of the PUBLISH it sent.
    const delivered: PublishPacket[] = [];
    for (let i = 0; i < 6; i++) delivered.push(await sub.expect('publish'));
    for (const m of delivered.filter((d) => d.qos === 2)) {
      sub.send({ type: 'pubrec', packetId: m.packetId!, reasonCode: 0 });
      expect((await sub.expect('pubrel')).packetId).toBe(m.packetId);
      sub.send({ type: 'pubcomp', packetId: m.packetId!, reasonCode: 0 });
    }
    expect(delivered.filter((d) => d.qos === 2)).toHaveLength(3);
  });

  // [MQTT-2.2.1-6] SUBACK and UNSUBACK carry the identifier of their SUBSCRIBE and UNSUBSCRIBE.
  it('answers SUBSCRIBE and UNSUBSCRIBE with SUBACK and UNSUBACK carrying their packet identifier [MQTT-2.2.1-6]', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authorizeSubscribe: (_c, filter, qos) => (filter === 'denied' ? false : qos) } });
    const { client } = await connect(broker, { protocolVersion: 5, clientId: 'c' });
    for (const id of [1, 0x0102, 0xffff]) {
      client.send({ type: 'subscribe', packetId: id, subscriptions: [{ topicFilter: 'a', qos: 1 }, { topicFilter: 'denied', qos: 0 }] });
      expect(await client.expect('suback')).toMatchObject({ packetId: id, reasonCodes: [1, ReasonCode.NotAuthorized] });
      client.send({ type: 'unsubscribe', packetId: id, topicFilters: ['a', 'never'] });
      expect(await client.expect('unsuback')).toMatchObject({ packetId: id, reasonCodes: [ReasonCode.Success, ReasonCode.NoSubscriptionExisted] });
    }
    // Several in flight at once: each answer names its own request.
    client.send({ type: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'x', qos: 0 }] });
    client.send({ type: 'unsubscribe', packetId: 8, topicFilters: ['x'] });
    client.send({ type: 'subscribe', packetId: 9, subscriptions: [{ topicFilter: 'y', qos: 2 }] });
    expect(await client.expect('suback')).toMatchObject({ packetId: 7, reasonCodes: [0] });
    expect(await client.expect('unsuback')).toMatchObject({ packetId: 8, reasonCodes: [0] });
    expect(await client.expect('suback')).toMatchObject({ packetId: 9, reasonCodes: [2] });
  });
});
