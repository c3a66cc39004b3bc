/**
 * One publish/subscribe run against one broker: P publishers, S subscribers, one QoS, and the
 * counts, losses, duplicates and latencies seen by the subscribers.
 *
 * Payload (64 bytes): [0..3] sequence number (u32 BE), [4..5] publisher index (u16 BE),
 * [8..15] send time (performance.now(), f64 LE), then filler. Publishers and subscribers live
 * in this process, so they share the clock.
 *
 * Flow control:
 * - QoS 1/2: a window of `window` unacknowledged publishes per publisher (PUBACK, or PUBCOMP
 *   for QoS 2), packet ids from a free list; a batch is everything the window allows.
 * - QoS 0: flat out, in batches of QOS0_BATCH, bounded two ways so loopback loss is not
 *   self-inflicted: the publisher pauses while its socket holds more than HIGH_WATER bytes,
 *   and while more than `window` of its messages are still on their way to the subscribers.
 *   Messages a broker really dropped are written off after a stall so the run goes on.
 */
import { performance } from 'node:perf_hooks';
import { encode } from '../../dist/core/codec/index.js';
import { RawClient } from './client.mjs';
import { percentile } from './stats.mjs';

export const PAYLOAD_SIZE = 64;
const QOS0_BATCH = 100;
const HIGH_WATER = 256 * 1024;
/** No delivery for this long once every publish is out (and acknowledged): the rest is lost. */
const SETTLE_MS = 1500;
/** No progress at all for this long: the broker is stuck or dead. */
const STUCK_MS = 15_000;
/** A QoS 0 publisher held back by its window writes off what has not arrived after this long. */
const WRITE_OFF_MS = 250;

let runCounter = 0;

class Publisher {
  constructor(run, client, index, topic) {
    this.run = run;
    this.client = client;
    this.socket = client.socket;
    this.index = index;
    this.qos = run.qos;
    this.count = run.count;
    this.window = run.window;
    const payload = Buffer.alloc(PAYLOAD_SIZE, 0x78);
    const packet = { type: 'publish', topic, payload, qos: this.qos, retain: false, dup: false };
    if (this.qos > 0) packet.packetId = 1;
    const template = encode(packet, client.version);
    this.len = template.length;
    this.payloadAt = this.len - PAYLOAD_SIZE;
    // The packet id follows the topic: fixed header, topic length, topic.
    let pos = 1;
    while ((template[pos] & 0x80) !== 0) pos++;
    pos++;
    this.idAt = pos + 2 + ((template[pos] << 8) | template[pos + 1]);
    this.batchMax = this.qos > 0 ? this.window : QOS0_BATCH;
    // The template repeated batchMax times: each batch is one copy out of it plus patches.
    this.stamp = Buffer.allocUnsafe(this.len * this.batchMax);
    for (let k = 0; k < this.batchMax; k++) template.copy(this.stamp, k * this.len);
    this.freeIds = new Uint16Array(this.window);
    for (let k = 0; k < this.window; k++) this.freeIds[k] = this.window - k;
    this.freeTop = this.qos > 0 ? this.window : 0;
    this.sent = 0;
    this.refused = 0;
    /** QoS 0: deliveries given up as lost, so the window moves on. */
    this.writtenOff = 0;
    this.waitingDrain = false;
    this.creditBlocked = false;
    this.socket.on('drain', () => {
      if (!this.waitingDrain) return;
      this.waitingDrain = false;
      this.pump();
    });
    client.publisher = this;
  }

  get done() {
    return this.sent === this.count && (this.qos === 0 || this.freeTop === this.window);
  }

