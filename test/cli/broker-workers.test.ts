/**
 * `mqt broker --workers N`: N processes on one port, as nodes of one cluster. The first worker
 * speaks for all; connections spread over the workers and messages cross between them; a
 * worker killed is started again; SIGTERM stops every one.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/broker-client.js';
import { cleanUpMqt, startMqt, stop } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis-server.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

describe('mqt broker --workers: bad input', () => {
  beforeAll(() => assertFreshBuild());

  it.each([
    [['--workers', '0'], /^mqt broker: --workers must be a whole number from 1 to 64, or auto, got '0'$/m],
    [['--workers', 'many'], /--workers must be a whole number from 1 to 64, or auto, got 'many'/],
  ])('mqt broker %j: one line, exit 1', async (args, message) => {
    const r = await spawnMqt(['broker', '-p', '0', ...args], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('without --cluster and without redis-server: says what to install or give, exit 1', async () => {
    const r = await spawnMqt(['broker', '-p', '0', '--workers', '2'], { timeoutMs: 10_000, env: { MQT_REDIS_SERVER: '/nonexistent/redis-server' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('mqt broker: --workers shares state between the workers through Redis: install redis-server (Debian: apt-get install redis-server) or give --cluster redis://HOST:PORT');
  });

  it('a worker that cannot start (Redis unreachable): its one line, exit 1, nothing restarted', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const r = await spawnMqt(['broker', '-p', '0', '--workers', '2', '--cluster', `redis://127.0.0.1:${closed}`], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mqt broker: cannot reach Redis at redis://127\\.0\\.0\\.1:${closed}`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

const gate = needPeers('redis');

/** Polls an async condition every 20 ms for up to 10 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The process ids of `pid`'s children. */
function children(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

describe.skipIf(gate.skip)('mqt broker --workers 2 --cluster', () => {
  let redis: RedisServer;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    gate.check();
    assertFreshBuild();
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    cleanUpMqt();
  });
  afterAll(async () => {
    await stopAllRedis();
  });

  it('serves one port from two nodes: clients spread over both, messages cross, a killed worker comes back, SIGTERM stops all', async () => {
    const primary = startMqt(['broker', '-p', '0', '--cluster', redis.url, '--node-id', 'wk', '--workers', '2']);
    const port = Number((await primary.waitForStdout(/listening on mqtt:\/\/[^:]+:(\d+)/, 15_000))[1]);
    await until(() => children(primary.child.pid!).length === 2, 10_000, 'two workers');
    await eventually(async () => /wk-w0[\s\S]*wk-w1|wk-w1[\s\S]*wk-w0/.test(await redis.command('SMEMBERS', 'mqt:nodes')), 'both workers joined the cluster');
    // The workers accept from the shared socket themselves, and the kernel spreads connections
    // unevenly: ten at a time, in parallel, until each worker holds some (at most 100).
    const owned = async (node: string): Promise<number> => Number((await redis.command('SCARD', `mqt:owned:${node}`)).slice(1));
    while (clients.length < 100 && ((await owned('wk-w0')) === 0 || (await owned('wk-w1')) === 0)) {
      const n = clients.length;
      clients.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `spread-${n + k}`, reconnectPeriod: 0 })))));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await owned('wk-w0')).toBeGreaterThan(0);
    expect(await owned('wk-w1')).toBeGreaterThan(0);
    const total = clients.length;
    // Every client subscribes; one publishes: all get it, whichever worker each is on.
    const got = new Set<string>();
    await Promise.all(
      clients.map(async (c, i) => {
        c.on('message', () => got.add(`spread-${i}`));
        await c.subscribeAsync('wk/all', { qos: 1 });
      }),
    );
    // Each worker's interest reaches the other: written to Redis first, then read by the other node,
    // so the message is published again until every client has it (a bounded wait, not a sleep).
    await eventually(async () => (await redis.command('HEXISTS', 'mqt:int:wk-w0', 'wk/all')) === ':1\r\n' && (await redis.command('HEXISTS', 'mqt:int:wk-w1', 'wk/all')) === ':1\r\n', 'both workers announced the filter');
    const deadline = Date.now() + 5000;
    while (got.size < total && Date.now() < deadline) {
      await clients[0]!.publishAsync('wk/all', 'hi', { qos: 1 });
      await until(() => got.size === total, 500, 'every client got the message').catch(() => undefined);
    }
    expect(got.size).toBe(total);

    // kill -9 of one worker: the primary starts it again, and the port still serves.
    const [victim] = children(primary.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await until(() => /worker \d died \(signal SIGKILL\); starting it again/.test(primary.stderr()), 5000, 'the primary saw the worker die');
    await until(() => children(primary.child.pid!).length === 2 && !children(primary.child.pid!).includes(victim!), 10_000, 'a new worker');
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'late', reconnectPeriod: 0 });
    clients.push(late);

    await Promise.all(clients.splice(0).map((c) => c.endAsync()));
    // Worker 0 spoke for both: one listening line.
    expect(primary.stdout().match(/listening on/g)).toHaveLength(1);
    const exit = await stop(primary);
    expect(exit.code).toBe(0);
    expect(children(primary.child.pid!)).toEqual([]);
    expect(await redis.command('EXISTS', 'mqt:alive:wk-w0', 'mqt:alive:wk-w1')).toBe(':0\r\n');
  }, 40_000);

  it('without --cluster shares the workers\' state through a redis-server of its own: a message crosses between them, SIGTERM stops both and it', async () => {
    const primary = startMqt(['broker', '-p', '0', '--workers', '2']);
    const port = Number((await primary.waitForStdout(/listening on mqtt:\/\/[^:]+:(\d+)/, 15_000))[1]);
    // Two workers and the primary's own redis-server.
    await until(() => children(primary.child.pid!).length === 3, 10_000, 'two workers and a redis-server');
    const subs: MqttClient[] = [];
    for (let i = 0; i < 6; i++) subs.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `own-${i}`, reconnectPeriod: 0 }));
    clients.push(...subs);
    const got = new Set<number>();
    await Promise.all(subs.map(async (c, i) => {
      c.on('message', () => got.add(i));
      await c.subscribeAsync('own/all', { qos: 1 });
    }));
    for (let t = 0; t < 20 && got.size < 6; t++) {
      await subs[0]!.publishAsync('own/all', 'hi', { qos: 1 });
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(got.size).toBe(6);
    await Promise.all(clients.splice(0).map((c) => c.endAsync()));
    const exit = await stop(primary);
    expect(exit.code).toBe(0);
    expect(children(primary.child.pid!)).toEqual([]);
  }, 30_000);
});
