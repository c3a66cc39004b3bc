/**
 * The contenders of the broker benchmark, each in a process of its own so it has a core to
 * itself: mosquitto with a temporary config (loopback listener on a free port, anonymous, no
 * persistence, max_inflight_messages 1000, max_queued_messages 100000 — issue 3), our broker
 * (child.mjs, forked, from this checkout's dist/ or another checkout's for --baseline), and the
 * node floor of the connection storm (floor-child.mjs). Each can say how it died and be started
 * again; the load itself comes from the bench engine (dist/core/bench).
 */
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssOf } from '../../dist/core/bench/procstat.js';

export const HOST = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function canConnect(port) {
  return new Promise((resolve) => {
    const s = netConnect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Keeps the last lines a process wrote to stderr, for the crash report. */
function tail(stream, lines) {
  stream?.setEncoding('utf8');
  stream?.on('data', (text) => {
    process.stderr.write(text);
    for (const l of text.split('\n')) if (l !== '') lines.push(l);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  });
}

class BrokerProcess {
  constructor(name) {
    this.name = name;
    this.child = null;
    this.port = 0;
    this.exit = null;
    this.stderr = [];
  }

  get pid() {
    return this.child?.pid;
  }

  /** Null while running; else how it ended, with its last stderr lines. */
  deathNote() {
    if (this.exit === null) return null;
    const how = this.exit.signal !== null ? `killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
    return `${this.name} ${how}${this.stderr.length > 0 ? `; stderr:\n  ${this.stderr.slice(-15).join('\n  ')}` : ''}`;
  }

  watch(child) {
    this.child = child;
    this.exit = null;
    // e.g. an IPC send racing the child's death: the exit handler reports it.
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exit = { code, signal };
    });
  }

  /** What the broker says about itself (ours: drop counters, clients held), plus its RSS. */
  async stats() {
    return { rss: this.pid === undefined ? undefined : rssOf(this.pid) };
  }

  async stop() {
    const child = this.child;
    if (child === null || this.exit !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }

  cleanup() {}
}

/** A Node process of ours (`file` beside this one) that reports its port over IPC once listening. */
class ForkedBroker extends BrokerProcess {
  constructor(name, file, args, nodeArgs) {
    super(name);
    this.file = file;
    this.args = args;
    this.nodeArgs = nodeArgs;
  }

  async start() {
    const child = fork(join(here, this.file), this.args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv: this.nodeArgs });
    this.stderr = [];
    tail(child.stderr, this.stderr);
    this.watch(child);
    this.port = await new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m.port));
      child.once('exit', () => reject(new Error(this.deathNote() ?? `${this.name} exited`)));
    });
  }
}

class MqtBroker extends ForkedBroker {
  /** `dist`: the dist/ folder whose broker runs; `options`: extra createBroker() options. */
  constructor(name, dist, options, nodeArgs) {
    super(name, 'child.mjs', [dist, ...(options === undefined ? [] : [JSON.stringify(options)])], nodeArgs);
  }

  /** Our broker's own counters plus RSS. */
  async stats() {
    const child = this.child;
    const rss = this.pid === undefined ? undefined : rssOf(this.pid);
    if (child === null || this.exit !== null || !child.connected) return { rss };
    const reply = await new Promise((resolve) => {
      const t = setTimeout(() => resolve({}), 2000);
      const onMessage = (m) => {
        if (m?.type !== 'stats') return;
        clearTimeout(t);
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.send({ type: 'stats' }, (err) => {
        if (err) resolve({});
      });
    });
    return { ...reply, rss };
  }
}

class Mosquitto extends BrokerProcess {
  constructor(binary, nodelay) {
    super('mosquitto');
    this.binary = binary;
    /** set_tcp_nodelay true: not in issue 3's config (mosquitto's default is false), for comparison. */
    this.nodelay = nodelay;
    this.dir = mkdtempSync(join(tmpdir(), 'mqt-bench-mosquitto-'));
  }

  async start() {
    // mosquitto has no "port 0": pick a free port, and try another if it was taken meanwhile.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const conf = join(this.dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener ${port} ${HOST}`,
          'allow_anonymous true',
          'persistence false',
          'max_inflight_messages 1000',
          'max_queued_messages 100000',
          ...(this.nodelay ? ['set_tcp_nodelay true'] : []),
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          '',
        ].join('\n'),
      );
      const child = spawn(this.binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.stderr = [];
      tail(child.stderr, this.stderr);
      this.watch(child);
      for (let waited = 0; waited < 5000 && this.exit === null; waited += 50) {
        if (await canConnect(port)) {
          this.port = port;
          return;
        }
        await sleep(50);
      }
      await this.stop();
    }
    throw new Error(`mosquitto did not start: ${this.deathNote() ?? 'no listener after 5 s'}`);
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Our broker as built in `dist` (this checkout's, or --baseline's), named `name` in the report;
 * `options` are extra createBroker() options (JSON-able), `nodeArgs` flags for its node.
 */
export async function startMqt(name, dist, options, nodeArgs = []) {
  const b = new MqtBroker(name, dist, options, nodeArgs);
  await b.start();
  return b;
}

/** The connection storm's floor: a bare node:net server answering CONNECT with CONNACK (floor-child.mjs). */
export async function startNodeFloor() {
  const b = new ForkedBroker('node floor', 'floor-child.mjs', [], []);
  await b.start();
  return b;
}

/** mosquitto, or null when it is not installed at `binary`. */
export async function startMosquitto(binary = '/usr/sbin/mosquitto', nodelay = false) {
  if (!existsSync(binary)) return null;
  const b = new Mosquitto(binary, nodelay);
  await b.start();
  return b;
}

/** The version line of a mosquitto binary, e.g. "2.0.11". */
export function mosquittoVersion(binary) {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-h'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (t) => (out += t));
    child.on('close', () => resolve(/mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown'));
    child.on('error', () => resolve('unknown'));
  });
}
