/**
 * How `mqt bench` looks: the summary table of one run, the comparison table of --compare (its
 * "better" column in words, so it reads without colour), the
 * spinner's progress text and a per-second sparkline. Pure functions over the plain data of
 * src/core/bench/report.ts and compare.ts; the caller picks the chalk instance (level 0 in a
 * pipe or with NO_COLOR, which makes the text plain and stable) and whether to show a sparkline.
 */
import type { ChalkInstance } from 'chalk';
import { NOISE, type Better, type CompareSummary, type MetricDef, type MetricStats } from '../../core/bench/compare.js';
import { formatBytes, formatCount, formatMs, formatRate, LATENCY_COLUMNS, type BenchSummary, type SummaryLine, type Tone } from '../../core/bench/report.js';
import type { BenchConfig, BenchProgress } from '../../core/bench/types.js';

const LABEL_WIDTH = 16;
const INDENT = '  ';

function tone(c: ChalkInstance, t: Tone, text: string): string {
  switch (t) {
    case 'good':
      return c.green(text);
    case 'warn':
      return c.yellow(text);
    case 'bad':
      return c.red.bold(text);
    case 'dim':
      return c.dim(text);
    default:
      return text;
  }
}

/**
 * Pads every column to its widest cell (right-aligned unless `left` says so) and joins a row
 * with two spaces. Widths are measured before colouring, so ANSI codes never skew them.
 */
export function alignColumns(rows: readonly (readonly string[])[], left: readonly boolean[] = [true]): string[][] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) => row.map((cell, i) => (left[i] === true ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))));
}

function line(c: ChalkInstance, l: SummaryLine): string {
  return `${INDENT}${l.label.padEnd(LABEL_WIDTH)}${tone(c, l.tone, l.text)}`;
}

/** Sparkline of per-second values (▁ to █), scaled to the largest. */
export function sparkline(values: readonly number[]): string {
  const bars = '▁▂▃▄▅▆▇█';
  const max = Math.max(0, ...values);
  if (max === 0) return '';
  return values.map((v) => bars[Math.min(bars.length - 1, Math.floor((v / max) * (bars.length - 1) + 0.5))]).join('');
}

export interface SummaryRenderOptions {
  /** Per-second values to draw after the table (a terminal only; pipes get stable text). */
  perSecond?: readonly number[] | undefined;
}

/** The summary of one run, ending with a newline. */
export function renderSummary(s: BenchSummary, c: ChalkInstance, options: SummaryRenderOptions = {}): string {
  const out: string[] = [c.bold(s.title), c.dim(s.config), ''];
  for (const l of s.rates) out.push(line(c, l));
  if (s.latency.length > 0) {
    out.push('');
    const rows = alignColumns([['latency (ms)', ...LATENCY_COLUMNS], ...s.latency.map((r) => [r.label, ...r.cells])], [true]);
    const [head, ...body] = rows;
    out.push(c.dim(`${INDENT}${head!.join('  ')}`));
    for (const r of body) out.push(`${INDENT}${r.join('  ')}`);
    out.push('');
  }
  for (const l of s.checks) out.push(line(c, l));
  const spark = options.perSecond === undefined || options.perSecond.length < 2 ? '' : sparkline(options.perSecond);
  if (spark !== '') out.push(`${INDENT}${'per second'.padEnd(LABEL_WIDTH)}${c.cyan(spark)}`);
  if (!s.verdict.ok) out.push('', c.red.bold(`FAILED: ${s.verdict.problems.join('; ')}`));
  return `${out.join('\n')}\n`;
}

function metricValue(m: MetricDef, v: number): string {
  if (m.unit === 'ms') return formatMs(v);
  if (m.unit === 's') return v.toFixed(2);
  if (m.unit === 'B') return formatBytes(v);
  return formatRate(v);
}

function ratioText(ratio: number | null): string {
  return ratio === null ? '' : `${ratio.toFixed(2)}×`;
}

function ratioTone(m: MetricDef, ratio: number | null): Tone {
  if (ratio === null) return 'plain';
  // Within NOISE (5 %) is noise on a shared machine; beyond it, say which way it went.
  if (Math.abs(ratio - 1) < NOISE) return 'plain';
  return (ratio > 1) === (m.better === 'higher') ? 'good' : 'warn';
}

