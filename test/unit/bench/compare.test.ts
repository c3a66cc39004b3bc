import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { compareJson, compareResults, median, roundOrder, runRounds } from '../../../src/core/bench/compare.js';
import { renderCompare } from '../../../src/commands/render/bench-output.js';
import { latency, result } from './fixtures.js';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([10, 1, 4, 7])).toBe(5.5);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});

describe('round order', () => {
  it('runs round by round, every target in turn (A B A B)', () => {
    expect(roundOrder(2, 3).map(({ target }) => 'AB'[target]).join('')).toBe('ABABAB');
    expect(roundOrder(3, 2)).toEqual([
      { round: 0, target: 0 }, { round: 0, target: 1 }, { round: 0, target: 2 },
      { round: 1, target: 0 }, { round: 1, target: 1 }, { round: 1, target: 2 },
    ]);
  });

  it('runs one at a time and files results by target and round', async () => {
    const calls: string[] = [];
    let running = 0;
    const results = await runRounds(2, 2, async (target, round) => {
      running++;
      expect(running).toBe(1);
      calls.push(`${target}:${round}`);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      return `${'AB'[target]}${round}`;
    });
    expect(calls).toEqual(['0:0', '1:0', '0:1', '1:1']);
    expect(results).toEqual([['A0', 'A1'], ['B0', 'B1']]);
  });
});

describe('compareResults', () => {
  // builtin: 100k, 120k, 110k msg/s → median 110k; mosquitto: 60k, 50k, 55k → median 55k.
  const builtin = [100_000, 120_000, 110_000].map((rate, i) => result({ target: 'builtin', publishRate: rate, deliveryRate: rate - 1000, deliveryLatency: latency(1 + i) }));
  const mosquitto = [60_000, 50_000, 55_000].map((rate) => result({ target: 'mqtt://127.0.0.1:1883', publishRate: rate, deliveryRate: rate, deliveryLatency: latency(2) }));
  const summary = compareResults(['builtin', 'mqtt://127.0.0.1:1883'], [builtin, mosquitto]);

  it('gives medians, min–max spread, and ratios against the first target', () => {
    const [a, b] = summary.rows;
    expect(a!.metrics.publishRate).toEqual({ median: 110_000, min: 100_000, max: 120_000, ratio: 1 });
    expect(b!.metrics.publishRate).toEqual({ median: 55_000, min: 50_000, max: 60_000, ratio: 0.5 });
    expect(a!.metrics.deliveryP50).toEqual({ median: 2, min: 1, max: 3, ratio: 1 });
    expect(b!.metrics.deliveryP50!.ratio).toBe(1);
    expect(summary.rounds).toBe(3);
    expect(summary.ok).toBe(true);
  });

  it('leaves out what a run did not measure', () => {
    const qos0 = compareResults(['a', 'b'], [[result({ ackLatency: undefined }, { qos: 0 })], [result({ ackLatency: undefined }, { qos: 0 })]]);
    expect(qos0.rows[0]!.metrics.ackP50).toBeNull();
  });

  it('names the target and round of a broken guarantee', () => {
    const lossy = compareResults(['a', 'b'], [[result(), result()], [result(), result({ lost: 7 })]]);
    expect(lossy.ok).toBe(false);
    expect(lossy.problems).toEqual(['b, round 2: lost 7 of 100,000 QoS 1 deliveries']);
    expect(lossy.rows.map((r) => [r.ok, r.lost])).toEqual([[true, 0], [false, 7]]);
  });

  it('renders a table with medians, spreads and ratios', () => {
    const text = renderCompare(summary, new Chalk({ level: 0 }), 'pub 1 → 1', 'QoS 1');
    const lines = text.split('\n');
    expect(lines[0]).toBe('pub 1 → 1');
    expect(lines[2]).toBe('3 rounds per target, run round by round (A B A B …); medians, min–max, ratio to builtin');
    expect(text).toMatch(/^ {2}publish rate \(msg\/s\) +110,000 +55,000 +0\.50× +builtin 2\.00× faster$/m);
    expect(text).toMatch(/^ +100,000–120,000 +50,000–60,000$/m);
    expect(text).toMatch(/^ {2}lost \/ dup \/ ooo +0 \/ 0 \/ 0 +0 \/ 0 \/ 0 +same$/m);
    expect(text).not.toContain('FAILED');
  });

  it('compares the conn scenario by connect rate, CONNACK latency and broker memory', () => {
    const conn = (rate: number, rss: number | undefined) =>
      result({ conn: { attempted: 100, connected: 100, failed: 0, rate, connackLatency: latency(10) }, brokerRssBytes: rss }, { scenario: 'conn' });
    const s = compareResults(['builtin', 'mosquitto'], [[conn(2000, 60 * 1024 * 1024)], [conn(5000, undefined)]]);
    expect(s.metrics.map((m) => m.key)).toEqual(['connRate', 'connackP50', 'connackP99', 'brokerCpu', 'brokerRss']);
    expect(s.rows[1]!.metrics.connRate).toEqual({ median: 5000, min: 5000, max: 5000, ratio: 2.5 });
    expect(s.rows[1]!.metrics.brokerRss).toBeNull();
    const text = renderCompare(s, new Chalk({ level: 0 }), 'conn', '100 connections');
    expect(text).toMatch(/^ {2}connect rate \(conn\/s\) +2,000 +5,000 +2\.50× +mosquitto 2\.50× faster$/m);
    expect(text).toMatch(/^ {2}broker RSS +60\.0 MiB +-$/m);
    expect(text).not.toContain('lost / dup / ooo');
  });

  it('makes one JSON object with the summary and every run in order', () => {
    const json = compareJson(summary, [builtin, mosquitto], [4242, undefined]);
    expect(json.compare).toEqual({ targets: ['builtin', 'mqtt://127.0.0.1:1883'], rounds: 3, order: 'round by round, targets in the order given' });
    expect(json.targets.map((t) => [t.target, t.brokerPid, t.metrics.publishRate?.median, t.metrics.publishRate?.ratio])).toEqual([
      ['builtin', 4242, 110_000, 1],
      ['mqtt://127.0.0.1:1883', null, 55_000, 0.5],
    ]);
    expect(json.runs.map((r) => `${r.round}:${r.target}:${r.rates.publish}`)).toEqual([
      '1:builtin:100000', '1:mqtt://127.0.0.1:1883:60000', '2:builtin:120000', '2:mqtt://127.0.0.1:1883:50000', '3:builtin:110000', '3:mqtt://127.0.0.1:1883:55000',
    ]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
