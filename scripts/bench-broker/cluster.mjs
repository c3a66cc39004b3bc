/**
 * The cluster part of `npm run bench:broker` (issue 17): our broker as nodes of a cluster on a
 * redis-server of its own (Debian's, on a free loopback port, nothing saved), with the same
 * engine and payloads as the rest of the run.
 *
 *   cluster-connect   the connection storm against one node and against `--workers 2` (two
 *                     node processes sharing the port: what a second core buys)
 *   cluster-fan-in    QoS 0, 10 → 1 on a wildcard, against the same two (with two workers the
 *                     publishers and the subscriber land on either node: cross-node traffic)
 *   cross-node-qos1   QoS 1, 1 → 1, window 100: publisher and subscriber on one node, against
 *                     the publisher on node A and the subscriber on node B (every message
 *                     through A's commit to Redis, B's stream read, B's delivery)
 *
 * Each contender is the real CLI (`mqt broker --cluster …`), started afresh for its scenario;
 * rounds alternate between the two contenders of a scenario. Medians of the rounds.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBench } from '../../dist/core/bench/index.js';
import { canConnect, freePort, HOST } from './brokers.mjs';
import { engineConfig, record } from './load.mjs';

export const REDIS = '/usr/bin/redis-server';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function waitPort(port, what, child) {
  for (let i = 0; i < 200; i++) {
    if (await canConnect(port)) return;
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before listening`);
    await sleep(25);
  }
  throw new Error(`${what} did not listen on ${port} within 5 s`);
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mqt-bench-redis-'));
  const child = spawn(REDIS, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  await waitPort(port, 'redis-server', child);
  return {
    url: `redis://${HOST}:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `mqt broker --cluster url …` on a free port; `id` names the node (-w0, -w1 with workers). */
