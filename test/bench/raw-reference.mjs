#!/usr/bin/env node
/**
 * Is the bench engine what limits a run? (issue 5, "Performance of the engine itself")
 *
 *   npm run build && node test/bench/raw-reference.mjs --reference DIR [--rounds 5] [--only qos0,qos1] [--engine DIR]
 *
 * DIR is a built checkout that still has the lean generator, i.e. at commit 501fe11 or before
 * (`git worktree add --detach ../mqt-ref 501fe11`, then `npm run build` there): since
 * bench:broker runs on the engine, that generator is no longer in the tree.
 *
 * Starts mosquitto (/usr/sbin/mosquitto) on a free loopback port with the config of the broker
 * benchmark (max_inflight_messages 1000, max_queued_messages 100000, no persistence) and, per
 * scenario, takes turns, round after round:
 *   reference  the lean raw-socket generator of DIR/scripts/bench-broker/flow.mjs (our codec,
 *              pre-encoded templates patched in place, one write per batch, hand-read acks)
 *   engine     runBench() of src/core/bench, compiled (dist/, or --engine DIR holding core/bench/)
 *   mqtt.js    (qos1-pub only) an MQTT.js publisher, QoS 1, one message at a time (awaits each PUBACK)
 * and prints the median msg/s of each and the ratios the issue asks for: engine ≥ 95 % of the
 * reference, engine ≥ 5 × MQTT.js at QoS 1 one at a time. The same scenario, payload (64 bytes),
 * windows and counts on both sides; rates are deliveries (or acks, publisher-only) per second
 * from the first send to the last receipt. The machine should be idle: mosquitto gets one core,
 * the generator the other.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { existsSync } from 'node:fs';
import { startMosquitto } from '../../scripts/bench-broker/brokers.mjs';
import { median } from '../../dist/core/bench/compare.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    engine: { type: 'string' },
    reference: { type: 'string' },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
  },
  strict: true,
});
const rounds = Number(args.rounds);
const engineDir = args.engine === undefined ? resolve('dist') : resolve(args.engine);
const { runBench } = await import(pathToFileURL(join(engineDir, 'core', 'bench', 'index.js')).href);
const flowFile = args.reference === undefined ? undefined : join(resolve(args.reference), 'scripts', 'bench-broker', 'flow.mjs');
if (flowFile === undefined || !existsSync(flowFile)) {
  process.stderr.write('raw-reference: --reference DIR names a built checkout at commit 501fe11 or before, which has scripts/bench-broker/flow.mjs\n');
  process.exit(1);
}
const { runFlow } = await import(pathToFileURL(flowFile).href);

/** Same loads as scripts/bench-broker.mjs; `flow` for the reference, `config` for the engine. */
const SCENARIOS = [
  { id: 'qos0', name: 'QoS 0, 1 → 1', flow: { qos: 0, pubs: 1, subs: 1, count: 200_000, window: 5000 }, config: { qos: 0, pubs: 1, subs: 1, msgs: 200_000 } },
  { id: 'qos1', name: 'QoS 1, 1 → 1, window 100', flow: { qos: 1, pubs: 1, subs: 1, count: 100_000, window: 100 }, config: { qos: 1, pubs: 1, subs: 1, msgs: 100_000, inflight: 100 } },
  { id: 'qos2', name: 'QoS 2, 1 → 1, window 100', flow: { qos: 2, pubs: 1, subs: 1, count: 50_000, window: 100 }, config: { qos: 2, pubs: 1, subs: 1, msgs: 50_000, inflight: 100 } },
  {
    id: 'fan-in',
    name: 'QoS 0, 10 → 1 (wildcard)',
    flow: { qos: 0, pubs: 10, subs: 1, count: 20_000, window: 500, wildcard: true },
    config: { scenario: 'fan-in', qos: 0, pubs: 10, subs: 1, msgs: 200_000 },
  },
  { id: 'fan-out', name: 'QoS 0, 1 → 10 (deliveries)', flow: { qos: 0, pubs: 1, subs: 10, count: 50_000, window: 5000 }, config: { scenario: 'fan-out', qos: 0, pubs: 1, subs: 10, msgs: 50_000 } },
  { id: 'qos1-pub', name: 'QoS 1 publisher only (acks/s)', flow: { qos: 1, pubs: 1, subs: 0, count: 100_000, window: 100 }, config: { qos: 1, pubs: 1, subs: 0, msgs: 100_000, inflight: 100 }, mqttjs: 20_000 },
];
const wanted = args.only?.split(',');
const scenarios = SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.id));

