/**
 * MQTT 3.1.1 and 5.0 sections 3.10.4 and 3.11, the broker's side: UNSUBSCRIBE compares filters
 * character by character, answers one UNSUBACK for all its filters (5.0: a code per filter, in
 * order; 0x11 where nothing was subscribed), even when nothing was removed; after it no new
 * messages arrive, while the QoS 1 and 2 deliveries already started complete.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion, QoS, Subscription } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

const NONE = ReasonCode.NoSubscriptionExisted;

function sub(topicFilter: string, qos: QoS, version: ProtocolVersion): Subscription {
  return version === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } : { topicFilter, qos };
}

describe('UNSUBSCRIBE', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 and 5.0 [MQTT-3.10.4-6]: several filters are handled as a sequence of UNSUBSCRIBEs
    // with one UNSUBACK, with the UNSUBSCRIBE's packet id ([MQTT-3.10.4-4] 3.1.1, [MQTT-3.10.4-5]
    // 5.0); 5.0 [MQTT-3.11.3-1] [MQTT-3.11.3-2]: a code per filter in their order, each 0x00 or
    // 0x11 (the same filter a second time finds nothing left). [MQTT-3.10.4-2] the rest delivers.
    it(`${name}: one UNSUBACK for several filters, a code per filter in order`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      await client.subscribe([sub('a', 1, version), sub('b/+', 0, version), sub('c/#', 1, version)]);
      client.send({ type: 'unsubscribe', packetId: 999, topicFilters: ['c/#', 'zzz', 'a', 'c/#'] });
      const unsuback = await client.expect('unsuback');
      expect(unsuback.packetId).toBe(999);
      if (version === 5) {
        expect(unsuback.reasonCodes).toEqual([0, NONE, 0, NONE]);
        for (const code of unsuback.reasonCodes!) expect([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]).toContain(code);
      } else {
        expect(unsuback).toEqual({ type: 'unsuback', packetId: 999 });
      }
      await client.expectNothing(30); // one UNSUBACK, nothing more
      expect(broker.inspect.session('s')!.subscriptions.map((s) => s.topicFilter)).toEqual(['b/+']);
      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      for (const topic of ['a', 'c/x', 'b/x']) pub.publish(topic, topic);
      expect((await client.expect('publish')).topic).toBe('b/x');
      await client.expectNothing(50);
    });

    // 3.1.1 and 5.0 [MQTT-3.10.4-1]: filters are compared character by character, wildcards
    // included: 'a/b' does not remove 'a/#' or 'a/+', case and Unicode normalisation count,
    // a shared subscription is removed by its whole '$share/…' filter only.
    it(`${name}: removes only a subscription whose filter is the same, character by character`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version });
      const held = ['a/#', 'a/+', 'A/b', 'caf\u00e9', '$share/g/a/b'];
      await client.subscribe(held.map((f) => sub(f, 0, version)));
      client.send({ type: 'unsubscribe', packetId: 7, topicFilters: ['a/b', 'a/+/', 'A/B', 'cafe\u0301', 'a/+', 'a/b/#', '$share/h/a/b', '$share/g/a/+'] });
      const unsuback = await client.expect('unsuback');
      if (version === 5) expect(unsuback.reasonCodes).toEqual([NONE, NONE, NONE, NONE, 0, NONE, NONE, NONE]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => s.topicFilter).sort()).toEqual(['$share/g/a/b', 'A/b', 'a/#', 'caf\u00e9']);
      client.send({ type: 'unsubscribe', packetId: 8, topicFilters: ['$share/g/a/b'] });
      const second = await client.expect('unsuback');
      if (version === 5) expect(second.reasonCodes).toEqual([0]);
      expect(broker.inspect.session('s')!.subscriptions.map((s) => s.topicFilter).sort()).toEqual(['A/b', 'a/#', 'caf\u00e9']);
    });

    // 3.1.1 [MQTT-3.10.4-5] / 5.0 [MQTT-3.10.4-5]: an UNSUBACK even when nothing was subscribed
    // (5.0: 0x11 No subscription existed for each filter). 5.0 [MQTT-3.11.2-1] [MQTT-3.11.2-2]:
    // the broker puts no Reason String or User Property on an UNSUBACK, so none can push it past
    // a Maximum Packet Size as small as the UNSUBACK itself (9 bytes for four codes), which
    // still arrives whole.
    it(`${name}: answers UNSUBACK when nothing was subscribed, within the smallest Maximum Packet Size`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { clientId: 's', protocolVersion: version, ...(version === 5 ? { properties: { maximumPacketSize: 9 } } : {}) });
      client.send({ type: 'unsubscribe', packetId: 3, topicFilters: ['x', 'y/+', 'z/#', '$share/g/x'] });
      const unsuback = await client.expect('unsuback');
      expect(unsuback.packetId).toBe(3);
      if (version === 5) {
        expect(unsuback.reasonCodes).toEqual([NONE, NONE, NONE, NONE]);
        expect(unsuback.properties).toBeUndefined();
      } else {
        expect(unsuback).toEqual({ type: 'unsuback', packetId: 3 });
      }
      expect(client.closed).toBe(false);
    });

    // 3.1.1 [MQTT-3.10.4-2] / 5.0 [MQTT-3.10.4-2]: once unsubscribed, no new messages for those
    // filters; 3.1.1 [MQTT-3.10.4-3] / 5.0 [MQTT-3.10.4-3]: the QoS 1 and QoS 2 deliveries already
    // sent still complete: PUBREC is answered with PUBREL, and the unacknowledged QoS 1 message
    // is sent again (DUP) when the session resumes.
    it(`${name}: stops new messages, completes the QoS 1 and 2 deliveries already started`, async (ctx) => {
      const broker = brokerFor(ctx);
      const persistent = { clientId: 's', protocolVersion: version, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) } as const;
      const { client } = await connect(broker, persistent);
      await client.subscribe([sub('q/1', 1, version), sub('q/2', 2, version), sub('keep', 1, version)]);
      const { client: pub } = await connect(broker, { clientId: 'p', protocolVersion: version });
      pub.publish('q/1', 'one', { qos: 1 });
      pub.publish('q/2', 'two', { qos: 2 });
      const q1 = await client.expect('publish');
      const q2 = await client.expect('publish');
      expect([q1.topic, q2.topic]).toEqual(['q/1', 'q/2']);

      client.send({ type: 'unsubscribe', packetId: 50, topicFilters: ['q/1', 'q/2'] });
      expect((await client.expect('unsuback')).packetId).toBe(50);
      pub.publish('q/1', 'new', { qos: 1 });
      pub.publish('q/2', 'new', { qos: 2 });
      pub.publish('keep', 'k', { qos: 1 });
      const keep = await client.expect('publish');
      expect(keep.topic).toBe('keep');
      await client.ack(keep);

      const v5 = version === 5 ? { reasonCode: 0 } : {};
      client.send({ type: 'pubrec', packetId: q2.packetId!, ...v5 });
      expect(await client.expect('pubrel')).toMatchObject({ packetId: q2.packetId });
      client.send({ type: 'pubcomp', packetId: q2.packetId!, ...v5 });
      await client.expectNothing(50);
      expect(broker.inspect.session('s')!.inflight).toBe(1); // q/1, never acknowledged

      client.kill();
      await client.closedPromise;
      const { client: back, connack } = await connect(broker, persistent);
      expect(connack.sessionPresent).toBe(true);
      const again = await back.expect('publish');
      expect([again.topic, again.payload.toString(), again.packetId, again.dup]).toEqual(['q/1', 'one', q1.packetId, true]);
      back.send({ type: 'puback', packetId: again.packetId!, ...v5 });
      await back.expectNothing(50);
      expect(broker.inspect.session('s')!.inflight).toBe(0);
    });
  }
});
