/**
 * The sender's side of MQTT 3.1.1 and 5.0 section 4.3 as our own hand-written publisher keeps it:
 * `mqt bench`'s publishers (src/core/bench/publisher.ts) against our broker, every PUBLISH they
 * send seen by the broker's publish trace. Each is DUP 0 at the QoS asked for, with a packet id
 * from 1 up for QoS 1 and 2; an id reused before its flow ended would make the broker treat the
 * QoS 2 message as a duplicate and lose it, so all delivered exactly once shows the ids unused
 * and every PUBREC answered with PUBREL (PUBCOMP counted as acknowledged).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runBench, type BenchConfig } from '../../src/core/bench/index.js';
import type { QoS } from '../../src/core/codec/types.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

let started: StartedBroker | undefined;
afterEach(async () => {
  await started?.stop();
  started = undefined;
});

function config(qos: QoS, protocolVersion: 4 | 5): BenchConfig {
  return {
    scenario: 'pub',
    pubs: 1,
    subs: 1,
    topic: 'bench/%i',
    topicMode: 'same',
    qos,
    size: 32,
    msgs: 600,
    inflight: 20,
    retain: false,
    protocolVersion,
    workers: 1,
    timeoutMs: 5000,
    conns: 1,
    concurrency: 1,
  };
}

describe.each([4, 5] as const)('v%i: the bench publisher as sender', (protocolVersion) => {
  // 3.1.1 [MQTT-4.3.1-1] [MQTT-4.3.2-1] [MQTT-4.3.3-1]; 5.0 [MQTT-4.3.1-1] [MQTT-4.3.2-1]
  // [MQTT-4.3.2-2] [MQTT-4.3.3-1] [MQTT-4.3.3-2] [MQTT-4.3.3-4]
  it.each([0, 1, 2] as const)('QoS %i: every PUBLISH is DUP 0 with an unused packet id, every flow completes', async (qos) => {
    started = await startBroker({ maxInflight: 1000 });
    const seen: [QoS, boolean, number][] = [];
    started.broker.publishTrace = {
      received: (client, _topic, q, _retain, dup, packetId) => {
        if (client.clientId.startsWith('mqtb')) seen.push([q, dup, packetId]);
      },
      sent: () => undefined,
    };
    const r = await runBench({ name: 'ours', connection: { transport: 'mqtt', host: '127.0.0.1', port: started.port, wsPath: '/mqtt', clientId: 'mqtb-conf', keepalive: 60, protocolVersion, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 5000 } }, config(qos, protocolVersion));
    expect(r.errors).toEqual([]);
    expect({ published: r.published, acknowledged: r.acknowledged, delivered: r.delivered, lost: r.lost, duplicated: r.duplicated }).toEqual({ published: 600, acknowledged: 600, delivered: 600, lost: 0, duplicated: 0 });
    expect(seen.length).toBeGreaterThanOrEqual(600);
    for (const [q, dup, packetId] of seen) {
      expect([q, dup]).toEqual([qos, false]);
      if (qos === 0) expect(packetId).toBe(0);
      else expect(packetId).toBeGreaterThan(0);
    }
  });
});
