#!/usr/bin/env node
/**
 * npm run bench:restore [-- options]   — how long `mqt broker --persistence DIR` takes to read
 * back what it owes, and what that takes on disk.
 *
 * 1. Fills a store in a temporary directory: a broker (dist/, as `--persistence` makes it) with
 *    --sessions offline persistent sessions (3.1.1 clean session 0) subscribed to one topic each,
 *    and --messages QoS 1 messages of --payload bytes published through the broker
 *    (publishMessage), spread over the sessions; closed cleanly, so everything is committed.
 * 2. Size on disk: the store directory's allocated bytes (st_blocks) and its files' lengths.
 * 3. Restore, --rounds times, each in a fresh node process: LmdbStore.open + createBroker +
 *    ready() (what the broker does before its listeners open), and the whole CLI, from spawning
 *    `node bin/mqt.js broker --persistence DIR --port 0` to its "listening" line (node's start-up
 *    and the code cache included). Medians, with the restored counts checked.
 *
 * Options:
 *   --messages N   queued messages in all (default 100000)
 *   --sessions N   persistent sessions they are queued for (default 1)
 *   --payload N    payload bytes (default 64)
 *   --rounds N     restores to time (default 5)
 *   --json         one JSON document on stdout instead of the lines
 *   --profile DIR  write a CPU profile of each library restore to DIR (node --cpu-prof)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

function die(message) {
  process.stderr.write(`bench:restore: ${message}\n`);
  process.exit(1);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      messages: { type: 'string', default: '100000' },
      sessions: { type: 'string', default: '1' },
      payload: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      child: { type: 'string' },
      profile: { type: 'string' },
    },
    strict: true,
  }));
} catch (err) {
  die(`${err.message.split('\n')[0]} (try --help)`);
}
if (args.help) {
  process.stdout.write('usage: npm run bench:restore -- [--messages N] [--sessions N] [--payload N] [--rounds N] [--json]\n');
  process.exit(0);
}
const int = (name, min) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) die(`--${name} must be an integer >= ${min}, got ${args[name]}`);
  return n;
};

// ---- the child: one timed restore in a fresh process --------------------------------------
if (args.child !== undefined) {
  const started = performance.now();
  const { LmdbStore } = await import(pathToFileURL(join(DIST, 'core', 'store', 'lmdb-store.js')).href);
  const { createBroker } = await import(pathToFileURL(join(DIST, 'core', 'broker', 'index.js')).href);
  const loaded = performance.now();
  const broker = createBroker({ store: LmdbStore.open(args.child), maxQueued: 100_000_000 });
  const counts = await broker.ready();
  const ready = performance.now();
  const queued = broker.inspect.sessions().reduce((n, s) => n + s.queued, 0);
  process.stdout.write(`${JSON.stringify({ restoreMs: ready - loaded, withLoadMs: ready - started, counts, queued, heapMB: process.memoryUsage().heapUsed / 2 ** 20 })}\n`);
  await broker.close();
  process.exit(0);
}

const messages = int('messages', 1);
const sessionCount = int('sessions', 1);
const payloadBytes = int('payload', 0);
const rounds = int('rounds', 1);
const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function fill(dir) {
  const { LmdbStore } = await import(pathToFileURL(join(DIST, 'core', 'store', 'lmdb-store.js')).href);
  const { createBroker } = await import(pathToFileURL(join(DIST, 'core', 'broker', 'index.js')).href);
  const { encode } = await import(pathToFileURL(join(DIST, 'core', 'codec', 'encode.js')).href);
  const { Duplex } = await import('node:stream');
  const broker = createBroker({ store: LmdbStore.open(dir), maxQueued: 100_000_000, maxQueueMemory: 0 });
  await broker.ready();
  // Persistent sessions made over an in-process stream: CONNECT, SUBSCRIBE, then gone.
  for (let s = 0; s < sessionCount; s++) {
    const stream = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    broker.handle(stream);
    stream.push(encode({ type: 'connect', protocolVersion: 4, clean: false, keepalive: 0, clientId: `s${s}` }, 4));
    stream.push(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `q/${s}`, qos: 1 }] }, 4));
    await new Promise((r) => setTimeout(r, 5));
    stream.destroy();
  }
  await new Promise((r) => setTimeout(r, 50));
  const payload = Buffer.alloc(payloadBytes, 0x61);
  const started = performance.now();
  // In slices, each its own tick and commit, as a stream of publishes would come.
  for (let i = 0; i < messages; ) {
    const end = Math.min(messages, i + 1000);
    for (; i < end; i++) broker.publishMessage(`q/${i % sessionCount}`, payload, { qos: 1 });
    await new Promise((r) => setImmediate(r));
  }
  await broker.close();
  return performance.now() - started;
}

function diskUse(dir) {
  let allocated = 0;
  let length = 0;
  for (const f of readdirSync(dir)) {
    const st = statSync(join(dir, f));
    allocated += st.blocks * 512;
    length += st.size;
  }
  return { allocated, length };
}

function restoreOnce(dir) {
  const prof = args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.profile}`];
  const out = execFileSync(process.execPath, [...prof, fileURLToPath(import.meta.url), '--child', dir], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** `mqt broker --persistence DIR --port 0` from spawn to its "listening" line. */
