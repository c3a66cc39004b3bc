/**
 * MQTT 3.1.1 and 5.0 sections 3.8.4 and 3.9.3, the broker's side: a SUBSCRIBE with several
 * filters is one SUBACK with one code per filter, in order, as if each filter had come in a
 * SUBSCRIBE of its own: granted, downgraded and refused filters side by side, and each
 * subscription then delivering at the QoS it was granted.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion, QoS, Subscription } from '../../src/core/codec/types.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

/** The codes a SUBACK may carry: 3.1.1 section 3.9.3, 5.0 section 3.9.3 (the Subscribe Reason Codes). */
const SUBACK_CODES: Record<ProtocolVersion, number[]> = {
  3: [0x00, 0x01, 0x02, 0x80],
  4: [0x00, 0x01, 0x02, 0x80],
  5: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
};

function sub(topicFilter: string, qos: QoS, version: ProtocolVersion): Subscription {
  return version === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } : { topicFilter, qos };
}

/**
 * Every PUBLISH that arrives until the client falls silent, as topic → QoS, each acknowledged
 * as it comes (PUBRELs of earlier QoS 2 flows may arrive between later PUBLISHes).
 */
async function deliveries(client: TestClient): Promise<Record<string, number>> {
  const got: Record<string, number> = {};
  const v5 = client.version === 5 ? { reasonCode: 0 } : {};
  for (;;) {
    let p;
    try {
      p = await client.next(150);
    } catch {
      return got;
    }
    if (p.type === 'pubrel') {
      client.send({ type: 'pubcomp', packetId: p.packetId, ...v5 });
      continue;
    }
    if (p.type !== 'publish') throw new Error(`expected PUBLISH or PUBREL, got ${JSON.stringify(p)}`);
    expect(got[p.topic], `a second copy of ${p.topic}`).toBeUndefined();
    got[p.topic] = p.qos;
    if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId!, ...v5 });
    if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId!, ...v5 });
  }
}

describe('a SUBSCRIBE with several topic filters', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-3.9.3-2] [MQTT-3.8.4-6];
    // 5.0 [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1] [MQTT-3.9.3-2] [MQTT-3.8.4-8]:
    // one SUBACK with the SUBSCRIBE's packet id, a code per filter in the filters' order
    // (granted, downgraded by the hook, invalid, refused), and each granted filter delivering
    // at the minimum of the published QoS and its grant, as separate SUBSCRIBEs would.
    it(`${name}: one SUBACK, a code per filter in order, each subscription at its own granted QoS`, async (ctx) => {
      const broker = brokerFor(ctx, {
        hooks: { authorizeSubscribe: (_c, filter, qos) => (filter.startsWith('private/') ? false : filter.startsWith('low/') ? 0 : qos) },
      });
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      const filters = [sub('g/2', 2, version), sub('a/#/b', 1, version), sub('low/+', 2, version), sub('private/x', 1, version), sub('g/1', 1, version), sub('g/0', 0, version)];
      client.send({ type: 'subscribe', packetId: 4242, subscriptions: filters });
      const suback = await client.expect('suback');
      expect(suback.packetId).toBe(4242);
      const invalid = version === 5 ? ReasonCode.TopicFilterInvalid : 0x80;
      const refused = version === 5 ? ReasonCode.NotAuthorized : 0x80;
      expect(suback.reasonCodes).toEqual([2, invalid, 0, refused, 1, 0]);
      for (const code of suback.reasonCodes) expect(SUBACK_CODES[version]).toContain(code);
      // One SUBACK only: nothing else follows it.
      await client.expectNothing(50);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([
        ['g/2', 2],
        ['low/+', 0],
        ['g/1', 1],
        ['g/0', 0],
      ]);

      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      for (const topic of ['g/2', 'low/x', 'private/x', 'g/1', 'g/0', 'a/x/b']) pub.publish(topic, topic, { qos: 2 });
      expect(await deliveries(client)).toEqual({ 'g/2': 2, 'low/x': 0, 'g/1': 1, 'g/0': 0 });
    });

    // 3.1.1 [MQTT-3.9.3-1] / 5.0 [MQTT-3.9.3-1]: the codes keep the filters' order even when an
    // asynchronous authorizeSubscribe answers them in the reverse order; and, as a sequence
    // (3.1.1 [MQTT-3.8.4-4] / 5.0 [MQTT-3.8.4-5]), an UNSUBSCRIBE sent right behind it is handled
    // after it: it finds the subscription (5.0: 0x00) and leaves none.
    it(`${name}: codes in the filters' order when an asynchronous hook answers out of order`, async (ctx) => {
      const delays: Record<string, number> = { a: 40, b: 20, c: 0, d: 10 };
      const broker = brokerFor(ctx, {
        hooks: {
          authorizeSubscribe: (_c, filter, qos) =>
            new Promise((resolve) => setTimeout(() => resolve(filter === 'b' ? false : filter === 'd' ? 0 : qos), delays[filter])),
        },
      });
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      client.send({ type: 'subscribe', packetId: 1, subscriptions: [sub('a', 2, version), sub('b', 1, version), sub('c', 1, version), sub('d', 2, version)] });
      client.send({ type: 'unsubscribe', packetId: 2, topicFilters: ['a'] });
      const suback = await client.expect('suback');
      expect([suback.packetId, ...suback.reasonCodes]).toEqual([1, 2, version === 5 ? ReasonCode.NotAuthorized : 0x80, 1, 0]);
      const unsuback = await client.expect('unsuback');
      expect(unsuback.packetId).toBe(2);
      if (version === 5) expect(unsuback.reasonCodes).toEqual([0]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([
        ['c', 1],
        ['d', 0],
      ]);
    });

    // 3.1.1 [MQTT-3.8.4-4] / 5.0 [MQTT-3.8.4-5]: as a sequence of SUBSCRIBEs, so the same filter
    // twice in one packet is a subscription and then its replacement: both granted, one kept,
    // at the later QoS; [MQTT-3.9.3-1] the codes follow the filters.
    it(`${name}: the same filter twice in one SUBSCRIBE is subscribed, then replaced`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      const suback = await client.subscribe([sub('t', 2, version), sub('u', 1, version), sub('t', 0, version)]);
      expect(suback.reasonCodes).toEqual([2, 1, 0]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([
        ['t', 0],
        ['u', 1],
      ]);
      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      pub.publish('t', 'x', { qos: 2 });
      expect(await deliveries(client)).toEqual({ t: 0 });
    });

    // 3.1.1 [MQTT-3.8.4-4] [MQTT-3.8.4-5] / 5.0 [MQTT-3.8.4-5] [MQTT-3.8.4-7]: the quota is counted
    // filter by filter, as over separate SUBSCRIBEs: the third new filter fails, a later
    // replacement of a held one does not, and the failure is its own code in its own place.
    it(`${name}: a subscription quota is reached part-way through one SUBSCRIBE`, async (ctx) => {
      const broker = brokerFor(ctx, { maxSubscriptions: 2 });
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      const suback = await client.trySubscribe([sub('a', 1, version), sub('b', 0, version), sub('c', 2, version), sub('a', 2, version)]);
      expect(suback.reasonCodes).toEqual([1, 0, version === 5 ? ReasonCode.QuotaExceeded : 0x80, 2]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([
        ['a', 2],
        ['b', 0],
      ]);
    });
  }
});
