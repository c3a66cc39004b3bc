/**
 * The live dashboard in headless Chromium against a real `mqt broker --http-port`: sign in
 * with the admin token, see a client this test connected and its retained message, see the
 * rate chart drawn, disconnect the client with the button (after the in-page confirmation),
 * and check on the MQTT side that the broker sent it DISCONNECT 0x98. A wrong token stays on
 * the form; a `/#token=` link signs in and leaves no token in the address bar. Any console
 * error or page exception fails the test. The screenshot goes to test-results/dashboard.png.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDisconnectPacket, MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpMqt, mqttClient, startMqt, stop, type RunningBroker } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { canvasPixelsOf, launchChromium, openPage, screenshot, swatchColor } from './browser.js';

const gate = needPeers('chromium');

const CLIENT_ID = 'dashboard-test-client';
const TOPIC = 'dash/test/temperature';
const VALUE = '21.5 °C';

interface Listening {
  mqtt: string;
  http: string;
}

/** The MQTT and HTTP URLs from the --json lines (the HTTP listener may be in `listening` or a record of its own). */
function listeningUrls(stdout: string): Listening | undefined {
  const urls: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const collect = (v: unknown): void => {
      if (typeof v === 'string' && /^(mqtt|https?):\/\//.test(v)) urls.push(v);
      else if (Array.isArray(v)) v.forEach(collect);
      else if (v !== null && typeof v === 'object') Object.values(v).forEach(collect);
    };
    try {
      collect(JSON.parse(line));
    } catch {
      // not a record
    }
  }
  const mqtt = urls.find((u) => u.startsWith('mqtt://'));
  const http = urls.find((u) => u.startsWith('http://'));
  return mqtt !== undefined && http !== undefined ? { mqtt, http: new URL(http).origin } : undefined;
}