function cliOnce(dir, cacheHome) {
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'mqt.js'), 'broker', '--persistence', dir, '--port', '0', '--max-queued', '100000000'], {
      env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: cacheHome },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c) => {
      out += c;
      if (/listening on/.test(out)) {
        const ms = performance.now() - started;
        const restored = /restored .* in (\d+) ms/.exec(out);
        child.kill('SIGTERM');
        child.once('exit', () => resolveRun({ ms, reported: restored === null ? Number.NaN : Number(restored[1]), line: out.split('\n')[0] }));
      }
    });
    child.once('exit', (code) => {
      if (!/listening on/.test(out)) reject(new Error(`mqt broker exited with ${code} before listening: ${err.trim()}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mqt-bench-restore-'));
const cacheHome = mkdtempSync(join(tmpdir(), 'mqt-bench-restore-cache-'));
try {
  log(`filling a store with ${messages.toLocaleString('en-US')} queued QoS 1 messages of ${payloadBytes} bytes for ${sessionCount} session(s) in ${dir}`);
  const fillMs = await fill(dir);
  const disk = diskUse(dir);
  log(`filled in ${(fillMs / 1000).toFixed(1)} s (${Math.round(messages / (fillMs / 1000)).toLocaleString('en-US')} msg/s, each stored and committed)`);
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const x = restoreOnce(dir);
    if (x.queued !== messages) die(`round ${r + 1}: restored ${x.queued} queued messages, expected ${messages}`);
    runs.push(x);
    log(`restore ${r + 1}/${rounds}: ${x.restoreMs.toFixed(0)} ms (${x.counts.sessions} sessions, ${x.queued} queued, heap ${x.heapMB.toFixed(0)} MB)`);
  }
  // The CLI: once to write V8's code cache, then timed.
  await cliOnce(dir, cacheHome);
  const cli = [];
  for (let r = 0; r < rounds; r++) {
    const x = await cliOnce(dir, cacheHome);
    cli.push(x);
    log(`mqt broker ${r + 1}/${rounds}: listening after ${x.ms.toFixed(0)} ms (${x.line})`);
  }
  const result = {
    config: { messages, sessions: sessionCount, payload: payloadBytes, rounds, node: process.version },
    fillMs,
    disk,
    restoreMs: median(runs.map((r) => r.restoreMs)),
    restoreWithLoadMs: median(runs.map((r) => r.withLoadMs)),
    cliListeningMs: median(cli.map((r) => r.ms)),
    cliReportedMs: median(cli.map((r) => r.reported)),
    heapMB: median(runs.map((r) => r.heapMB)),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;
    process.stdout.write(
      [
        '',
        `restore of ${messages.toLocaleString('en-US')} queued QoS 1 messages (${payloadBytes}-byte payloads, ${sessionCount} session${sessionCount === 1 ? '' : 's'}), medians of ${rounds}, node ${process.version}:`,
        `  store on disk           ${mb(disk.allocated)} allocated (${mb(disk.length)} file length), ${Math.round(disk.allocated / messages)} bytes per message`,
        `  read back (library)     ${result.restoreMs.toFixed(0)} ms: LmdbStore.open + createBroker + ready(), heap ${result.heapMB.toFixed(0)} MB after`,
        `  mqt broker, start to listening  ${result.cliListeningMs.toFixed(0)} ms (it reports ${result.cliReportedMs.toFixed(0)} ms for the restore itself)`,
        '',
      ].join('\n'),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cacheHome, { recursive: true, force: true });
}
