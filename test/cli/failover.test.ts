/**
 * Clients that survive a broker going away: several brokers for -L (and -h), tried in order and
 * moved along when one goes, `mqt pub -l` keeping what it reads while it reconnects (bounded by
 * --max-buffered), and `mqt sub -c` resuming its session on a broker that restarts with its store.
 *
 * The streams are checked as "every line, in order": at QoS 1 a message in flight when a broker
 * went away is sent again to the next one, so it may arrive twice (once through each broker).
 * What is asserted: each subscriber's own sequence only goes up (no line after a later line),
 * and the sequence of the first broker followed by the second's, each number kept where it
 * first appears, is exactly 1..N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { cleanUpMqt, mqttClient, startMqt, stop, type RunningBroker } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

const mosquittoGate = needPeers('mosquitto');

beforeAll(() => assertFreshBuild(['core/client/connect.ts', 'core/client/failover.ts', 'core/client/failover-buffer.ts', 'commands/pub-run.ts', 'commands/sub-run.ts', 'commands/options/connection.ts']));

const dir = mkdtempSync(join(tmpdir(), 'mqt-failover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  cleanUpMqt();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const url = (port: number): string => `mqtt://127.0.0.1:${port}`;

/** `mqt broker` in a child process, so it can be killed as a broker that dies. */
async function mqtBroker(port: number, extra: string[] = []): Promise<RunningBroker> {
  const b = startMqt(['broker', '-p', String(port), ...extra]);
  await b.waitForStdout(/listening on/, 10_000);
  return b;
}

async function ourBroker(options: Parameters<typeof startBroker>[0] = {}): Promise<StartedBroker> {
  const b = await startBroker(options);
  cleanups.push(() => b.stop());
  return b;
}

async function mosquitto(config: string[] = []): Promise<RunningMosquitto> {
  const m = await startMosquitto({ config });
  cleanups.push(() => m.stop());
  return m;
}

/** A subscriber (MQTT.js, QoS 1) on `topic`: the numbers it receives, in arrival order. */
async function collector(port: number, topic: string): Promise<{ got: number[]; client: MqttClient }> {
  const { client } = await mqttClient(url(port), { protocolVersion: 5 });
  const got: number[] = [];
  client.on('message', (_t, payload) => got.push(Number.parseInt(payload.toString().slice(0, 6), 10)));
  await client.subscribeAsync(topic, { qos: 1 });
  return { got, client };
}

/** The checks of the file comment: each side in order, the union exactly 1..n. */
function expectEveryLineInOrder(first: number[], second: number[], n: number): void {
  const rising = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
  expect(rising(first), `first broker's subscriber: ${first.join(' ')}`).toBe(true);
  expect(rising(second), `second broker's subscriber: ${second.join(' ')}`).toBe(true);
  const seen = new Set<number>();
  const union = [...first, ...second].filter((x) => !seen.has(x) && seen.add(x) !== undefined);
  expect(union).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

/** Writes `n` numbered lines to the child's stdin, one every `everyMs`, then closes it. */
function feedLines(p: RunningBroker, n: number, everyMs: number): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const timer = setInterval(() => {
      i++;
      p.child.stdin.write(`${String(i).padStart(6, '0')}\n`);
      if (i === n) {
        clearInterval(timer);
        p.child.stdin.end();
        resolve();
      }
    }, everyMs);
    cleanups.push(() => clearInterval(timer));
  });
}

/** A TCP forwarder on a fixed port that can be closed (refusing, every connection cut) and opened again. */
async function proxyTo(target: number): Promise<{ port: number; open(): Promise<void>; close(): Promise<void> }> {
  const port = await freePort();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    const s = server;
    server = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = netConnect({ port: target, host: '127.0.0.1' });
        for (const x of [client, upstream]) {
          sockets.add(x);
          x.on('error', () => undefined);
          x.on('close', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve();
      });
    });
  cleanups.push(close);
  return { port, open, close };
}

/** Lines of pub's stderr that are not -d packet traces. */
const notes = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !/^Client \S+ (sending|received) /.test(l));

