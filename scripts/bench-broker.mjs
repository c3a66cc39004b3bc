#!/usr/bin/env node
/**
 * npm run bench:broker [-- options]   — our broker against mosquitto, same load, same machine.
 *
 * What it does (issue 3, "Performance"):
 * - starts our broker (dist/, so run `npm run build` first; the npm script does) in a child
 *   process of its own, and mosquitto when /usr/sbin/mosquitto exists, each on a free
 *   loopback port; mosquitto gets a temporary config with no persistence,
 *   max_inflight_messages 1000 and max_queued_messages 100000, and ours the same limits;
 * - drives both from this process with a lean raw-socket client on our own codec
 *   (scripts/bench-broker/client.mjs: pre-encoded PUBLISH templates patched in place, one
 *   socket write per batch, acks read without decoding), in alternating rounds per scenario:
 *   mosquitto, mqt, mosquitto, mqt, ...;
 * - prints per scenario the median rate of each broker, the ratio mqt / mosquitto, the median
 *   p50 and p99 latency (publisher's send → subscriber's receive, or CONNECT → CONNACK), and
 *   what was lost: QoS 1 and 2 must arrive exactly (a loss there fails the run with exit code
 *   1); QoS 0 loss on loopback is reported.
 *
 * Scenarios (64-byte payloads; MQTT 3.1.1 unless --protocol 5):
 *   qos0         QoS 0, 1 → 1, flat out (paused while > 5000 messages are on their way)
 *   qos1         QoS 1, 1 → 1, window of 100 unacknowledged publishes
 *   qos2         QoS 2, 1 → 1, window of 100
 *   many-to-one  QoS 0, 10 publishers → 1 subscriber on a wildcard filter (msg/s received)
 *   fan-out      QoS 0, 1 publisher → 10 subscribers (deliveries/s)
 *   connect      2,000 connections, 200 waiting for CONNACK at a time (conn/s), RSS at 2,000;
 *                also run against a "node floor" (scripts/bench-broker/floor-child.mjs), a bare
 *                node:net server that answers CONNECT with CONNACK and nothing else, to show
 *                what Node's socket handling alone costs per connection next to both brokers
 *
 * Options:
 *   --rounds N         rounds per scenario and broker (default 3); rates are medians
 *   --quick            small counts, one round: a smoke run
 *   --only a,b         run only these scenarios (names above)
 *   --scale X          multiply the message counts (default 1)
 *   --qos0-window N    QoS 0 messages allowed on their way to each subscriber, shared by its
 *                      publishers (default 5000)
 *   --protocol 4|5     MQTT version of the load (default 4, i.e. 3.1.1)
 *   --no-mosquitto     only our broker
 *   --no-floor         skip the node floor in the connect scenario
 *   --mosquitto PATH   mosquitto binary (default /usr/sbin/mosquitto)
 *   --mosquitto-nodelay  add `set_tcp_nodelay true` to mosquitto's config (not issue 3's setup)
 *   --mqt-options JSON   extra createBroker() options for ours, e.g. '{"maxClientBuffer":65536}'
 *   --mqt-node-args=ARGS node flags for our broker's process, e.g. --mqt-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof'
 *   --json             one JSON document on stdout instead of the table
 * Progress goes to stderr. The machine should be otherwise idle: with 2 cores, the broker
 * under test has one and this load generator the other.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { cpuMsOf, mosquittoVersion, startMosquitto, startMqt, startNodeFloor } from './bench-broker/brokers.mjs';
import { runConnectStorm } from './bench-broker/connect-storm.mjs';
import { runFlow } from './bench-broker/flow.mjs';
import { formatMs, formatRate, median, table } from './bench-broker/stats.mjs';

const { values: args } = parseArgsOrExit({
  options: {
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    scale: { type: 'string', default: '1' },
    'qos0-window': { type: 'string', default: '5000' },
    protocol: { type: 'string', default: '4' },
    'no-mosquitto': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
    'mosquitto-nodelay': { type: 'boolean', default: false },
    'mqt-options': { type: 'string' },
    'mqt-node-args': { type: 'string', default: '' },
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

if (args.help) {
  process.stdout.write('usage: npm run bench:broker -- [--rounds N] [--quick] [--only qos0,qos1,qos2,many-to-one,fan-out,connect] [--scale X] [--qos0-window N] [--protocol 4|5] [--no-mosquitto] [--no-floor] [--mosquitto PATH] [--mosquitto-nodelay] [--mqt-options JSON] [--mqt-node-args=ARGS] [--json]\n');
  process.exit(0);
}

function integer(name, text, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench:broker: --${name} must be an integer >= ${min}, got ${text}\n`);
    process.exit(1);
  }
  return n;
}

const quick = args.quick;
const rounds = integer('rounds', args.rounds ?? (quick ? '1' : '3'), 1);
if (!(Number(args.scale) > 0)) {
  process.stderr.write(`bench:broker: --scale must be a number > 0, got ${args.scale}\n`);
  process.exit(1);
}
const scale = Number(args.scale) * (quick ? 0.05 : 1);
const version = integer('protocol', args.protocol, 3);
if (version > 5) {
  process.stderr.write('bench:broker: --protocol must be 3, 4 or 5\n');
  process.exit(1);
}
const qos0Window = integer('qos0-window', args['qos0-window'], 1);
let mqtOptions;
try {
  mqtOptions = args['mqt-options'] === undefined ? undefined : JSON.parse(args['mqt-options']);
} catch (err) {
  process.stderr.write(`bench:broker: --mqt-options is not JSON: ${err.message}\n`);
  process.exit(1);
}
const count = (n) => Math.max(100, Math.round(n * scale));

/** Message counts sized for 1-3 s per run against mosquitto on a 2-core machine. */
const SCENARIOS = [
  { id: 'qos0', name: 'QoS 0, 1 → 1', unit: 'msg/s', flow: { qos: 0, pubs: 1, subs: 1, count: count(200_000), window: qos0Window } },
  { id: 'qos1', name: 'QoS 1, 1 → 1, window 100', unit: 'msg/s', flow: { qos: 1, pubs: 1, subs: 1, count: count(100_000), window: 100 } },
  { id: 'qos2', name: 'QoS 2, 1 → 1, window 100', unit: 'msg/s', flow: { qos: 2, pubs: 1, subs: 1, count: count(50_000), window: 100 } },
  // The QoS 0 window bounds what is on its way to one subscriber: shared by the 10 publishers.
  { id: 'many-to-one', name: 'QoS 0, 10 → 1 (wildcard)', unit: 'msg/s', flow: { qos: 0, pubs: 10, subs: 1, count: count(20_000), window: Math.ceil(qos0Window / 10), wildcard: true } },
  { id: 'fan-out', name: 'QoS 0, 1 → 10', unit: 'deliveries/s', flow: { qos: 0, pubs: 1, subs: 10, count: count(50_000), window: qos0Window } },
  quick
    ? { id: 'connect', name: '200 connects, 50 at a time', unit: 'conn/s', storm: { total: 200, concurrency: 50 } }
    : { id: 'connect', name: '2,000 connects, 200 at a time', unit: 'conn/s', storm: { total: 2000, concurrency: 200 } },
];