function benchConfig(c) {
  return { scenario: 'pub', topic: 'ref/%i', topicMode: 'same', size: 64, inflight: 100, retain: false, protocolVersion: 4, workers: 1, timeoutMs: 10_000, conns: 1, concurrency: 1, ...c };
}

async function runEngine(port, c) {
  const target = {
    name: 'mosquitto',
    connection: { transport: 'mqtt', host: '127.0.0.1', port, wsPath: '/mqtt', clientId: 'ref', keepalive: 60, protocolVersion: 4, fallback: false, clean: true, reconnect: false },
  };
  const r = await runBench(target, benchConfig(c));
  if (r.lost > 0 && c.qos > 0) throw new Error(`engine lost ${r.lost} at QoS ${c.qos}`);
  return { rate: c.subs > 0 ? r.deliveryRate : r.publishRate, lost: r.lost, cpu: r.cpu.engineSeconds, p50: r.deliveryLatency.p50 };
}

async function runReference(port, flow) {
  const r = await runFlow({ port, version: 4, ...flow });
  if (r.error !== undefined) throw new Error(`reference: ${r.error}`);
  // Publisher only: flow.mjs's rate counts receipts; acks per second is sent / elapsed.
  return { rate: flow.subs === 0 ? (r.sent * 1000) / r.elapsedMs : r.rate, lost: r.lost, p50: r.p50 };
}

async function runMqttJs(port, count) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `ref-mqttjs-${process.pid}` });
  const payload = Buffer.alloc(64, 0x78);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await client.publishAsync('ref/mqttjs', payload, { qos: 1 });
  const rate = (count * 1000) / (performance.now() - t0);
  await client.endAsync();
  return { rate };
}

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const log = (line) => process.stderr.write(`${line}\n`);

const mosquitto = await startMosquitto(args.mosquitto);
if (mosquitto === null) {
  log(`mosquitto not found at ${args.mosquitto}`);
  process.exit(1);
}
const rows = [];
try {
  for (const s of scenarios) {
    const ref = [];
    const eng = [];
    const mj = [];
    // A warm-up of each, not counted.
    await runReference(mosquitto.port, { ...s.flow, count: Math.ceil(s.flow.count / 10) });
    await runEngine(mosquitto.port, { ...s.config, msgs: Math.ceil(s.config.msgs / 10) });
    for (let round = 0; round < rounds; round++) {
      const a = await runReference(mosquitto.port, s.flow);
      ref.push(a.rate);
      const b = await runEngine(mosquitto.port, s.config);
      eng.push(b.rate);
      if (s.mqttjs !== undefined) mj.push((await runMqttJs(mosquitto.port, s.mqttjs)).rate);
      log(`${s.id} round ${round + 1}: reference ${fmt(a.rate)}  engine ${fmt(b.rate)}${s.mqttjs !== undefined ? `  mqtt.js ${fmt(mj.at(-1))}` : ''}`);
    }
    rows.push({ id: s.id, name: s.name, reference: median(ref), engine: median(eng), mqttjs: median(mj) });
  }
} finally {
  await mosquitto.stop();
  mosquitto.cleanup();
}

console.log(`\nengine vs lean raw-socket reference, against mosquitto, median of ${rounds} rounds (msg/s)\n`);
console.log('scenario                          reference      engine   engine/ref    mqtt.js one-at-a-time   engine/mqtt.js');
for (const r of rows) {
  const ratio = r.reference > 0 ? `${((r.engine / r.reference) * 100).toFixed(1)} %` : '—';
  const mj = Number.isFinite(r.mqttjs) ? fmt(r.mqttjs) : '—';
  const mjRatio = Number.isFinite(r.mqttjs) ? `${(r.engine / r.mqttjs).toFixed(1)} ×` : '—';
  console.log(`${r.name.padEnd(32)} ${fmt(r.reference).padStart(10)}  ${fmt(r.engine).padStart(10)}  ${ratio.padStart(10)}    ${mj.padStart(20)}   ${mjRatio.padStart(14)}`);
}
