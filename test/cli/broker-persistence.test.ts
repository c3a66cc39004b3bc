/**
 * `mqt broker --persistence DIR` and mosquitto.conf's `persistence true` + `persistence_location`
 * as an operator meets them: what was restored is printed before the listener, a second broker
 * on the directory is refused, and a store it cannot read stops it with one line saying what to do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { cleanUpMqt, startMqt, stop, trackClient } from '../helpers/mqt-process.js';
import { spawnMqt } from '../helpers/spawn-mqt.js';

const dir = mkdtempSync(join(tmpdir(), 'mqt-broker-persistence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => cleanUpMqt());

async function mqttClient(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return trackClient(await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options }));
}

describe('mqt broker --persistence', () => {
  it('persistence true + persistence_location in mosquitto.conf: a retained message and a queued one are there after a restart, and the restore is reported', async () => {
    const store = join(dir, 'from-conf');
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${store}\n`);
    let b = startMqt(['broker', '-c', conf]);
    await b.waitForStdout(/listening on/);
    expect(b.stdout()).toContain(`mqt broker restored 0 sessions, 0 messages owed to them (0 messages stored) and 0 retained messages from ${store} in `);
    const sub = await mqttClient(port, { clientId: 'away', clean: false });
    await sub.subscribeAsync('q/#', { qos: 1 });
    await sub.endAsync();
    const pub = await mqttClient(port);
    await pub.publishAsync('q/1', 'queued', { qos: 1 });
    await pub.publishAsync('r/1', 'retained', { qos: 1, retain: true });
    await pub.endAsync();
    await stop(b);

    b = startMqt(['broker', '-c', conf]);
    await b.waitForStdout(/listening on/);
    expect(b.stdout()).toMatch(new RegExp(`mqt broker restored 1 session, 1 message owed to them \\(1 message stored\\) and 1 retained message from ${store} in \\d+ ms\\n`));
    // Listening before CONNACK: the queued message comes right behind it.
    const back = trackClient(connect(`mqtt://127.0.0.1:${port}`, { clientId: 'away', clean: false, reconnectPeriod: 0 }));
    const got: string[] = [];
    back.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await new Promise((resolve) => back.once('connect', resolve));
    await back.subscribeAsync('r/#', { qos: 1 });
    await expect.poll(() => got.sort()).toEqual(['q/1 queued', 'r/1 retained']);
    await back.endAsync();
    await stop(b);
  });

  it('a second broker on the same directory is refused with one line', async () => {
    const store = join(dir, 'locked');
    const b = startMqt(['broker', '-p', String(await freePort()), '--persistence', store]);
    await b.waitForStdout(/listening on/);
    const second = await spawnMqt(['broker', '-p', String(await freePort()), '--persistence', store], { timeoutMs: 15_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toBe(`mqt broker: the store directory ${store} is in use by another broker (pid ${b.child.pid}); stop it, or give this broker another directory\n`);
    await stop(b);
  });

  it('a store of a newer format, or damaged, stops it at start with one line that says what to do', async () => {
    const { open } = await import('lmdb');
    const newer = join(dir, 'newer');
    const db = open({ path: newer, encoding: 'binary', keyEncoding: 'binary' });
    await db.put(Buffer.from('V'), Buffer.from([0, 0, 0, 7]));
    await db.close();
    const r = await spawnMqt(['broker', '-p', String(await freePort()), '--persistence', newer], { timeoutMs: 15_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`mqt broker: the store in ${newer} was written by a newer mqt (format 7, this one reads 1); upgrade mqt, or move the directory away to start empty\n`);
    expect(r.stdout).not.toContain('listening');

    const damaged = join(dir, 'damaged');
    const db2 = open({ path: damaged, encoding: 'binary', keyEncoding: 'binary' });
    await db2.put(Buffer.from('V'), Buffer.from([0, 0, 0, 1]));
    await db2.put(Buffer.from('s'), Buffer.from('{not json'));
    await db2.close();
    const r2 = await spawnMqt(['broker', '-p', String(await freePort()), '--persistence', damaged], { timeoutMs: 15_000 });
    expect(r2.code).not.toBe(0);
    expect(r2.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r2.stderr).toMatch(new RegExp(`^mqt broker: the store in ${damaged} is damaged \\(.*\\); move it away to start with an empty store\\n$`));
    expect(r2.stdout).not.toContain('listening');

    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const r3 = await spawnMqt(['broker', '-p', String(await freePort()), '--persistence', file], { timeoutMs: 15_000 });
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(new RegExp(`^mqt broker: cannot create the store directory ${file}: .*\\n$`));
  });
});
