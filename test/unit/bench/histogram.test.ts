/**
 * The HDR histogram against distributions whose percentiles are known exactly: every value
 * must come back within the histogram's promise of 3 significant digits (relative error below
 * 1/1024), max and mean exactly, and merging two histograms must give the histogram of the
 * union, counter for counter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram, HISTOGRAM_HIGHEST_US } from '../../../src/core/bench/histogram.js';

/** The nearest-rank percentile of a sorted array: the value at or below which p % lie. */
function exact(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1]!;
}

const PERCENTILES = [1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];
/** 3 significant digits: the bucket width is at most 1/1024 of the value. */
const RELATIVE = 1 / 1024;

function expectClose(got: number, want: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(1, want * RELATIVE));
}

function fill(values: readonly number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

describe('Histogram', () => {
  it('keeps a uniform distribution to 3 significant digits', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => i + 1); // 1 µs … 100 ms
    const h = fill(values);
    expect(h.count).toBe(100_000);
    for (const p of PERCENTILES) expectClose(h.valueAtPercentile(p), exact(values, p));
    expect(h.min).toBe(1);
    expect(h.max).toBe(100_000);
    expect(h.mean).toBe(50_000.5);
  });

  it('keeps an exponential distribution (mean 2 ms) to 3 significant digits', () => {
    // Deterministic quantiles of Exp(1/2000 µs): the sample is its own exact reference.
    const n = 50_000;
    const values = Array.from({ length: n }, (_, i) => Math.round(-Math.log(1 - (i + 0.5) / n) * 2000)).sort((a, b) => a - b);
    const h = fill(values);
    for (const p of PERCENTILES) expectClose(h.valueAtPercentile(p), exact(values, p));
    expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / n, 6);
    // And the distribution itself: the median of Exp is mean·ln 2.
    expectClose(h.valueAtPercentile(50), 2000 * Math.LN2);
  });

  it('reports a constant exactly at every percentile', () => {
    const h = fill(new Array<number>(1000).fill(123_457));
    for (const p of PERCENTILES) expect(h.valueAtPercentile(p)).toBe(123_457);
    expect(h.summary()).toEqual({ count: 1000, min: 123.457, mean: 123.457, p50: 123.457, p90: 123.457, p99: 123.457, p999: 123.457, max: 123.457 });
  });

  it('covers 1 µs to 1 hour; larger values count as 1 hour, negative ones as 0', () => {
    const h = fill([0.4, 1, 3_599_999_000, 7_200_000_000, -5]);
    expect(h.count).toBe(5);
    expect(h.min).toBe(0);
    expect(h.max).toBe(HISTOGRAM_HIGHEST_US);
    expect(h.valueAtPercentile(40)).toBe(0);
    expect(h.valueAtPercentile(60)).toBe(1);
    expectClose(h.valueAtPercentile(80), 3_599_999_000);
  });

  it('records milliseconds as microseconds', () => {
    const h = new Histogram();
    h.recordMs(1.5);
    h.recordMs(0.0004);
    expect(h.max).toBe(1500);
    expect(h.min).toBe(0);
  });

  it('is empty-safe', () => {
    const s = new Histogram().summary();
    expect(s).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('merge = union: the histogram of A ∪ B, also through a snapshot (the worker path)', () => {
    const value = fc.integer({ min: 0, max: 50_000_000 });
    fc.assert(
      fc.property(fc.array(value, { maxLength: 300 }), fc.array(value, { maxLength: 300 }), (a, b) => {
        const union = fill([...a, ...b]);
        const merged = fill(a);
        merged.add(fill(b));
        const viaSnapshot = Histogram.fromSnapshot(fill(a).snapshot());
        viaSnapshot.addSnapshot(fill(b).snapshot());
        for (const h of [merged, viaSnapshot]) {
          expect(h.snapshot()).toEqual(union.snapshot());
          for (const p of PERCENTILES) expect(h.valueAtPercentile(p)).toBe(union.valueAtPercentile(p));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a snapshot with a counter index out of range', () => {
    expect(() => Histogram.fromSnapshot({ counts: [1e9, 1], count: 1, min: 1, max: 1, sum: 1 })).toThrow(RangeError);
  });
});
