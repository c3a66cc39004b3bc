#!/usr/bin/env node
/**
 * npm run bench:memory [-- options]   — what a broker holds in memory, idle and with many idle clients.
 *
 * One server at a time, each in a process of its own on a free loopback port:
 *   mqt broker   the real CLI, `node bin/mqt.js broker --port N`, as a user runs it (after one
 *                earlier start, so V8's code cache is in place, as for a user's second start;
 *                HOME and XDG_CACHE_HOME point at a temporary folder)
 *   node floor   a bare node:net server that answers CONNECT and SUBSCRIBE and nothing else
 *                (scripts/bench-memory/node-server.mjs): what Node alone costs
 *   mosquitto    when /usr/sbin/mosquitto exists, with a temporary config (loopback listener,
 *                allow_anonymous true, persistence false)
 * For each it reads VmRSS (resident now) and VmHWM (the peak so far) from /proc/PID/status:
 *   idle    once start-up has settled (--settle ms after it accepts connections)
 *   held    with --connections clients connected (MQTT 3.1.1, clean session, keep-alive 60 s),
 *           each subscribed to a topic of its own and SUBACKed, then --settle ms of quiet
 *   after   once all of them have sent DISCONNECT and closed, and --settle ms more
 * and KB per connection = (held − idle) / connections. The clients come from another process
 * (scripts/bench-memory/load.mjs: raw sockets, our codec from dist/), at most --concurrency
 * of them connecting at a time. Then verdict lines for the targets of `mqt broker`: ≤ 48 MB
 * idle, ≤ 100 MB with 10,000 connections.
 *
 * 10,000 connections need 10,000 open files in the server and in the load process: each is
 * started through `bash -c 'ulimit -Sn N; exec …'`, which raises the soft limit up to the hard
 * one (Node cannot); when the hard limit is too low, this says so and stops.
 *
 * Options:
 *   --connections N    idle clients to hold (default 10000)
 *   --concurrency N    clients connecting at a time (default 100)
 *   --settle MS        quiet time before each sample (default 2000)
 *   --only a,b         only these servers: mqt, node, mosquitto
 *   --no-mosquitto     skip mosquitto
 *   --mosquitto PATH   mosquitto binary (default /usr/sbin/mosquitto)
 *   --mqt-node-args=ARGS  node flags for `mqt broker`, e.g. --mqt-node-args='--max-semi-space-size=1'
 *   --json             one JSON document on stdout instead of the table
 * Linux only (/proc). Progress goes to stderr.
 *
 * Where the bytes of one connection go (object by object, from heap snapshots of the library
 * broker): node scripts/bench-memory/per-connection.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canConnect, freePort } from './bench-broker/brokers.mjs';
import { table } from './bench-broker/report.mjs';

const HOST = '127.0.0.1';
const MQT = fileURLToPath(new URL('../bin/mqt.js', import.meta.url));
const NODE_SERVER = fileURLToPath(new URL('./bench-memory/node-server.mjs', import.meta.url));
const LOAD = fileURLToPath(new URL('./bench-memory/load.mjs', import.meta.url));
const TARGET_IDLE_MB = 48;
const TARGET_HELD_MB = 100;
const TARGET_CONNECTIONS = 10_000;
/** Files a process needs besides its sockets (libraries, pipes, the listener, epoll...). */
const SPARE_FILES = 256;
const START_TIMEOUT_MS = 10_000;
const PHASE_TIMEOUT_MS = 150_000;
const MB = 1024 * 1024;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: String(TARGET_CONNECTIONS) },
      concurrency: { type: 'string', default: '100' },
      settle: { type: 'string', default: '2000' },
      only: { type: 'string' },
      'no-mosquitto': { type: 'boolean', default: false },
      mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
      'mqt-node-args': { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail(`${err.message.split('\n')[0]} (try --help)`);
}
if (args.help) {
  process.stdout.write(
    'usage: npm run bench:memory [-- --connections N] [--concurrency N] [--settle MS] [--only mqt,node,mosquitto]\n' +
      '                            [--no-mosquitto] [--mosquitto PATH] [--mqt-node-args=ARGS] [--json]\n',
  );
  process.exit(0);
}
const connections = positive('connections');
const concurrency = positive('concurrency');
const settleMs = positive('settle');
const only = args.only === undefined ? undefined : new Set(args.only.split(',').map((s) => s.trim()));
for (const name of only ?? []) if (!['mqt', 'node', 'mosquitto'].includes(name)) fail(`--only takes mqt, node and mosquitto, got '${name}'`);
const mqtNodeArgs = args['mqt-node-args'].split(' ').filter((a) => a !== '');

