#!/usr/bin/env node
/**
 * node scripts/faults-slow-reader.mjs [options]   — a subscriber reading 1 byte a second, for a
 * minute or more, beside busy publishers and well-behaved clients (the long form of
 * test/faults/slow-reader.test.ts; run `npm run build` first: it uses dist/).
 *
 * The broker (createBroker from dist/, the options below) runs in a child process of its own,
 * so its memory is its own (VmRSS from /proc, heap and queue bytes over IPC) and the load does
 * not share its event loop. This process holds the clients, all MQTT 3.1.1 on raw sockets and
 * our codec:
 *   slow     subscribed to busy/# (--slow-qos), through a TCP proxy in this process that
 *            forwards broker → slow at --read-rate bytes/s and reads no further ahead than its
 *            stream's 16 KiB highWaterMark, so the broker's own socket backs up (after the
 *            ~4 MB the loopback kernel buffers take) and its QoS 1 window to slow stays full
 *   good     subscribed to busy/# at QoS 1, acknowledging everything
 *   pubA     QoS 1 to busy/a, --publish-rate msg/s of --size bytes, 50 unacknowledged at most
 *   pubB     QoS 0 to busy/b, same rate, waiting while its socket holds 64 KiB unsent
 *   probe    probe-from publishes QoS 1 to other/ping every 20 ms, probe-to receives it: the
 *            publish → delivery latency of everyone else
 * Phases: --baseline s with everyone reading, then --duration s with slow throttled, then the
 * publishers stop, slow reads at full speed again and everything is counted.
 *
 * It prints the hold (when pubA's input was held and when its PUBACKs came again), the probe's
 * p50/p99/max per phase, the broker's RSS / heap / queue bytes, and what was dropped, then
 * verdicts; exit code 1 when one fails:
 *   held and released   pubA held back once slow's queue is long, let go after stallTimeoutMs
 *   others unaffected   slow-phase probe p99 ≤ max(2 × baseline p99, baseline p99 + 20 ms)
 *   memory bounded      slow's queue ≤ maxQueued; broker RSS grows < 32 MB over the second
 *                       half of the slow phase (steady, not following the publishers)
 *   nothing lost        good got every message; each message for slow arrived or was dropped
 *                       and counted (the broker's 'drop' events)
 *
 * Options:
 *   --duration S        slow phase, seconds (default 60)
 *   --baseline S        baseline phase, seconds (default 10)
 *   --read-rate B       the slow reader's bytes per second (default 1)
 *   --slow-qos 0|1      the slow reader's subscription QoS (default 1)
 *   --publish-rate N    messages per second of each busy publisher (default 400)
 *   --size N            payload bytes (default 512)
 *   --max-queued N      broker maxQueued (default 1000, the broker's default)
 *   --stall-timeout MS  broker stallTimeoutMs (default 5000, the broker's default)
 *   --max-client-buffer N  broker maxClientBuffer, bytes (default 1048576, the broker's default)
 *   --json              one JSON document on stdout instead of the lines
 * Linux only (/proc). Progress goes to stderr.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const DIST = new URL('../dist/', import.meta.url);

if (!existsSync(fileURLToPath(new URL('index.js', DIST)))) {
  process.stderr.write('faults-slow-reader: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
const { createBroker, encode, Parser } = await import(new URL('index.js', DIST).href);

// ---- the broker's process ----------------------------------------------------------------

/** The broker under test: reports its port, answers 'stats', counts drops per client, ends with its parent. */
async function brokerChild(options) {
  const broker = createBroker(options);
  const dropped = new Map();
  broker.on('drop', (clientId, msg) => {
    const list = dropped.get(clientId) ?? [];
    list.push(idOf(msg.payload.toString()));
    dropped.set(clientId, list);
  });
  const send = (m) => process.connected && process.send(m);
  process.on('disconnect', () => void broker.close().finally(() => process.exit(0)));
  process.on('message', (m) => {
    if (m.type === 'stats') {
      const slow = broker.inspect.session('slow');
      const held = (id) => broker.inspect.client(id)?.heldBack === true;
      send({
        type: 'stats',
        heapUsed: process.memoryUsage().heapUsed,
        queueBytes: broker.inspect.queueBytes(),
        slowQueued: slow?.queued ?? 0,
        slowDropped: slow?.dropped ?? 0,
        slowBuffered: broker.inspect.client('slow')?.buffered ?? 0,
        heldA: held('pubA'),
        heldB: held('pubB'),
        heldProbe: held('probe-from'),
      });
    } else if (m.type === 'dropped') {
      send({ type: 'dropped', byClient: Object.fromEntries(dropped) });
    }
  });
  const [tcp] = await broker.listen({ port: 0, host: HOST });
  send({ type: 'ready', port: tcp.port });
}

