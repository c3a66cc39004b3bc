/**
 * `mqt broker --sys-interval N` and mosquitto.conf's `sys_interval`: the $SYS tree is on by
 * default (10 s, as mosquitto, its first values at start), every N seconds when asked, and
 * off with 0; the flag wins over the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, mqttClient, startMqt } from '../helpers/mqt-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mqt-broker-sys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => cleanUpMqt());

async function start(args: string[]): Promise<{ url: string; stderr: () => string }> {
  const port = await freePort();
  const b = startMqt(['broker', ...args.map((a) => a.replace('PORT', String(port)))]);
  await b.waitForStdout(/listening on/);
  return { url: `mqtt://127.0.0.1:${port}`, stderr: b.stderr };
}

/** Every message on `filter` for `ms`, in order. */
async function listen(client: MqttClient, filter: string, ms: number): Promise<Array<{ topic: string; payload: string; retain: boolean }>> {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(filter);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return got;
}

describe('mqt broker --sys-interval', () => {
  it('--sys-interval 1 publishes the tree every second', async () => {
    const b = await start(['--port', 'PORT', '--sys-interval', '1']);
    const { client } = await mqttClient(b.url);
    const got = await listen(client, '$SYS/broker/+', 2600);
    const uptimes = got.filter((m) => m.topic === '$SYS/broker/uptime').map((m) => m.payload);
    // The retained one, then at least two more a second apart.
    expect(uptimes.length, JSON.stringify(got)).toBeGreaterThanOrEqual(3);
    for (const u of uptimes) expect(u).toMatch(/^\d+ seconds$/);
    expect(got.find((m) => m.topic === '$SYS/broker/version')).toMatchObject({ payload: expect.stringMatching(/^mqt version \d+\.\d+\.\d+/), retain: true });
    expect(b.stderr()).toBe('');
  }, 15_000);

  it('publishes by default (every 10 s, the first values at start), and sys_interval in the file says nothing on stderr', async () => {
    const conf = join(dir, 'on.conf');
    for (const args of [['--port', 'PORT'], ['-c', conf]]) {
      const port = await freePort();
      writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 30\n`);
      const b = startMqt(['broker', ...args.map((a) => a.replace('PORT', String(port)))]);
      await b.waitForStdout(/listening on/);
      const { client } = await mqttClient(`mqtt://127.0.0.1:${port}`);
      const got = await listen(client, '$SYS/broker/version', 400);
      expect(got, args.join(' ')).toEqual([{ topic: '$SYS/broker/version', payload: expect.stringMatching(/^mqt version /), retain: true }]);
      expect(b.stderr()).toBe('');
    }
  }, 15_000);

  it('--sys-interval 0 publishes nothing, even over sys_interval in the file; other topics flow', async () => {
    const port = await freePort();
    const conf = join(dir, 'off.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 1\n`);
    const b = startMqt(['broker', '-c', conf, '--sys-interval', '0']);
    await b.waitForStdout(/listening on/);
    const { client } = await mqttClient(`mqtt://127.0.0.1:${port}`);
    const sys = listen(client, '$SYS/#', 1800);
    await client.subscribeAsync('plain/t');
    await client.publishAsync('plain/t', 'p');
    const got = await sys;
    expect(got.map((m) => m.topic)).toEqual(['plain/t']);
  }, 15_000);
});
