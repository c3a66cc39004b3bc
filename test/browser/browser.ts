/**
 * Headless Chromium for the dashboard tests, through playwright-core: one browser per test
 * file, a fresh context (its own storage) per test, and every console error or uncaught
 * exception of the page collected so a test can fail on them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { peers } from '../helpers/peers.js';
import { REPO_ROOT } from '../helpers/spawn-mqt.js';

/*
 * The page's globals, as far as the callbacks below use them: they run in the browser, and
 * the test project is typed without the DOM library (which would retype Node's timers for
 * every file). Module-local, so nothing else sees them.
 */
interface PageElement {
  style: { color: string };
  width: number;
  height: number;
  remove(): void;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: string): PageElement | null; createElement(tag: string): PageElement; body: { append(el: PageElement): void } };
declare const window: { scrollTo(x: number, y: number): void };
declare function getComputedStyle(el: unknown): { color: string };

export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results');

export async function launchChromium(): Promise<Browser> {
  const executablePath = peers().chromium;
  if (executablePath === undefined) throw new Error('headless Chromium not found');
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface PageUnderTest {
  context: BrowserContext;
  page: Page;
  /** Console errors and page exceptions so far, except those a test said to expect. */
  errors(): string[];
  /** Console errors matching this are expected (a 401 the test provokes is logged by Chromium as a failed resource). */
  expectErrors(pattern: RegExp): void;
}

export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<PageUnderTest> {
  // A new context is a fresh profile: no sessionStorage, cache or cookies from another test.
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const seen: string[] = [];
  const expected: RegExp[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') seen.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (e) => seen.push(`exception: ${e.message}`));
  return {
    context,
    page,
    errors: () => seen.filter((line) => !expected.some((p) => p.test(line))),
    expectErrors: (pattern) => expected.push(pattern),
  };
}

/** A full-page screenshot into test-results/NAME; returns the absolute path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, name);
  // From the top: the sticky bar would otherwise be drawn where the page was scrolled to.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Pixels of a canvas close to a CSS colour (within `tolerance` per channel): proof that a
 * line of that colour was drawn, not only that the element exists.
 */
export async function canvasPixelsOf(page: Page, canvasTestId: string, cssColor: string, tolerance = 40): Promise<number> {
  return page.evaluate(
    ({ id, color, tol }) => {
      const canvas = document.querySelector(`[data-testid="${id}"]`);
      if (canvas === null) return -1;
      // The browser turns any CSS colour into rgb(…) for us.
      const probe = document.createElement('span');
      probe.style.color = color;
      document.body.append(probe);
      const rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g)!.map(Number);
      probe.remove();
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && Math.abs(data[i]! - rgb[0]!) <= tol && Math.abs(data[i + 1]! - rgb[1]!) <= tol && Math.abs(data[i + 2]! - rgb[2]!) <= tol) n++;
      }
      return n;
    },
    { id: canvasTestId, color: cssColor, tol: tolerance },
  );
}

/** The colour of a legend swatch (its CSS color; the chart draws its series in the same CSS variable). */
export async function swatchColor(page: Page, testId: string): Promise<string> {
  return page.locator(`[data-testid="${testId}"]`).evaluate((el) => getComputedStyle(el).color);
}
