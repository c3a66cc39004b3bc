/**
 * `mqt bench --compare A,B[,…] --rounds N`: the same scenario against each target in turn,
 * A B A B …, so drift of the machine (heat, other load, a growing heap) spreads over every
 * target instead of landing on the last one. Per target and metric: the median over the
 * rounds, the spread (min–max: with three rounds an interquartile range says nothing more),
 * and the ratio of the median to the first target's median; per metric, which target is
 * better (rates higher, latency, CPU and memory lower) and how many times the next best, so
 * nobody has to work out which way a bare ratio points. Plain data, no rendering.
 */
import { benchJson, verdict, type BenchJson } from './report.js';
import type { BenchResult, Scenario } from './types.js';

export interface MetricDef {
  key: string;
  label: string;
  unit: 'msg/s' | 'conn/s' | 'ms' | 's' | 'B';
  /** Which way is better, so a ratio can be read at a glance. */
  better: 'higher' | 'lower';
  /** The word for the better side: "1.8× faster" (rates), "lower" (latency), "less" (CPU, memory). */
  word: 'faster' | 'lower' | 'less';
  value(r: BenchResult): number | undefined;
}

const MESSAGE_METRICS: readonly MetricDef[] = [
  { key: 'publishRate', label: 'publish rate', unit: 'msg/s', better: 'higher', word: 'faster', value: (r) => r.publishRate },
  { key: 'deliveryRate', label: 'delivery rate', unit: 'msg/s', better: 'higher', word: 'faster', value: (r) => (r.expected > 0 ? r.deliveryRate : undefined) },
  { key: 'ackP50', label: 'ack p50', unit: 'ms', better: 'lower', word: 'lower', value: (r) => r.ackLatency?.p50 },
  { key: 'ackP99', label: 'ack p99', unit: 'ms', better: 'lower', word: 'lower', value: (r) => r.ackLatency?.p99 },
  { key: 'deliveryP50', label: 'delivery p50', unit: 'ms', better: 'lower', word: 'lower', value: (r) => (r.deliveryLatency.count > 0 ? r.deliveryLatency.p50 : undefined) },
  { key: 'deliveryP99', label: 'delivery p99', unit: 'ms', better: 'lower', word: 'lower', value: (r) => (r.deliveryLatency.count > 0 ? r.deliveryLatency.p99 : undefined) },
  { key: 'brokerCpu', label: 'broker cpu', unit: 's', better: 'lower', word: 'less', value: (r) => r.cpu.brokerSeconds },
  { key: 'brokerRss', label: 'broker RSS', unit: 'B', better: 'lower', word: 'less', value: (r) => r.brokerRssBytes },
];

const CONN_METRICS: readonly MetricDef[] = [
  { key: 'connRate', label: 'connect rate', unit: 'conn/s', better: 'higher', word: 'faster', value: (r) => r.conn?.rate },
  { key: 'connackP50', label: 'CONNACK p50', unit: 'ms', better: 'lower', word: 'lower', value: (r) => r.conn?.connackLatency.p50 },
  { key: 'connackP99', label: 'CONNACK p99', unit: 'ms', better: 'lower', word: 'lower', value: (r) => r.conn?.connackLatency.p99 },
  { key: 'brokerCpu', label: 'broker cpu', unit: 's', better: 'lower', word: 'less', value: (r) => r.cpu.brokerSeconds },
  { key: 'brokerRss', label: 'broker RSS', unit: 'B', better: 'lower', word: 'less', value: (r) => r.brokerRssBytes },
];

export function metricsFor(scenario: Scenario): readonly MetricDef[] {
  return scenario === 'conn' ? CONN_METRICS : MESSAGE_METRICS;
}

/** The middle value; the mean of the two middle values for an even count. NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface MetricStats {
  median: number;
  min: number;
  max: number;
  /** median / the first target's median; null for the first target's own missing value or a zero. */
  ratio: number | null;
}