function positive(name) {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive whole number, got '${args[name]}'`);
  return n;
}

function fail(message) {
  process.stderr.write(`bench:memory: ${message}\n`);
  process.exit(1);
}

const progress = (text) => process.stderr.write(`bench:memory: ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- open files --------------------------------------------------------------------------------

const filesNeeded = connections + SPARE_FILES;
const limits = spawnSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
if (limits.status !== 0) fail('cannot run bash to read the open-file limit (ulimit -n)');
const [softLimit, hardLimit] = limits.stdout.trim().split('\n').map((l) => (l === 'unlimited' ? Infinity : Number(l)));
if (hardLimit < filesNeeded) {
  fail(`${connections} connections need ${filesNeeded} open files per process but the hard limit (ulimit -Hn) is ${hardLimit}; raise it or use --connections ${Math.max(1, hardLimit - SPARE_FILES)}`);
}
const fileLimit = Math.max(softLimit, filesNeeded);

/** Starts argv through bash with the open-file limit raised; `exec` keeps the pid the server's own. */
function spawnWithFiles(argv, options) {
  return spawn('bash', ['-c', `ulimit -Sn ${fileLimit} && exec "$0" "$@"`, ...argv], options);
}

// --- processes ----------------------------------------------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

function track(child) {
  children.add(child);
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      child.exitStatus = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    }),
  );
  child.on('error', () => undefined);
  return child;
}

/** Stops a child with SIGTERM, then SIGKILL after 5 s. */
async function stop(child) {
  if (child.exitStatus !== undefined) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(t);
}

/** Keeps a child's last stderr lines (and passes them on), for the error message if it dies. */
function keepTail(child) {
  const lines = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text) => {
    process.stderr.write(text);
    lines.push(...text.split('\n').filter((l) => l !== ''));
    lines.splice(0, Math.max(0, lines.length - 10));
  });
  return lines;
}