describe.skipIf(gate.skip)('dashboard in headless Chromium against mqt broker --http-port', () => {
  let browser: Browser;
  let broker: RunningBroker;
  let urls: Listening;
  let dir: string;
  let client: MqttClient;
  const token = randomBytes(18).toString('base64url');
  let load: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    gate.check();
    dir = mkdtempSync(join(tmpdir(), 'mqt-dashboard-'));
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    broker = startMqt(['broker', '--port', '0', '--http-port', '0', '--admin-token-file', tokenFile, '--json']);
    const [browserUp] = await Promise.all([
      launchChromium(),
      (async () => {
        await broker.waitForStdout(/"event":"listening"/, 15_000);
        // The HTTP listener's line may follow the MQTT one.
        for (let i = 0; i < 50 && listeningUrls(broker.stdout()) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
        const found = listeningUrls(broker.stdout());
        if (found === undefined) throw new Error(`no MQTT and HTTP URLs in the --json output:\n${broker.stdout()}\n${broker.stderr()}`);
        urls = found;
      })(),
    ]);
    browser = browserUp;
    ({ client } = await mqttClient(urls.mqtt, { protocolVersion: 5, clientId: CLIENT_ID, username: 'dash-user' }));
    await client.publishAsync(TOPIC, VALUE, { qos: 1, retain: true });
    await client.subscribeAsync('dash/load', { qos: 0 });
    // Some traffic for the chart: 40 messages a second, to itself, until the client is kicked.
    let n = 0;
    load = setInterval(() => {
      if (client.connected) client.publish('dash/load', `m${n++}`, { qos: 0 });
    }, 25);
  }, 30_000);

  afterAll(async () => {
    clearInterval(load);
    await browser?.close();
    cleanUpMqt();
    if (broker !== undefined) await Promise.race([stop(broker), new Promise((r) => setTimeout(r, 3000))]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong token shows an error and stays on the login form', { timeout: 15_000 }, async () => {
    const tab = await openPage(browser);
    try {
      // Chromium logs the refused API call as a failed resource: expected here, and only here.
      tab.expectErrors(/status of 401/);
      const { page } = tab;
      await page.goto(`${urls.http}/`);
      await page.getByTestId('login-token').fill('not-the-token');
      await page.getByTestId('login-submit').click();
      await expect.poll(() => page.getByTestId('login-error').textContent(), { timeout: 5000 }).toBe('That token was not accepted.');
      expect(await page.getByTestId('login').isVisible()).toBe(true);
      expect(await page.getByTestId('dashboard').isVisible()).toBe(false);
      expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
      expect(tab.errors()).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it('a /#token= link signs in and the token leaves the address bar', { timeout: 15_000 }, async () => {
    const tab = await openPage(browser);
    try {
      const { page } = tab;
      await page.goto(`${urls.http}/#token=${encodeURIComponent(token)}`);
      await expect.poll(() => page.getByTestId('dashboard').isVisible(), { timeout: 5000 }).toBe(true);
      expect(page.url()).toBe(`${urls.http}/`);
      expect(await page.evaluate<string>('location.hash')).toBe('');
      await expect.poll(() => page.locator(`[data-testid="client-row"][data-client-id="${CLIENT_ID}"]`).count(), { timeout: 5000 }).toBe(1);
      expect(tab.errors()).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it('signs in, shows the client, its retained value and the traffic chart, and disconnects it with 0x98', { timeout: 30_000 }, async () => {
    const tab = await openPage(browser);
    try {
      const { page } = tab;
      await page.goto(`${urls.http}/`);
      expect(await page.getByTestId('login').isVisible()).toBe(true);
      await page.getByTestId('login-token').fill(token);
      await page.getByTestId('login-submit').click();
      await expect.poll(() => page.getByTestId('dashboard').isVisible(), { timeout: 5000 }).toBe(true);

      const row = page.locator(`[data-testid="client-row"][data-client-id="${CLIENT_ID}"]`);
      await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 5)).toEqual([CLIENT_ID, 'dash-user', expect.stringMatching(/^127\.0\.0\.1:\d+$/), expect.stringMatching(/^tcp/), '5.0']);
      await page.getByTestId('clients-filter').fill('no-such-client');
      await expect.poll(() => row.count()).toBe(0);
      await page.getByTestId('clients-filter').fill('dash-user');
      await expect.poll(() => row.count()).toBe(1);

      const value = page.locator(`[data-testid="topic-node"][data-topic="${TOPIC}"] > .tree-row [data-testid="topic-value"]`);
      await expect.poll(() => value.textContent(), { timeout: 8000 }).toBe(VALUE);
      expect(await value.isVisible()).toBe(true);

      // Listeners and limits come from the broker.
      expect(await page.locator('[data-testid="listener-row"][data-kind="tcp"]').count()).toBe(1);
      expect(await page.locator('[data-testid="limit"]').count()).toBeGreaterThan(3);
      expect(await page.locator('[data-testid="tile-clients"] .tile-value').textContent()).toBe('1');

      // The traffic chart: the broker samples once a second; once a few samples of the load
      // are in, the "in" line is drawn in its legend colour, above the zero line.
      await expect.poll(() => page.getByTestId('chart-messages').getAttribute('data-max'), { timeout: 10_000 }).not.toMatch(/^(0|null)?$/);
      for (const legend of ['legend-in', 'legend-out']) {
        const color = await swatchColor(page, legend);
        await expect.poll(() => canvasPixelsOf(page, 'chart-messages', color), { timeout: 8000 }).toBeGreaterThan(30);
      }
      await expect.poll(() => page.locator('[data-testid="tile-msg-in"] .tile-value').textContent(), { timeout: 6000 }).not.toMatch(/^(0\/s|–)$/);

      const shot = await screenshot(page, 'dashboard.png');
      console.log(`dashboard screenshot: ${shot}`);

      // Disconnect: the in-page dialog, then the broker's DISCONNECT on the MQTT side.
      const disconnected = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
      clearInterval(load);
      await row.getByTestId('client-disconnect').click();
      await expect.poll(() => page.getByTestId('confirm-dialog').isVisible()).toBe(true);
      expect(await page.getByTestId('confirm-body').textContent()).toContain(CLIENT_ID);
      await page.getByTestId('confirm-ok').click();
      const packet = await Promise.race([disconnected, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no DISCONNECT from the broker within 5 s')), 5000))]);
      expect(packet.reasonCode).toBe(0x98);
      await expect.poll(() => row.count(), { timeout: 5000 }).toBe(0);
      // Still gone after the next polls (the list comes from the broker, not only from the click).
      await page.waitForTimeout(2500);
      expect(await row.count()).toBe(0);
      expect(await page.locator('[data-testid="tile-clients"] .tile-value').textContent()).toBe('0');
      expect(tab.errors()).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