describe('pub -l -q 1 over two brokers, the first stopped mid-stream: every line arrives, in order', () => {
  const N = 80;

  async function streamAcross(args: (a: number, b: number) => string[], first: { port: number; kill(): Promise<unknown> }, secondPort: number): Promise<string> {
    const a = await collector(first.port, 'fo/t');
    const b = await collector(secondPort, 'fo/t');
    const pub = startMqt(['pub', '-l', '-q', '1', '-t', 'fo/t', ...args(first.port, secondPort)]);
    const fed = feedLines(pub, N, 15);
    // Mid-stream: once the first broker's subscriber has a third of the lines.
    await expect.poll(() => a.got.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(N / 3);
    await first.kill();
    await fed;
    const exit = await pub.exited;
    expect(exit, pub.stderr()).toEqual({ code: 0, signal: null });
    await expect.poll(() => new Set([...a.got, ...b.got]).size, { timeout: 5000 }).toBe(N);
    expectEveryLineInOrder(a.got, b.got, N);
    expect(b.got.length, 'the second broker carried the rest').toBeGreaterThan(0);
    return pub.stderr();
  }

  it('-L a,b: mqt broker killed (SIGKILL), then mosquitto', { skip: mosquittoGate.skip, timeout: 25_000 }, async () => {
    mosquittoGate.check();
    const aPort = await freePort();
    const a = await mqtBroker(aPort);
    const m = await mosquitto();
    const stderr = await streamAcross((x, y) => ['-L', `${url(x)},${url(y)}`], { port: aPort, kill: () => stop(a, 'SIGKILL') }, m.port);
    const lines = notes(stderr);
    expect(lines[0]).toMatch(new RegExp(`^mqt pub: lost ${url(aPort)} \\((connection closed|connection reset)\\); trying ${url(m.port)}$`));
    expect(lines.slice(1)).toEqual([`mqt pub: connected to ${url(m.port)}`]);
  });

  it('-L a -L b (repeated): mosquitto stopped, then mqt broker', { skip: mosquittoGate.skip, timeout: 25_000 }, async () => {
    mosquittoGate.check();
    const m = await startMosquitto();
    cleanups.push(() => m.stop());
    const b = await ourBroker();
    const stderr = await streamAcross((x, y) => ['-L', url(x), '-L', url(y)], { port: m.port, kill: () => m.stop() }, b.port);
    const lines = notes(stderr);
    expect(lines[0]).toMatch(new RegExp(`^mqt pub: lost ${url(m.port)} \\(.+\\); trying ${url(b.port)}$`));
    expect(lines.at(-1)).toBe(`mqt pub: connected to ${url(b.port)}`);
  });
});

describe('pub -l -q 1 as fast as it goes, the first broker cut off mid-stream', () => {
  it('-q 1: nothing lost, in order, from our broker (cut off) into mosquitto', { skip: mosquittoGate.skip, timeout: 25_000 }, async () => {
    mosquittoGate.check();
    // The first broker stays up behind a proxy that is cut: its subscriber loses nothing, so
    // anything missing would be pub's.
    const a = await ourBroker();
    const cut = await proxyTo(a.port);
    await cut.open();
    // mosquitto drops past 1,000 messages queued for a subscriber that lags (this worker, under
    // the burst): that would be the subscriber's loss, not pub's. 20 in flight stays the default.
    const m = await mosquitto(['max_queued_messages 0']);
    const onA = await collector(a.port, 'fo/fast');
    const onB = await collector(m.port, 'fo/fast');
    const N = 20_000;
    const pub = startMqt(['pub', '-l', '-q', '1', '-t', 'fo/fast', '-L', `${url(cut.port)},${url(m.port)}`]);
    pub.child.stdin.on('error', () => undefined);
    for (let i = 1; i <= N / 2; i++) pub.child.stdin.write(`${String(i).padStart(6, '0')}\n`);
    await expect.poll(() => onA.got.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1000);
    await cut.close();
    for (let i = N / 2 + 1; i <= N; i++) pub.child.stdin.write(`${String(i).padStart(6, '0')}\n`);
    pub.child.stdin.end();
    const exit = await pub.exited;
    expect(exit, pub.stderr()).toEqual({ code: 0, signal: null });
    await expect.poll(() => new Set([...onA.got, ...onB.got]).size, { timeout: 10_000 }).toBe(N);
    expectEveryLineInOrder(onA.got, onB.got, N);
    const lines = notes(pub.stderr());
    expect(lines[0]).toMatch(new RegExp(`^mqt pub: lost ${url(cut.port)} \\((connection closed|connection reset)\\); trying ${url(m.port)}$`));
    expect(lines.slice(1)).toEqual([`mqt pub: connected to ${url(m.port)}`]);
  });
});

describe('pub -l after a move keeps to the new broker\'s Receive Maximum', () => {
  it('-q 2 into a broker that takes 5 unreleased QoS 2 messages (and disconnects with 0x93 past that): every line there, one move', { timeout: 25_000 }, async () => {
    const a = await ourBroker();
    const cut = await proxyTo(a.port);
    await cut.open();
    const b = await ourBroker({ receiveMaximum: 5 });
    const onA = await collector(a.port, 'fo/rm');
    const onB = await collector(b.port, 'fo/rm');
    const N = 3000;
    const pub = startMqt(['pub', '-l', '-q', '2', '-t', 'fo/rm', '-L', `${url(cut.port)},${url(b.port)}`]);
    pub.child.stdin.on('error', () => undefined);
    for (let i = 1; i <= N / 2; i++) pub.child.stdin.write(`${String(i).padStart(6, '0')}\n`);
    await expect.poll(() => onA.got.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(300);
    await cut.close();
    for (let i = N / 2 + 1; i <= N; i++) pub.child.stdin.write(`${String(i).padStart(6, '0')}\n`);
    pub.child.stdin.end();
    const exit = await pub.exited;
        // QoS 2 messages the first broker had received (PUBREC) are released on the second with
    // PUBREL alone, which it does not know: each is reported (0x92, the exit code), as pub cannot
    // tell whether the first broker delivered it. Ours did (it delivers on receipt), so every
    // line is still there; mosquitto delivers on release, and would not have.
    expect([0, 0x92], pub.stderr()).toContain(exit.code);
    await expect.poll(() => new Set([...onA.got, ...onB.got]).size, { timeout: 10_000 }).toBe(N);
    expectEveryLineInOrder(onA.got, onB.got, N);
    // One move and no more: past its Receive Maximum the second broker disconnects (0x93), a second "lost" line.
    const lines = notes(pub.stderr());
    expect(lines.filter((l) => l.startsWith('mqt pub: lost ')), lines.join('\n')).toHaveLength(1);
    expect(lines).toContain(`mqt pub: connected to ${url(b.port)}`);
    expect(pub.stderr()).not.toContain('0x93');
  });
});

describe('pub -l --max-buffered: no broker for a while', () => {
  it('keeps 5 lines, stops reading stdin (nothing dropped), and sends everything in order once a broker is up', { timeout: 25_000 }, async () => {
    const a = await ourBroker();
    const b = await ourBroker();
    // The second address answers only once the proxy opens: a broker that comes up later.
    const later = await proxyTo(b.port);
    const onA = await collector(a.port, 'fo/buf');
    const onB = await collector(b.port, 'fo/buf');
    const pub = startMqt(['pub', '-l', '-q', '1', '-d', '--max-buffered', '5', '-t', 'fo/buf', '-L', `${url(a.port)},${url(later.port)}`]);
    const line = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(2000)}\n`;
    for (let i = 1; i <= 3; i++) pub.child.stdin.write(line(i));
    await expect.poll(() => onA.got.length, { timeout: 10_000 }).toBe(3);
    await a.stop();
    await expect.poll(() => notes(pub.stderr()).join('\n'), { timeout: 10_000 }).toMatch(/lost mqtt:\/\/127\.0\.0\.1:\d+ \(.+\); trying/);

    // 1,000 lines of 2 KB: far more than the stdin socket, the stream's buffer and 5 kept lines hold.
    const N = 1000;
    for (let i = 4; i <= N; i++) pub.child.stdin.write(line(i));
    await expect.poll(() => pub.stderr(), { timeout: 10_000 }).toContain('mqt pub: 5 lines kept while reconnecting (--max-buffered 5): standard input is not read until they are sent');
    // Held, not read: what the child has not taken stays with us, and does not shrink.
    const pending = pub.child.stdin.writableLength;
    expect(pending).toBeGreaterThan(1_000_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(pub.child.stdin.writableLength).toBe(pending);
    expect(onB.got).toEqual([]);

    await later.open();
    pub.child.stdin.end();
    const exit = await pub.exited;
    expect(exit, notes(pub.stderr()).join('\n')).toEqual({ code: 0, signal: null });
    await expect.poll(() => new Set([...onA.got, ...onB.got]).size, { timeout: 5000 }).toBe(N);
    expectEveryLineInOrder(onA.got, onB.got, N);
    expect(notes(pub.stderr()).at(-1)).toBe(`mqt pub: connected to ${url(later.port)}`);
  });
});

describe('sub, retain-clear and the first connect', () => {
  it('sub -h a -h b (repeated, host:port): moves to b when a goes away, resubscribes and keeps printing', { timeout: 20_000 }, async () => {
    const a = await ourBroker();
    const b = await ourBroker();
    const sub = startMqt(['sub', '-t', 'fo/s', '-v', '-h', `127.0.0.1:${a.port}`, '-h', `127.0.0.1:${b.port}`]);
    const onA = await mqttClient(url(a.port));
    // Until the subscription is in place on a, a message published there would pass unseen.
    await expect.poll(async () => {
      await onA.client.publishAsync('fo/s', 'one', { qos: 1 });
      return sub.stdout();
    }, { timeout: 10_000, interval: 200 }).toContain('fo/s one\n');
    await a.stop();
    await expect.poll(() => sub.stderr(), { timeout: 10_000 }).toContain(`mqt sub: connected to ${url(b.port)}`);
    const onB = await mqttClient(url(b.port));
    await expect.poll(async () => {
      await onB.client.publishAsync('fo/s', 'two', { qos: 1 });
      return sub.stdout();
    }, { timeout: 10_000, interval: 200 }).toContain('fo/s two\n');
    expect(sub.stderr().split('\n')[0]).toMatch(new RegExp(`^mqt sub: lost ${url(a.port)} \\(.+\\); trying ${url(b.port)}$`));
  });

  it('retain-clear tries the next broker when the first is down, and clears there', { timeout: 20_000 }, async () => {
    const b = await ourBroker();
    const down = await freePort();
    const { client } = await mqttClient(url(b.port));
    await client.publishAsync('fo/r/1', 'kept', { qos: 1, retain: true });
    const r = await spawnMqt(['retain-clear', '-y', 'fo/r/#', '-L', `${url(down)},${url(b.port)}`], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`mqt retain-clear: ${url(down)}: connection refused; trying ${url(b.port)}\n`);
    const check = await spawnMqt(['retain-clear', '--dry-run', 'fo/r/#', '-L', url(b.port), '--json'], { timeoutMs: 15_000 });
    expect(JSON.parse(check.stdout).found).toBe(0);
  });

  it('lwt-test -L a,b: tests the first broker that accepts, all of the test on it', { timeout: 20_000 }, async () => {
    const b = await ourBroker();
    const down = await freePort();
    const r = await spawnMqt(['lwt-test', '-L', `${url(down)},${url(b.port)}`], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`mqt lwt-test: ${url(down)}: connection refused; trying ${url(b.port)}\n`);
    expect(r.stdout).toContain(`Testing wills on 127.0.0.1:${b.port} `);
  });

  it('every broker refusing the first connect: exit 1, one line naming each and why', async () => {
    const [x, y] = [await freePort(), await freePort()];
    const r = await spawnMqt(['pub', '-t', 'fo/none', '-m', 'x', '-h', `127.0.0.1:${x},127.0.0.1:${y}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `mqt pub: ${url(x)}: connection refused; trying ${url(y)}\n` +
        `mqt pub: none of the 2 brokers accepted the connection: (1) connection refused by 127.0.0.1:${x}: is a broker running there and listening on port ${x}? ` +
        `(2) connection refused by 127.0.0.1:${y}: is a broker running there and listening on port ${y}?\n`,
    );
  });

  it('-L with its own user in a later URL, and -h host:port with -p, are usage errors in one line', async () => {
    const r1 = await spawnMqt(['pub', '-t', 'a', '-m', 'x', '-L', 'mqtt://127.0.0.1:1,mqtt://me@127.0.0.1:2']);
    expect(r1.code).toBe(1);
    expect(r1.stderr.split('\n')[0]).toBe("mqt pub: -L: 'mqtt://me@127.0.0.1:2' has its own user name or password; every broker of the list gets the same ones: give them once (in the first URL, or with -u/-P)");
    const r2 = await spawnMqt(['pub', '-t', 'a', '-m', 'x', '-h', '127.0.0.1:1', '-p', '2']);
    expect(r2.stderr.split('\n')[0]).toBe("mqt pub: -h '127.0.0.1:1' names its port and so does -p: give the port one way");
    const r3 = await spawnMqt(['pub', '-t', 'a', '-l', '--max-buffered', '0']);
    expect(r3.code).toBe(1);
    expect(r3.stderr.split('\n')[0]).toMatch(/^mqt pub: .*--max-buffered.* 1 to 10000000.*'0'/);
  });
});