// ---- options -----------------------------------------------------------------------------

function fail(message) {
  process.stderr.write(`faults-slow-reader: ${message}\n`);
  process.exit(2);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        duration: { type: 'string', default: '60' },
        baseline: { type: 'string', default: '10' },
        'read-rate': { type: 'string', default: '1' },
        'slow-qos': { type: 'string', default: '1' },
        'publish-rate': { type: 'string', default: '400' },
        size: { type: 'string', default: '512' },
        'max-queued': { type: 'string', default: '1000' },
        'stall-timeout': { type: 'string', default: '5000' },
        'max-client-buffer': { type: 'string', default: '1048576' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    fail(err.message);
  }
  const num = (name, min, max) => {
    const text = parsed[name];
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max) fail(`--${name} takes a number from ${min} to ${max}, not ${JSON.stringify(text)}`);
    return n;
  };
  const int = (name, min, max) => {
    const n = num(name, min, max);
    if (!Number.isInteger(n)) fail(`--${name} takes a whole number, not ${JSON.stringify(parsed[name])}`);
    return n;
  };
  const slowQos = int('slow-qos', 0, 1);
  return {
    durationMs: num('duration', 1, 86_400) * 1000,
    baselineMs: num('baseline', 1, 3600) * 1000,
    readRate: num('read-rate', 0.1, 1e9),
    slowQos,
    publishRate: int('publish-rate', 1, 100_000),
    size: int('size', 16, 1 << 20),
    maxQueued: int('max-queued', 2, 100_000_000),
    stallTimeoutMs: int('stall-timeout', 1, 3_600_000),
    maxClientBuffer: int('max-client-buffer', 1, 1 << 30),
    json: parsed.json,
  };
}

// ---- clients, proxy, load ----------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A publisher's message id from its padded payload ('a-17....' → 'a-17'). */
function idOf(payload) {
  const end = payload.indexOf('.');
  return end === -1 ? payload : payload.slice(0, end);
}

/** A bare MQTT 3.1.1 client: packets to `onPacket`, nothing hidden. */
class Client {
  onPacket = () => undefined;
  #parser = new Parser({ protocolVersion: 4 });
  #waiting = [];
  #nextId = 0;

