import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { benchJson, describeConfig, formatCount, formatMs, summarize, verdict } from '../../../src/core/bench/report.js';
import { renderSummary, sparkline } from '../../../src/commands/render/bench-output.js';
import { CONFIG, latency, result } from './fixtures.js';

const plain = new Chalk({ level: 0 });

describe('number formatting', () => {
  it('groups thousands without the locale', () => {
    expect([0, 7, 999, 1000, 80_000, 1_234_567, 12.6, -4500].map(formatCount)).toEqual(['0', '7', '999', '1,000', '80,000', '1,234,567', '13', '-4,500']);
  });

  it('shows milliseconds with three significant digits', () => {
    expect([0, 0.0412, 0.412, 4.123, 41.23, 412.3, 1204.4, Number.NaN].map(formatMs)).toEqual(['0', '0.041', '0.412', '4.12', '41.2', '412', '1,204', '-']);
  });
});

describe('verdict', () => {
  it('passes a clean run', () => {
    expect(verdict(result())).toEqual({ ok: true, problems: [] });
  });

  // QoS 1 is "at least once": any loss breaks it (MQTT sections 4.3.2).
  it('fails a QoS 1 run that lost messages', () => {
    expect(verdict(result({ lost: 12, delivered: 99_988 }))).toEqual({ ok: false, problems: ['lost 12 of 100,000 QoS 1 deliveries'] });
  });

  it('allows duplicates at QoS 1 and loss at QoS 0', () => {
    expect(verdict(result({ duplicated: 5 })).ok).toBe(true);
    expect(verdict(result({ lost: 500 }, { qos: 0 })).ok).toBe(true);
  });

  // QoS 2 is "exactly once" (section 4.3.3): loss and duplication both break it.
  it('fails a QoS 2 run that duplicated or lost', () => {
    expect(verdict(result({ duplicated: 3, lost: 1 }, { qos: 2 })).problems).toEqual(['lost 1 of 100,000 QoS 2 deliveries', 'duplicated 3 QoS 2 deliveries']);
  });
});