describe('sub -c resumes its session when the same broker restarts with its store', () => {
  it('a QoS 1 message published while sub was away (broker restarted meanwhile) is printed after the reconnect', { timeout: 25_000 }, async () => {
    const port = await freePort();
    const store = join(dir, 'resume');
    let broker = await mqtBroker(port, ['--persistence', store]);
    // sub reaches the broker through a proxy, so it stays away until the test lets it back.
    const path = await proxyTo(port);
    await path.open();
    const sub = startMqt(['sub', '-c', '-i', 'fo-resume', '-q', '1', '-t', 'fo/c', '-L', url(path.port)]);
    const { client: p1 } = await mqttClient(url(port));
    await expect.poll(async () => {
      await p1.publishAsync('fo/c', 'before', { qos: 1 });
      return sub.stdout();
    }, { timeout: 10_000, interval: 200 }).toContain('before\n');
    p1.end(true);

    await path.close();
    await expect.poll(() => sub.stderr(), { timeout: 10_000 }).toContain('connection lost; reconnecting');
    await stop(broker);
    broker = await mqtBroker(port, ['--persistence', store]);
    const { client: p2 } = await mqttClient(url(port));
    await p2.publishAsync('fo/c', 'while away', { qos: 1 });
    await path.open();
    await expect.poll(() => sub.stdout(), { timeout: 10_000 }).toContain('while away\n');
    expect(sub.stderr()).toContain('mqt sub: reconnected');
    await stop(broker);
  });
});