export interface TargetSummary {
  target: string;
  runs: number;
  /** By MetricDef.key; null when the metric was not measured for this target (e.g. ack latency at QoS 0). */
  metrics: Record<string, MetricStats | null>;
  /** Totals over every round. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  ok: boolean;
  problems: string[];
}

/** Differences below this share are noise on a shared machine: neither side is called better. */
export const NOISE = 0.05;

/** Which target is better at one figure. */
export interface Better {
  /** Index of the better target; null when the figures are within NOISE (or fewer than two were measured). */
  winner: number | null;
  /**
   * How many times better than the next best (≥ 1: the higher rate over the lower, the
   * longer latency over the shorter); null when it is no ratio (the next best is 0, or no winner).
   */
  factor: number | null;
  /** The min–max spreads of the two overlap: some rounds went the other way. */
  overlap: boolean;
}

/**
 * The better of the targets at one metric: the best median, against the next best. Targets
 * that did not measure it take no part.
 */
export function betterOf(m: MetricDef, stats: readonly (MetricStats | null)[]): Better {
  const ranked = stats
    .map((s, i) => ({ s, i }))
    .filter((x): x is { s: MetricStats; i: number } => x.s !== null && Number.isFinite(x.s.median))
    .sort((a, b) => (m.better === 'higher' ? b.s.median - a.s.median : a.s.median - b.s.median));
  const best = ranked[0];
  const next = ranked[1];
  if (best === undefined || next === undefined) return { winner: null, factor: null, overlap: false };
  const [hi, lo] = m.better === 'higher' ? [best.s.median, next.s.median] : [next.s.median, best.s.median];
  const factor = lo > 0 ? hi / lo : null;
  if (hi === lo || (factor !== null && factor < 1 + NOISE)) return { winner: null, factor: null, overlap: false };
  const overlap = best.s.min <= next.s.max && next.s.min <= best.s.max;
  return { winner: best.i, factor, overlap };
}

/** Fewer lost, duplicated and out-of-order deliveries (all rounds) is better; null when all are equal. */
export function fewerFailures(rows: readonly TargetSummary[]): number | null {
  const totals = rows.map((r) => r.lost + r.duplicated + r.outOfOrder);
  const least = Math.min(...totals);
  if (totals.every((t) => t === least)) return null;
  return totals.indexOf(least);
}

export interface CompareSummary {
  scenario: Scenario;
  targets: string[];
  rounds: number;
  metrics: readonly MetricDef[];
  rows: TargetSummary[];
  /** By MetricDef.key: which target is better at it. */
  better: Record<string, Better>;
  /** The target with the fewest lost, duplicated and out-of-order deliveries; null when all had as many. */
  fewerFailures: number | null;
  ok: boolean;
  /** Broken guarantees, each prefixed with the target and round. */
  problems: string[];
}

/** The order of the runs: round by round, every target in the order given (A B A B …). */
export function roundOrder(targets: number, rounds: number): { round: number; target: number }[] {
  const order: { round: number; target: number }[] = [];
  for (let round = 0; round < rounds; round++) for (let target = 0; target < targets; target++) order.push({ round, target });
  return order;
}

/** Runs `run` in roundOrder, one at a time; results[target][round]. */
export async function runRounds<T>(targets: number, rounds: number, run: (target: number, round: number) => Promise<T>): Promise<T[][]> {
  const results: T[][] = Array.from({ length: targets }, () => []);
  for (const { round, target } of roundOrder(targets, rounds)) results[target]!.push(await run(target, round));
  return results;
}

function stats(values: number[]): Omit<MetricStats, 'ratio'> | null {
  if (values.length === 0) return null;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** results[target][round] → per-target medians, spreads and ratios against targets[0]. */
export function compareResults(targets: readonly string[], results: readonly (readonly BenchResult[])[]): CompareSummary {
  const scenario = results[0]?.[0]?.config.scenario ?? 'pub';
  const metrics = metricsFor(scenario);
  const problems: string[] = [];
  const rows: TargetSummary[] = targets.map((target, t) => {
    const runs = results[t] ?? [];
    const own: Record<string, Omit<MetricStats, 'ratio'> | null> = {};
    for (const m of metrics) {
      own[m.key] = stats(runs.map((r) => m.value(r)).filter((v): v is number => v !== undefined && Number.isFinite(v)));
    }
    const targetProblems: string[] = [];
    runs.forEach((r, round) => {
      for (const p of verdict(r).problems) targetProblems.push(`${target}, round ${round + 1}: ${p}`);
    });
    problems.push(...targetProblems);
    return {
      target,
      runs: runs.length,
      metrics: own as Record<string, MetricStats | null>,
      lost: runs.reduce((n, r) => n + r.lost, 0),
      duplicated: runs.reduce((n, r) => n + r.duplicated, 0),
      outOfOrder: runs.reduce((n, r) => n + r.outOfOrder, 0),
      ok: targetProblems.length === 0,
      problems: targetProblems,
    };
  });
  // Ratios against the first target, once every median is known.
  const base = rows[0];
  for (const row of rows) {
    for (const m of metrics) {
      const s = row.metrics[m.key];
      if (s === null || s === undefined) continue;
      const b = base?.metrics[m.key];
      s.ratio = b === null || b === undefined || b.median === 0 ? null : s.median / b.median;
    }
  }
  const better: Record<string, Better> = {};
  for (const m of metrics) better[m.key] = betterOf(m, rows.map((r) => r.metrics[m.key] ?? null));
  return {
    scenario,
    targets: [...targets],
    rounds: Math.max(0, ...rows.map((r) => r.runs)),
    metrics,
    rows,
    better,
    fewerFailures: fewerFailures(rows),
    ok: problems.length === 0,
    problems,
  };
}

/** `--compare --json`: one object with the summary and every run. */
export interface CompareJson {
  compare: { targets: string[]; rounds: number; order: 'round by round, targets in the order given' };
  scenario: Scenario;
  config: BenchResult['config'] | null;
  /** Each target's summary (its problems are in the top-level list), with its broker's pid. */
  targets: (Omit<TargetSummary, 'problems'> & { brokerPid: number | null })[];
  runs: (BenchJson & { round: number })[];
  /**
   * By metric key: the better target's name (null within 5 %, or when not measured), how many
   * times better than the next best, and whether their min–max spreads overlap.
   */
  better: Record<string, { target: string | null; factor: number | null; overlap: boolean }>;
  ok: boolean;
  problems: string[];
}

export function compareJson(summary: CompareSummary, results: readonly (readonly BenchResult[])[], brokerPids: readonly (number | undefined)[] = []): CompareJson {
  const first = results[0]?.[0];
  const runs: (BenchJson & { round: number })[] = [];
  for (const { round, target } of roundOrder(summary.targets.length, summary.rounds)) {
    const r = results[target]?.[round];
    if (r !== undefined) runs.push({ round: round + 1, ...benchJson(r, brokerPids[target]) });
  }
  return {
    compare: { targets: summary.targets, rounds: summary.rounds, order: 'round by round, targets in the order given' },
    scenario: first?.config.scenario ?? 'pub',
    config: first?.config ?? null,
    targets: summary.rows.map((row, t) => ({
      target: row.target,
      brokerPid: brokerPids[t] ?? null,
      runs: row.runs,
      metrics: row.metrics,
      lost: row.lost,
      duplicated: row.duplicated,
      outOfOrder: row.outOfOrder,
      ok: row.ok,
    })),
    runs,
    better: Object.fromEntries(
      Object.entries(summary.better).map(([key, b]) => [key, { target: b.winner === null ? null : (summary.targets[b.winner] ?? null), factor: b.factor, overlap: b.overlap }]),
    ),
    ok: summary.ok,
    problems: summary.problems,
  };
}