async function startNode(root, url, id, extra = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve(root, 'bin/mqt.js'), 'broker', '-p', String(port), '--cluster', url, '--node-id', id, '--sys-interval', '0', '--max-queued', '100000', '--max-inflight', '1000', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t) => process.stderr.write(`[${id}] ${t}`));
  await waitPort(port, `mqt broker ${id}`, child);
  // With workers the port answers once worker 0 listens; give the others their start.
  if (extra.includes('--workers')) await sleep(1500);
  return {
    port,
    pid: extra.includes('--workers') ? undefined : child.pid,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

function target(name, pubPort, subPort, pid, version) {
  const c = (port) => ({ transport: 'mqtt', host: HOST, port, wsPath: '/mqtt', clientId: 'mqtb', keepalive: 60, protocolVersion: version, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 30_000 });
  return { name, connection: c(pubPort), subscriberConnection: subPort === pubPort ? undefined : c(subPort), brokerPid: pid };
}

/**
 * Runs the three scenarios; returns rows { id, name, unit, contenders: [{ name, rate, p50, p99, lost, duplicates }], ratio } and
 * logs progress. `skip(reason)` when redis-server is missing.
 */
export async function runClusterBench({ root, rounds, quick, scale, version, qos0Window, only }) {
  if (!existsSync(REDIS)) return { skipped: `${REDIS} not found; install the Debian package redis-server for the cluster runs` };
  const count = (n) => Math.max(100, Math.round(n * scale));
  const scenarios = [
    { id: 'cluster-connect', name: quick ? '200 connects, 50 at a time' : '2,000 connects, 200 at a time', unit: 'conn/s', scenario: quick ? { storm: { total: 200, concurrency: 50 } } : { storm: { total: 2000, concurrency: 200 } }, contenders: ['one node', 'two workers'] },
    { id: 'cluster-fan-in', name: 'QoS 0, 10 → 1 (wildcard)', unit: 'msg/s', scenario: { flow: { scenario: 'fan-in', qos: 0, pubs: 10, subs: 1, count: count(20_000) } }, contenders: ['one node', 'two workers'] },
    { id: 'cross-node-qos1', name: 'QoS 1, 1 → 1, window 100', unit: 'msg/s', scenario: { flow: { scenario: 'pub', qos: 1, pubs: 1, subs: 1, count: count(50_000), inflight: 100 } }, contenders: ['one node', 'cross-node (A → B)'] },
  ].filter((s) => only === undefined || only.includes(s.id));
  const rows = [];
  for (const s of scenarios) {
    const results = s.contenders.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let c = 0; c < s.contenders.length; c++) {
        const redis = await startRedis();
        const nodes = [];
        try {
          let t;
          if (s.id === 'cross-node-qos1') {
            const a = await startNode(root, redis.url, 'bench-a');
            nodes.push(a);
            if (c === 0) {
              t = target(s.contenders[c], a.port, a.port, a.pid, version);
            } else {
              const b = await startNode(root, redis.url, 'bench-b');
              nodes.push(b);
              t = target(s.contenders[c], a.port, b.port, undefined, version);
            }
          } else {
            const n = await startNode(root, redis.url, 'bench', c === 0 ? [] : ['--workers', '2']);
            nodes.push(n);
            t = target(s.contenders[c], n.port, n.port, n.pid, version);
          }
          // JIT first, not counted.
          await runBench(t, engineConfig({ flow: { scenario: 'pub', qos: 1, pubs: 1, subs: 1, count: quick ? 1000 : 5000 } }, { version, workers: 1, qos0Window }));
          const r = record(await runBench(t, engineConfig(s.scenario, { version, workers: 1, qos0Window })), undefined);
          results[c].push(r);
          process.stderr.write(`cluster ${s.id} round ${round + 1}/${rounds} ${s.contenders[c]}: ${Math.round(r.rate)} ${s.unit}, p99 ${r.p99?.toFixed?.(2)} ms, lost ${r.lost}${r.error ? ` (${r.error})` : ''}\n`);
        } catch (err) {
          results[c].push({ rate: Number.NaN, p50: Number.NaN, p99: Number.NaN, lost: 0, duplicates: 0, error: err.message });
          process.stderr.write(`cluster ${s.id} ${s.contenders[c]}: ${err.message}\n`);
        } finally {
          for (const n of nodes) await n.stop();
          await redis.stop();
        }
      }
    }
    const contenders = s.contenders.map((name, c) => ({
      name,
      rate: median(results[c].map((r) => r.rate)),
      p50: median(results[c].map((r) => r.p50)),
      p99: median(results[c].map((r) => r.p99)),
      lost: results[c].reduce((n, r) => n + (r.lost ?? 0), 0),
      duplicates: results[c].reduce((n, r) => n + (r.duplicates ?? 0), 0),
      rates: results[c].map((r) => Math.round(r.rate)),
    }));
    rows.push({ id: s.id, name: s.name, unit: s.unit, contenders, ratio: contenders[1].rate / contenders[0].rate });
  }
  return { rows };
}

/** The cluster table, after the main one. */
export function renderCluster(result) {
  if (result.skipped !== undefined) return `\nCluster on Redis: skipped (${result.skipped})\n`;
  const lines = ['', 'Cluster on Redis (nodes are `mqt broker --cluster`, each contender on a Redis of its own; medians of the rounds)', ''];
  lines.push(`${'scenario'.padEnd(17)}${'load'.padEnd(31)}${'contender'.padEnd(21)}${'rate'.padEnd(17)}${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  lost  dup  ratio`);
  for (const row of result.rows) {
    row.contenders.forEach((c, i) => {
      const rate = Number.isFinite(c.rate) ? `${Math.round(c.rate).toLocaleString('en-US')} ${row.unit}` : 'failed';
      const ratio = i === 1 && Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : '';
      lines.push(`${(i === 0 ? row.id : '').padEnd(17)}${(i === 0 ? row.name : '').padEnd(31)}${c.name.padEnd(21)}${rate.padEnd(17)}${fmt(c.p50).padStart(7)}  ${fmt(c.p99).padStart(7)}  ${String(c.lost).padStart(4)}  ${String(c.duplicates).padStart(3)}  ${ratio}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

function fmt(ms) {
  return Number.isFinite(ms) ? ms.toFixed(2) : '–';
}
