/**
 * The bench's HTML report as a string: given known results (histograms filled with known
 * values), the page has the charts, series, axes and legend it should, the percentile points
 * climb, nothing can load from anywhere, and hostile names and topics stay text.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Histogram } from '../../../src/core/bench/histogram.js';
import { reportPathProblem } from '../../../src/core/bench/html-report-file.js';
import { describeMachine, type MachineInfo } from '../../../src/core/bench/html-report-machine.js';
import { decadeLabel, escapeHtml, linearAxis, percentileX } from '../../../src/core/bench/html-report-svg.js';
import { buildHtmlReport, distributionOf, type ReportTarget } from '../../../src/core/bench/html-report.js';
import type { BenchResult } from '../../../src/core/bench/types.js';
import { latency, result } from './fixtures.js';

const MACHINE: MachineInfo = { cpuModel: 'Test CPU 3000', cpus: 2, memoryBytes: 8 * 1024 ** 3, os: 'Linux 6.1.0 x64', node: 'v20.19.0' };

/** A histogram of `n` values: mostly near `baseMs`, with a tail up to 40× it. */
function filled(n: number, baseMs: number): Histogram {
  const h = new Histogram();
  for (let i = 0; i < n; i++) {
    const tail = i % 100 === 0 ? 40 : i % 10 === 0 ? 4 : 1;
    h.recordMs(baseMs * tail * (1 + (i % 7) / 10));
  }
  return h;
}

function run(baseMs: number, overrides: Partial<BenchResult> = {}, config: Partial<BenchResult['config']> = {}): BenchResult {
  const ack = filled(5000, baseMs);
  const delivery = filled(5000, baseMs * 1.5);
  return result(
    {
      ackLatency: ack.summary(),
      deliveryLatency: delivery.summary(),
      histograms: { ack: ack.snapshot(), delivery: delivery.snapshot() },
      durationMs: 2250,
      perSecond: [
        { second: 1, published: 2000, delivered: 1900 },
        { second: 2, published: 2500, delivered: 2550 },
        { second: 3, published: 500, delivered: 550 },
      ],
      ...overrides,
    },
    config,
  );
}

function page(targets: ReportTarget[]): string {
  return buildHtmlReport({ targets, machine: MACHINE, generatedAt: '2026-12-07T02:00:00.000Z' });
}

/** The figure of one chart. */
function figure(html: string, id: string): string {
  const m = new RegExp(`<figure class="chart" data-chart="${id}">[\\s\\S]*?</figure>`).exec(html);
  expect(m, `chart ${id}`).not.toBeNull();
  return m![0];
}

function paths(fig: string): { series: string; d: string }[] {
  return [...fig.matchAll(/<path class="series" data-series="([^"]*)"[^>]* d="([^"]*)"/g)].map((m) => ({ series: m[1]!, d: m[2]! }));
}

/** The corners of a path's d ("M x y H x V y …" or "L x y"). */
function corners(d: string): [number, number][] {
  const out: [number, number][] = [];
  let x = 0;
  let y = 0;
  const tokens = d.split(' ');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startsWith('M') || t.startsWith('L')) {
      x = Number(t.slice(1));
      y = Number(tokens[++i]);
    } else if (t.startsWith('H')) x = Number(t.slice(1));
    else if (t.startsWith('V')) y = Number(t.slice(1));
    else throw new Error(`unexpected path token ${t}`);
    out.push([x, y]);
  }
  return out;
}

describe('Histogram.percentileDistribution', () => {
  it('climbs from min to max in both percentile and value, each point valueAtPercentile', () => {
    const h = filled(5000, 0.8);
    const points = h.percentileDistribution();
    expect(points[0]).toEqual({ percentile: 0, ms: h.min / 1000 });
    expect(points.at(-1)).toEqual({ percentile: 100, ms: h.max / 1000 });
    // 20 a decade up to 1 − 1/5000 (3.7 decades), the min and the max.
    expect(points.length).toBe(Math.ceil(Math.log10(5000) * 20) + 2);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.percentile).toBeGreaterThanOrEqual(points[i - 1]!.percentile);
      expect(points[i]!.ms).toBeGreaterThanOrEqual(points[i - 1]!.ms);
    }
    for (const p of points.slice(1, -1)) expect(p.ms).toBe(h.valueAtPercentile(p.percentile) / 1000);
    expect(points.find((p) => Math.abs(p.percentile - 99) < 1e-9)?.ms).toBe(h.valueAtPercentile(99) / 1000);
  });

  it('is empty for no values, and min and max for one', () => {
    expect(new Histogram().percentileDistribution()).toEqual([]);
    const one = new Histogram();
    one.recordMs(2);
    expect(one.percentileDistribution()).toEqual([
      { percentile: 0, ms: 2 },
      { percentile: 100, ms: 2 },
    ]);
  });
});