/** VmRSS and VmHWM of a process in bytes. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

// --- servers ------------------------------------------------------------------------------------

const home = mkdtempSync(join(tmpdir(), 'mqt-bench-memory-'));
const mqtEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), NO_COLOR: '1' };

/** Each server: how to start it on a port. */
const servers = [
  { key: 'mqt', name: 'mqt broker', argv: (port) => [process.execPath, ...mqtNodeArgs, MQT, 'broker', '--port', String(port)], env: mqtEnv, warmUp: true },
  { key: 'node', name: 'node floor', argv: (port) => [process.execPath, NODE_SERVER, String(port)] },
];
if (!args['no-mosquitto'] && existsSync(args.mosquitto)) {
  servers.push({
    key: 'mosquitto',
    name: 'mosquitto',
    argv: (port) => {
      const conf = join(home, 'mosquitto.conf');
      writeFileSync(conf, [`listener ${port} ${HOST}`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'));
      return [args.mosquitto, '-c', conf];
    },
  });
}
const chosen = servers.filter((s) => only === undefined || only.has(s.key));
if (chosen.length === 0) fail('no server to measure (mosquitto not installed?)');

/** Starts a server on a free port and waits until it accepts connections. */
async function startServer(server) {
  const port = await freePort();
  const child = track(spawnWithFiles(server.argv(port), { env: server.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] }));
  const tail = keepTail(child);
  const started = Date.now();
  while (!(await canConnect(port))) {
    if (child.exitStatus !== undefined) throw new Error(`${server.name} ${child.exitStatus}: ${tail.join(' | ')}`);
    if (Date.now() - started > START_TIMEOUT_MS) throw new Error(`${server.name} did not accept connections within ${START_TIMEOUT_MS / 1000} s`);
    await sleep(50);
  }
  child.tail = tail;
  return { child, port };
}

/** The load process, with its own open-file limit; `request` sends a message and waits for its answer. */
function startLoad() {
  const child = track(spawnWithFiles([process.execPath, LOAD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const request = (message, answer) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the load process did not answer '${message.type}' within ${PHASE_TIMEOUT_MS / 1000} s`)), PHASE_TIMEOUT_MS);
      const onMessage = (m) => {
        if (m.type !== answer) return;
        clearTimeout(t);
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.exited.then(() => {
        clearTimeout(t);
        reject(new Error(`the load process ${child.exitStatus}`));
      });
      child.send(message);
    });
  return { child, request };
}

async function measure(server) {
  if (server.warmUp) {
    // The first start writes V8's code cache (bin/mqt.js), as a user's first start does.
    progress(`${server.name}: first start (writes the code cache)`);
    const { child } = await startServer(server);
    await stop(child);
  }
  progress(`${server.name}: starting`);
  const { child, port } = await startServer(server);
  const load = startLoad();
  try {
    await sleep(settleMs);
    const idle = memoryOf(child.pid);
    progress(`${server.name}: idle ${(idle.rss / MB).toFixed(1)} MB; opening ${connections} connections`);
    const opened = await load.request({ type: 'open', port, count: connections, concurrency }, 'opened');
    if (opened.failed > 0) throw new Error(`${server.name}: ${opened.failed} of ${connections} clients failed: ${opened.error}`);
    await sleep(settleMs);
    if (child.exitStatus !== undefined) throw new Error(`${server.name} ${child.exitStatus}: ${child.tail.join(' | ')}`);
    const held = memoryOf(child.pid);
    progress(`${server.name}: ${(held.rss / MB).toFixed(1)} MB with ${connections} connections (opened in ${(opened.ms / 1000).toFixed(1)} s); closing them`);
    const closed = await load.request({ type: 'close' }, 'closed');
    await sleep(settleMs);
    const after = memoryOf(child.pid);
    return { name: server.name, idle, held, after, perConnectionBytes: (held.rss - idle.rss) / connections, openMs: opened.ms, closeMs: closed.ms };
  } finally {
    await stop(load.child);
    await stop(child);
  }
}

function mosquittoVersion() {
  const r = spawnSync(args.mosquitto, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(r.stdout ?? '')?.[1];
}

// --- run ----------------------------------------------------------------------------------------

const load = loadavg();
const results = [];
try {
  for (const server of chosen) results.push(await measure(server));
} catch (err) {
  progress(err.message);
  process.exitCode = 1;
} finally {
  rmSync(home, { recursive: true, force: true });
}

if (process.exitCode !== 1) {
  const mqt = results.find((r) => r.name === 'mqt broker');
  const targets =
    mqt === undefined
      ? undefined
      : {
          idleMB: TARGET_IDLE_MB,
          heldMB: TARGET_HELD_MB,
          idleMet: mqt.idle.rss <= TARGET_IDLE_MB * MB,
          heldMet: connections === TARGET_CONNECTIONS ? mqt.held.rss <= TARGET_HELD_MB * MB : undefined,
        };
  if (args.json) {
    const doc = { node: process.version, mosquitto: servers.some((s) => s.key === 'mosquitto') ? mosquittoVersion() : undefined, loadavg: load, connections, concurrency, settleMs, mqtNodeArgs, servers: results, targets };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
  } else {
    const mb = (x) => (x / MB).toFixed(1);
    const cell = (m) => `${mb(m.rss)} / ${mb(m.hwm)}`;
    const n = connections.toLocaleString('en-US');
    const rows = results.map((r) => [r.name, cell(r.idle), cell(r.held), cell(r.after), (r.perConnectionBytes / 1024).toFixed(1), (r.openMs / 1000).toFixed(1)]);
    const lines = [
      `memory (RSS / peak RSS, MB), ${n} idle MQTT 3.1.1 clients each subscribed to its own topic; node ${process.version}, load average at start ${load.map((l) => l.toFixed(2)).join(' ')}${mqtNodeArgs.length > 0 ? `; mqt broker with node ${mqtNodeArgs.join(' ')}` : ''}`,
      '',
      table(['server', 'idle', `${n} held`, 'after they left', 'KB per connection', 'connect+subscribe s'], rows),
    ];
    if (mqt !== undefined) {
      lines.push('');
      lines.push(`target: mqt broker idle ≤ ${TARGET_IDLE_MB} MB: ${targets.idleMet ? 'met' : 'NOT met'} (${mb(mqt.idle.rss)} MB)`);
      lines.push(
        connections === TARGET_CONNECTIONS
          ? `target: mqt broker with 10,000 connections ≤ ${TARGET_HELD_MB} MB: ${targets.heldMet ? 'met' : 'NOT met'} (${mb(mqt.held.rss)} MB)`
          : `target: mqt broker with 10,000 connections ≤ ${TARGET_HELD_MB} MB: not measured (this run held ${n})`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
