/** Known BenchResults for the report and compare tests: plain data, as the engine returns it. */
import type { BenchConfig, BenchResult, LatencySummary } from '../../../src/core/bench/types.js';

export const CONFIG: BenchConfig = {
  scenario: 'pub',
  pubs: 1,
  subs: 1,
  topic: 'mqt/bench/%i',
  topicMode: 'same',
  qos: 1,
  size: 64,
  msgs: 100_000,
  durationMs: undefined,
  rate: undefined,
  inflight: 100,
  retain: false,
  protocolVersion: 4,
  warmupMsgs: undefined,
  warmupMs: undefined,
  workers: 1,
  timeoutMs: 10_000,
  conns: 2000,
  concurrency: 200,
};

export function latency(p50: number, scale = 1): LatencySummary {
  return { count: 100_000, min: 0.05 * scale, mean: p50 * 1.1, p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 20 };
}

/** A clean QoS 1 run: 100,000 messages in 1.25 s. */
export function result(overrides: Partial<BenchResult> = {}, config: Partial<BenchConfig> = {}): BenchResult {
  return {
    target: 'builtin',
    config: { ...CONFIG, ...config },
    startedAt: '2026-11-22T03:00:00.000Z',
    durationMs: 1250,
    published: 100_000,
    acknowledged: 100_000,
    delivered: 100_000,
    expected: 100_000,
    publishRate: 80_000,
    deliveryRate: 80_000,
    perSecond: [
      { second: 0, published: 80_000, delivered: 79_000 },
      { second: 1, published: 20_000, delivered: 21_000 },
    ],
    ackLatency: latency(0.8),
    deliveryLatency: latency(0.9),
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    subscribers: [{ index: 0, expected: 100_000, received: 100_000, lost: 0, duplicated: 0, outOfOrder: 0 }],
    errors: [],
    reconnects: 0,
    cpu: { engineSeconds: 1.1, brokerSeconds: 0.9 },
    brokerRssBytes: 52 * 1024 * 1024,
    ...overrides,
  };
}
