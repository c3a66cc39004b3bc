/**
 * `mqt broker --persistence DIR` on a filesystem that fills up (a 4 MB tmpfs the test mounts):
 * QoS 1 publishes are refused with 0x97 (MQTT 5) and the failure is logged once, QoS 0 goes on,
 * and when space returns the broker acknowledges again by itself; what it took meanwhile is
 * stored (it is there after a kill -9 and a restart). Mounting needs root: off CI the test is
 * skipped without it (one line says so); in CI (root) it must run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, startMqt, trackClient, type RunningBroker } from '../helpers/mqt-process.js';
import { isCI } from '../helpers/peers.js';

const root = process.getuid?.() === 0;
if (!root && !isCI()) process.stderr.write('broker-disk-full: skipped: mounting a small tmpfs to fill needs root (run the tests as root, as CI does)\n');

let mnt = '';
beforeAll(() => {
  if (!root) return;
  mnt = mkdtempSync(join(tmpdir(), 'mqt-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
});
afterAll(() => {
  cleanUpMqt();
  if (mnt === '') return;
  try {
    execFileSync('umount', ['-l', mnt]);
  } catch {
    // not mounted
  }
  rmSync(mnt, { recursive: true, force: true });
});

/** Fills the filesystem with files until the kernel says no. */
function fill(dir: string): void {
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), Buffer.alloc(i < 64 ? 64 * 1024 : 512));
    } catch {
      if (i >= 64) return;
    }
  }
}

function unfill(dir: string): void {
  for (const f of readdirSync(dir)) if (f.startsWith('filler-')) rmSync(join(dir, f));
}

async function v5(port: number, clientId: string, clean = true): Promise<MqttClient> {
  return trackClient(await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 5, clean, properties: clean ? {} : { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 }));
}

/** The PUBACK reason code of a QoS 1 publish (MQTT.js rejects a failure code with it). */
async function pubackCode(client: MqttClient, topic: string, payload: Buffer): Promise<number> {
  try {
    const packet = await client.publishAsync(topic, payload, { qos: 1 });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe.skipIf(!root && !isCI())('mqt broker --persistence on a full disk', () => {
  it('refuses QoS 1 with 0x97 and says so once, serves QoS 0, resumes by itself when space returns, and keeps what it took', { timeout: 60_000 }, async () => {
    expect(root, 'CI runs as root: this test mounts a tmpfs').toBe(true);
    const store = join(mnt, 'store');
    const port = await freePort();
    let b: RunningBroker = startMqt(['broker', '-p', String(port), '--persistence', store]);
    await b.waitForStdout(/listening on/, 15_000);
    // An offline persistent subscriber: every QoS 1 message must be stored for it.
    const keeper = await v5(port, 'keeper', false);
    await keeper.subscribeAsync('big/#', { qos: 1 });
    await keeper.endAsync();
    const live = await v5(port, 'live');
    const heard: string[] = [];
    live.on('message', (topic, payload) => heard.push(`${topic} ${payload.toString()}`));
    await live.subscribeAsync('live/#', { qos: 0 });
    const pub = await v5(port, 'pub');
    const big = Buffer.alloc(300 * 1024, 7);
    expect(await pubackCode(pub, 'big/before', big)).toBe(0);

    fill(mnt);
    // The publish that meets the full disk: its PUBACK waited for the commit that failed and never
    // comes (the client is disconnected to send it again); from then on, 0x97.
    const meets = await v5(port, 'meets');
    void meets.publishAsync('big/meets', big, { qos: 1 }).catch(() => undefined);
    await new Promise<void>((resolve) => meets.once('close', () => resolve()));
    const refused = await pubackCode(pub, 'big/refused', big);
    expect(refused).toBe(0x97);
    await pub.publishAsync('live/x', 'qos 0 goes on', { qos: 0 });
    await expect.poll(() => heard, { timeout: 3000 }).toContain('live/x qos 0 goes on');
    expect(await pubackCode(pub, 'big/refused2', big)).toBe(0x97);
    expect(b.stderr().match(/the store cannot write/g)).toHaveLength(1);
    expect(b.stderr()).toMatch(/the store cannot write \(No space left on device/);

    unfill(mnt);
    await expect.poll(() => b.stderr(), { timeout: 10_000, interval: 200 }).toMatch(/the store can write again/);
    expect(await pubackCode(pub, 'big/after', Buffer.from('after'))).toBe(0);

    b.child.kill('SIGKILL');
    await b.exited;
    b = startMqt(['broker', '-p', String(port), '--persistence', store]);
    await b.waitForStdout(/listening on/, 15_000);
    const back = await v5(port, 'keeper', false);
    const got: string[] = [];
    back.on('message', (topic) => got.push(topic));
    await expect.poll(() => got.length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 300));
    // Acknowledged before and after the disk was full, and the one that met it (in memory, stored by the resync); never the refused ones.
    expect(got.sort()).toEqual(['big/after', 'big/before', 'big/meets']);
    await back.endAsync();
    b.child.kill('SIGTERM');
    await b.exited;
  });
});
