#!/usr/bin/env node
/**
 * npm run soak -- [--minutes N] [--connections N] [--interval S] [--out DIR] [--seed N]
 *
 * Runs the broker (dist/, as `mqt broker` runs it) in a process of its own for N minutes under
 * a steady, modest load of N connections from this process (raw sockets, our codec): publishers
 * and subscribers at QoS 0/1/2, retained values, wills, persistent and clean sessions, MQTT
 * 3.1.1 and 5.0, clients dropping and reconnecting at random (scripts/soak/population.mjs says
 * who does what). Then it stops the load, lets everyone reconnect and the queues drain, and
 * settles the accounts (scripts/soak/ledger.mjs, checks.mjs).
 *
 * Every --interval seconds it prints a block: connections, messages per QoS (sent, acked,
 * received, lost*, dup), wills, retained checks, the broker's RSS, heap and event-loop delay
 * p99, reconnects. lost* while running counts what is overdue by 5 s; the summary's lost is the
 * final count after the drain. At the end: the summary, and in --out DIR soak-<time>.json (every
 * sample and the final accounts) with soak-<time>.svg beside it (RSS and heap over time).
 *
 * Exit 0 when it passed; 1 when it did not: an acknowledged QoS ≥ 1 message lost, a QoS 2
 * message duplicated, a will missing or not owed, a stale or missing retained value, a lost
 * persistent session, the broker died, or its RSS did not level off (level-off.mjs); 2 for a
 * bad option or too few open files (it raises the soft limit itself when the hard one allows).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BrokerProcess } from './soak/broker.mjs';
import { memoryChart } from './soak/chart.mjs';
import { RetainedLedger, WillLedger } from './soak/checks.mjs';
import { ensureFiles } from './soak/files.mjs';
import { Ledger } from './soak/ledger.mjs';
import { levelOff } from './soak/level-off.mjs';
import { parseOptions, USAGE, UsageError } from './soak/options.mjs';
import { Population } from './soak/population.mjs';
import { seeded } from './lib/seeded.mjs';
import { sampleBlock, summary } from './soak/report.mjs';
import { verdict } from './soak/verdict.mjs';

const RAMP_TIMEOUT_MS = 180_000;
const DRAIN_QUIET_MS = 3000;
const DRAIN_TIMEOUT_MS = 30_000;
/** The warm-up: the ramp, and this share of the load after it. */
const WARM_UP_SHARE = 0.2;

function usageError(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) usageError(err.message);
  throw err;
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const files = ensureFiles(options.connections);
if (files.error !== undefined) usageError(files.error);
if (files.again !== undefined) process.exit(await files.again);

const progress = (text) => process.stderr.write(`soak: ${text}\n`);
const t0 = performance.now();
const now = () => performance.now() - t0;
const broker = new BrokerProcess();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    broker.kill();
    process.exit(130);
  });
}
process.on('exit', () => broker.kill());

const port = await broker.start().catch((err) => {
  process.stderr.write(`soak: ${err.message}\n`);
  process.exit(1);
});
const ledger = new Ledger();
const wills = new WillLedger();
const retained = new RetainedLedger();
const population = new Population({ port, connections: options.connections, random: seeded(options.seed), ledger, wills, retained, now });
// As in broker-child.mjs: the histogram's values include its resolution.
const LOOP_RESOLUTION_MS = 10;
const loadLoop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loadLoop.enable();

progress(
  `broker pid ${broker.pid} on 127.0.0.1:${port}; ${options.connections} connections (${population.counts.publishers} publishers, ` +
    `${population.counts.persistentSubscribers} persistent + ${population.counts.cleanSubscribers} clean subscribers, ` +
    `${population.counts.idle} idle of which ${population.counts.idleWithWill} with a will, 1 will watcher), seed ${options.seed}`,
);

