/**
 * `mqt bench --report FILE.html`: one self-contained HTML page of a run (or of a --compare):
 * messages per second over the run, the latency percentile distributions (publish → ack,
 * publish → delivery; CONNECT → CONNACK for conn) on HdrHistogram's log scale, every broker
 * on the same axes, a table of each run, the settings and the machine. Charts are inline SVG
 * drawn here (html-report-svg.ts): no script, no external resource, and a Content-Security-
 * Policy that allows nothing but the page's own stylesheet. `--json` stays the form for
 * programs; this one is for people. Builds a string; the command writes it.
 */
import { createHash } from 'node:crypto';
import { Histogram } from './histogram.js';
import type { MachineInfo } from './html-report-machine.js';
import { escapeHtml, linearAxis, PALETTE, percentileAxis, percentileX, renderChart, type ChartSpec, type Series } from './html-report-svg.js';
import type { BenchConfig, BenchResult, HistogramSnapshot, LatencySummary, PercentilePoint } from './types.js';

export interface ReportTarget {
  /** As the text output and --json name it: 'builtin' or the URL given. */
  name: string;
  /** Where the load went, e.g. mqtt://127.0.0.1:40123. */
  address?: string | undefined;
  /** What the run knows of the broker, e.g. "mqt 0.4.0 (built-in, started for the run)". */
  broker?: string | undefined;
  /** Its runs, in the order they ran (one, or one per --compare round). */
  runs: readonly BenchResult[];
}

export interface HtmlReportInput {
  targets: readonly ReportTarget[];
  machine: MachineInfo;
  /** ISO time the report was written. */
  generatedAt: string;
}

type LatencyKind = 'ack' | 'delivery' | 'connack';

// ---- numbers (locale-free, like the text output) ---------------------------------------------

const count = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return count(v);
}

