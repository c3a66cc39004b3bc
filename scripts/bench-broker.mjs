#!/usr/bin/env node
/**
 * npm run bench:broker [-- options]   — our broker against mosquitto, same load, same machine.
 *
 * What it does (issue 3, "Performance"):
 * - starts our broker (dist/, so run `npm run build` first; the npm script does) in a child
 *   process of its own, and mosquitto when /usr/sbin/mosquitto exists, each on a free
 *   loopback port; mosquitto gets a temporary config with no persistence,
 *   max_inflight_messages 1000 and max_queued_messages 100000, and ours the same limits;
 *   with --baseline DIR, also our broker as built in another checkout (DIR/dist), "mqt-base";
 * - drives them from this process with the bench engine of `mqt bench` (dist/core/bench: raw
 *   clients on our codec, PUBLISH templates patched in place, one socket write per batch, HDR
 *   histograms, CPU and memory of the broker from /proc), in alternating rounds per scenario:
 *   mosquitto, [mqt-base,] mqt, mosquitto, [mqt-base,] mqt, ...;
 * - prints per scenario the median rate of each broker, the ratio mqt / mosquitto (and
 *   mqt / mqt-base), the median p50 and p99 latency (publisher's send → subscriber's receive,
 *   or CONNECT → CONNACK), and what was lost: QoS 1 and 2 must arrive exactly (a loss there
 *   fails the run with exit code 1); QoS 0 loss on loopback is reported.
 *
 * Scenarios (64-byte payloads; MQTT 3.1.1 unless --protocol 5):
 *   qos0         QoS 0, 1 → 1, flat out (paused while > 5000 messages are on their way)
 *   qos1         QoS 1, 1 → 1, window of 100 unacknowledged publishes
 *   qos2         QoS 2, 1 → 1, window of 100
 *   many-to-one  QoS 0, 10 publishers → 1 subscriber on a wildcard filter (msg/s received)
 *   fan-out      QoS 0, 1 publisher → 10 subscribers (deliveries/s)
 *   qos1-durable, qos2-durable, fan-in-durable
 *                QoS 1 and QoS 2 1 → 1 (window 100) and QoS 1 10 → 1, the subscribers holding
 *                persistent sessions (3.1.1 clean session 0, 5.0 session expiry), so every message
 *                is owed to a session a store must keep: mosquitto in memory (persistence false),
 *                mqt in memory, and "mqt-durable", our broker on an LMDB store in a temporary
 *                directory (as `mqt broker --persistence DIR`), which acknowledges a message only
 *                once it is on disk; reported in a table of their own
 *   connect      2,000 connections, 200 waiting for CONNACK at a time (conn/s), RSS at 2,000;
 *                also run against a "node floor" (scripts/bench-broker/floor-child.mjs), a bare
 *                node:net server that answers CONNECT with CONNACK and nothing else, to show
 *                what Node's socket handling alone costs per connection next to the brokers
 *
 * Options:
 *   --rounds N         rounds per scenario and broker (default 3); rates are medians
 *   --quick            small counts, one round: a smoke run
 *   --only a,b         run only these scenarios (names above)
 *   --scale X          multiply the message counts (default 1)
 *   --qos0-window N    QoS 0 messages allowed on their way to each subscriber, shared by its
 *                      publishers (default 5000)
 *   --protocol 4|5     MQTT version of the load (default 4, i.e. 3.1.1)
 *   --baseline DIR     also run our broker from DIR/dist (another checkout, built), as "mqt-base"
 *   --no-mosquitto     no mosquitto
 *   --no-floor         skip the node floor in the connect scenario
 *   --no-cluster       skip the cluster runs (cluster-connect, cluster-fan-in, cross-node-qos1:
 *                      scripts/bench-broker/cluster.mjs, on a redis-server of their own; skipped
 *                      with a line when /usr/bin/redis-server is missing)
 *   --mosquitto PATH   mosquitto binary (default /usr/sbin/mosquitto)
 *   --mosquitto-nodelay  add `set_tcp_nodelay true` to mosquitto's config (not issue 3's setup)
 *   --mqt-options JSON   extra createBroker() options for ours (and the baseline), e.g. '{"maxClientBuffer":65536}'
 *   --mqt-node-args=ARGS node flags for our broker's process (and the baseline's), e.g. --mqt-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof'
 *   --workers N        the engine's worker threads (default 1: all load in this thread, which
 *                      is best on 2 cores, where the broker under test has the other)
 *   --json             one JSON document on stdout instead of the table
 * Progress goes to stderr. The machine should be otherwise idle: with 2 cores, the broker
 * under test has one and this load generator the other.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runRounds } from '../dist/core/bench/compare.js';
import { mosquittoVersion, startMosquitto, startMqt, startNodeFloor } from './bench-broker/brokers.mjs';
import { runOnce, warmUp } from './bench-broker/load.mjs';
import { addDurableRatios, addRatios, failed, renderDurable, renderText, runLine, summarizeRuns } from './bench-broker/report.mjs';
import { renderCluster, runClusterBench } from './bench-broker/cluster.mjs';

const CLUSTER_IDS = ['cluster-connect', 'cluster-fan-in', 'cross-node-qos1'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgsOrExit({
  options: {
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    scale: { type: 'string', default: '1' },
    'qos0-window': { type: 'string', default: '5000' },
    protocol: { type: 'string', default: '4' },
    baseline: { type: 'string' },
    'no-mosquitto': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
    'no-cluster': { type: 'boolean', default: false },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
    'mosquitto-nodelay': { type: 'boolean', default: false },
    'mqt-options': { type: 'string' },
    'mqt-node-args': { type: 'string', default: '' },
    workers: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function parseArgsOrExit(config) {
  try {
    return parseArgs(config);
  } catch (err) {
    process.stderr.write(`bench:broker: ${err.message.split('\n')[0]} (try --help)\n`);
    process.exit(1);
  }
}

function die(message) {
  process.stderr.write(`bench:broker: ${message}\n`);
  process.exit(1);
}

if (args.help) {
  process.stdout.write(
    'usage: npm run bench:broker -- [--rounds N] [--quick] [--only qos0,qos1,qos2,many-to-one,fan-out,qos1-durable,qos2-durable,fan-in-durable,connect,cluster-connect,cluster-fan-in,cross-node-qos1] [--no-cluster] [--scale X] [--qos0-window N] [--protocol 4|5] ' +
      '[--baseline DIR] [--no-mosquitto] [--no-floor] [--mosquitto PATH] [--mosquitto-nodelay] [--mqt-options JSON] [--mqt-node-args=ARGS] [--workers N] [--json]\n',
  );
  process.exit(0);
}

function integer(name, text, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) die(`--${name} must be an integer >= ${min}, got ${text}`);
  return n;
}

const quick = args.quick;
const rounds = integer('rounds', args.rounds ?? (quick ? '1' : '3'), 1);
if (!(Number(args.scale) > 0)) die(`--scale must be a number > 0, got ${args.scale}`);
const scale = Number(args.scale) * (quick ? 0.05 : 1);
const version = Number(args.protocol);
if (version !== 4 && version !== 5) die(`--protocol must be 4 (MQTT 3.1.1) or 5, got ${args.protocol}`);
const qos0Window = integer('qos0-window', args['qos0-window'], 1);
const workers = integer('workers', args.workers, 1);
let mqtOptions;
try {
  mqtOptions = args['mqt-options'] === undefined ? undefined : JSON.parse(args['mqt-options']);
} catch (err) {
  die(`--mqt-options is not JSON: ${err.message}`);
}
const baselineDir = args.baseline === undefined ? undefined : resolve(args.baseline);
if (baselineDir !== undefined && !existsSync(join(baselineDir, 'dist', 'core', 'broker', 'index.js'))) {
  die(`--baseline ${args.baseline}: no built broker at ${join(baselineDir, 'dist', 'core', 'broker', 'index.js')}; run \`npm run build\` in that checkout`);
}
const count = (n) => Math.max(100, Math.round(n * scale));

/** Message counts (per publisher) sized for 1-3 s per run against mosquitto on a 2-core machine. */
const SCENARIOS = [
  { id: 'qos0', name: 'QoS 0, 1 → 1', unit: 'msg/s', flow: { scenario: 'pub', qos: 0, pubs: 1, subs: 1, count: count(200_000) } },
  { id: 'qos1', name: 'QoS 1, 1 → 1, window 100', unit: 'msg/s', flow: { scenario: 'pub', qos: 1, pubs: 1, subs: 1, count: count(100_000), inflight: 100 } },
  { id: 'qos2', name: 'QoS 2, 1 → 1, window 100', unit: 'msg/s', flow: { scenario: 'pub', qos: 2, pubs: 1, subs: 1, count: count(50_000), inflight: 100 } },
  // The engine's fan-in: publisher i on mqt/bench/i, the subscriber on mqt/bench/+; the QoS 0 window is shared by the 10.
  { id: 'many-to-one', name: 'QoS 0, 10 → 1 (wildcard)', unit: 'msg/s', flow: { scenario: 'fan-in', qos: 0, pubs: 10, subs: 1, count: count(20_000) } },
  { id: 'fan-out', name: 'QoS 0, 1 → 10', unit: 'deliveries/s', flow: { scenario: 'fan-out', qos: 0, pubs: 1, subs: 10, count: count(50_000) } },
  { id: 'qos1-durable', durable: true, name: 'QoS 1, 1 → 1, persistent subscriber', unit: 'msg/s', flow: { scenario: 'pub', qos: 1, pubs: 1, subs: 1, count: count(100_000), inflight: 100, persistent: true } },
  { id: 'qos2-durable', durable: true, name: 'QoS 2, 1 → 1, persistent subscriber', unit: 'msg/s', flow: { scenario: 'pub', qos: 2, pubs: 1, subs: 1, count: count(50_000), inflight: 100, persistent: true } },
  { id: 'fan-in-durable', durable: true, name: 'QoS 1, 10 → 1, persistent subscriber', unit: 'msg/s', flow: { scenario: 'fan-in', qos: 1, pubs: 10, subs: 1, count: count(20_000), persistent: true } },
  quick
    ? { id: 'connect', name: '200 connects, 50 at a time', unit: 'conn/s', storm: { total: 200, concurrency: 50 } }
    : { id: 'connect', name: '2,000 connects, 200 at a time', unit: 'conn/s', storm: { total: 2000, concurrency: 200 } },
];

