#!/usr/bin/env node
/**
 * npm run bench:admin [-- --rounds N --msgs N --unpinned]
 *
 * What the HTTP listener costs (issue 13: "the cost of --http-port with metrics on for the QoS 0
 * one-to-one rate must stay within 5% of metrics off"). Two `mqt broker` processes, the real
 * CLI from dist/ (so every flag path is the one users run), on loopback ports of their own:
 *   off  mqt broker --port P
 *   on   mqt broker --port Q --http-port H --admin-token-file F
 * and, all through the run, a scraper in a process of its own that asks the "on" broker every
 * second for GET /metrics, GET /api/v1/clients and GET /api/v1/rates (what Prometheus plus an
 * open dashboard do), so the broker pays for the counters and for answering them.
 * Each round is `--msgs` QoS 0 messages, 1 publisher → 1 subscriber, 64-byte payloads, with the
 * engine of `mqt bench` (dist/core/bench); rounds alternate off, on, off, on, … after a warm-up of
 * each broker; the medians of the delivery rates and their ratio are printed. Exit code 1 when a
 * round failed or a scrape was refused; the ratio itself is reported, not judged (a shared
 * 2-core machine moves medians by a few per cent from run to run).
 * The brokers run on CPU 0 and this process, the load, and the scraper on CPU 1 when there are two CPUs
 * and taskset, as bench:auth does; --unpinned leaves placement to the scheduler.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runRounds } from '../dist/core/bench/compare.js';
import { canConnect, freePort, HOST } from './bench-broker/brokers.mjs';
import { runOnce } from './bench-broker/load.mjs';
import { onCpu0, pinToCpu1 } from './lib/pin.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    msgs: { type: 'string', default: '3000000' },
    unpinned: { type: 'boolean', default: false },
  },
});
const PIN = await pinToCpu1(import.meta.url, 'MQT_BENCH_ADMIN_CLIENT_CPU', opts.unpinned);
const ROUNDS = Number(opts.rounds);
const MSGS = Number(opts.msgs);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-admin-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `mqt broker` with `args`, pinned to CPU 0; resolves once its MQTT port takes connections. */
async function startBroker(name, args, port) {
  const argv = [join(ROOT, 'bin/mqt.js'), 'broker', '--port', String(port), '--host', HOST, ...args];
  const [file, a] = onCpu0(PIN, process.execPath, argv);
  const child = spawn(file, a, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t) => (stderr = (stderr + t).slice(-2000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (exited) throw new Error(`${name} broker exited: ${stderr.trim()}`);
    if (await canConnect(port)) return { name, port, pid: child.pid, stop: () => new Promise((r) => (exited ? r() : (child.once('exit', r), child.kill('SIGTERM')))) };
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} broker: no listener on ${port} after 10 s`);
}

/** The scraper child (bench-admin/scraper.mjs), pinned with this process; ask() gets its totals. */
function startScraper(port) {
  const file = join(ROOT, 'scripts', 'bench-admin', 'scraper.mjs');
  const env = { ...process.env, MQT_ADMIN_TOKEN: TOKEN };
  const child = fork(file, [String(port)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    ask: () => new Promise((resolve) => (child.once('message', resolve), child.send('totals'))),
    stop: () => child.kill(),
  };
}

/** One GET with the bearer token: the status code. */
function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.once('error', reject);
    req.end();
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const common = { version: 4, workers: 1, qos0Window: 5000 };
const scenario = (count) => ({ flow: { scenario: 'pub', qos: 0, pubs: 1, subs: 1, count } });

const dir = mkdtempSync(join(tmpdir(), 'mqt-bench-admin-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
let failed = false;
const brokers = [];
try {
  const [p1, p2, h] = [await freePort(), await freePort(), await freePort()];
  brokers.push(await startBroker('off', [], p1));
  brokers.push(await startBroker('on', ['--http-port', String(h), '--admin-token-file', tokenFile], p2));
  const probe = await get(h, '/metrics');
  if (probe !== 200) throw new Error(`GET /metrics answered ${probe}`);
  const scraper = startScraper(h);
  for (const b of brokers) await runOnce(b, scenario(Math.min(MSGS, 100_000)), common);
  const runs = await runRounds(brokers.length, ROUNDS, async (t, round) => {
    const b = brokers[t];
    const r = await runOnce(b, scenario(MSGS), common);
    const line = r.error ?? `${Math.round(r.rate)} msg/s, p50 ${r.p50.toFixed(2)} ms, lost ${r.lost}`;
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${b.name}: ${line}\n`);
    if (r.error !== undefined) failed = true;
    return r;
  });
  const scrape = await scraper.ask();
  scraper.stop();
  const rate = runs.map((rs) => median(rs.map((r) => r.rate)));
  const p50 = runs.map((rs) => median(rs.map((r) => r.p50)));
  process.stdout.write(
    `\nQoS 0, 1 → 1, ${MSGS} messages of 64 bytes, median of ${ROUNDS} rounds${PIN ? ' (brokers on CPU 0, load on CPU 1)' : ''}\n` +
      `  http off                         ${String(Math.round(rate[0])).padStart(9)} msg/s   p50 ${p50[0].toFixed(2)} ms\n` +
      `  --http-port, scraped every 1 s   ${String(Math.round(rate[1])).padStart(9)} msg/s   p50 ${p50[1].toFixed(2)} ms\n` +
      `  ratio on / off                   ${(rate[1] / rate[0]).toFixed(3)}   (${scrape.scrapes} scrapes of /metrics, /api/v1/clients, /api/v1/rates; ${scrape.bytes} bytes)\n`,
  );
  if (scrape.refused.length > 0) {
    failed = true;
    process.stderr.write(`scrapes refused: ${scrape.refused.slice(0, 5).join(', ')}\n`);
  }
} catch (err) {
  failed = true;
  process.stderr.write(`bench:admin: ${err.message}\n`);
} finally {
  for (const b of brokers) await b.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