/** Axis labels: as few digits as the ticks need. */
function tickMs(v: number): string {
  // Ticks are multiples of 1, 2 or 5 × 10^k: three significant digits show them exactly.
  return v >= 1000 ? count(v) : String(Number(v.toPrecision(3)));
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

// ---- the data of the charts ------------------------------------------------------------------

function snapshotOf(r: BenchResult, kind: LatencyKind): HistogramSnapshot | undefined {
  return r.histograms?.[kind];
}

function summaryOf(r: BenchResult, kind: LatencyKind): LatencySummary | undefined {
  const s = kind === 'ack' ? r.ackLatency : kind === 'delivery' ? r.deliveryLatency : r.conn?.connackLatency;
  return s !== undefined && s.count > 0 ? s : undefined;
}

/** Five numbers as points, for a result that carries no histogram (an older producer). */
function pointsOfSummary(s: LatencySummary): PercentilePoint[] {
  return [
    { percentile: 0, ms: s.min },
    { percentile: 50, ms: s.p50 },
    { percentile: 90, ms: s.p90 },
    { percentile: 99, ms: s.p99 },
    { percentile: 99.9, ms: s.p999 },
    { percentile: 100, ms: s.max },
  ];
}

/**
 * A target's distribution over all its runs: the rounds' histograms merged into one (the
 * distribution of every message it carried), or the summary's points when there is none.
 */
export function distributionOf(runs: readonly BenchResult[], kind: LatencyKind): { points: PercentilePoint[]; count: number } {
  const snapshots = runs.map((r) => snapshotOf(r, kind)).filter((s): s is HistogramSnapshot => s !== undefined && s.count > 0);
  if (snapshots.length > 0) {
    const h = new Histogram();
    for (const s of snapshots) h.addSnapshot(s);
    return { points: h.percentileDistribution(), count: h.count };
  }
  const summary = runs.map((r) => summaryOf(r, kind)).find((s) => s !== undefined);
  return summary === undefined ? { points: [], count: 0 } : { points: pointsOfSummary(summary), count: summary.count };
}

/** Points on the HDR scale; 100 % (infinitely far right) is drawn at the last percentile's x. */
function hdrPoints(points: readonly PercentilePoint[]): [number, number][] {
  const out: [number, number][] = [];
  let lastX = 0;
  for (const p of points) {
    const x = p.percentile >= 100 ? lastX : percentileX(p.percentile);
    lastX = x;
    out.push([x, p.ms]);
  }
  return out;
}

const LATENCY_TITLES: Record<LatencyKind, (qos: number) => string> = {
  ack: (qos) => `Latency publish → ack (${qos === 2 ? 'PUBCOMP' : 'PUBACK'})`,
  delivery: () => 'Latency publish → delivery',
  connack: () => 'Latency CONNECT → CONNACK',
};

function latencyChart(targets: readonly ReportTarget[], kind: LatencyKind, config: BenchConfig): ChartSpec {
  const series: Series[] = [];
  let lastX = 0;
  let top = 0;
  targets.forEach((t, i) => {
    const d = distributionOf(t.runs, kind);
    const points = hdrPoints(d.points);
    for (const [x, y] of points) {
      lastX = Math.max(lastX, x);
      top = Math.max(top, y);
    }
    series.push({ name: t.name, color: PALETTE[i % PALETTE.length]!, points, step: true, detail: `${count(d.count)} values` });
  });
  const rounds = Math.max(...targets.map((t) => t.runs.length));
  const note =
    kind === 'delivery' && config.rate !== undefined
      ? 'At a fixed rate each latency counts from when the message was due, not when it went out (no coordinated omission).'
      : rounds > 1
        ? `Each broker's ${rounds} rounds merged into one distribution.`
        : undefined;
  return { id: `latency-${kind}`, title: LATENCY_TITLES[kind](config.qos), x: percentileAxis(lastX), y: linearAxis('latency (ms)', top, tickMs), series, note };
}

/**
 * How much of its last second a run lasted (0.1 to 1): a run of 2.2 s has a last row of 0.2 s,
 * whose count alone would read as a drop to a fifth of the rate.
 */
function lastFraction(r: BenchResult): number {
  const f = r.durationMs / 1000 - (r.perSecond.length - 1);
  // Not above 0: rows and duration disagree (another producer's result); draw the counts as they are.
  return Number.isFinite(f) && f > 0 ? Math.min(1, Math.max(0.1, f)) : 1;
}

/**
 * Per-second counts as steps: row k covers second [k-1, k), so it is drawn from k-1 to k; the
 * last row over the part of a second it covered, as a rate (its count / that part).
 */
function stepPoints(values: readonly number[], fraction: number): [number, number][] {
  const n = values.length;
  if (n === 0) return [];
  const out: [number, number][] = values.map((v, i) => [i, i === n - 1 ? v / fraction : v]);
  out.push([n - 1 + fraction, out[n - 1]![1]]);
  return out;
}

function rateCharts(targets: readonly ReportTarget[], config: BenchConfig): ChartSpec[] {
  const seconds = Math.max(1, ...targets.flatMap((t) => t.runs.map((r) => r.perSecond.length - 1 + lastFraction(r))));
  const xAxis = linearAxis('seconds into the measured run', seconds, (v) => count(v), Math.min(8, Math.ceil(seconds)));
  const note = 'Each step is one second of the run; a last part of a second is shown as the rate over that part.';
  const chart = (id: string, title: string, series: Series[]): ChartSpec => {
    const top = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1])));
    return { id, title, x: xAxis, y: linearAxis('messages per second', top, count), series, note };
  };
  const single = targets.length === 1 && targets[0]!.runs.length === 1;
  if (single) {
    const r = targets[0]!.runs[0]!;
    const f = lastFraction(r);
    const series: Series[] = [{ name: 'published', color: PALETTE[0], points: stepPoints(r.perSecond.map((s) => s.published), f), step: true }];
    if (config.subs > 0) series.push({ name: 'delivered', color: PALETTE[1], points: stepPoints(r.perSecond.map((s) => s.delivered), f), step: true, dashed: true });
    return [chart('rate', 'Messages per second', series)];
  }
  const perTarget = (pick: (s: BenchResult['perSecond'][number]) => number): Series[] =>
    targets.flatMap((t, i) =>
      t.runs.map((r, round) => ({
        name: t.name,
        color: PALETTE[i % PALETTE.length]!,
        points: stepPoints(r.perSecond.map(pick), lastFraction(r)),
        step: true,
        // At a fixed rate the brokers' lines lie on each other: the later ones dashed, so both show.
        dashed: i > 0,
        detail: `round ${round + 1}`,
      })),
    );
  const rounds = Math.max(...targets.map((t) => t.runs.length)) > 1 ? ' (each round a line)' : '';
  const charts = [chart('rate-published', `Published per second${rounds}`, perTarget((s) => s.published))];
  if (config.subs > 0) charts.push(chart('rate-delivered', `Delivered per second${rounds}`, perTarget((s) => s.delivered)));
  return charts;
}

