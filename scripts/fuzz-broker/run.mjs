/**
 * One fuzz run: the broker in a child process, three well-behaved publishers and three
 * subscribers (3.1, 3.1.1, 5.0) streaming numbered QoS 0/1/2 messages the whole time, and
 * attack workers running episodes of every kind against it. Then the well-behaved traffic is
 * drained and judged, a fresh client must still be served, and the broker must stop cleanly.
 * Returns the summary; the caller prints it.
 */
import { ATTACKS, pickAttack } from './attacks.mjs';
import { brokerLog, rssSummary, sampleRss, startBroker, stopBroker } from './broker-process.mjs';
import { FUZZ_PASSWORD, FUZZ_USER, HONEST_USER } from './attack-kit.mjs';
import { HONEST_PASSWORD, Publisher, Subscriber, verify } from './honest.mjs';
import { RawConn } from '../lib/raw-conn.mjs';
import { Rng } from './rng.mjs';

const PROGRESS_EVERY_MS = 10_000;
const SETTLE_MS = 20_000;
const VICTIM_ID = 'honest-victim';

/** Messages kept by text, each with how often it came (an anomaly tends to repeat). */
class Tally {
  constructor() {
    this.map = new Map();
  }
  add(text) {
    this.map.set(text, (this.map.get(text) ?? 0) + 1);
  }
  get size() {
    return this.map.size;
  }
  list() {
    return [...this.map].map(([text, count]) => ({ text, count }));
  }
}