let scenarios = SCENARIOS;
if (args.only !== undefined) {
  const wanted = args.only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w));
  if (unknown.length > 0) {
    process.stderr.write(`bench:broker: unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => s.id).join(', ')}\n`);
    process.exit(1);
  }
  scenarios = SCENARIOS.filter((s) => wanted.includes(s.id));
}

const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One run, with the CPU share the broker and this load generator used while the clock ran
 * (100 = one core busy all along; /proc counts in 10 ms ticks): when the generator is near
 * 100 and the broker is not, the rate is the generator's limit, not the broker's.
 */
async function runOnce(broker, scenario) {
  let wall0 = 0;
  let cpu0;
  let gen0;
  let usage = {};
  const onStart = () => {
    cpu0 = cpuMsOf(broker.pid);
    gen0 = process.cpuUsage();
    wall0 = performance.now();
  };
  const onFinish = () => {
    const wall = performance.now() - wall0;
    const cpu1 = cpuMsOf(broker.pid);
    const gen = process.cpuUsage(gen0);
    usage = {
      brokerCpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
      brokerCpu: cpu0 === undefined || cpu1 === undefined ? undefined : Math.round(((cpu1 - cpu0) / wall) * 100),
      generatorCpu: Math.round(((gen.user + gen.system) / 1000 / wall) * 100),
    };
  };
  const r =
    scenario.storm !== undefined
      ? await runConnectStorm({ port: broker.port, version, ...scenario.storm, onStart, onFinish, sampleRss: async () => (await broker.stats()).rss })
      : await runFlow({ port: broker.port, version, ...scenario.flow, onStart, onFinish });
  return Object.assign(r, usage);
}