const samples = [];
async function sample(phase) {
  const b = await broker.sample();
  const t = now();
  const s = {
    t: t / 1000,
    phase,
    connections: options.connections,
    online: population.online,
    broker: b === undefined ? undefined : { ...b, type: undefined },
    load: { rss: process.memoryUsage().rss, loopP99Ms: loadLoop.count > 0 ? Math.max(0, loadLoop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : 0 },
    stats: structuredClone(population.stats),
    qos: ledger.tally(t, false),
    wills: wills.tally(t, false),
    retained: retained.tally(t),
  };
  loadLoop.reset();
  samples.push(s);
  process.stdout.write(`${sampleBlock(s)}\n`);
  return s;
}

// --- ramp, load, drain ---------------------------------------------------------------------

const rampStarted = now();
const online = await population.ramp(RAMP_TIMEOUT_MS);
const rampS = (now() - rampStarted) / 1000;
progress(`${online} of ${options.connections} connected in ${rampS.toFixed(1)} s${online < options.connections ? ` (${population.stats.lastError ?? 'no error seen'})` : ''}`);
const loadStart = now() / 1000;
await sample('start');
population.startLoad();
const loadMs = options.minutes * 60_000;
const warmUpEnd = loadStart + (loadMs / 1000) * WARM_UP_SHARE;
let died = false;
void broker.exited.then(() => {
  died = !broker.stopping;
});
await new Promise((resolveLoad) => {
  const end = t0 + loadStart * 1000 + loadMs;
  const step = async () => {
    if (died) return resolveLoad();
    const left = end - performance.now();
    if (left <= 0) return resolveLoad();
    setTimeout(async () => {
      await sample('load');
      void step();
    }, Math.min(left, options.interval * 1000));
  };
  void step();
});
const loadEnd = now() / 1000;
if (died) progress(`the broker ${broker.exit}: stopping`);
else progress('load stopped; draining (everyone reconnects, queues empty)');
const drained = died ? false : await population.drain(DRAIN_QUIET_MS, DRAIN_TIMEOUT_MS);
if (!died && !drained) progress(`the drain did not settle within ${DRAIN_TIMEOUT_MS / 1000} s; judging what arrived`);
const last = await sample('drained');
const tEnd = now();
const final = {
  qos: ledger.tally(tEnd, true),
  wills: wills.tally(tEnd, true),
  retained: retained.tally(tEnd),
  misrouted: ledger.misrouted,
  wrongQos: ledger.wrongQos,
  online: last.online,
  connections: options.connections,
  allOnline: last.online === options.connections,
  drained,
  stats: structuredClone(population.stats),
};
await population.close();
const brokerExit = died ? broker.exit : null;
await broker.stop();

// --- judge and write ----------------------------------------------------------------------

const withBroker = samples.filter((s) => s.broker !== undefined);
const rssValues = withBroker.map((s) => s.broker.rss);
const judged = withBroker.filter((s) => s.phase === 'load' && s.t >= warmUpEnd).map((s) => s.broker.rss);
const level = levelOff(judged);
const p99s = withBroker.filter((s) => s.phase === 'load').map((s) => s.broker.loopP99Ms).sort((a, b) => a - b);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const outDir = resolve(options.out);
mkdirSync(outDir, { recursive: true });
const jsonPath = join(outDir, `soak-${stamp}.json`);
const svgPath = join(outDir, `soak-${stamp}.svg`);
const result = {
  options,
  node: process.version,
  population: population.counts,
  rampS,
  durationS: tEnd / 1000,
  phases: { loadStartS: loadStart, warmUpEndS: warmUpEnd, loadEndS: loadEnd },
  rss: { start: rssValues[0], peak: Math.max(...rssValues), end: rssValues.at(-1), levelOff: level },
  loop: { worstP99Ms: p99s.at(-1), medianP99Ms: p99s[Math.floor(p99s.length / 2)] },
  final,
  files: { json: jsonPath, svg: svgPath },
  samples,
};
result.verdict = verdict({ brokerExit, final, levelOff: level });
writeFileSync(
  svgPath,
  memoryChart(
    withBroker.map((s) => ({ t: s.t, rss: s.broker.rss, heapTotal: s.broker.heapTotal, heapUsed: s.broker.heapUsed })),
    {
      title: `mqt broker memory: soak of ${options.connections} connections, ${options.minutes} min (${result.verdict.ok ? 'pass' : 'fail'})`,
      marks: [
        { t: warmUpEnd, label: 'warm-up end' },
        { t: loadEnd, label: 'load end' },
      ],
    },
  ),
);
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${summary(result)}\n`);
process.exit(result.verdict.ok ? 0 : 1);
