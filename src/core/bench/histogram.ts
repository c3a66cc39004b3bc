/**
 * An HDR histogram (Gil Tene's HdrHistogram layout): log-linear buckets that keep every
 * recorded value to 3 significant digits from 1 µs to 1 hour in 23,552 counters (184 KiB),
 * whatever the number of values. Recording is a few integer operations and one array store:
 * no allocation, so it sits on the bench's per-message path.
 *
 * Values are whole microseconds. Bucket 0 holds 0..2047 one by one; bucket k ≥ 1 holds
 * 2^(k+10)..2^(k+11)-1 in 1024 steps of 2^k, so any value is off by less than 1/1024 (0.1 %).
 * Min, max and the sum are kept exactly beside the counts: max and mean are exact, and a
 * percentile is never reported above the largest value recorded.
 */
import type { HistogramSnapshot, LatencySummary, PercentilePoint } from './types.js';

/** 1 hour in µs: the largest value kept; larger ones are counted as this. */
export const HISTOGRAM_HIGHEST_US = 3_600_000_000;
/** 2 × 10^3 rounded up to a power of two: 3 significant digits. */
const SUB_BUCKET_COUNT = 2048;
const SUB_BUCKET_HALF = 1024;
const SUB_BUCKET_HALF_MAGNITUDE = 10;
const SUB_BUCKET_MASK = SUB_BUCKET_COUNT - 1;

/** Buckets needed so that the last one reaches HISTOGRAM_HIGHEST_US. */
function bucketsFor(highest: number): number {
  let smallestUntrackable = SUB_BUCKET_COUNT;
  let buckets = 1;
  while (smallestUntrackable <= highest) {
    smallestUntrackable *= 2;
    buckets++;
  }
  return buckets;
}

const BUCKET_COUNT = bucketsFor(HISTOGRAM_HIGHEST_US);
const COUNTS_LENGTH = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF;

// Defined in types.ts (results carry snapshots); re-exported here where it always was.
export type { HistogramSnapshot };

/** Index of the counter for value v (an integer, 0 ≤ v ≤ HISTOGRAM_HIGHEST_US). */
function indexOf(v: number): number {
  // v may exceed 2^31: clz32 and >>> read it as an unsigned 32-bit integer (v < 2^32).
  const bucket = 31 - Math.clz32(v | SUB_BUCKET_MASK) - SUB_BUCKET_HALF_MAGNITUDE;
  const sub = v >>> bucket;
  return ((bucket + 1) << SUB_BUCKET_HALF_MAGNITUDE) + (sub - SUB_BUCKET_HALF);
}

/** The smallest value counted at `index`, and how many values share that counter. */
function lowestAt(index: number): number {
  let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  let sub = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
  if (bucket < 0) {
    sub -= SUB_BUCKET_HALF;
    bucket = 0;
  }
  return sub * 2 ** bucket;
}

function widthAt(index: number): number {
  const bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  return bucket <= 0 ? 1 : 2 ** bucket;
}

export class Histogram {
  private readonly counts = new Float64Array(COUNTS_LENGTH);
  private total = 0;
  private minUs = Number.POSITIVE_INFINITY;
  private maxUs = 0;
  private sumUs = 0;

  /** Records a value in microseconds (rounded to a whole µs; below 0 counts as 0). */
  record(us: number): void {
    let v = Math.round(us);
    if (!(v > 0)) v = 0; // also NaN
    else if (v > HISTOGRAM_HIGHEST_US) v = HISTOGRAM_HIGHEST_US;
    this.counts[indexOf(v)]! += 1;
    this.total++;
    this.sumUs += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** Records a value in milliseconds, e.g. the difference of two clock readings. */
  recordMs(ms: number): void {
    this.record(ms * 1000);
  }

  get count(): number {
    return this.total;
  }

  /** Exact smallest value, µs (0 when empty). */
  get min(): number {
    return this.total === 0 ? 0 : this.minUs;
  }

  /** Exact largest value, µs. */
  get max(): number {
    return this.maxUs;
  }

  /** Exact mean, µs (0 when empty). */
  get mean(): number {
    return this.total === 0 ? 0 : this.sumUs / this.total;
  }