/** A broker that died during a run is reported and started again for the next one. */
async function ensureRunning(broker) {
  const note = broker.deathNote();
  if (note === null) return null;
  log(`!! ${note}`);
  await broker.start();
  return note;
}

async function main() {
  // Other work on the machine skews everything: say how busy it was.
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const brokers = [];
  const mosquitto = args['no-mosquitto'] ? null : await startMosquitto(args.mosquitto, args['mosquitto-nodelay']);
  if (mosquitto !== null) brokers.push(mosquitto);
  else if (!args['no-mosquitto']) log(`mosquitto not found at ${args.mosquitto}: measuring mqt alone`);
  const mqt = await startMqt(mqtOptions, args['mqt-node-args'].split(' ').filter((a) => a !== ''));
  brokers.push(mqt);
  const floor = args['no-floor'] || !scenarios.some((s) => s.storm !== undefined) ? null : await startNodeFloor();
  const mosqVersion = mosquitto === null ? undefined : await mosquittoVersion(args.mosquitto);
  log(`brokers: ${brokers.map((b) => `${b.name} on 127.0.0.1:${b.port} (pid ${b.pid})`).join(', ')}`);

  const stopAll = async () => {
    for (const b of brokers) await b.stop();
    await floor?.stop();
    mosquitto?.cleanup();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const results = [];
  try {
    // Warm-up, not counted: JIT for our broker and for this load generator alike.
    if (floor !== null) await runConnectStorm({ port: floor.port, version, total: 200, concurrency: 50 });
    for (const b of brokers) {
      await runFlow({ port: b.port, version, qos: 0, pubs: 1, subs: 1, count: quick ? 5000 : 20_000, window: qos0Window });
      await runFlow({ port: b.port, version, qos: 1, pubs: 1, subs: 1, count: quick ? 2000 : 10_000, window: 100 });
      await runConnectStorm({ port: b.port, version, total: 200, concurrency: 50 });
    }
    for (const scenario of scenarios) {
      const contenders = scenario.storm !== undefined && floor !== null ? [...brokers, floor] : brokers;
      const perBroker = Object.fromEntries(contenders.map((b) => [b.name, { runs: [], crashedBetweenRuns: [] }]));
      for (let round = 0; round < rounds; round++) {
        for (const b of contenders) {
          const died = await ensureRunning(b);
          if (died !== null) perBroker[b.name].crashedBetweenRuns.push(`broker crashed between runs: ${died}`);
          const before = b.name === 'mqt' ? await b.stats() : undefined;
          const r = await runOnce(b, scenario);
          const crash = await ensureRunning(b);
          if (crash !== null) {
            r.error = `${r.error ?? ''} [broker crashed: ${crash}]`;
          } else if (b.name === 'mqt') {
            const after = await b.stats();
            r.brokerDropped = (after.dropped ?? 0) - (before.dropped ?? 0);
            r.brokerDrops = after.drops;
            // Every client of the run has disconnected: anything left is a leak.
            r.brokerLeft = { connections: after.connections, sessions: after.sessions };
          }
          perBroker[b.name].runs.push(r);
          log(
            `${scenario.id.padEnd(11)} round ${round + 1}/${rounds} ${b.name.padEnd(9)} ${formatRate(r.rate).padStart(11)} ${scenario.unit}` +
              `  p50 ${formatMs(r.p50)} ms  p99 ${formatMs(r.p99)} ms  received ${r.received}/${r.expected}` +
              (r.duplicates > 0 ? `  DUPLICATES ${r.duplicates}` : '') +
              (r.outOfOrder > 0 ? `  out-of-order ${r.outOfOrder}` : '') +
              (r.brokerDropped > 0 ? `  broker dropped ${r.brokerDropped} ${JSON.stringify(r.brokerDrops)}` : '') +
              (r.brokerLeft !== undefined && (r.brokerLeft.connections > 0 || r.brokerLeft.sessions > 0)
                ? `  broker still holds ${r.brokerLeft.connections} connections, ${r.brokerLeft.sessions} sessions`
                : '') +
              (r.rss !== undefined ? `  rss ${(r.rss / 2 ** 20).toFixed(1)} MB` : '') +
              (r.tcpP99 !== undefined ? `  tcp-connect p99 ${formatMs(r.tcpP99)} ms` : '') +
              (r.listenOverflows > 0 ? `  listen-queue overflows ${r.listenOverflows}` : '') +
              `  cpu broker ${r.brokerCpu ?? '?'}% generator ${r.generatorCpu}%` +
              (r.error !== undefined ? `  ERROR ${r.error}` : ''),
          );
          await sleep(300);
        }
      }
      const summary = { id: scenario.id, name: scenario.name, unit: scenario.unit };
      for (const b of contenders) {
        const runs = perBroker[b.name].runs;
        // A run that failed (broker gone, stuck) says nothing about speed.
        const ok = runs.filter((r) => r.error === undefined);
        summary[b.name] = {
          rate: median(ok.map((r) => r.rate)),
          p50: median(ok.map((r) => r.p50)),
          p99: median(ok.map((r) => r.p99)),
          lost: runs.reduce((s, r) => s + r.lost, 0),
          duplicates: runs.reduce((s, r) => s + r.duplicates, 0),
          expected: runs.reduce((s, r) => s + r.expected, 0),
          rss: median(runs.map((r) => r.rss ?? Number.NaN)),
          rssGrowth: median(runs.map((r) => (r.rss === undefined || r.rssBefore === undefined ? Number.NaN : r.rss - r.rssBefore))),
          listenOverflows: runs.reduce((n, r) => n + (r.listenOverflows ?? 0), 0),
          roundsWithOverflows: runs.filter((r) => r.listenOverflows > 0).length,
          brokerCpu: median(runs.map((r) => r.brokerCpu ?? Number.NaN)),
          // Broker CPU (user + system) per CONNACK, in µs: what each connection costs it.
          cpuPerConnectionUs: scenario.storm === undefined ? undefined : median(runs.map((r) => (r.brokerCpuMs === undefined || r.received === 0 ? Number.NaN : (r.brokerCpuMs * 1000) / r.received))),
          generatorCpu: median(runs.map((r) => r.generatorCpu)),
          errors: [...runs.map((r) => r.error).filter((e) => e !== undefined), ...perBroker[b.name].crashedBetweenRuns],
          runs,
        };
      }
      if (mosquitto !== null) summary.ratio = summary.mqt.rate / summary.mosquitto.rate;
      results.push(summary);
    }
  } finally {
    await stopAll();
  }

  const config = {
    rounds,
    scale,
    protocol: version,
    qos0Window,
    payload: 64,
    mosquitto: mosqVersion ?? null,
    mosquittoNodelay: args['mosquitto-nodelay'],
    mqtOptions: mqtOptions ?? null,
    node: process.version,
    loadAverage: loadAtStart,
  };
  // QoS 1/2 and the connection storm must be exact; any error is a failure too.
  const failed = results.some((s) => brokers.some((b) => s[b.name].errors.length > 0 || s[b.name].duplicates > 0 || (s.id !== 'qos0' && s.id !== 'many-to-one' && s.id !== 'fan-out' && s[b.name].lost > 0)));

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ config, scenarios: results }, null, 2)}\n`);
  } else {
    const withMosq = mosquitto !== null;
    const header = ['scenario', 'unit', ...(withMosq ? ['mosquitto', 'mqt', 'ratio', 'mosq p50/p99 ms'] : ['mqt']), 'mqt p50/p99 ms', withMosq ? 'lost mosq/mqt' : 'lost', withMosq ? 'cpu% mosq/mqt/gen' : 'cpu% mqt/gen'];
    const rows = results.map((s) => {
      const lat = (x) => `${formatMs(x.p50)} / ${formatMs(x.p99)}`;
      const lost = (x) => `${x.lost}${x.duplicates > 0 ? ` +${x.duplicates} dup` : ''}${x.errors.length > 0 ? ' ERR' : ''}`;
      return [
        s.name,
        s.unit,
        ...(withMosq ? [formatRate(s.mosquitto.rate), formatRate(s.mqt.rate), Number.isFinite(s.ratio) ? `${s.ratio.toFixed(2)}×` : '—', lat(s.mosquitto)] : [formatRate(s.mqt.rate)]),
        lat(s.mqt),
        withMosq ? `${lost(s.mosquitto)} / ${lost(s.mqt)}` : lost(s.mqt),
        [...(withMosq ? [s.mosquitto.brokerCpu] : []), s.mqt.brokerCpu, s.mqt.generatorCpu].map((x) => (Number.isFinite(x) ? Math.round(x) : '?')).join('/'),
      ];
    });
    const out = [
      '',
      ...(quick ? ['--quick: a smoke run; the counts are too small for the rates to mean much.'] : []),
      `broker benchmark: ${rounds} round${rounds > 1 ? 's' : ''} per broker (medians), 64-byte payloads, MQTT ${version === 5 ? '5.0' : version === 4 ? '3.1.1' : '3.1'}, loopback; ` +
        `mosquitto ${mosqVersion ?? 'not run'}${args['mosquitto-nodelay'] ? ' (set_tcp_nodelay true)' : ''}, node ${process.version}, ` +
        `load average at start ${loadAtStart.join(' ')}${mqtOptions === undefined ? '' : `, mqt options ${JSON.stringify(mqtOptions)}`}`,
      '',
      table(header, rows),
    ];
    const storm = results.find((s) => s.id === 'connect');
    if (storm !== undefined) {
      const mb = (x) => (Number.isFinite(x) ? `${(x / 2 ** 20).toFixed(1)} MB` : '—');
      const rss = (x) => `${mb(x.rss)} (${x.rssGrowth < 0 ? '-' : '+'}${mb(Math.abs(x.rssGrowth))} over the run)`;
      out.push('', `broker RSS holding ${quick ? 200 : 2000} connections: ${withMosq ? `mosquitto ${rss(storm.mosquitto)}, ` : ''}mqt ${rss(storm.mqt)}${floor !== null ? `, node floor ${rss(storm[floor.name])}` : ''}`);
      const overflows = brokers.map((b) => `${b.name} ${storm[b.name].listenOverflows} (in ${storm[b.name].roundsWithOverflows} of ${rounds} rounds)`).join(', ');
      out.push(`SYNs dropped on a full listen queue (each costs the client a 1 s retry), all rounds: ${overflows}`);
      if (brokers.some((b) => storm[b.name].roundsWithOverflows > 0)) {
        out.push('  a round with dropped SYNs measures the kernel\'s retry, not the broker: compare the rounds without (stderr) and the CPU per connection below.');
      }
      const names = [...brokers.map((b) => b.name), ...(floor !== null ? [floor.name] : [])];
      const us = (x) => (Number.isFinite(x) ? `${Math.round(x)} µs` : '—');
      out.push(`broker CPU per connection (median, user + system): ${names.map((n) => `${n} ${us(storm[n].cpuPerConnectionUs)}`).join(', ')}`);
      if (floor !== null) {
        const f = storm[floor.name];
        out.push(
          `node floor = a bare node:net server answering CONNECT with CONNACK, nothing else: ${formatRate(f.rate)} conn/s, p50/p99 ${formatMs(f.p50)} / ${formatMs(f.p99)} ms, cpu ${Math.round(f.brokerCpu)}%; ` +
            'what any broker on node:net spends per connection at the least.',
        );
      }
    }
    out.push(
      `lost = messages (or CONNACKs) not received, summed over all rounds; at most ${qos0Window} QoS 0 messages are on their way to each subscriber (shared by its publishers).`,
      'cpu% = share of one core used over a run by the broker, and by this load generator during the mqt runs (near 100: the generator is the limit).',
    );
    for (const s of results) for (const b of brokers) for (const e of s[b.name].errors) out.push(`error: ${s.id} on ${b.name}: ${e}`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:broker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