describe('chart scales', () => {
  it('puts percentiles on decades of 1/(1 − p)', () => {
    expect(percentileX(0)).toBe(0);
    expect(percentileX(90)).toBeCloseTo(1, 9);
    expect(percentileX(99.9)).toBeCloseTo(3, 9);
    expect([0, 1, 2, 3, 4, 5].map(decadeLabel)).toEqual(['0%', '90%', '99%', '99.9%', '99.99%', '99.999%']);
  });

  it('rounds a linear axis up to 1, 2 or 5 × 10^k', () => {
    const a = linearAxis('latency (ms)', 3.7, String);
    expect(a.max).toBe(4);
    expect(a.ticks.map((t) => t.at)).toEqual([0, 1, 2, 3, 4]);
    expect(linearAxis('x', 0, String).max).toBe(1);
  });
});

describe('buildHtmlReport: one run', () => {
  const r = run(0.8);
  const html = page([{ name: 'builtin', address: 'mqtt://127.0.0.1:40000', broker: 'mqt 0.1.0, built in', runs: [r] }]);

  it('draws the rate over time and both latency distributions', () => {
    const rate = figure(html, 'rate');
    expect(paths(rate).map((p) => p.series)).toEqual(['published', 'delivered']);
    expect(rate).toContain('messages per second');
    expect(rate).toContain('seconds into the measured run');
    // Three seconds as steps: 0 → 1 → 2 → 2.25, each level held for its second; the last
    // quarter of a second (500 messages) drawn as the rate it had, 2,000/s, not as a drop.
    const steps = corners(paths(rate)[0]!.d);
    expect(steps.length).toBe(1 + 2 * 3);
    const [x0, y0] = steps[0]!; // second 0 at 2,000/s
    const [x1] = steps[1]!; // second 1
    expect(steps.at(-1)![1]).toBe(y0);
    // …, H 2, V (2,000/s), H 2.25, V (the same): the last level spans a quarter of a second's width.
    expect(steps.at(-1)![0] - steps.at(-3)![0]).toBeCloseTo((x1 - x0) / 4, 0);

    for (const id of ['latency-ack', 'latency-delivery']) {
      const fig = figure(html, id);
      expect(paths(fig).map((p) => p.series)).toEqual(['builtin']);
      expect(fig).toContain('>percentile</text>');
      expect(fig).toContain('>latency (ms)</text>');
      for (const label of ['0%', '90%', '99%', '99.9%', '99.99%']) expect(fig).toContain(`>${label}</text>`);
      expect(fig).toContain('<li data-legend="builtin">');
      // Left to right and upwards only (SVG y grows downwards): a distribution never falls.
      const c = corners(paths(fig)[0]!.d);
      expect(c.length).toBeGreaterThan(40);
      for (let i = 1; i < c.length; i++) {
        expect(c[i]![0]).toBeGreaterThanOrEqual(c[i - 1]![0]);
        expect(c[i]![1]).toBeLessThanOrEqual(c[i - 1]![1]);
      }
      // It reaches the top: the max sets the axis.
      expect(Math.min(...c.map((p) => p[1]))).toBeLessThan(c[0]![1] - 100);
    }
    expect(figure(html, 'latency-ack')).toContain('publish → ack (PUBACK)');
  });

  it('lists the settings, the broker and the machine', () => {
    for (const text of ['Test CPU 3000 × 2', '8.0 GiB', 'Linux 6.1.0 x64', 'v20.19.0', 'mqtt://127.0.0.1:40000', 'mqt 0.1.0, built in', 'mqt/bench/%i (same)', '64 B', 'flat out', '100,000']) {
      expect(html).toContain(text);
    }
    expect(html).toContain('<title>mqt bench: pub 1 → 1 against builtin</title>');
  });

  it('loads nothing from anywhere: no URL, no script, a CSP that allows only its own stylesheet', () => {
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(/i);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${hash}';`);
    // Colours are attributes, never inline styles (the CSP would block those).
    expect(html).not.toMatch(/\sstyle=/);
  });
});

