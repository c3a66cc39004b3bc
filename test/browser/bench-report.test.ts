/**
 * `mqt bench --report FILE.html` as a user gets it: a tiny real run of the built binary
 * against the built-in broker (with --json, which stays one object on stdout), and a
 * --compare of the built-in broker against a real mosquitto, each page opened from its file
 * in headless Chromium. The charts must be drawn (boxes of real size, lines of real length
 * with many points), the compare page must name both brokers in its legends, the page must
 * ask for nothing but its own file, and the CSP must let its stylesheet through (a blocked
 * style is a console error). Screenshots: test-results/bench-report.png and
 * test-results/bench-report-compare.png.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { assertFreshBuild, spawnMqt, type SpawnMqtResult } from '../helpers/spawn-mqt.js';
import { launchChromium, openPage, screenshot } from './browser.js';

const gate = needPeers('chromium', 'mosquitto');

const BUILT = ['commands/bench.ts', 'commands/bench-run.ts', 'core/bench/html-report.ts', 'core/bench/html-report-svg.ts', 'core/bench/html-report-file.ts', 'core/bench/engine.ts'];

/** A small fixed-rate load that lasts a little over two seconds: three rows of the per-second timeline. */
const LOAD = ['--qos', '1', '--rate', '400', '--duration', '2.2', '--timeout', '5'];

function bench(args: readonly string[], timeoutMs = 25_000): Promise<SpawnMqtResult> {
  return spawnMqt(['bench', ...args], { timeoutMs });
}

/** What the page drew, read in the browser (the test project has no DOM types: plain shapes). */
interface Drawn {
  charts: { id: string; width: number; height: number; legend: string[] }[];
  paths: { chart: string; series: string; points: number; length: number; width: number; height: number }[];
}

interface PageNode {
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number; height: number };
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): PageNode[];
  closest(selector: string): PageNode | null;
  textContent: string | null;
  getTotalLength(): number;
}
declare const document: { querySelectorAll(selector: string): PageNode[] };

async function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const charts = [...document.querySelectorAll('figure.chart')].map((f) => {
      const box = f.querySelector('svg')!.getBoundingClientRect();
      return { id: f.getAttribute('data-chart')!, width: box.width, height: box.height, legend: [...f.querySelectorAll('ul.legend li')].map((li) => li.textContent ?? '') };
    });
    const paths = [...document.querySelectorAll('path.series')].map((p) => {
      const box = p.getBoundingClientRect();
      return {
        chart: p.closest('figure.chart')!.getAttribute('data-chart')!,
        series: p.getAttribute('data-series')!,
        points: Number(p.getAttribute('data-points')),
        length: p.getTotalLength(),
        width: box.width,
        height: box.height,
      };
    });
    return { charts, paths };
  });
}

/** Opens the file, records every request, and returns what was drawn; fails on console errors. */
async function open(browser: Browser, file: string, shot: string): Promise<{ drawn: Drawn; text: string }> {
  const tab = await openPage(browser, { width: 1100, height: 900 });
  try {
    const requests: string[] = [];
    tab.page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await tab.page.goto(url);
    await tab.page.waitForLoadState('load');
    const result = { drawn: await drawn(tab.page), text: (await tab.page.locator('body').textContent()) ?? '' };
    // The page itself, and nothing else: no font, image, script or stylesheet from anywhere.
    expect(requests).toEqual([url]);
    expect(tab.errors()).toEqual([]);
    const path = await screenshot(tab.page, shot);
    console.log(`bench report screenshot: ${path}`);
    return result;
  } finally {
    await tab.context.close();
  }
}