  constructor(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const p of this.#parser.push(chunk)) {
        const i = this.#waiting.findIndex((w) => w.type === p.type);
        if (i >= 0) this.#waiting.splice(i, 1)[0].resolve(p);
        else this.onPacket(p);
      }
    });
  }

  static async open(port, clientId) {
    const socket = netConnect({ port, host: HOST });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Client(socket);
    const connack = c.next('connack');
    c.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId });
    if ((await connack).reasonCode !== 0) throw new Error(`the broker refused ${clientId}`);
    return c;
  }

  next(type, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const w = { type, resolve: (p) => (clearTimeout(t), resolve(p)) };
      const t = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        reject(new Error(`no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(w);
    });
  }

  packetId() {
    this.#nextId = this.#nextId === 0xffff ? 1 : this.#nextId + 1;
    return this.#nextId;
  }

  send(p) {
    if (!this.socket.destroyed) this.socket.write(encode(p, 4));
  }

  async subscribe(topicFilter, qos) {
    const suback = this.next('suback');
    this.send({ type: 'subscribe', packetId: this.packetId(), subscriptions: [{ topicFilter, qos }] });
    if ((await suback).reasonCodes[0] >= 0x80) throw new Error(`SUBSCRIBE ${topicFilter} refused`);
  }

  /** Acknowledges every PUBLISH and hands its payload to `got`. */
  acknowledging(got) {
    this.onPacket = (p) => {
      if (p.type !== 'publish') return;
      if (p.qos === 1) this.send({ type: 'puback', packetId: p.packetId });
      got(p.payload.toString());
    };
  }
}

/** A proxy with one link: broker → client forwarded at `rate` bytes/s (Infinity: as it comes). */
async function throttlingProxy(targetPort) {
  const state = { rate: Infinity, link: undefined };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    const broker = netConnect({ port: targetPort, host: HOST });
    for (const s of [client, broker]) s.on('error', () => undefined);
    broker.once('connect', () => {
      state.link = { client, broker };
      client.pipe(broker);
      broker.on('data', (chunk) => client.write(chunk));
      client.resume();
    });
    client.once('close', () => broker.destroy());
    broker.once('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  let allowance = 0;
  const timer = setInterval(() => {
    const from = state.link?.broker;
    if (from === undefined || state.rate === Infinity) return;
    allowance = Math.min(allowance + state.rate / 10, Math.max(1, state.rate));
    if (from.readableLength === 0) return void from.read(0);
    const n = Math.min(Math.floor(allowance), from.readableLength);
    if (n < 1) return;
    allowance -= n;
    from.read(n); // paused mode: emits 'data' for these n bytes
  }, 100);
  return {
    port: server.address().port,
    throttle(rate) {
      state.rate = rate;
      allowance = 0;
      if (rate === Infinity) state.link?.broker.resume();
      else state.link?.broker.pause();
    },
    stop() {
      clearInterval(timer);
      state.link?.client.destroy();
      state.link?.broker.destroy();
      server.close();
    },
  };
}

/** Paced publishing to `topic`; QoS 1 keeps at most 50 unacknowledged. */
function publisher(client, name, topic, qos, rate, size) {
  const self = { sent: [], acks: [], inflight: new Map(), stop: () => clearInterval(timer) };
  let seq = 0;
  let due = 0;
  client.onPacket = (p) => {
    if (p.type !== 'puback' || !self.inflight.delete(p.packetId)) return;
    self.acks.push(Date.now());
  };
  const timer = setInterval(() => {
    due = Math.min(due + rate / 100, Math.max(1, rate / 50));
    while (due >= 1) {
      if (qos === 1 && self.inflight.size >= 50) return;
      if (qos === 0 && client.socket.writableLength > 65_536) return;
      due--;
      const id = `${name}-${++seq}`;
      const packetId = qos === 1 ? client.packetId() : undefined;
      client.send({ type: 'publish', topic, payload: Buffer.from(id.padEnd(size, '.')), qos, retain: false, dup: false, packetId });
      if (qos === 1) self.inflight.set(packetId, id);
      self.sent.push(id);
    }
  }, 10);
  return self;
}

function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---- the run -----------------------------------------------------------------------------

async function main() {
  const o = readOptions();
  const { rssOf } = await import(new URL('core/bench/procstat.js', DIST).href);
  const log = (line) => process.stderr.write(`${line}\n`);
  const brokerOptions = { maxQueued: o.maxQueued, stallTimeoutMs: o.stallTimeoutMs, maxClientBuffer: o.maxClientBuffer };
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, MQT_FAULTS_BROKER: JSON.stringify(brokerOptions) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  child.on('message', (m) => replies.shift()?.(m));
  const ask = (type) => new Promise((resolve) => {
    replies.push(resolve);
    child.send({ type });
  });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => (m.type === 'ready' ? resolve(m.port) : reject(new Error('unexpected message from the broker'))));
    child.once('exit', (code) => reject(new Error(`the broker exited (code ${code}) before listening`)));
  });
  const proxy = await throttlingProxy(port);
  const timers = [];
  let exitCode = 0;
  try {
    const slow = await Client.open(proxy.port, 'slow');
    await slow.subscribe('busy/#', o.slowQos);
    const slowGot = [];
    slow.acknowledging((p) => slowGot.push(idOf(p)));
    const good = await Client.open(port, 'good');
    await good.subscribe('busy/#', 1);
    const goodGot = [];
    good.acknowledging((p) => goodGot.push(idOf(p)));

    const probeTo = await Client.open(port, 'probe-to');
    await probeTo.subscribe('other/#', 1);
    const probeFrom = await Client.open(port, 'probe-from');
    let phase = 'baseline';
    const latency = { baseline: [], slow: [], after: [] };
    const outstanding = new Map();
    probeTo.acknowledging((p) => {
      const [id, at] = p.split('@');
      const ph = outstanding.get(id);
      if (ph === undefined) return;
      outstanding.delete(id);
      latency[ph].push(performance.now() - Number(at));
    });
    let probeSeq = 0;
    const probeTimer = setInterval(() => {
      const id = `probe-${++probeSeq}`;
      outstanding.set(id, phase);
      probeFrom.send({ type: 'publish', topic: 'other/ping', payload: Buffer.from(`${id}@${performance.now()}`), qos: 1, retain: false, dup: false, packetId: probeFrom.packetId() });
    }, 20);
    timers.push(probeTimer);

    const pubA = publisher(await Client.open(port, 'pubA'), 'a', 'busy/a', 1, o.publishRate, o.size);
    const pubB = publisher(await Client.open(port, 'pubB'), 'b', 'busy/b', 0, o.publishRate, o.size);
    timers.push({ stop: pubA.stop }, { stop: pubB.stop });

    const samples = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await ask('stats');
        samples.push({ ...s, at: Date.now(), phase, rss: rssOf(child.pid) ?? 0 });
        await sleep(100);
      }
    })();

    log(`baseline: ${o.baselineMs / 1000} s, everyone reading`);
    await sleep(o.baselineMs);
    phase = 'slow';
    const throttledAt = Date.now();
    proxy.throttle(o.readRate);
    log(`slow phase: ${o.durationMs / 1000} s, slow reads ${o.readRate} B/s`);
    await sleep(o.durationMs);
    phase = 'after';
    clearInterval(probeTimer);
    pubA.stop();
    pubB.stop();
    sampling = false;
    await sampler;

    // Count: slow reads at full speed again until every message for it arrived or was dropped.
    proxy.throttle(Infinity);
    const sent = [...pubA.sent, ...pubB.sent];
    const deadline = Date.now() + 120_000;
    let dropped = {};
    for (;;) {
      dropped = (await ask('dropped')).byClient;
      const done = goodGot.length >= sent.length && slowGot.length + (dropped.slow?.length ?? 0) >= sent.length && outstanding.size === 0;
      if (done || Date.now() > deadline) break;
      await sleep(200);
    }
    await sleep(300);
    dropped = (await ask('dropped')).byClient;

    // The hold: first sample with pubA held, first PUBACK after it.
    const slowSamples = samples.filter((s) => s.at >= throttledAt && s.phase === 'slow');
    const heldAt = slowSamples.find((s) => s.heldA)?.at;
    const releasedAt = heldAt === undefined ? undefined : pubA.acks.find((t) => t > heldAt + 100);
    // The hold without the sampler's 100 ms: the longest silence between two PUBACKs after the throttle.
    const slowAcks = pubA.acks.filter((t) => t >= throttledAt);
    const longestGap = Math.max(0, ...slowAcks.slice(1).map((t, i) => t - slowAcks[i]));
    const stats = (list) => ({ samples: list.length, p50: percentile(list, 50), p99: percentile(list, 99), max: Math.max(...list) });
    const lat = { baseline: stats(latency.baseline), slow: stats(latency.slow) };
    const peak = (key, list = samples) => Math.max(0, ...list.map((s) => s[key]));
    const half = slowSamples.filter((s) => s.at >= throttledAt + o.durationMs / 2);
    const rssGrowth = half.length > 1 ? half.at(-1).rss - Math.min(...half.map((s) => s.rss)) : 0;
    const baselineRss = samples.filter((s) => s.phase === 'baseline').at(-1)?.rss ?? 0;
    const slowDropped = new Set(dropped.slow ?? []);
    const goodSet = new Set(goodGot);
    const goodMissing = sent.filter((id) => !goodSet.has(id)).length;
    const slowSet = new Set(slowGot);
    const slowUnaccounted = sent.filter((id) => !slowSet.has(id) && !slowDropped.has(id)).length;
    const slowBoth = slowGot.filter((id) => slowDropped.has(id)).length;
    const p99Target = Math.max(2 * lat.baseline.p99, lat.baseline.p99 + 20);

    const verdicts = [
      ['held and released', heldAt !== undefined && releasedAt !== undefined, heldAt === undefined ? 'pubA was never held back' : releasedAt === undefined ? 'pubA was never let go' : `held ${heldAt - throttledAt} ms after the throttle, for ${releasedAt - heldAt} ms (longest PUBACK gap ${longestGap} ms; stallTimeoutMs ${o.stallTimeoutMs})`],
      ['others unaffected', lat.slow.p99 <= p99Target, `probe p99 ${lat.slow.p99.toFixed(1)} ms in the slow phase, target ≤ ${p99Target.toFixed(1)} ms (baseline ${lat.baseline.p99.toFixed(1)} ms)`],
      ['memory bounded', peak('slowQueued', slowSamples) <= o.maxQueued && rssGrowth < 32 << 20, `slow queue peak ${peak('slowQueued', slowSamples)} (maxQueued ${o.maxQueued}); broker RSS +${(rssGrowth / 1048576).toFixed(1)} MB over the second half of the slow phase`],
      ['nothing lost', goodMissing === 0 && slowUnaccounted === 0 && slowBoth === 0 && outstanding.size === 0, `good missing ${goodMissing} of ${sent.length}; slow got ${slowGot.length}, dropped ${slowDropped.size}, unaccounted ${slowUnaccounted}; probe messages missing ${outstanding.size}`],
    ];
    if (verdicts.some(([, ok]) => !ok)) exitCode = 1;
    const report = {
      options: o,
      hold: { heldAfterMs: heldAt === undefined ? null : heldAt - throttledAt, heldForMs: heldAt === undefined || releasedAt === undefined ? null : releasedAt - heldAt, longestPubackGapMs: longestGap },
      latencyMs: lat,
      broker: {
        rssBaselineMB: baselineRss / 1048576,
        rssPeakMB: peak('rss') / 1048576,
        rssGrowthSecondHalfMB: rssGrowth / 1048576,
        heapPeakMB: peak('heapUsed') / 1048576,
        queueBytesPeak: peak('queueBytes'),
        slowQueuedPeak: peak('slowQueued', slowSamples),
        slowBufferedPeak: peak('slowBuffered', slowSamples),
      },
      messages: { sent: sent.length, pubAAcked: pubA.acks.length, goodGot: goodGot.length, slowGot: slowGot.length, slowDropped: slowDropped.size },
      verdicts: verdicts.map(([name, ok, detail]) => ({ name, ok, detail })),
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const l = (s) => process.stdout.write(`${s}\n`);
      const f = (x) => x.toFixed(1);
      l(`slow reader at ${o.readRate} B/s (QoS ${o.slowQos}), 2 publishers × ${o.publishRate} msg/s × ${o.size} B, maxQueued ${o.maxQueued}, stallTimeoutMs ${o.stallTimeoutMs}`);
      l(`probe latency  baseline: p50 ${f(lat.baseline.p50)} ms  p99 ${f(lat.baseline.p99)} ms  max ${f(lat.baseline.max)} ms  (${lat.baseline.samples} samples)`);
      l(`probe latency  slow:     p50 ${f(lat.slow.p50)} ms  p99 ${f(lat.slow.p99)} ms  max ${f(lat.slow.max)} ms  (${lat.slow.samples} samples)`);
      l(`broker memory  RSS ${f(report.broker.rssBaselineMB)} MB at the end of the baseline, peak ${f(report.broker.rssPeakMB)} MB; heap peak ${f(report.broker.heapPeakMB)} MB; queue bytes peak ${report.broker.queueBytesPeak}; bytes buffered for slow peak ${report.broker.slowBufferedPeak}`);
      l(`messages       sent ${sent.length}; good got ${goodGot.length}; slow got ${slowGot.length}, dropped for it ${slowDropped.size}`);
      for (const [name, ok, detail] of verdicts) l(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    }
  } finally {
    for (const t of timers) (t.stop ?? (() => clearInterval(t)))();
    proxy.stop();
    child.disconnect();
  }
  process.exit(exitCode);
}

// Last, so every class and function above is initialised before either role starts.
if (process.env.MQT_FAULTS_BROKER !== undefined) await brokerChild(JSON.parse(process.env.MQT_FAULTS_BROKER));
else await main();
