/**
 * MQTT 3.1.1 [MQTT-3.8.4-3] and 5.0 [MQTT-3.8.4-3] [MQTT-3.8.4-4]: a SUBSCRIBE to a filter the
 * session already holds replaces that subscription; its retained messages are sent again
 * (always in 3.1.1, per Retain Handling in 5.0), and no message of the flow is lost or doubled
 * by the replacement, in flight or queued.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion, QoS, Subscription } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

function sub(topicFilter: string, qos: QoS, version: ProtocolVersion, retainHandling: 0 | 1 | 2 = 0): Subscription {
  return version === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling } : { topicFilter, qos };
}

describe('a SUBSCRIBE that replaces a subscription', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 [MQTT-3.8.4-3] / 5.0 [MQTT-3.8.4-3] [MQTT-3.8.4-4] (Retain Handling 0): replaced, not
    // added (one subscription, one copy at the new maximum QoS), and the retained message is
    // sent again after the second SUBACK, at the new QoS.
    it(`${name}: replaces the subscription and sends the retained messages again`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      pub.publish('r/a', 'kept', { qos: 1, retain: true });
      await pub.expect('puback');
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      await client.subscribe([sub('r/#', 1, version)]);
      const first = await client.receive();
      expect([first.topic, first.qos, first.retain]).toEqual(['r/a', 1, true]);

      expect((await client.subscribe([sub('r/#', 0, version)])).reasonCodes).toEqual([0]);
      const again = await client.expect('publish');
      expect([again.topic, again.payload.toString(), again.qos, again.retain]).toEqual(['r/a', 'kept', 0, true]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([['r/#', 0]]);

      pub.publish('r/b', 'live', { qos: 1 });
      const live = await client.expect('publish');
      expect([live.topic, live.qos, live.retain]).toEqual(['r/b', 0, false]);
      await client.expectNothing(50);
    });

    // 3.1.1 [MQTT-3.8.4-3] "the flow of publications MUST NOT be interrupted"; 5.0 [MQTT-3.8.4-4]
    // "Application Messages MUST NOT be lost due to replacing the Subscription": with one
    // message in flight and two queued behind it (maxInflight 1), a replacement loses none of
    // them, and a message published right after it arrives too, each once, in order.
    it(`${name}: replacing a subscription loses no message in flight or queued`, async (ctx) => {
      const broker = brokerFor(ctx, { maxInflight: 1 });
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      await client.subscribe([sub('q/#', 1, version)]);
      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      for (const n of [1, 2, 3]) {
        pub.publish(`q/${n}`, String(n), { qos: 1 });
        await pub.expect('puback');
      }
      const inFlight = await client.expect('publish');
      expect(inFlight.topic).toBe('q/1');
      await client.expectNothing(30); // q/2 and q/3 wait behind the unacknowledged q/1
      expect(broker.inspect.session('s')!.queued).toBe(2);

      expect((await client.subscribe([sub('q/#', 1, version)])).reasonCodes).toEqual([1]);
      pub.publish('q/4', '4', { qos: 1 });
      await pub.expect('puback');
      await client.ack(inFlight);
      const rest: string[] = [];
      for (let i = 0; i < 3; i++) rest.push((await client.receive()).topic);
      expect(rest).toEqual(['q/2', 'q/3', 'q/4']);
      await client.expectNothing(50);
    });
  }

  // 5.0 [MQTT-3.8.4-4] applies to Retain Handling 0 only: with 1, a replacement sends no
  // retained message (section 3.8.3.1: "only if the subscription does not currently exist"),
  // and with 2 none is sent at all [MQTT-3.3.1-11]; the replacement still takes effect [MQTT-3.8.4-3].
  it('5.0: Retain Handling 1 sends the retained messages for a new subscription only, 2 never', async (ctx) => {
    const broker = brokerFor(ctx);
    broker.publishMessage('r/a', 'kept', { qos: 1, retain: true });
    const { client } = await connect(broker, { clientId: 's', protocolVersion: 5 });
    await client.subscribe([sub('r/#', 1, 5, 1)]);
    expect((await client.receive()).topic).toBe('r/a');
    expect((await client.subscribe([sub('r/#', 0, 5, 1)])).reasonCodes).toEqual([0]);
    await client.expectNothing(50);
    await client.subscribe([sub('r/+', 1, 5, 2)]);
    await client.subscribe([sub('r/+', 1, 5, 2)]);
    await client.expectNothing(50);
    expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos, s.retainHandling])).toEqual([
      ['r/#', 0, 1],
      ['r/+', 1, 2],
    ]);
    // And Retain Handling 0 on the same filter sends it again.
    await client.subscribe([sub('r/#', 1, 5, 0)]);
    const again = await client.receive();
    expect([again.topic, again.retain]).toEqual(['r/a', true]);
  });
});
