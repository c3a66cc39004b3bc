/**
 * One run of one scenario against one contender, on the bench engine (dist/core/bench, the
 * engine of `mqt bench`): the scenario becomes a BenchConfig, the contender a BenchTarget with
 * its PID (so the engine meters the broker's CPU and memory), and the BenchResult one flat
 * record for the table: rate, latency, loss, CPU shares, and what our broker says about itself.
 */
import { runBench } from '../../dist/core/bench/index.js';
import { rssOf } from '../../dist/core/bench/procstat.js';
import { HOST } from './brokers.mjs';

export const PAYLOAD_SIZE = 64;
/** Flows: no progress at all for this long ends a run (a stuck broker), and once everything is sent, missing deliveries are waited for this long. */
const FLOW_TIMEOUT_MS = 5000;
/** One connection: TCP and CONNACK. A SYN dropped on a full listen queue is retried after 1 s, then 3 s. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The engine's config for a scenario. `flow`: { scenario ('pub' | 'fan-in' | 'fan-out'), qos,
 * pubs, subs, count (per publisher), inflight? }; `storm`: { total, concurrency }.
 */
export function engineConfig(scenario, { version, workers, qos0Window }) {
  const base = {
    topic: 'mqt/bench/%i',
    topicMode: 'same',
    size: PAYLOAD_SIZE,
    retain: false,
    protocolVersion: version,
    workers,
    timeoutMs: FLOW_TIMEOUT_MS,
    qos0Window,
    inflight: 100,
    conns: 1,
    concurrency: 1,
  };
  if (scenario.storm !== undefined) {
    return { ...base, scenario: 'conn', pubs: 1, subs: 0, qos: 0, conns: scenario.storm.total, concurrency: scenario.storm.concurrency };
  }
  const f = scenario.flow;
  return { ...base, scenario: f.scenario, pubs: f.pubs, subs: f.subs, qos: f.qos, msgs: f.count * f.pubs, inflight: f.inflight ?? 100, persistent: f.persistent === true };
}

function target(broker, version) {
  return {
    name: broker.name,
    connection: {
      transport: 'mqtt',
      host: HOST,
      port: broker.port,
      wsPath: '/mqtt',
      clientId: 'mqtb',
      keepalive: 60,
      protocolVersion: version,
      fallback: false,
      clean: true,
      reconnect: false,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    },
    brokerPid: broker.pid,
  };
}

/** Failures below and above MQTT in one line, e.g. "ECLOSED ×1, 0x87 ×2"; undefined for none. */
function failures(r) {
  const parts = [...(r.socketErrors ?? []).map((e) => `${e.code} ×${e.count}`), ...r.errors.map((e) => `0x${e.reasonCode.toString(16).padStart(2, '0')} ×${e.count}`)];
  return parts.length === 0 ? undefined : parts.join(', ');
}

const share = (seconds, wall) => (seconds === undefined || !(wall > 0) ? undefined : (seconds / wall) * 100);

/** The table's view of one BenchResult. */
export function record(r, rssBefore) {
  const conn = r.conn;
  const lat = conn !== undefined ? conn.connackLatency : r.deliveryLatency;
  const wall = r.cpu.wallSeconds;
  return {
    rate: conn !== undefined ? conn.rate : r.deliveryRate,
    p50: lat.count > 0 ? lat.p50 : Number.NaN,
    p99: lat.count > 0 ? lat.p99 : Number.NaN,
    received: conn !== undefined ? conn.connected : r.delivered,
    expected: conn !== undefined ? conn.attempted : r.expected,
    lost: conn !== undefined ? conn.attempted - conn.connected : r.lost,
    duplicates: r.duplicated,
    outOfOrder: r.outOfOrder,
    durationMs: r.durationMs,
    // Shares of one core over the metered span (100 = one core busy all along; /proc counts in 10 ms ticks).
    brokerCpuSeconds: r.cpu.brokerSeconds,
    brokerCpu: share(r.cpu.brokerSeconds, wall),
    generatorCpu: share(r.cpu.engineSeconds, wall),
    rss: conn !== undefined ? r.brokerRssBytes : undefined,
    rssBefore,
    listenOverflows: conn?.listenOverflows,
    error: failures(r),
  };
}

/**
 * Runs `scenario` once against `broker`. A run that cannot start (refused, broker gone) is a
 * record with its error; failures while it runs are in the result (lost, socket errors).
 */
export async function runOnce(broker, scenario, common, signal) {
  const config = engineConfig(scenario, common);
  const rssBefore = scenario.storm !== undefined && broker.pid !== undefined ? rssOf(broker.pid) : undefined;
  try {
    return record(await runBench(target(broker, common.version), config, undefined, signal), rssBefore);
  } catch (err) {
    if (signal?.aborted) throw err;
    return { rate: Number.NaN, p50: Number.NaN, p99: Number.NaN, received: 0, expected: 0, lost: 0, duplicates: 0, outOfOrder: 0, generatorCpu: undefined, brokerCpu: undefined, error: err.message };
  }
}

/** Not counted: JIT for the broker and for the engine alike, before the first round. */
export async function warmUp(broker, common, quick, signal) {
  const run = (scenario) => runBench(target(broker, common.version), engineConfig(scenario, common), undefined, signal);
  if (broker.name !== 'node floor') {
    await run({ flow: { scenario: 'pub', qos: 0, pubs: 1, subs: 1, count: quick ? 5000 : 20_000 } });
    await run({ flow: { scenario: 'pub', qos: 1, pubs: 1, subs: 1, count: quick ? 2000 : 10_000 } });
  }
  await run({ storm: { total: 200, concurrency: 50 } });
}