describe('summary of a known run', () => {
  it('describes the configuration in one line', () => {
    expect(describeConfig(CONFIG)).toBe('QoS 1 · 64 B · 100,000 msgs · flat out · window 100 · MQTT 3.1.1 · topic mqt/bench/0');
    expect(describeConfig({ ...CONFIG, qos: 0, msgs: undefined, durationMs: 5000, rate: 2500, warmupMs: 2000, retain: true, protocolVersion: 5, workers: 2 })).toBe(
      'QoS 0 · 64 B · for 5.00 s · 2,500 msg/s · warm-up 2.00 s · retained · MQTT 5 · topic mqt/bench/0 · 2 workers',
    );
    expect(describeConfig({ ...CONFIG, scenario: 'conn' })).toBe('2,000 connections · 200 at a time · MQTT 3.1.1');
    // Where the engine puts the messages (scenarios.ts): a topic per publisher, fan-in on a wildcard.
    expect(describeConfig({ ...CONFIG, topicMode: 'distinct', pubs: 3 })).toContain('· topics mqt/bench/%i');
    expect(describeConfig({ ...CONFIG, scenario: 'fan-in', topic: 'load/%i/t' })).toContain('· topics load/%i/t → load/+/t');
    expect(describeConfig({ ...CONFIG, scenario: 'fan-in', topic: 'load' })).toContain('· topics load/%i → load/+');
  });

  it('renders as plain text without colour', () => {
    expect(renderSummary(summarize(result()), plain)).toBe(
      [
        'pub 1 → 1 against builtin',
        'QoS 1 · 64 B · 100,000 msgs · flat out · window 100 · MQTT 3.1.1 · topic mqt/bench/0',
        '',
        '  published       100,000 in 1.25 s',
        '  publish rate    80,000 msg/s',
        '  delivered       100,000 of 100,000',
        '  delivery rate   80,000 msg/s',
        '',
        '  latency (ms)          p50   p90   p99  p99.9   max',
        '  publish → PUBACK    0.800  1.60  3.20   6.40  16.0',
        '  publish → delivery  0.900  1.80  3.60   7.20  18.0',
        '',
        '  correctness     lost 0 · duplicated 0 · out of order 0',
        '  errors          none',
        '  cpu             engine 1.10 s · broker 0.90 s · broker RSS 52.0 MiB',
        '',
      ].join('\n'),
    );
  });

  it('says FAILED and names the loss of a QoS 1 run', () => {
    const text = renderSummary(summarize(result({ lost: 12, delivered: 99_988 })), plain);
    expect(text).toContain('  delivered       99,988 of 100,000\n');
    expect(text).toContain('  correctness     lost 12 · duplicated 0 · out of order 0: lost 12 of 100,000 QoS 1 deliveries\n');
    expect(text.endsWith('\nFAILED: lost 12 of 100,000 QoS 1 deliveries\n')).toBe(true);
  });

  it('colours a broken guarantee red', () => {
    const colour = new Chalk({ level: 1 });
    const text = renderSummary(summarize(result({ lost: 12 })), colour);
    expect(text).toContain(colour.red.bold('FAILED: lost 12 of 100,000 QoS 1 deliveries'));
  });

  it('has no ack latency at QoS 0, and shows errors by reason code', () => {
    const s = summarize(result({ ackLatency: undefined, errors: [{ reasonCode: 0x97, count: 2 }], reconnects: 1 }, { qos: 0 }));
    expect(s.latency.map((r) => r.label)).toEqual(['publish → delivery']);
    expect(s.checks.find((l) => l.label === 'errors')).toEqual({ label: 'errors', text: 'Quota exceeded (0x97) ×2 · 1 reconnect', tone: 'warn' });
  });

  it('leaves out deliveries when there are no subscribers', () => {
    const s = summarize(result({ delivered: 0, expected: 0, deliveryRate: 0, deliveryLatency: { ...latency(1), count: 0 }, subscribers: [] }, { subs: 0 }));
    expect(s.title).toBe('pub 1 → 0 against builtin');
    expect(s.rates.map((l) => l.label)).toEqual(['published', 'publish rate']);
    expect(s.latency.map((r) => r.label)).toEqual(['publish → PUBACK']);
  });

  it('summarizes the conn scenario by connections and CONNACK latency', () => {
    const s = summarize(
      result({ conn: { attempted: 2000, connected: 1998, failed: 2, rate: 7812.4, connackLatency: latency(12) }, published: 0, delivered: 0, expected: 0 }, { scenario: 'conn' }),
    );
    expect(s.title).toBe('conn against builtin');
    expect(s.rates).toEqual([
      { label: 'connected', text: '1,998 of 2,000 in 1.25 s', tone: 'warn' },
      { label: 'connect rate', text: '7,812 conn/s', tone: 'plain' },
      { label: 'failed', text: '2', tone: 'warn' },
    ]);
    expect(s.latency).toEqual([{ label: 'CONNECT → CONNACK', cells: ['12.0', '24.0', '48.0', '96.0', '240'] }]);
  });

  it('draws a sparkline of per-second values', () => {
    expect(sparkline([0, 50, 100])).toBe('▁▅█');
    expect(sparkline([0, 0])).toBe('');
  });
});

describe('--json object', () => {
  it('has every documented field, null where nothing was measured', () => {
    const json = benchJson(result({ ackLatency: undefined }, { qos: 0 }), 4242);
    expect(Object.keys(json)).toEqual([
      'target', 'brokerPid', 'scenario', 'config', 'startedAt', 'durationMs', 'publishMs', 'waitedMs', 'totals', 'rates', 'perSecond',
      'latencyMs', 'correctness', 'errors', 'socketErrors', 'reconnects', 'cpu', 'brokerRssBytes', 'conn', 'ok', 'problems', 'hints',
    ]);
    expect(json).toMatchObject({
      target: 'builtin',
      brokerPid: 4242,
      scenario: 'pub',
      totals: { published: 100_000, acknowledged: 100_000, expected: 100_000, delivered: 100_000 },
      rates: { publish: 80_000, delivery: 80_000 },
      latencyMs: { ack: null, delivery: { p50: 0.9, p99: 3.6 }, connack: null },
      correctness: { lost: 0, duplicated: 0, outOfOrder: 0 },
      cpu: { engineSeconds: 1.1, brokerSeconds: 0.9 },
      conn: null,
      ok: true,
      problems: [],
    });
    // It survives JSON: no undefined values, no Buffers, no Infinity.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('names the reason of each error and carries the verdict', () => {
    const json = benchJson(result({ lost: 3, errors: [{ reasonCode: 0x87, count: 1 }] }));
    expect(json.errors).toEqual([{ reasonCode: 0x87, reason: 'Not authorized', packet: null, count: 1 }]);
    expect(json.ok).toBe(false);
    expect(json.problems).toEqual(['lost 3 of 100,000 QoS 1 deliveries']);
    expect(json.brokerPid).toBeNull();
  });
});