let scenarios = SCENARIOS;
/** The cluster runs (scripts/bench-broker/cluster.mjs) to make: all of them unless --only or --no-cluster says otherwise. */
let clusterIds = args['no-cluster'] ? [] : [...CLUSTER_IDS];
if (args.only !== undefined) {
  const wanted = args.only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w) && !CLUSTER_IDS.includes(w));
  if (unknown.length > 0) die(`unknown scenario ${unknown.join(', ')}; choose from ${[...SCENARIOS.map((s) => s.id), ...CLUSTER_IDS].join(', ')}`);
  scenarios = SCENARIOS.filter((s) => wanted.includes(s.id));
  clusterIds = clusterIds.filter((id) => wanted.includes(id));
}

const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isMqt = (b) => b.name === 'mqt' || b.name === 'mqt-base';

/** The commit a checkout is at, with "+changes" when its tracked files differ from it. */
function commitOf(dir) {
  try {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** A broker that died during a run is reported and started again for the next one. */
async function ensureRunning(broker) {
  const note = broker.deathNote();
  if (note === null) return null;
  log(`!! ${note}`);
  await broker.start();
  return note;
}

/** One measured run, with what our broker says about itself around it. */
async function measure(b, scenario, common, signal) {
  const died = await ensureRunning(b);
  const before = isMqt(b) ? await b.stats() : undefined;
  const r = await runOnce(b, scenario, common, signal);
  const crash = await ensureRunning(b);
  if (crash !== null) {
    r.error = `${r.error ?? ''} [broker crashed: ${crash}]`.trim();
  } else if (isMqt(b)) {
    const after = await b.stats();
    r.brokerDropped = (after.dropped ?? 0) - (before.dropped ?? 0);
    r.brokerDrops = after.drops;
    // Every client of the run has disconnected: anything left is a leak.
    r.brokerLeft = { connections: after.connections, sessions: after.sessions };
  }
  return { r, died };
}

/** The cluster runs, after the others (each contender started afresh on a Redis of its own). */
async function clusterPart() {
  if (clusterIds.length === 0) return undefined;
  return runClusterBench({ root: ROOT, rounds, quick, scale, version, qos0Window, only: clusterIds });
}

async function main() {
  if (scenarios.length === 0) {
    const cluster = await clusterPart();
    if (args.json) process.stdout.write(`${JSON.stringify({ cluster }, null, 2)}\n`);
    else process.stdout.write(renderCluster(cluster));
    if (cluster?.rows?.some((r) => r.id === 'cross-node-qos1' && r.contenders.some((c) => c.lost > 0 || c.duplicates > 0))) process.exitCode = 1;
    return;
  }
  // Other work on the machine skews everything: say how busy it was.
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const controller = new AbortController();
  const brokers = [];
  const nodeArgs = args['mqt-node-args'].split(' ').filter((a) => a !== '');
  const mosquitto = args['no-mosquitto'] ? null : await startMosquitto(args.mosquitto, args['mosquitto-nodelay']);
  if (mosquitto !== null) brokers.push(mosquitto);
  else if (!args['no-mosquitto']) log(`mosquitto not found at ${args.mosquitto}: measuring mqt alone`);
  if (baselineDir !== undefined) brokers.push(await startMqt('mqt-base', join(baselineDir, 'dist'), mqtOptions, nodeArgs));
  brokers.push(await startMqt('mqt', join(ROOT, 'dist'), mqtOptions, nodeArgs));
  // Our broker on a store, for the durable scenarios only.
  const storeDir = scenarios.some((s) => s.durable) ? mkdtempSync(join(tmpdir(), 'mqt-bench-store-')) : undefined;
  const durable = storeDir === undefined ? null : await startMqt('mqt-durable', join(ROOT, 'dist'), { ...mqtOptions, persistence: storeDir }, nodeArgs);
  const floor = args['no-floor'] || !scenarios.some((s) => s.storm !== undefined) ? null : await startNodeFloor();
  const mosqVersion = mosquitto === null ? undefined : await mosquittoVersion(args.mosquitto);
  log(`brokers: ${[...brokers, ...(durable !== null ? [durable] : []), ...(floor !== null ? [floor] : [])].map((b) => `${b.name} on 127.0.0.1:${b.port} (pid ${b.pid})`).join(', ')}`);

  const stopAll = async () => {
    for (const b of [...brokers, ...(durable !== null ? [durable] : []), ...(floor !== null ? [floor] : [])]) {
      await b.stop();
      b.cleanup();
    }
    if (storeDir !== undefined) rmSync(storeDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    controller.abort(new Error('interrupted'));
    void stopAll().then(() => process.exit(130));
  });

  const common = { version, workers, qos0Window };
  const results = [];
  try {
    for (const b of [...(floor !== null ? [floor] : []), ...brokers, ...(durable !== null ? [durable] : [])]) await warmUp(b, common, quick, controller.signal);
    for (const scenario of scenarios) {
      const base = brokers.filter((b) => b.name !== 'mqt-base' || !scenario.durable);
      const contenders = scenario.storm !== undefined && floor !== null ? [...brokers, floor] : scenario.durable ? [...base, durable] : brokers;
      const crashed = contenders.map(() => []);
      // The engine's order of `mqt bench --compare`: round by round, every contender in turn.
      const runs = await runRounds(contenders.length, rounds, async (t, round) => {
        const b = contenders[t];
        const { r, died } = await measure(b, scenario, common, controller.signal);
        if (died !== null) crashed[t].push(`broker crashed between runs: ${died}`);
        log(runLine(scenario, round, rounds, b.name, r));
        await sleep(300);
        return r;
      });
      const summary = { id: scenario.id, name: scenario.name, unit: scenario.unit };
      contenders.forEach((b, t) => {
        summary[b.name] = summarizeRuns(runs[t], crashed[t], scenario.storm !== undefined);
      });
      if (scenario.durable) addDurableRatios(summary);
      results.push(addRatios(summary));
    }
  } finally {
    await stopAll();
  }

  const baseline = baselineDir === undefined ? null : { dir: baselineDir, commit: commitOf(baselineDir) };
  const config = {
    rounds,
    scale,
    protocol: version,
    qos0Window,
    payload: 64,
    workers,
    mosquitto: mosqVersion ?? null,
    mosquittoNodelay: args['mosquitto-nodelay'],
    mqtOptions: mqtOptions ?? null,
    mqt: { dir: ROOT, commit: commitOf(ROOT) },
    baseline,
    node: process.version,
    loadAverage: loadAtStart,
    loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  };
  const names = brokers.map((b) => b.name);
  const cluster = await clusterPart();

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ config, scenarios: results, cluster }, null, 2)}\n`);
  } else {
    const heading = [
      '',
      ...(quick ? ['--quick: a smoke run; the counts are too small for the rates to mean much.'] : []),
      `broker benchmark: ${rounds} round${rounds > 1 ? 's' : ''} per broker (medians), 64-byte payloads, MQTT ${version === 5 ? '5.0' : '3.1.1'}, loopback, load from the bench engine (${workers} thread${workers > 1 ? 's' : ''}); ` +
        `mosquitto ${mosqVersion ?? 'not run'}${args['mosquitto-nodelay'] ? ' (set_tcp_nodelay true)' : ''}, node ${process.version}, ` +
        `load average at start ${loadAtStart.join(' ')}, at end ${config.loadAverageAtEnd.join(' ')}${mqtOptions === undefined ? '' : `, mqt options ${JSON.stringify(mqtOptions)}`}`,
    ];
    const baselineNote = baseline === null ? undefined : `mqt = this checkout (${config.mqt.commit}); mqt-base = ${baseline.dir} (${baseline.commit}); new/base = mqt / mqt-base, same engine, same rounds.`;
    const storm = scenarios.find((s) => s.storm !== undefined);
    const plain = results.filter((s) => !scenarios.find((x) => x.id === s.id).durable);
    if (plain.length > 0) process.stdout.write(renderText(plain, { names, floor: floor?.name, heading, stormClients: storm?.storm.total ?? 0, rounds, qos0Window, baselineNote }));
    else process.stdout.write(`${heading.join('\n')}\n`);
    const durableResults = results.filter((s) => scenarios.find((x) => x.id === s.id).durable);
    if (durableResults.length > 0) process.stdout.write(renderDurable(durableResults, names.filter((n) => n !== 'mqt-base')));
    if (cluster !== undefined) process.stdout.write(renderCluster(cluster));
  }
  if (cluster?.rows?.some((r) => r.id === 'cross-node-qos1' && r.contenders.some((c) => c.lost > 0 || c.duplicates > 0))) process.exitCode = 1;
  const plainIds = new Set(scenarios.filter((s) => !s.durable).map((s) => s.id));
  // mosquitto's losses in a durable scenario are its own (its queue limit, no back-pressure): reported, not a failure of ours.
  const durableNames = ['mqt', 'mqt-durable'];
  if (failed(results.filter((s) => plainIds.has(s.id)), names) || failed(results.filter((s) => !plainIds.has(s.id)), durableNames)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:broker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
