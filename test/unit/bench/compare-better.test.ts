/** --compare says, for each figure, which side is better and by how much, in words as well as colour. */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { betterText, renderCompare } from '../../../src/commands/render/bench-output.js';
import { betterOf, compareJson, compareResults, metricsFor, type MetricDef, type MetricStats } from '../../../src/core/bench/compare.js';
import { latency, result } from './fixtures.js';

const metric = (key: string): MetricDef => metricsFor('pub').find((m) => m.key === key)!;
const stat = (median: number, min = median, max = median): MetricStats => ({ median, min, max, ratio: null });
const plain = new Chalk({ level: 0 });

describe('betterOf', () => {
  it('higher is better for rates, lower for latency, CPU and memory', () => {
    expect(betterOf(metric('publishRate'), [stat(50_000), stat(90_000)])).toEqual({ winner: 1, factor: 1.8, overlap: false });
    expect(betterOf(metric('ackP99'), [stat(2), stat(3)])).toEqual({ winner: 0, factor: 1.5, overlap: false });
    expect(betterOf(metric('brokerRss'), [stat(80e6), stat(20e6)])).toEqual({ winner: 1, factor: 4, overlap: false });
  });

  it('within 5 % neither side is better; one side measured is no comparison', () => {
    expect(betterOf(metric('publishRate'), [stat(100_000), stat(104_000)]).winner).toBeNull();
    expect(betterOf(metric('publishRate'), [stat(100_000), null]).winner).toBeNull();
    expect(betterOf(metric('ackP50'), [stat(1), stat(1)]).winner).toBeNull();
  });

  it('says when the min–max spreads overlap, and has no factor against a zero', () => {
    expect(betterOf(metric('publishRate'), [stat(100_000, 60_000, 120_000), stat(80_000, 70_000, 90_000)])).toEqual({ winner: 0, factor: 1.25, overlap: true });
    expect(betterOf(metric('publishRate'), [stat(0), stat(10)])).toEqual({ winner: 1, factor: null, overlap: false });
  });

  it('three targets: the best against the next best', () => {
    expect(betterOf(metric('publishRate'), [stat(10), stat(40), stat(20)])).toEqual({ winner: 1, factor: 2, overlap: false });
  });
});

describe('the better column', () => {
  // builtin is faster at publishing, mosquitto has the lower delivery latency and lost fewer.
  const a = [100_000, 120_000, 110_000].map((rate) => result({ target: 'builtin', publishRate: rate, deliveryRate: rate, deliveryLatency: latency(3), lost: 1 }, { qos: 0 }));
  const b = [60_000, 50_000, 55_000].map((rate) => result({ target: 'mosquitto', publishRate: rate, deliveryRate: rate, deliveryLatency: latency(1) }, { qos: 0 }));
  const summary = compareResults(['builtin', 'mosquitto'], [a, b]);
  const text = renderCompare(summary, plain, 'pub 1 → 1', 'QoS 0');

  it('names the better side with "A 1.8× faster" words, so it reads without colour', () => {
    expect(text).toMatch(/^ +builtin +mosquitto +better$/m);
    expect(text).toMatch(/^ {2}publish rate \(msg\/s\) +110,000 +55,000 +0\.50× +builtin 2\.00× faster$/m);
    expect(text).toMatch(/^ {2}delivery p50 \(ms\) +3\.00 +1\.00 +0\.33× +mosquitto 3\.00× lower$/m);
    expect(text).toMatch(/^ {2}broker cpu \(s\) +0\.90 +0\.90 +1\.00× +≈ same$/m);
    expect(text).toMatch(/^ {2}lost \/ dup \/ ooo +3 \/ 0 \/ 0 +0 \/ 0 \/ 0 +mosquitto fewer$/m);
    expect(text).toContain('within 5 % is "≈ same"');
    expect(text).not.toMatch(/\x1b\[/);
  });

  it('in colour, the better median is green too', () => {
    const colour = new Chalk({ level: 1 });
    const coloured = renderCompare(summary, colour, 'pub 1 → 1', 'QoS 0');
    // Cells are padded before they are coloured.
    expect(coloured).toMatch(/\x1b\[32m +110,000\x1b\[39m/);
    expect(coloured).toMatch(/\x1b\[32mbuiltin 2\.00× faster *\x1b\[39m/);
    expect(coloured).not.toMatch(/\x1b\[32m +55,000/);
  });

  it('betterText: overlap and the no-factor case', () => {
    expect(betterText(metric('publishRate'), { winner: 0, factor: 1.25, overlap: true }, ['a', 'b'])).toBe('a 1.25× faster (ranges overlap)');
    expect(betterText(metric('publishRate'), { winner: 1, factor: null, overlap: false }, ['a', 'b'])).toBe('b higher');
    expect(betterText(metric('brokerCpu'), { winner: 1, factor: 3, overlap: false }, ['a', 'b'])).toBe('b 3.00× less');
  });

  it('--json names the better target per metric', () => {
    const j = compareJson(summary, [a, b]);
    expect(j.better.publishRate).toEqual({ target: 'builtin', factor: 2, overlap: false });
    expect(j.better.deliveryP50).toEqual({ target: 'mosquitto', factor: 3, overlap: false });
    expect(j.better.brokerCpu).toEqual({ target: null, factor: null, overlap: false });
    expect(j.better.ackP50).toEqual({ target: null, factor: null, overlap: false }); // QoS 0: not measured
  });
});