export async function runFuzz(o, line) {
  const rng = new Rng(o.seed);
  const failures = new Tally();
  const anomalies = new Tally();
  const intrusions = new Tally();
  const attacks = Object.fromEntries(Object.keys(ATTACKS).filter((k) => o.only === undefined || o.only.includes(k)).map((k) => [k, 0]));
  const notes = {};
  let stopping = false;
  const sleepers = new Set();
  const open = new Set();

  const broker = await startBroker(o.brokerFlags);
  const stopSampling = sampleRss(broker);
  let expectExit = false;
  broker.exited.then((e) => {
    if (!expectExit) failures.add(`the broker exited during the run: ${JSON.stringify(e)}; stderr: ${broker.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  });
  const port = broker.port;
  line(`broker pid ${broker.child.pid} on port ${port}: ${broker.args.join(' ')}`);

  const onFailure = (text) => failures.add(text);
  const onIntrusion = (text) => intrusions.add(text);
  const publishers = [3, 4, 5].map((version, index) => new Publisher({ port, index, version, rate: o.rate, window: o.window, rng: rng.fork(`pub${index}`), onFailure }));
  const subscribers = [
    new Subscriber({ port, index: 0, version: 4, filter: 'honest/#', grantedQos: 2, onFailure, onIntrusion }),
    new Subscriber({ port, index: 1, version: 5, filter: 'honest/+/+', grantedQos: 2, onFailure, onIntrusion }),
    new Subscriber({ port, index: 2, version: 3, filter: 'honest/#', grantedQos: 1, onFailure, onIntrusion }),
  ];
  for (const s of subscribers) await s.start();
  for (const p of publishers) await p.start();
  await leaveVictimSession(port);

  // ---- attack workers ------------------------------------------------------------------
  let clientCounter = 0;
  const makeContext = (worker) => ({
    port,
    worker,
    rng: rng.fork(`attacker${worker}`),
    stopping: () => stopping,
    sleep: (ms) =>
      stopping
        ? Promise.resolve(false)
        : new Promise((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              sleepers.delete(wake);
              resolve(false);
            };
            const timer = setTimeout(() => {
              sleepers.delete(wake);
              resolve(true);
            }, ms);
            sleepers.add(wake);
          }),
    track: (conn) => {
      open.add(conn);
      notes['attacker connections'] = (notes['attacker connections'] ?? 0) + 1;
      conn.closed.then(() => open.delete(conn));
    },
    count: (what, n = 1) => (notes[what] = (notes[what] ?? 0) + n),
    anomaly: (text) => anomalies.add(text),
    intrusion: (text) => intrusions.add(text),
    nextClientId: () => `fz${worker}-${++clientCounter}`,
    victimId: VICTIM_ID,
  });
  const workers = Array.from({ length: o.attackers }, async (_, worker) => {
    const ctx = makeContext(worker);
    while (!stopping) {
      const kind = pickAttack(ctx.rng, o.only);
      attacks[kind]++;
      try {
        await ATTACKS[kind].run(ctx);
      } catch (err) {
        failures.add(`attack ${kind} threw (a fuzzer bug): ${err.stack ?? err}`);
      }
    }
  });

  // ---- progress ------------------------------------------------------------------------
  const startedAt = Date.now();
  const progress = (label) => {
    const t = label ?? `${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)}s`;
    const total = Object.values(attacks).reduce((a, b) => a + b, 0);
    const byKind = Object.entries(attacks).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    // So far: "missing" is what was acknowledged (QoS 0: sent) and has not arrived yet, in
    // flight included; only the end of the run calls it lost.
    const so = verify(publishers, subscribers).perQos;
    const q = so.map((r) => `q${r.qos} sent ${r.sent}${r.qos > 0 ? ` acked ${r.acked}` : ''} recv ${r.received} missing ${r.lost} dup ${r.dup}`);
    const rss = broker.samples.at(-1)?.rss ?? 0;
    const peak = Math.max(0, ...broker.samples.map((s) => s.rss));
    const bad = failures.size + anomalies.size + intrusions.size;
    line(`${t}  attacks ${total} (${byKind})`);
    line(`       ${q.join(' | ')} | open attacker sockets ${open.size} | broker RSS ${(rss / 2 ** 20).toFixed(1)} MB (peak ${(peak / 2 ** 20).toFixed(1)})${bad > 0 ? ` | PROBLEMS ${bad}` : ''}`);
  };
  const ticker = setInterval(() => progress(), PROGRESS_EVERY_MS);
  await new Promise((r) => setTimeout(r, o.seconds * 1000));

  // ---- stop the attacks, drain the well-behaved traffic, judge -------------------------------
  stopping = true;
  for (const wake of [...sleepers]) wake();
  await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 20_000))]);
  for (const c of open) c.destroy();
  clearInterval(ticker);
  progress('  end');
  const unfinished = (await Promise.all(publishers.map((p) => p.settle(SETTLE_MS)))).reduce((a, b) => a + b, 0);
  if (unfinished > 0) failures.add(`${unfinished} QoS 1/2 flow(s) of the publishers unfinished ${SETTLE_MS / 1000} s after they stopped`);
  const drainUntil = Date.now() + SETTLE_MS;
  while (!subscribers.every((s) => s.hasAll(publishers)) && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000)); // the last QoS 0 messages, and any late duplicate
  const judged = verify(publishers, subscribers);
  for (const f of judged.failures) failures.add(f);

  const fresh = await freshClient(port);
  if (fresh !== true) failures.add(`a fresh client after the run: ${fresh}`);
  for (const c of [...publishers, ...subscribers]) c.close();
  await new Promise((r) => setTimeout(r, 200));
  stopSampling();
  const rss = rssSummary(broker);
  if (!(rss.peakMB <= o.maxRssMb)) failures.add(`broker RSS peaked at ${rss.peakMB} MB, over the bound of ${o.maxRssMb} MB`);
  const log = brokerLog(broker);
  for (const e of log.errors) failures.add(`broker logged an unexpected error: ${e}`);
  const aliveAtEnd = broker.exit === undefined;
  expectExit = true;
  const exit = await stopBroker(broker);
  if (aliveAtEnd && exit.code !== 0) failures.add(`the broker did not stop cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  for (const a of anomalies.list()) failures.add(`protocol: ${a.text}${a.count > 1 ? ` (${a.count} times)` : ''}`);
  for (const i of intrusions.list()) failures.add(`ACCESS: ${i.text}${i.count > 1 ? ` (${i.count} times)` : ''}`);

  return {
    ok: failures.size === 0,
    seed: o.seed,
    seconds: o.seconds,
    attackers: o.attackers,
    broker: { args: broker.args, exit, aliveAtEnd, freshClient: fresh === true },
    attacks,
    attackTotal: Object.values(attacks).reduce((a, b) => a + b, 0),
    notes,
    perQos: judged.perQos,
    rss: { ...rss, boundMB: o.maxRssMb },
    brokerWarnings: { count: log.warnings.length, first: log.warnings.slice(0, 5) },
    anomalies: anomalies.list(),
    intrusions: intrusions.list(),
    failures: failures.list().map((f) => (f.count > 1 ? `${f.text} (${f.count} times)` : f.text)),
  };
}

/**
 * A persistent session of the honest user, subscribed to honest/# and then left offline: what
 * the session-hijack attack resumes as the fuzz user.
 */
async function leaveVictimSession(port) {
  const c = await RawConn.dial(port, 4, 10_000);
  try {
    c.send({ type: 'connect', protocolVersion: 4, clean: false, keepalive: 0, clientId: VICTIM_ID, username: HONEST_USER, password: Buffer.from(HONEST_PASSWORD) });
    if ((await c.next((p) => p.type === 'connack', 10_000))?.reasonCode !== 0) throw new Error(`${VICTIM_ID}: not connected`);
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'honest/#', qos: 1 }] });
    if ((await c.next((p) => p.type === 'suback', 10_000))?.reasonCodes[0] !== 1) throw new Error(`${VICTIM_ID}: SUBSCRIBE honest/# not granted`);
    c.send({ type: 'disconnect' });
  } finally {
    c.socket.end();
  }
}

/**
 * A client that connects after everything, as the fuzz user (so the well-behaved subscribers
 * do not see it): CONNECT, SUBSCRIBE, a QoS 1 message to itself. true, or what went wrong.
 */
async function freshClient(port) {
  let c;
  try {
    c = await RawConn.dial(port, 5, 10_000);
  } catch (err) {
    return `no TCP connection (${err.message})`;
  }
  try {
    c.send({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'fuzz-fresh', username: FUZZ_USER, password: Buffer.from(FUZZ_PASSWORD) });
    const ack = await c.next((p) => p.type === 'connack', 10_000);
    if (ack?.reasonCode !== 0) return `CONNACK ${ack?.reasonCode ?? 'missing'}`;
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'fuzz/fresh', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    if ((await c.next((p) => p.type === 'suback', 10_000))?.reasonCodes[0] !== 1) return 'SUBACK missing or not QoS 1';
    c.send({ type: 'publish', topic: 'fuzz/fresh', payload: Buffer.from('H|9|1|1|'), qos: 1, retain: false, dup: false, packetId: 2 });
    if ((await c.next((p) => p.type === 'puback', 10_000)) === undefined) return 'no PUBACK';
    if ((await c.next((p) => p.type === 'publish', 10_000)) === undefined) return 'its own message did not come back';
    c.send({ type: 'disconnect' });
    return true;
  } finally {
    c.destroy();
  }
}