describe('buildHtmlReport: --compare', () => {
  const a = [run(0.5), run(0.6)];
  const b = [run(1.2), run(1.1)];
  const html = page([
    { name: 'builtin', runs: a },
    { name: 'mqtt://127.0.0.1:1883', runs: b },
  ]);

  it('draws both brokers on the same axes, with a legend entry each', () => {
    for (const id of ['latency-ack', 'latency-delivery']) {
      const fig = figure(html, id);
      expect(paths(fig).map((p) => p.series)).toEqual(['builtin', 'mqtt://127.0.0.1:1883']);
      expect(fig).toContain('<li data-legend="builtin">');
      expect(fig).toContain('<li data-legend="mqtt://127.0.0.1:1883">');
      expect(fig).toContain('2 rounds merged');
    }
    // Rates: a line per round, one legend entry per broker.
    const published = figure(html, 'rate-published');
    expect(paths(published).map((p) => p.series)).toEqual(['builtin', 'builtin', 'mqtt://127.0.0.1:1883', 'mqtt://127.0.0.1:1883']);
    expect(published.match(/<li data-legend=/g)).toHaveLength(2);
    expect(figure(html, 'rate-delivered')).toContain('data-detail="round 2"');
    expect(html).toContain('pub 1 → 1 against builtin vs mqtt://127.0.0.1:1883');
  });

  it('merges the rounds of a broker into one distribution', () => {
    const d = distributionOf(a, 'ack');
    expect(d.count).toBe(10_000);
    const merged = new Histogram();
    for (const r of a) merged.addSnapshot(r.histograms!.ack!);
    expect(d.points.at(-1)!.ms).toBe(merged.max / 1000);
  });
});

describe('buildHtmlReport: what each scenario has', () => {
  it('QoS 0 has no ack chart; --subs 0 no delivery chart', () => {
    const qos0 = page([{ name: 'builtin', runs: [run(1, { ackLatency: undefined, histograms: { delivery: filled(100, 1).snapshot() } }, { qos: 0 })] }]);
    expect(qos0).not.toContain('data-chart="latency-ack"');
    expect(qos0).toContain('data-chart="latency-delivery"');
    const noSubs = page([{ name: 'builtin', runs: [run(1, {}, { subs: 0 })] }]);
    expect(noSubs).not.toContain('data-chart="latency-delivery"');
    expect(paths(figure(noSubs, 'rate')).map((p) => p.series)).toEqual(['published']);
  });

  it('conn draws the CONNACK distribution only', () => {
    const connack = filled(500, 2);
    const r = run(1, { perSecond: [], ackLatency: undefined, histograms: { connack: connack.snapshot() }, conn: { attempted: 500, connected: 500, failed: 0, rate: 900, connackLatency: connack.summary() } }, { scenario: 'conn' });
    const html = page([{ name: 'builtin', runs: [r] }]);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(1);
    expect(paths(figure(html, 'latency-connack'))).toHaveLength(1);
    expect(html).toContain('CONNECT → CONNACK');
  });

  it('a result without histograms is drawn from its five numbers', () => {
    const r = result({ ackLatency: latency(0.8), deliveryLatency: latency(0.9) });
    const fig = figure(page([{ name: 'builtin', runs: [r] }]), 'latency-ack');
    expect(corners(paths(fig)[0]!.d).length).toBeGreaterThan(5);
  });
});

describe('buildHtmlReport: hostile text stays text', () => {
  const evil = `<script>alert("x")</script>&'`;
  const html = page([{ name: evil, address: `mqtt://h/"><img src=x>`, runs: [run(1, {}, { topic: `a/<b>/"c"/%i` })] }]);

  it('escapes names, addresses and topics wherever they appear', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain('a/&lt;b&gt;/&quot;c&quot;/%i');
    expect(html).toContain(`data-series="${escapeHtml(evil)}"`);
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });
});

describe('describeMachine', () => {
  it('reads this machine', () => {
    const m = describeMachine();
    expect(m.cpus).toBeGreaterThan(0);
    expect(m.memoryBytes).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
    expect(m.os).toContain(process.arch);
  });
});

describe('reportPathProblem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-report-path-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a new or existing file in a folder that exists', () => {
    expect(reportPathProblem(join(dir, 'new.html'))).toBeUndefined();
    writeFileSync(join(dir, 'old.html'), 'x');
    expect(reportPathProblem(join(dir, 'old.html'))).toBeUndefined();
  });

  it('refuses a missing folder, a folder, and an empty name, in one line each', () => {
    expect(reportPathProblem(join(dir, 'nope', 'r.html'))).toBe(`the folder ${join(dir, 'nope')} does not exist: create it, or give a path in a folder that does`);
    mkdirSync(join(dir, 'sub'));
    expect(reportPathProblem(join(dir, 'sub'))).toMatch(/ is a folder: give a file name/);
    expect(reportPathProblem('')).toMatch(/^needs a file name/);
    writeFileSync(join(dir, 'file'), 'x');
    expect(reportPathProblem(join(dir, 'file', 'r.html'))).toMatch(/is not a folder$/);
  });
});
