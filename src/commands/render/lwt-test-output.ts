/**
 * What `mqt lwt-test` prints: a JSON object per mode for --json, and for a person a table
 * whose rows appear as the modes finish (fixed column widths, so no row waits for the last),
 * then the reasons and notes, then one summary line. Pure functions: results in, text out.
 */
import type { ChalkInstance } from 'chalk';
import type { LwtModeResult } from '../../core/client/lwt-test.js';
import type { ProtocolLevel } from '../../core/client/types.js';

export const VERSION_NAMES: Record<ProtocolLevel, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

export type Verdict = 'pass' | 'fail' | 'skip';

export function verdict(r: LwtModeResult): Verdict {
  if (r.observed === 'skipped') return 'skip';
  return r.pass ? 'pass' : 'fail';
}

/** One JSON object per line; fields in a fixed order, absent ones omitted rather than null. */
export function jsonLine(r: LwtModeResult): string {
  const o: Record<string, unknown> = {
    mode: r.mode,
    result: verdict(r),
    pass: r.pass,
    protocolVersion: VERSION_NAMES[r.protocolVersion],
    expected: r.expected,
    observed: r.observed,
    topic: r.topic,
    clientId: r.clientId,
  };
  if (r.latencyMs !== undefined) o.latencyMs = r.latencyMs;
  if (r.dueMs !== undefined && r.expected !== 'skipped') o.dueMs = r.dueMs;
  if (r.willDelay !== undefined) o.willDelay = r.willDelay;
  if (r.count > 1) o.count = r.count;
  if (r.match !== undefined) {
    o.payloadMatched = r.match.payload;
    o.qosMatched = r.match.qos;
    o.retainMatched = r.match.retain;
    if (r.match.properties !== undefined) o.propertiesMatched = r.match.properties;
  }
  if (r.retained !== undefined) o.retained = r.retained;
  if (r.takeover !== undefined) o.takeover = r.takeover.reasonCode === undefined ? { closed: r.takeover.closed } : r.takeover;
  o.problems = r.problems;
  o.notes = r.notes;
  return `${JSON.stringify(o)}\n`;
}

/** The most characters duration() writes, whatever the value ("1000 ms", "10.00 s", "10000 s", "100.0 h", "49711 d"). */
export const DURATION_WIDTH = 7;

/**
 * A duration in at most DURATION_WIDTH characters: 12 ms, 1.50 s, 12.3 s, 345 s, 10.0 h, 12 d.
 * A will delay or a keep-alive can be days long (up to 2^32 - 1 s), and the table's columns
 * must hold every value.
 */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 100) return `${s.toFixed(1)} s`;
  if (s < 10_000) return `${Math.round(s)} s`;
  if (s < 100 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/**
 * The time column: when the will came, and when it was due when that was not "at once". The
 * delay behind the due time is in --json (willDelay); here it would not fit.
 */
function timeCell(r: LwtModeResult): string {
  if (r.latencyMs === undefined) return '–';
  const due = r.dueMs !== undefined && r.dueMs > 0 ? ` (due ${duration(r.dueMs)})` : '';
  return `${duration(r.latencyMs)}${due}`;
}

/** The widest time cell: two durations at their widest. */
const TIME_WIDTH = `${'x'.repeat(DURATION_WIDTH)} (due ${'x'.repeat(DURATION_WIDTH)})`.length;

const yesNo = (b: boolean | undefined): string => (b === undefined ? '–' : b ? 'yes' : 'no');

const COLUMNS = [
  ['MODE', 20],
  ['EXPECTED', 9],
  ['OBSERVED', 9],
  ['TIME', TIME_WIDTH],
  ['PAYLOAD', 8],
  ['QOS', 4],
  ['RETAIN', 7],
  ['RESULT', 6],
] as const;

function row(cells: readonly string[], paint: (i: number, text: string) => string = (_i, t) => t): string {
  return cells
    .map((cell, i) => {
      const width = COLUMNS[i]?.[1] ?? 0;
      // The last column is not padded: no trailing blanks.
      const text = i === cells.length - 1 ? cell : cell.padEnd(width);
      return paint(i, text);
    })
    .join(' ')
    .trimEnd();
}

export function tableHeader(c: ChalkInstance): string {
  return c.bold(row(COLUMNS.map(([name]) => name)));
}

/** A table row; RETAIN says "kept" when a new subscriber found the will retained (--will-retain). */
export function tableRow(r: LwtModeResult, c: ChalkInstance): string {
  const v = verdict(r);
  const retain = r.match === undefined ? '–' : !r.match.retain ? 'no' : r.retained?.present === true ? 'kept' : 'yes';
  const cells = [r.mode, r.expected, r.observed, timeCell(r), yesNo(r.match?.payload), yesNo(r.match?.qos), retain, v.toUpperCase()];
  return row(cells, (i, text) => {
    if (i !== cells.length - 1) return text;
    return v === 'pass' ? c.green.bold(text) : v === 'fail' ? c.red.bold(text) : c.yellow(text);
  });
}

/** The lines under the table: why each failed mode failed, then the notes. */
export function details(results: readonly LwtModeResult[], c: ChalkInstance): string[] {
  const lines: string[] = [];
  for (const r of results) for (const p of r.problems) lines.push(`${c.red('✘')} ${r.mode}: ${p}`);
  for (const r of results) for (const n of r.notes) lines.push(`${c.dim('·')} ${r.mode}: ${n}`);
  return lines;
}

/** The last line, e.g. `✔ 4 of 4 modes passed (1 skipped)`. */
export function summary(results: readonly LwtModeResult[], c: ChalkInstance): string {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) counts[verdict(r)]++;
  const run = counts.pass + counts.fail;
  const skipped = counts.skip > 0 ? ` (${counts.skip} skipped)` : '';
  if (counts.fail === 0) return `${c.green('✔')} ${counts.pass} of ${run} mode${run === 1 ? '' : 's'} passed${skipped}`;
  return `${c.red('✘')} ${counts.fail} of ${run} mode${run === 1 ? '' : 's'} failed: ${results.filter((r) => verdict(r) === 'fail').map((r) => r.mode).join(', ')}${skipped}`;
}

/** The first line: what is tested where. */
export function banner(target: string, protocolVersion: ProtocolLevel, c: ChalkInstance): string {
  return `Testing wills on ${c.bold(target)} with MQTT ${VERSION_NAMES[protocolVersion]}`;
}