  /** Sends as much as the window and the socket allow. */
  pump() {
    if (this.waitingDrain || !this.run.running) return;
    const run = this.run;
    const len = this.len;
    const payloadAt = this.payloadAt;
    const idAt = this.idAt;
    this.creditBlocked = false;
    while (this.sent < this.count) {
      let n = this.count - this.sent;
      if (n > this.batchMax) n = this.batchMax;
      if (this.qos > 0) {
        if (n > this.freeTop) n = this.freeTop;
      } else {
        const inTransit = Math.ceil((this.sent * run.subs - run.receivedFrom[this.index] - this.writtenOff) / run.subs);
        const credit = this.window - inTransit;
        if (n > credit) n = credit;
        if (n <= 0) this.creditBlocked = true;
      }
      if (n <= 0) return;
      const out = Buffer.allocUnsafe(n * len);
      this.stamp.copy(out, 0, 0, n * len);
      const ts = performance.now();
      if (run.t0 === 0) run.t0 = ts;
      let seq = this.sent;
      for (let k = 0, base = 0; k < n; k++, base += len, seq++) {
        const p = base + payloadAt;
        out.writeUInt32BE(seq, p);
        out.writeUInt16BE(this.index, p + 4);
        out.writeDoubleLE(ts, p + 8);
        if (this.qos > 0) {
          const id = this.freeIds[--this.freeTop];
          out[base + idAt] = id >> 8;
          out[base + idAt + 1] = id & 0xff;
        }
      }
      this.sent = seq;
      this.socket.write(out);
      if (this.socket.writableLength > HIGH_WATER) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  /** PUBACK or PUBCOMP: the id is free again. */
  onFree(id) {
    this.freeIds[this.freeTop++] = id;
    if (this.freeTop === this.window && this.sent === this.count) this.run.check(performance.now());
  }

  /** A 5.0 PUBREC with a failure code: the broker will not deliver that message. */
  onRefused(id) {
    this.refused++;
    this.onFree(id);
  }
}

class Receiver {
  constructor(run, client) {
    this.run = run;
    /** One flag per (publisher, sequence number): duplicates are counted, not delivered twice. */
    this.seen = new Uint8Array(run.pubs * run.count);
    /** Last sequence number per publisher, to count deliveries out of order. */
    this.last = new Int32Array(run.pubs).fill(-1);
    client.receiver = this;
  }

  onMessage(buf, at, now) {
    const run = this.run;
    const seq = buf.readUInt32BE(at);
    const p = buf.readUInt16BE(at + 4);
    if (p >= run.pubs || seq >= run.count) {
      run.foreign++;
      return;
    }
    const k = p * run.count + seq;
    if (this.seen[k] !== 0) {
      run.duplicates++;
      return;
    }
    this.seen[k] = 1;
    if (seq < this.last[p]) run.outOfOrder++;
    else this.last[p] = seq;
    run.received++;
    run.receivedFrom[p]++;
    if (run.nLat < run.lat.length) run.lat[run.nLat++] = now - buf.readDoubleLE(at + 8);
  }

  afterChunk(now) {
    this.run.progress(now);
  }
}

class FlowRun {
  constructor(spec) {
    this.qos = spec.qos;
    this.pubs = spec.pubs;
    this.subs = spec.subs;
    this.count = spec.count;
    this.window = spec.window;
    this.expected = spec.pubs * spec.count * spec.subs;
    this.received = 0;
    this.receivedFrom = new Float64Array(spec.pubs);
    this.duplicates = 0;
    this.outOfOrder = 0;
    this.foreign = 0;
    this.lat = new Float64Array(this.expected);
    this.nLat = 0;
    this.t0 = 0;
    this.tEnd = 0;
    this.lastProgress = 0;
    this.running = false;
    /** @type {Publisher[]} */
    this.publishers = [];
    this.failure = null;
    this.resolve = null;
    /** Called when the clock starts and when it stops (CPU accounting by the caller). */
    this.onStart = spec.onStart;
    this.onFinish = spec.onFinish;
  }

  start() {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.running = true;
      this.lastProgress = performance.now();
      this.watchdog = setInterval(() => this.watch(), 50);
      this.onStart?.();
      for (const p of this.publishers) p.pump();
    });
  }

  progress(now) {
    this.lastProgress = now;
    if (this.received >= this.expected) {
      this.check(now);
      return;
    }
    if (this.qos === 0) for (const p of this.publishers) if (p.creditBlocked) p.pump();
  }

  allPublished() {
    for (const p of this.publishers) if (!p.done) return false;
    return true;
  }

  check(now) {
    if (this.running && this.received >= this.expected && this.allPublished()) this.finish(now);
  }

  watch() {
    const now = performance.now();
    const idle = now - this.lastProgress;
    if (this.allPublished()) {
      if (idle > SETTLE_MS) this.finish(this.lastProgress);
      return;
    }
    if (this.qos === 0 && idle > WRITE_OFF_MS) {
      for (const p of this.publishers) {
        if (!p.creditBlocked) continue;
        p.writtenOff = p.sent * this.subs - this.receivedFrom[p.index];
        p.pump();
      }
    }
    if (idle > STUCK_MS) this.fail(new Error(`no progress for ${STUCK_MS / 1000} s (received ${this.received} of ${this.expected})`));
  }

  fail(err) {
    if (!this.running) return;
    this.failure = err;
    this.finish(performance.now());
  }

  finish(now) {
    if (!this.running) return;
    this.running = false;
    this.tEnd = now;
    clearInterval(this.watchdog);
    this.onFinish?.();
    this.resolve();
  }

  result() {
    const elapsedMs = this.tEnd - this.t0;
    const lat = this.lat.subarray(0, this.nLat).sort();
    let unacked = 0;
    let refused = 0;
    for (const p of this.publishers) {
      if (this.qos > 0) unacked += p.window - p.freeTop;
      refused += p.refused;
    }
    return {
      rate: elapsedMs > 0 ? (this.received / elapsedMs) * 1000 : 0,
      elapsedMs,
      sent: this.pubs * this.count,
      expected: this.expected,
      received: this.received,
      lost: this.expected - this.received,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      unacked,
      refused,
      p50: percentile(lat, 0.5),
      p99: percentile(lat, 0.99),
      error: this.failure === null ? undefined : this.failure.message,
    };
  }
}

/**
 * Runs one scenario once.
 * spec: { port, version, qos, pubs, subs, count (per publisher), window, wildcard, onStart?, onFinish? }
 * With `wildcard`, publisher i publishes to <prefix>/p<i> and subscribers take <prefix>/+;
 * otherwise everyone uses <prefix>/t.
 */
export async function runFlow(spec) {
  const run = new FlowRun(spec);
  const id = `mqtb${process.pid}r${++runCounter}`;
  const prefix = `bench/${id}`;
  const clients = [];
  const onLost = (err) => run.fail(err);
  try {
    for (let s = 0; s < spec.subs; s++) {
      const c = await RawClient.open(spec.port, `${id}s${s}`, spec.version);
      clients.push(c);
      c.onLost = onLost;
      await c.subscribe(spec.wildcard ? `${prefix}/+` : `${prefix}/t`, spec.qos);
      new Receiver(run, c);
    }
    for (let p = 0; p < spec.pubs; p++) {
      const c = await RawClient.open(spec.port, `${id}p${p}`, spec.version);
      clients.push(c);
      c.onLost = onLost;
      run.publishers.push(new Publisher(run, c, p, spec.wildcard ? `${prefix}/p${p}` : `${prefix}/t`));
    }
    await run.start();
  } catch (err) {
    run.failure = err;
    run.running = false;
  } finally {
    await Promise.all(clients.map((c) => c.disconnect()));
  }
  return run.result();
}
