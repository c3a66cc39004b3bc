/**
 * A real redis-server for the cluster tests: its own free port on 127.0.0.1, no files (no
 * RDB, no AOF, its own empty dir), stopped by the test. stop() and start() again on the same
 * port play "Redis went away and came back"; the data is gone with it, as after a restart of a
 * Redis that keeps nothing.
 *
 *   const gate = needPeers('redis');
 *   describe.skipIf(gate.skip)('…', () => { beforeEach(gate.check); … const redis = await startRedis(); … });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { peers, spawnPeer, type PeerProcess } from './peers.js';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  /** Stops the server (SIGKILL: nothing is saved anyway) and waits for it to be gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Runs one command through a plain socket (inline protocol) and returns the raw reply. */
  command(...args: string[]): Promise<string>;
}

const started = new Map<RedisServer, string>();

/** Starts redis-server on a free port; retries with another port when the bind fails. */
export async function startRedis(): Promise<RedisServer> {
  const binary = peers().redis;
  if (binary === undefined) throw new Error('redis-server not found; install the Debian package redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'mqt-redis-'));
  let port = 0;
  let proc: PeerProcess | undefined;

  const launch = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (port === 0 || attempt > 0) port = await freePort();
      const p = spawnPeer(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', '--loglevel', 'warning', '--daemonize', 'no']);
      try {
        await waitForPing(port, p);
        proc = p;
        return;
      } catch (err) {
        await p.kill();
        if (attempt >= 4) throw err;
      }
    }
  };

  const relaunchSamePort = async (): Promise<void> => {
    const p = spawnPeer(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', '--loglevel', 'warning', '--daemonize', 'no']);
    await waitForPing(port, p);
    proc = p;
  };

  await launch();
  const server: RedisServer = {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    async stop() {
      await proc?.kill('SIGKILL');
      proc = undefined;
    },
    async start() {
      if (proc === undefined) await relaunchSamePort();
    },
    command: (...args) => rawCommand(port, args),
  };
  started.set(server, dir);
  return server;
}

/** Stops every server startRedis started and removes its dir (for afterAll). */
export async function stopAllRedis(): Promise<void> {
  const all = [...started];
  started.clear();
  await Promise.all(all.map(([s]) => s.stop()));
  for (const [, dir] of all) rmSync(dir, { recursive: true, force: true });
}

async function waitForPing(port: number, p: PeerProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const reply = await rawCommand(port, ['PING']);
      if (reply.startsWith('+PONG')) return;
    } catch {
      // not listening yet
    }
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`redis-server exited: ${p.stderr()}${p.stdout()}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One command in RESP, one reply read whole (enough for PING, DBSIZE, KEYS, GET). */
function rawCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('redis: no reply within 2 s'));
    }, 2000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (complete(data)) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Whether `data` holds one whole RESP2 reply. */
function complete(data: string): boolean {
  return parse(data, 0) !== -1;
}

function parse(data: string, at: number): number {
  const end = data.indexOf('\r\n', at);
  if (end === -1) return -1;
  const kind = data[at];
  const n = Number(data.slice(at + 1, end));
  if (kind === '+' || kind === '-' || kind === ':') return end + 2;
  if (kind === '$') return n < 0 ? end + 2 : data.length >= end + 2 + n + 2 ? end + 2 + n + 2 : -1;
  if (kind === '*') {
    let i = end + 2;
    for (let k = 0; k < n; k++) {
      i = parse(data, i);
      if (i === -1) return -1;
    }
    return i;
  }
  return -1;
}