// ---- tables --------------------------------------------------------------------------------

function table(head: readonly string[], rows: readonly (readonly string[])[], className: string): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${className}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function pairs(rows: readonly (readonly [string, string])[], className: string): string {
  return `<table class="${className}"><tbody>\n${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}\n</tbody></table>`;
}

const lat = (s: LatencySummary | undefined): string => (s === undefined ? '-' : `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.p999)} / ${ms(s.max)}`);

function runsTable(targets: readonly ReportTarget[], config: BenchConfig): string {
  const compare = targets.length > 1 || targets.some((t) => t.runs.length > 1);
  if (config.scenario === 'conn') {
    const rows = targets.flatMap((t) =>
      t.runs.map((r, i) => {
        const c = r.conn;
        return [t.name, ...(compare ? [String(i + 1)] : []), c === undefined ? '-' : `${count(c.connected)} of ${count(c.attempted)}`, c === undefined ? '-' : count(c.rate), lat(c?.connackLatency), `${(r.durationMs / 1000).toFixed(2)} s`];
      }),
    );
    return table(['broker', ...(compare ? ['round'] : []), 'connected', 'conn/s', 'CONNACK ms p50 / p99 / p99.9 / max', 'time'], rows, 'runs');
  }
  const rows = targets.flatMap((t) =>
    t.runs.map((r, i) => [
      t.name,
      ...(compare ? [String(i + 1)] : []),
      count(r.published),
      `${count(r.delivered)} of ${count(r.expected)}`,
      count(r.publishRate),
      r.expected > 0 ? count(r.deliveryRate) : '-',
      lat(r.ackLatency),
      lat(summaryOf(r, 'delivery')),
      `${count(r.lost)} / ${count(r.duplicated)} / ${count(r.outOfOrder)}`,
      `${(r.durationMs / 1000).toFixed(2)} s`,
    ]),
  );
  const head = ['broker', ...(compare ? ['round'] : []), 'published', 'delivered', 'publish msg/s', 'delivery msg/s', 'ack ms p50 / p99 / p99.9 / max', 'delivery ms p50 / p99 / p99.9 / max', 'lost / dup / reordered', 'time'];
  return table(head, rows, 'runs');
}