  /**
   * The value at or below which `percentile` % of the values lie, µs: the highest value of the
   * counter where the running count reaches that share (as HdrHistogram does), capped at the
   * exact max. 0 when empty.
   */
  valueAtPercentile(percentile: number): number {
    if (this.total === 0) return 0;
    if (percentile <= 0) return this.minUs;
    // Nearest rank; p·n/100 rather than (p/100)·n, which makes 99.9 % of 50,000 into 49,950.00000000001.
    const wanted = Math.max(1, Math.ceil((Math.min(percentile, 100) * this.total) / 100 - 1e-7));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < COUNTS_LENGTH; i++) {
      seen += counts[i]!;
      if (seen >= wanted) {
        const highest = lowestAt(i) + widthAt(i) - 1;
        return Math.max(this.minUs, Math.min(highest, this.maxUs));
      }
    }
    return this.maxUs;
  }

  /**
   * The percentile distribution as HdrHistogram plots it: x on the scale of 1/(1 − p), so each
   * decade (90 %, 99 %, 99.9 %, …) gets the same width, `perDecade` points per decade from
   * 0 % to the rank just below the top (1 − 1/count), then the exact max at 100 %. Each value
   * is valueAtPercentile's, found in one walk over the counters. Empty for an empty histogram.
   */
  percentileDistribution(perDecade = 20): PercentilePoint[] {
    if (this.total === 0) return [];
    const points: PercentilePoint[] = [{ percentile: 0, ms: this.minUs / 1000 }];
    const lastX = Math.log10(this.total);
    const steps = Math.ceil(lastX * perDecade - 1e-9);
    const counts = this.counts;
    let i = -1;
    let seen = 0;
    for (let k = 1; k <= steps; k++) {
      const percentile = 100 * (1 - 10 ** -Math.min(k / perDecade, lastX));
      const wanted = Math.max(1, Math.ceil((percentile * this.total) / 100 - 1e-7));
      while (seen < wanted && i < COUNTS_LENGTH - 1) seen += counts[++i]!;
      const highest = lowestAt(i) + widthAt(i) - 1;
      points.push({ percentile, ms: Math.max(this.minUs, Math.min(highest, this.maxUs)) / 1000 });
    }
    points.push({ percentile: 100, ms: this.maxUs / 1000 });
    return points;
  }

  /** Adds every value of `other` to this one: the histogram of the union. */
  add(other: Histogram): void {
    const mine = this.counts;
    const theirs = other.counts;
    for (let i = 0; i < COUNTS_LENGTH; i++) if (theirs[i] !== 0) mine[i]! += theirs[i]!;
    this.mergeTotals(other.total, other.minUs, other.maxUs, other.sumUs);
  }

  snapshot(): HistogramSnapshot {
    const counts: number[] = [];
    for (let i = 0; i < COUNTS_LENGTH; i++) if (this.counts[i] !== 0) counts.push(i, this.counts[i]!);
    return { counts, count: this.total, min: this.min, max: this.maxUs, sum: this.sumUs };
  }

  /** Adds the values of a snapshot (from another thread) to this one. */
  addSnapshot(s: HistogramSnapshot): void {
    for (let k = 0; k + 1 < s.counts.length; k += 2) {
      const index = s.counts[k]!;
      if (!(index >= 0 && index < COUNTS_LENGTH)) throw new RangeError(`histogram snapshot index ${index} out of range`);
      this.counts[index]! += s.counts[k + 1]!;
    }
    if (s.count > 0) this.mergeTotals(s.count, s.min, s.max, s.sum);
  }

  static fromSnapshot(s: HistogramSnapshot): Histogram {
    const h = new Histogram();
    h.addSnapshot(s);
    return h;
  }

  /** Milliseconds, for reports. */
  summary(): LatencySummary {
    const ms = (us: number): number => us / 1000;
    return {
      count: this.total,
      min: ms(this.min),
      mean: ms(this.mean),
      p50: ms(this.valueAtPercentile(50)),
      p90: ms(this.valueAtPercentile(90)),
      p99: ms(this.valueAtPercentile(99)),
      p999: ms(this.valueAtPercentile(99.9)),
      max: ms(this.maxUs),
    };
  }

  private mergeTotals(count: number, min: number, max: number, sum: number): void {
    if (count === 0) return;
    this.total += count;
    this.sumUs += sum;
    if (min < this.minUs) this.minUs = min;
    if (max > this.maxUs) this.maxUs = max;
  }
}
