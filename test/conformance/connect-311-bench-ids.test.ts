/**
 * MQTT 3.1.1 section 2.3.1 on the client side, where it binds a client of ours: the bench's
 * publishers build their PUBLISH packets by hand (src/core/bench/publisher.ts), so they must
 * give each QoS > 0 PUBLISH a non-zero packet id not in use, free again only after its PUBACK
 * or PUBCOMP. A fake broker acknowledges out of order and fails the run on any id reused early.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runBench, type BenchConfig, type BenchTarget } from '../../src/core/bench/index.js';
import type { Packet } from '../../src/core/codec/types.js';
import { startFakeBroker, type FakeBroker, type FakeClient } from '../helpers/fake-broker.js';

function target(port: number): BenchTarget {
  return {
    name: 'ids',
    connection: { transport: 'mqtt', host: '127.0.0.1', port, wsPath: '/mqtt', clientId: 'ids', keepalive: 60, protocolVersion: 4, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 5000 },
  };
}

function config(qos: 1 | 2): BenchConfig {
  return { scenario: 'pub', pubs: 2, subs: 0, topic: 'ids/%i', topicMode: 'same', qos, size: 32, msgs: 3000, inflight: 20, retain: false, protocolVersion: 4, workers: 1, timeoutMs: 5000, conns: 1, concurrency: 1 };
}

/**
 * A broker that answers each PUBLISH late and out of order (the batch of a tick, reversed), and
 * records every id a client sent while the same id was still in use, and every id 0.
 */
async function idChecker(): Promise<{ broker: FakeBroker; violations: string[]; ids: Set<number> }> {
  const violations: string[] = [];
  const seen = new Set<number>();
  const inUse = new Map<FakeClient, Set<number>>();
  const pending: [FakeClient, Packet][] = [];
  const flush = (): void => {
    for (const [client, ack] of pending.splice(0).reverse()) client.send(ack);
  };
  const broker = await startFakeBroker({
    onPacket(p, client) {
      if (p.type !== 'publish' && p.type !== 'pubrel') return false;
      const used = inUse.get(client) ?? new Set<number>();
      inUse.set(client, used);
      if (p.type === 'pubrel') {
        // The fake answers PUBCOMP: from then on the client may use the id again.
        used.delete(p.packetId);
        return false;
      }
      if (p.qos === 0) return true;
      const id = p.packetId ?? 0;
      if (id === 0) violations.push('packet id 0');
      else if (used.has(id)) violations.push(`packet id ${id} reused while in use`);
      used.add(id);
      seen.add(id);
      if (pending.length === 0) setImmediate(flush);
      if (p.qos === 1) {
        pending.push([client, { type: 'puback', packetId: id }]);
        used.delete(id); // removed as the PUBACK is queued: the client cannot reuse it before reading it
      } else pending.push([client, { type: 'pubrec', packetId: id }]);
      return true;
    },
  });
  return { broker, violations, ids: seen };
}

describe('bench publishers: packet ids (3.1.1 section 2.3.1)', () => {
  let broker: FakeBroker | undefined;
  afterEach(async () => broker?.close());

  for (const qos of [1, 2] as const) {
    // [MQTT-2.3.1-1] [MQTT-2.3.1-2] each new QoS > 0 PUBLISH has a non-zero id not in use; an id is
    // available again only after its PUBACK (QoS 1) or PUBCOMP (QoS 2) [MQTT-2.3.1-3].
    it(`QoS ${qos}: every PUBLISH carries a non-zero packet id that is not in use`, async () => {
      const checker = await idChecker();
      broker = checker.broker;
      const r = await runBench(target(broker.port), config(qos));
      expect(checker.violations).toEqual([]);
      expect(r.published).toBe(3000);
      expect(r.acknowledged).toBe(3000);
      // The ids came back into use: a window of 20 needs no more than 20 of them per publisher.
      expect(checker.ids.size).toBeLessThanOrEqual(40);
      expect(checker.ids.size).toBeGreaterThan(1);
    });
  }
});