/** Every chart has a real box; every line is long, with many points, and not flat in both directions. */
function expectDrawn(d: Drawn, charts: readonly string[]): void {
  expect(d.charts.map((c) => c.id)).toEqual(charts);
  for (const c of d.charts) {
    expect(c.width, c.id).toBeGreaterThan(300);
    expect(c.height, c.id).toBeGreaterThan(150);
  }
  for (const p of d.paths) {
    const what = `${p.chart} / ${p.series}`;
    expect(p.points, what).toBeGreaterThanOrEqual(3);
    expect(p.length, what).toBeGreaterThan(100);
    expect(p.width, what).toBeGreaterThan(100);
  }
  // A latency distribution climbs: its line is not flat. On axes shared with a slower broker a
  // fast one's whole range can take only a few percent of the height (20 px was seen), so the
  // bound is a visible rise, not a share of the chart.
  for (const p of d.paths.filter((x) => x.chart.startsWith('latency-'))) expect(p.height, `${p.chart} / ${p.series}`).toBeGreaterThan(3);
}

describe.skipIf(gate.skip)('mqt bench --report in headless Chromium', () => {
  let browser: Browser;
  let mosquitto: RunningMosquitto;
  let dir: string;

  beforeAll(async () => {
    gate.check();
    assertFreshBuild(BUILT);
    dir = mkdtempSync(join(tmpdir(), 'mqt-bench-report-'));
    [browser, mosquitto] = await Promise.all([launchChromium(), startMosquitto()]);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await mosquitto?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('one run with --json: the rate over time and both latency distributions are drawn', { timeout: 30_000 }, async () => {
    const file = join(dir, 'single.html');
    const r = await bench([...LOAD, '--report', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    // --json stays one object on stdout; where the report went is said on stderr.
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout).totals.delivered).toBeGreaterThan(0);
    expect(r.stderr).toBe(`report: ${file}\n`);

    const { drawn: d, text } = await open(browser, file, 'bench-report.png');
    expectDrawn(d, ['rate', 'latency-ack', 'latency-delivery']);
    expect(d.paths.map((p) => `${p.chart}:${p.series}`)).toEqual(['rate:published', 'rate:delivered', 'latency-ack:builtin', 'latency-delivery:builtin']);
    expect(d.charts.find((c) => c.id === 'latency-ack')!.legend).toEqual(['builtin']);
    for (const words of ['pub 1 → 1 against builtin', 'publish → ack (PUBACK)', 'Node.js', process.version, 'built in, started for the run', '400 msg/s']) expect(text).toContain(words);
  });

  it('--compare builtin,mosquitto: both brokers on the same axes, named in every legend', { timeout: 30_000 }, async () => {
    const file = join(dir, 'compare.html');
    const r = await bench(['--compare', `builtin,${mosquitto.url}`, '--rounds', '1', ...LOAD, '--report', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`report: ${file}\n`);
    expect(r.stdout).toContain(`against builtin vs ${mosquitto.url}`);

    const { drawn: d, text } = await open(browser, file, 'bench-report-compare.png');
    expectDrawn(d, ['rate-published', 'rate-delivered', 'latency-ack', 'latency-delivery']);
    for (const c of d.charts) expect(c.legend, c.id).toEqual(['builtin', mosquitto.url]);
    for (const chart of ['latency-ack', 'latency-delivery']) {
      expect(d.paths.filter((p) => p.chart === chart).map((p) => p.series)).toEqual(['builtin', mosquitto.url]);
    }
    expect(text).toContain(`mqtt://127.0.0.1:${mosquitto.port}`);
  });
});

describe('mqt bench --report: a path that cannot be written is refused before the run', () => {
  beforeAll(() => assertFreshBuild(BUILT));

  it('a folder that does not exist: one line, exit 1, nothing run', async () => {
    const missing = join(tmpdir(), 'mqt-no-such-folder-for-report', 'r.html');
    // --msgs 2000000000 would run for minutes: a quick answer shows the check came first.
    const r = await bench(['--msgs', '2000000000', '--report', missing], 10_000);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--report: the folder ${join(tmpdir(), 'mqt-no-such-folder-for-report')} does not exist`);
  });
});
