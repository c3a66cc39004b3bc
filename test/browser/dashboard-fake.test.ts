/**
 * The dashboard against a fake admin server (fake-admin.ts), for what a real broker reaches
 * only with effort: credentials rejected in the middle of a session, the broker gone and
 * back, polling while the tab is hidden, binary payloads, a narrow window. The real broker
 * is driven in dashboard.test.ts.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { needPeers } from '../helpers/peers.js';
import { canvasPixelsOf, launchChromium, openPage, screenshot, swatchColor, type PageUnderTest } from './browser.js';
import { fakeClient, retainedEntry, startFakeAdmin, type FakeAdmin } from './fake-admin.js';

const gate = needPeers('chromium');

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
}

/** Hides or shows the tab as the browser would (headless pages are always "visible"). */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  // A string, as the test project is typed without the DOM library.
  await page.evaluate(`
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' });
    document.dispatchEvent(new Event('visibilitychange'));
  `);
}

describe.skipIf(gate.skip)('dashboard against a fake admin API', () => {
  let browser: Browser;
  let fake: FakeAdmin;
  let tab: PageUnderTest;

  beforeAll(async () => {
    gate.check();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    fake = await startFakeAdmin({
      clients: [
        fakeClient('sensor-1', { username: 'alice', address: '10.0.0.7', port: 51_234 }),
        fakeClient('sensor-2', { username: 'bob', address: '10.0.0.8', protocolVersion: 4, transport: 'ws', listener: 'ws' }),
        fakeClient('dash/odd id <b>', { username: null, address: '::1', port: 40_000 }),
      ],
      retained: [
        retainedEntry('home/kitchen/temperature', '21.5'),
        retainedEntry('home/kitchen/humidity', '40 %', 1),
        retainedEntry('home/garage/door', Buffer.from([0xff, 0x00, 0x10, 0xfe])),
        retainedEntry('home', 'root value'),
        retainedEntry('/leading/empty', 'x'),
      ],
    });
    tab = await openPage(browser);
  });
  afterEach(async () => {
    await tab?.context.close();
    await fake?.close();
  });

  it('shows tiles, chart, listeners, limits, clients and the topic tree, filters, and disconnects after an in-page confirmation', { timeout: 30_000 }, async () => {
    const { page } = tab;
    await page.goto(fake.url);
    await signIn(page, 'fake-token');
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);

    // Client ids are text, never markup.
    await expect.poll(() => page.locator('[data-testid="client-row"][data-client-id="dash/odd id <b>"] [data-testid="client-id"]').textContent()).toBe('dash/odd id <b>');
    expect(await page.locator('[data-testid="clients-body"] b').count()).toBe(0);
    expect(await page.locator('[data-testid="client-row"][data-client-id="dash/odd id <b>"]').textContent()).toContain('[::1]:40000');

    await page.getByTestId('clients-filter').fill('ALICE');
    await expect.poll(() => page.getByTestId('client-row').count()).toBe(1);
    expect(await page.getByTestId('clients-count').textContent()).toBe('(1 of 3)');
    await page.getByTestId('clients-filter').fill('10.0.0.');
    await expect.poll(() => page.getByTestId('client-row').count()).toBe(2);
    await page.getByTestId('clients-filter').fill('');

    // Tiles and the broker panel.
    expect(await page.locator('[data-testid="tile-uptime"] .tile-value').textContent()).toBe('1 h 2 min');
    expect(await page.locator('[data-testid="tile-clients"] .tile-value').textContent()).toBe('3');
    await expect.poll(() => page.locator('[data-testid="tile-msg-in"] .tile-value').textContent()).toMatch(/^\d+\/s$/);
    expect(await page.getByTestId('listener-row').count()).toBe(3);
    expect(await page.locator('[data-testid="limit"][data-key="maxConnections"] dd').textContent()).toBe('none');
    expect(await page.locator('[data-testid="limit"][data-key="maxPacketSize"] dd').textContent()).toBe('256 MiB');
    // Settings other than the known limits are folded away until asked for.
    const retainAvailable = page.locator('[data-testid="limit"][data-key="retainAvailable"] dd');
    expect(await retainAvailable.isVisible()).toBe(false);
    await page.getByTestId('settings-summary').click();
    expect(await retainAvailable.isVisible()).toBe(true);
    expect(await retainAvailable.textContent()).toBe('yes');

    // The chart: lines in both legend colours are on the canvas.
    for (const [legend, min] of [['legend-in', 100], ['legend-out', 100]] as const) {
      const color = await swatchColor(page, legend);
      await expect.poll(() => canvasPixelsOf(page, 'chart-messages', color), { timeout: 5000 }).toBeGreaterThan(min);
    }
    expect(Number(await page.getByTestId('chart-bytes').getAttribute('data-max'))).toBeGreaterThan(0);
    // Hovering reads out the nearest second.
    await page.getByTestId('chart-messages').hover({ position: { x: 200, y: 80 } });
    await expect.poll(() => page.locator('[data-testid="rates"] [data-testid="chart-tip"]').first().textContent()).toMatch(/^\d\d:\d\d:\d\dIn: \d+Out: \d+$/);
    await page.mouse.move(0, 0);
    expect(await page.locator('[data-testid="chart-tip"]').first().isVisible()).toBe(false);

    // The topic tree: a small list opens fully; a topic that is also a parent keeps its value; binary shows as hex.
    const value = (topic: string) => page.locator(`[data-testid="topic-node"][data-topic="${topic}"] > .tree-row [data-testid="topic-value"]`);
    await expect.poll(() => value('home/kitchen/temperature').textContent(), { timeout: 10_000 }).toBe('21.5');
    expect(await value('home').textContent()).toBe('root value');
    expect(await value('home/garage/door').textContent()).toBe('ff 00 10 fe');
    expect(await value('home/garage/door').getAttribute('data-encoding')).toBe('hex');
    expect(await page.locator('[data-testid="topic-node"][data-topic=""] > .tree-row .tree-name').textContent()).toBe('(empty level)');
    expect(await page.getByTestId('topics-count').textContent()).toBe('(5)');
    await page.locator('[data-testid="topic-node"][data-topic="home"] > .tree-row [data-testid="topic-toggle"]').click();
    expect(await value('home/kitchen/temperature').count()).toBe(0);
    expect(await page.locator('[data-testid="topic-node"][data-topic="home"]').getAttribute('aria-expanded')).toBe('false');
    await page.locator('[data-testid="topic-node"][data-topic="home"] > .tree-row [data-testid="topic-toggle"]').click();
    expect(await value('home/kitchen/temperature').textContent()).toBe('21.5');
    await page.getByTestId('payload-hex').click();
    expect(await value('home/kitchen/temperature').textContent()).toBe('32 31 2e 35');
    await page.getByTestId('payload-text').click();
    // A topic filter goes to the server.
    await page.getByTestId('topics-filter').fill('home/kitchen/+');
    await page.getByTestId('topics-filter').press('Enter');
    await expect.poll(() => page.getByTestId('topics-count').textContent()).toBe('(2)');
    expect(fake.requestLines.some((l) => l.startsWith('GET /api/v1/retained?filter=home%2Fkitchen%2F%2B&'))).toBe(true);

    // Disconnect: Cancel keeps the client, Disconnect removes it and says so.
    const row = page.locator('[data-testid="client-row"][data-client-id="sensor-2"]');
    await row.getByTestId('client-disconnect').click();
    await expect.poll(() => page.getByTestId('confirm-dialog').isVisible()).toBe(true);
    expect(await page.getByTestId('confirm-body').textContent()).toContain('"sensor-2"');
    await page.getByTestId('confirm-cancel').click();
    expect(await page.getByTestId('confirm-dialog').isVisible()).toBe(false);
    expect(fake.requestLines.filter((l) => l.startsWith('DELETE'))).toEqual([]);
    await row.getByTestId('client-disconnect').click();
    await page.getByTestId('confirm-ok').click();
    await expect.poll(() => row.count()).toBe(0);
    expect(fake.requestLines.filter((l) => l.startsWith('DELETE'))).toEqual(['DELETE /api/v1/clients/sensor-2']);
    await expect.poll(() => page.getByTestId('toast').first().textContent()).toBe('Disconnected "sensor-2".');

    // A narrow window: one column, nothing wider than the viewport but the tables' own scroll boxes.
    await page.setViewportSize({ width: 390, height: 800 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBe(0);
    console.log(`narrow dashboard screenshot: ${await screenshot(page, 'dashboard-narrow.png')}`);
    expect(tab.errors()).toEqual([]);
  });

  it('goes back to the login form, with a message, when the credentials stop working', { timeout: 20_000 }, async () => {
    const { page } = tab;
    tab.expectErrors(/status of 401/);
    await page.goto(fake.url);
    await signIn(page, 'fake-token');
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    fake.state.rejectAll = true;
    await expect.poll(() => page.getByTestId('login').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByTestId('dashboard').isVisible()).toBe(false);
    expect(await page.getByTestId('login-error').textContent()).toMatch(/no longer accepted/);
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    // The panels were emptied: nothing of the old session stays in the page.
    expect(await page.getByTestId('client-row').count()).toBe(0);
    console.log(`login form screenshot: ${await screenshot(page, 'dashboard-login.png')}`);
    expect(tab.errors()).toEqual([]);
  });

  it('shows a banner while the broker is gone, retrying, and comes back by itself', { timeout: 30_000 }, async () => {
    const { page } = tab;
    tab.expectErrors(/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/);
    await page.goto(fake.url);
    await signIn(page, 'fake-token');
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    // 'live' once the whole first round of calls has answered, which may be after the rows show.
    const liveState = (): Promise<string | null> => page.locator('[data-testid="live-status"]').getAttribute('data-state');
    await expect.poll(liveState, { timeout: 10_000 }).toBe('live');
    await fake.pause();
    await expect.poll(() => page.getByTestId('conn-banner').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByTestId('conn-banner-text').textContent()).toMatch(/cannot be reached.*retrying/);
    expect(await page.locator('[data-testid="live-status"]').getAttribute('data-state')).toBe('offline');
    // The last data stays on the page meanwhile.
    expect(await page.getByTestId('client-row').count()).toBe(3);
    await fake.resume();
    await page.getByTestId('conn-retry').click();
    await expect.poll(() => page.getByTestId('conn-banner').isVisible(), { timeout: 20_000 }).toBe(false);
    await expect.poll(liveState, { timeout: 10_000 }).toBe('live');
    expect(tab.errors()).toEqual([]);
  });

  it('says once per panel when the API answers with an error, without the offline banner', { timeout: 20_000 }, async () => {
    const { page } = tab;
    tab.expectErrors(/status of 500/);
    await page.goto(fake.url);
    await signIn(page, 'fake-token');
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    fake.state.failWith = 500;
    await expect.poll(() => page.getByTestId('toast').allTextContents(), { timeout: 8000 }).toContain('Could not load clients: fake failure 500');
    // Several more rounds of polling: still one notice per panel, and the broker is not "gone".
    await page.waitForTimeout(3000);
    const texts = await page.getByTestId('toast').allTextContents();
    expect(texts.filter((t) => t === 'Could not load clients: fake failure 500')).toHaveLength(1);
    expect(await page.getByTestId('conn-banner').isVisible()).toBe(false);
    expect(tab.errors()).toEqual([]);
  });

  it('stops polling while the tab is hidden and catches up when it is shown', { timeout: 20_000 }, async () => {
    const { page } = tab;
    await page.goto(fake.url);
    await signIn(page, 'fake-token');
    await expect.poll(() => fake.calls.get('clients') ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await setHidden(page, true);
    // A poll already on its way may still land; after that, silence.
    await page.waitForTimeout(500);
    const before = fake.calls.get('clients') ?? 0;
    await page.waitForTimeout(3500);
    expect(fake.calls.get('clients') ?? 0).toBe(before);
    await setHidden(page, false);
    await expect.poll(() => fake.calls.get('clients') ?? 0, { timeout: 5000 }).toBeGreaterThan(before);
    expect(tab.errors()).toEqual([]);
  });

  it('signs in with a user and password (Basic, UTF-8)', { timeout: 15_000 }, async () => {
    const { page } = tab;
    tab.expectErrors(/status of 401/);
    await page.goto(fake.url);
    await page.getByTestId('login-mode-password').click();
    expect(await page.getByTestId('login-token').isVisible()).toBe(false);
    await page.getByTestId('login-user').fill('admin');
    await page.getByTestId('login-password').fill('wrong');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toBe('That user and password were not accepted.');
    await page.getByTestId('login-password').fill('pässwörd');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    expect(fake.authorizations.at(-1)).toBe(`Basic ${Buffer.from('admin:pässwörd').toString('base64')}`);
    expect(tab.errors()).toEqual([]);
  });

  it('logs in from a #token= link without sending the token in any URL, and stays logged in on reload', { timeout: 20_000 }, async () => {
    const { page } = tab;
    fake.state.token = 'tok/+=&x%41';
    await page.goto(`${fake.url}/#token=${encodeURIComponent('tok/+=&x%41')}`);
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    expect(page.url()).toBe(`${fake.url}/`);
    expect(fake.requestLines.some((l) => l.includes('token') || l.includes('%41'))).toBe(false);
    expect(fake.authorizations.every((a) => a === 'Bearer tok/+=&x%41')).toBe(true);
    await page.reload();
    await expect.poll(() => page.getByTestId('client-row').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.getByTestId('login').isVisible()).toBe(false);
    await page.getByTestId('logout').click();
    expect(await page.getByTestId('login').isVisible()).toBe(true);
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect(tab.errors()).toEqual([]);
  });
});