/** The comparison: per metric, each target's median, its min–max spread and the ratio to the first target. */
export function renderCompare(s: CompareSummary, c: ChalkInstance, title: string, config: string): string {
  const out: string[] = [c.bold(title), c.dim(config), c.dim(`${s.rounds} round${s.rounds === 1 ? '' : 's'} per target, run round by round (A B A B …); medians, min–max, ratio to ${s.targets[0] ?? 'the first'}`), ''];
  const header = ['', ...s.targets.flatMap((t) => [t, '']), 'better'];
  type Cell = { text: string; tone: Tone };
  const rows: Cell[][] = [];
  const none: Cell = { text: '', tone: 'plain' };
  for (const m of s.metrics) {
    const stats = s.rows.map((r) => r.metrics[m.key] ?? null);
    if (stats.every((x) => x === null)) continue;
    const unit = m.unit === 'B' ? '' : ` (${m.unit})`;
    const better = s.better[m.key] ?? { winner: null, factor: null, overlap: false };
    const measured = stats.filter((x) => x !== null).length;
    rows.push([
      { text: `${m.label}${unit}`, tone: 'plain' },
      ...stats.flatMap((x: MetricStats | null, t) => medianCells(m, x, t, better.winner === t)),
      measured < 2 ? none : betterCell(m, better, s.targets),
    ]);
    rows.push([{ text: '', tone: 'plain' }, ...stats.flatMap((x: MetricStats | null) => [{ text: x === null ? '' : `${metricValue(m, x.min)}–${metricValue(m, x.max)}`, tone: 'dim' as Tone }, none]), none]);
  }
  // Connections carry no messages to lose.
  if (s.scenario !== 'conn') {
    const fewer = s.fewerFailures;
    rows.push([
      { text: 'lost / dup / ooo', tone: 'plain' },
      ...s.rows.flatMap((r) => [{ text: `${formatCount(r.lost)} / ${formatCount(r.duplicated)} / ${formatCount(r.outOfOrder)}`, tone: (r.ok ? (r.lost + r.duplicated + r.outOfOrder === 0 ? 'good' : 'warn') : 'bad') as Tone }, none]),
      fewer === null ? { text: 'same', tone: 'dim' } : { text: `${s.targets[fewer]} fewer`, tone: 'good' },
    ]);
  }
  const texts = alignColumns([header, ...rows.map((r) => r.map((cell) => cell.text))], [true, ...s.targets.flatMap(() => [false, false]), true]);
  const [head, ...body] = texts;
  out.push(c.dim(`${INDENT}${head!.join('  ').trimEnd()}`));
  body.forEach((cells, i) => {
    const row = rows[i]!;
    out.push(`${INDENT}${cells.map((text, j) => tone(c, row[j]!.tone, text)).join('  ')}`.trimEnd());
  });
  out.push('', c.dim(`${INDENT}better: whose median is better, and how many times the next best; within ${NOISE * 100} % is "≈ same"; "ranges overlap": some rounds went the other way`));
  if (!s.ok) out.push('', c.red.bold(`FAILED: ${s.problems.join('; ')}`));
  return `${out.join('\n')}\n`;
}

function medianCells(m: MetricDef, x: MetricStats | null, target: number, best: boolean): { text: string; tone: Tone }[] {
  if (x === null) return [{ text: '-', tone: 'dim' }, { text: '', tone: 'plain' }];
  return [
    { text: metricValue(m, x.median), tone: best ? 'good' : 'plain' },
    { text: target === 0 ? '' : ratioText(x.ratio), tone: ratioTone(m, x.ratio) },
  ];
}

/** In words, so it reads without colour: "builtin 1.80× faster", "≈ same". */
export function betterText(m: MetricDef, b: Better, targets: readonly string[]): string {
  if (b.winner === null) return '≈ same';
  const name = targets[b.winner] ?? `target ${b.winner + 1}`;
  const how = b.factor === null ? `${name} ${m.better === 'higher' ? 'higher' : 'lower'}` : `${name} ${b.factor.toFixed(2)}× ${m.word}`;
  return b.overlap ? `${how} (ranges overlap)` : how;
}

function betterCell(m: MetricDef, b: Better, targets: readonly string[]): { text: string; tone: Tone } {
  return { text: betterText(m, b, targets), tone: b.winner === null ? 'dim' : b.overlap ? 'plain' : 'good' };
}

/** The spinner's text while a run goes on, e.g. `pub QoS 1 · 45,000/100,000 sent · 41,800 delivered · 52,310 msg/s · 1.2 s`. */
export function progressText(p: BenchProgress, config: BenchConfig, prefix: string): string {
  const seconds = `${(p.elapsedMs / 1000).toFixed(1)} s`;
  if (config.scenario === 'conn') return `${prefix} · ${formatCount(p.published)}/${formatCount(config.conns)} connected · ${formatRate(p.rate)} conn/s · ${seconds}`;
  const total = config.msgs === undefined ? '' : `/${formatCount(config.msgs)}`;
  return `${prefix} · ${formatCount(p.published)}${total} sent · ${formatCount(p.delivered)} delivered · ${formatRate(p.rate)} msg/s · ${seconds}`;
}
