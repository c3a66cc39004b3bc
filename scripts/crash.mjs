#!/usr/bin/env node
/**
 * npm run crash [-- options]   — `mqt broker --persistence DIR` killed with SIGKILL at random
 * moments of a mixed load, many rounds on one store: every acknowledged QoS 1/2 message owed to
 * a persistent session arrives, QoS 2 exactly once, and retained values survive.
 *
 * The clients (scripts/crash/workload.mjs), on our codec, for the whole run:
 *   publishers    p-v4 and p-v5 with clean sessions, pp-v4 and pp-v5 with persistent ones (they
 *                 re-send what they had not completed after each restart, MQTT-4.4.0-1);
 *                 QoS 0/1/2 mixed, 10% retained, 100 in flight each
 *   subscribers   s-v4 and s-v5 persistent and online, dropped and reconnected at random during
 *                 the load; s-away persistent and offline during the load (everything is queued
 *                 for its stored session); c-v4 and c-v5 with clean sessions (load only)
 * A round: load, the broker killed after a random 150–2500 ms, restarted on the same directory;
 * the persistent clients come back (session present must be 1); in about one round in three it
 * is killed again 0–250 ms into their catch-up and restarted once more; the subscribers drain, a fresh
 * client reads the retained topics; then the verdict over everything acknowledged so far.
 *
 * Options:
 *   --rounds N   kill/restart rounds (default 30)
 *   --seed S     the random seed (default: a new one, printed so a failing run can be replayed)
 *   --json       one JSON document on stdout at the end instead of the summary line
 * Exit status 0 when nothing acknowledged is missing, nothing came twice at QoS 2 and no retained
 * value went back; 1 otherwise; 2 for bad options.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seeded } from './lib/seeded.mjs';
import { Ledger, Publisher, Subscriber } from './crash/workload.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MQT = join(ROOT, 'bin', 'mqt.js');

function usage(message) {
  process.stderr.write(`crash: ${message} (usage: npm run crash -- [--rounds N] [--seed S] [--json])\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, seed: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } }, strict: true }));
} catch (err) {
  usage(err.message.split('\n')[0]);
}
if (args.help) {
  process.stdout.write('usage: npm run crash -- [--rounds N] [--seed S] [--json]\n');
  process.exit(0);
}
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10_000) usage(`--rounds must be a whole number from 1 to 10000, not "${args.rounds}"`);
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) usage(`--seed must be a whole number from 0 to 4294967295, not "${args.seed}"`);

// Streams of their own, so the kill moments stay the same whatever the load drew meanwhile.
const rng = seeded(seed);
const killRng = seeded(seed ^ 0x5bd1e995);
const churnRng = seeded(seed ^ 0x27d4eb2f);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `mqt broker --json` on `dir`; resolves once it listens, with what it said it restored. */
function startBroker(dir, port) {
  const child = spawn(process.execPath, [MQT, 'broker', '-p', String(port), '--persistence', dir, '--max-queued', '1000000', '--max-inflight', '1000', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the broker did not listen within 20 s: ${err.trim() || out.trim()}`));
    }, 20_000);
    let restored;
    child.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        let record;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        if (record.event === 'restored') restored = record;
        if (record.event === 'listening') {
          clearTimeout(timer);
          resolve({ child, exited, restored, stderr: () => err });
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the broker exited (${signal ?? code}) before listening: ${err.trim()}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mqt-crash-'));
const ledger = new Ledger(['p-v4', 'p-v5', 'pp-v4', 'pp-v5']);
const publishers = [
  new Publisher('p-v4', { version: 4, persistent: false, rng, ledger, window: 100 }),
  new Publisher('p-v5', { version: 5, persistent: false, rng, ledger, window: 100 }),
  new Publisher('pp-v4', { version: 4, persistent: true, rng, ledger, window: 100 }),
  new Publisher('pp-v5', { version: 5, persistent: true, rng, ledger, window: 100 }),
];
const online = [new Subscriber('s-v4', { version: 4, persistent: true, ledger }), new Subscriber('s-v5', { version: 5, persistent: true, ledger })];
const away = new Subscriber('s-away', { version: 4, persistent: true, ledger });
const persistentSubs = [...online, away];
const cleanSubs = [new Subscriber('c-v4', { version: 4, persistent: false, ledger }), new Subscriber('c-v5', { version: 5, persistent: false, ledger })];

/** Drops an online subscriber now and then and brings it back, until the broker dies. */
function churn(port, sub, state) {
  const loop = async () => {
    while (state.alive) {
      await sleep(100 + churnRng() * 600);
      if (!state.alive) return;
      sub.client?.destroy();
      await sleep(20 + churnRng() * 200);
      if (!state.alive) return;
      try {
        await sub.connect(port, true);
      } catch (err) {
        if (state.alive) state.errors.push(String(err.message ?? err));
        return;
      }
    }
  };
  return loop();
}

/** Waits until every persistent subscriber has what it is owed, or nothing came for quietMs, or limitMs. */
async function drain(limitMs, quietMs) {
  const start = Date.now();
  for (;;) {
    const complete = persistentSubs.every((s) => s.missing().missing === 0);
    const lastAt = Math.max(...persistentSubs.map((s) => s.lastAt));
    // A clean publisher's flows ended with its connection; a persistent one finishes them now.
    const inflight = publishers.reduce((n, p) => n + (p.o.persistent ? p.inflight.size : 0), 0);
    if (complete && inflight === 0) return;
    if (Date.now() - start > limitMs || (Date.now() - Math.max(lastAt, start) > quietMs && inflight === 0)) return;
    await sleep(50);
  }
}

/** The retained topics as a new client sees them: topic → seq. */
async function readRetained(port) {
  const reader = new Subscriber(`fresh-${Date.now()}`, { version: 4, persistent: false, ledger });
  const seen = new Map();
  const client = await reader.connect(port, false);
  client.listen((p) => {
    if (p.type === 'suback') reader.onSuback?.();
    if (p.type === 'publish') seen.set(p.topic, Number(p.payload.toString().split(':')[1]));
  });
  await reader.subscribe('crash/r/#', 0);
  let size = -1;
  while (seen.size !== size) {
    size = seen.size;
    await sleep(150);
  }
  client.destroy();
  return seen;
}

const port = await freePort();
const report = [];
let failed = false;
let broker;
try {
  broker = await startBroker(dir, port);
  for (const s of persistentSubs) {
    await s.connect(port, false);
    await s.subscribe('crash/#', 2);
  }
  away.client.destroy();
  for (let round = 1; round <= rounds; round++) {
    const state = { alive: true, errors: [] };
    for (const p of publishers) if (!p.client?.open) await p.connect(port, round > 1);
    for (const c of cleanSubs) {
      await c.connect(port, false);
      await c.subscribe('crash/#', 1);
    }
    const ackedBefore = ledger.fresh.length / 2;
    const churning = online.map((s) => churn(port, s, state));
    for (const p of publishers) p.pump();
    const killAt = Math.round(150 + killRng() * 2350);
    await sleep(killAt);
    state.alive = false;
    broker.child.kill('SIGKILL');
    const exit = await broker.exited;
    if (exit.signal !== 'SIGKILL') throw new Error(`the broker ended with ${exit.signal ?? exit.code} before it was killed: ${broker.stderr().trim()}`);
    await Promise.all(churning);
    const ackedBeforeKill = ledger.fresh.length / 2 - ackedBefore;

    const restartAt = Date.now();
    broker = await startBroker(dir, port);
    const restartMs = Date.now() - restartAt;
    const comeBack = async () => {
      for (const p of publishers) if (p.o.persistent) await p.connect(port, true);
      for (const s of persistentSubs) await s.connect(port, true);
    };
    for (const p of publishers) p.pump = () => undefined;
    await comeBack();
    // About one round in three, killed again while the backlog is being delivered and the
    // persistent publishers re-send: a restore of a store that a restore had begun to change.
    let secondKillAtMs;
    if (killRng() < 0.35) {
      secondKillAtMs = Math.round(killRng() * 250);
      await sleep(secondKillAtMs);
      broker.child.kill('SIGKILL');
      await broker.exited;
      broker = await startBroker(dir, port);
      await comeBack();
    }
    const drainAt = Date.now();
    await drain(15_000, 1500);
    const drainMs = Date.now() - drainAt;
    for (const p of publishers) delete p.pump;
    const retained = await readRetained(port);
    away.client.destroy();
    for (const c of cleanSubs) c.client.destroy();
    for (const p of publishers) if (!p.o.persistent) p.client.destroy();

    const verdicts = persistentSubs.map((s) => ({ id: s.id, twice: s.qos2Twice, dup1: s.qos1Duplicates, ...s.missing() }));
    const ownerOf = (topic) => publishers.find((p) => topic.startsWith(`crash/r/${p.id}/`));
    const stale = [...ledger.retained].filter(([topic, seq]) => !ownerOf(topic).retainedOk(topic, retained.get(topic), seq));
    const olderByResend = [...ledger.retained].filter(([topic, seq]) => (retained.get(topic) ?? 0) < seq).length - stale.length;
    const missing = verdicts.reduce((n, v) => n + v.missing, 0);
    const twice = verdicts.reduce((n, v) => n + v.twice, 0);
    const r = {
      round,
      killAtMs: killAt,
      secondKillAtMs,
      ackedBeforeKill,
      ackedQos1: ledger.ackedByQos[1],
      ackedQos2: ledger.ackedByQos[2],
      restored: broker.restored ? { sessions: broker.restored.sessions, deliveries: broker.restored.deliveries, retained: broker.restored.retained, ms: Math.round(broker.restored.ms) } : undefined,
      restartMs,
      drainMs,
      resent: publishers.reduce((n, p) => n + p.resent, 0),
      missing,
      qos2Twice: twice,
      qos1Duplicates: verdicts.reduce((n, v) => n + v.dup1, 0),
      retainedTopics: ledger.retained.size,
      retainedStale: stale.length,
      retainedOlderByResend: olderByResend,
      errors: state.errors,
    };
    report.push(r);
    const again = secondKillAtMs === undefined ? '' : `, killed again ${secondKillAtMs} ms into the catch-up`;
    const line = `round ${round}/${rounds}: killed at ${killAt} ms${again}, ${ackedBeforeKill} acknowledged before the kill (${r.ackedQos1} QoS 1 + ${r.ackedQos2} QoS 2 so far); restart ${restartMs} ms, restored ${r.restored?.deliveries ?? '?'} owed in ${r.restored?.ms ?? '?'} ms, drained in ${drainMs} ms; missing ${missing}, QoS 2 twice ${twice}, QoS 1 duplicates ${r.qos1Duplicates}, retained stale ${stale.length}/${ledger.retained.size}${olderByResend > 0 ? ` (${olderByResend} older by a later QoS 1 re-send)` : ''}`;
    if (!args.json) process.stdout.write(`${line}\n`);
    if (missing > 0 || twice > 0 || stale.length > 0 || state.errors.length > 0) {
      failed = true;
      const detail = verdicts.filter((v) => v.missing > 0 || v.twice > 0).map((v) => `${v.id}: missing ${v.missing} (${v.examples.join(', ')}), QoS 2 twice ${v.twice}`);
      for (const [t, s] of stale.slice(0, 5)) {
        const found = retained.get(t);
        const pub = ownerOf(t);
        detail.push(`retained ${t} went back: acknowledged ${s}, found ${found ?? 'nothing'} (${pub?.explain(t, found ?? s, s) ?? ''})`);
      }
      detail.push(...state.errors);
      process.stderr.write(`crash: round ${round} failed (seed ${seed}): ${detail.join('; ')}\n`);
      break;
    }
    ledger.fresh = [];
  }
} catch (err) {
  failed = true;
  process.stderr.write(`crash: ${err.message ?? err} (seed ${seed})\n`);
} finally {
  broker?.child.kill('SIGKILL');
  if (broker) await broker.exited;
  rmSync(dir, { recursive: true, force: true });
}

const last = report.at(-1);
const summary = {
  seed,
  rounds: report.length,
  ackedQos1: last?.ackedQos1 ?? 0,
  ackedQos2: last?.ackedQos2 ?? 0,
  sent: { qos0: ledger.sentByQos[0], qos1: ledger.sentByQos[1], qos2: ledger.sentByQos[2] },
  missing: last?.missing ?? 0,
  qos2Twice: last?.qos2Twice ?? 0,
  qos1Duplicates: last?.qos1Duplicates ?? 0,
  retainedTopics: last?.retainedTopics ?? 0,
  retainedStale: last?.retainedStale ?? 0,
  resent: last?.resent ?? 0,
  ok: !failed,
};
if (args.json) process.stdout.write(`${JSON.stringify({ ...summary, report })}\n`);
else process.stdout.write(`crash: ${summary.rounds} rounds (seed ${seed}): ${summary.ackedQos1} QoS 1 + ${summary.ackedQos2} QoS 2 acknowledged, missing ${summary.missing}, QoS 2 twice ${summary.qos2Twice}, QoS 1 duplicates ${summary.qos1Duplicates}, retained stale ${summary.retainedStale}/${summary.retainedTopics}${failed ? ' — FAILED' : ''}\n`);
process.exit(failed ? 1 : 0);