function settings(config: BenchConfig, rounds: number): [string, string][] {
  const rows: [string, string][] = [['scenario', config.scenario]];
  if (config.scenario === 'conn') {
    rows.push(['connections', count(config.conns)], ['at a time', count(config.concurrency)]);
  } else {
    rows.push(
      ['clients', `${count(config.pubs)} publisher${config.pubs === 1 ? '' : 's'} → ${count(config.subs)} subscriber${config.subs === 1 ? '' : 's'}`],
      ['topic', `${config.topic} (${config.topicMode})`],
      ['QoS', String(config.qos)],
      ['payload', `${count(config.size)} B`],
      config.msgs !== undefined ? ['messages', count(config.msgs)] : ['duration', `${((config.durationMs ?? 0) / 1000).toFixed(2)} s`],
      ['rate', config.rate === undefined ? 'flat out' : `${count(config.rate)} msg/s`],
    );
    if (config.qos > 0) rows.push(['in flight per publisher', count(config.inflight)]);
    if (config.warmupMsgs !== undefined && config.warmupMsgs > 0) rows.push(['warm-up', `${count(config.warmupMsgs)} messages`]);
    if (config.warmupMs !== undefined && config.warmupMs > 0) rows.push(['warm-up', `${(config.warmupMs / 1000).toFixed(2)} s`]);
    rows.push(['retained', config.retain ? 'yes' : 'no'], ['persistent sessions', config.persistent === true ? 'yes' : 'no']);
  }
  rows.push(['MQTT', config.protocolVersion === 5 ? '5' : '3.1.1'], ['worker threads', String(config.workers)], ['timeout', `${count(config.timeoutMs / 1000)} s`]);
  if (rounds > 1) rows.push(['rounds', `${rounds} (taken in turn: A B A B …)`]);
  return rows;
}

function title(config: BenchConfig, names: readonly string[]): string {
  const who = names.join(' vs ');
  return config.scenario === 'conn' ? `conn against ${who}` : `${config.scenario} ${config.pubs} → ${config.subs} against ${who}`;
}

// ---- the page ------------------------------------------------------------------------------

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; background: #fff; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin: 0 0 16px; }
figure.chart { margin: 16px 0 24px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
ul.legend { list-style: none; padding: 0; margin: 4px 0 0 72px; display: flex; flex-wrap: wrap; gap: 4px 20px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
p.note, p.empty { color: #666; font-size: 12px; margin: 4px 0 0 72px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
table.runs td { white-space: nowrap; }
table.runs th { font-size: 12px; }
footer { color: #666; font-size: 12px; margin-top: 32px; }
`;

/** The whole page as one string. */
export function buildHtmlReport(input: HtmlReportInput): string {
  const targets = input.targets.filter((t) => t.runs.length > 0);
  const first = targets[0]?.runs[0];
  if (first === undefined) throw new RangeError('a bench report needs at least one run');
  const config = first.config;
  const names = targets.map((t) => t.name);
  const rounds = Math.max(...targets.map((t) => t.runs.length));
  const heading = title(config, names);

  const charts: ChartSpec[] = [];
  if (config.scenario === 'conn') {
    charts.push(latencyChart(targets, 'connack', config));
  } else {
    charts.push(...rateCharts(targets, config));
    if (config.qos > 0) charts.push(latencyChart(targets, 'ack', config));
    if (config.subs > 0) charts.push(latencyChart(targets, 'delivery', config));
  }

  const brokers = table(
    ['broker', 'address', 'software', 'runs', 'started'],
    targets.map((t) => [t.name, t.address ?? '-', t.broker ?? 'not known', String(t.runs.length), t.runs[0]!.startedAt]),
    'targets',
  );
  const m = input.machine;
  const machine = pairs(
    [
      ['CPU', `${m.cpuModel} × ${m.cpus}`],
      ['memory', bytes(m.memoryBytes)],
      ['OS', m.os],
      ['Node.js', m.node],
    ],
    'machine',
  );
  const hash = createHash('sha256').update(STYLE).digest('base64');
  // Nothing may load: no script, image, font, frame or connection; only the stylesheet below, by its hash.
  const csp = `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="mqt bench">',
    `<title>${escapeHtml(`mqt bench: ${heading}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(`mqt bench: ${heading}`)}</h1>`,
    `<p class="sub">${escapeHtml(`written ${input.generatedAt}`)}</p>`,
    '<h2>Runs</h2>',
    runsTable(targets, config),
    '<h2>Charts</h2>',
    ...charts.map(renderChart),
    '<h2>Settings</h2>',
    pairs(settings(config, rounds), 'settings'),
    '<h2>Brokers</h2>',
    brokers,
    '<h2>Machine</h2>',
    machine,
    `<footer>${escapeHtml('Written by mqt bench --report. For programs, mqt bench --json prints the same runs as one JSON object.')}</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
