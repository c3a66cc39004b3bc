/**
 * The publishing side of one bench client: the per-message hot path.
 *
 * The PUBLISH is encoded once (our codec) into a template, repeated batchMax times into a
 * stamp; a batch is one copy out of the stamp into one buffer, the sequence number, send time,
 * flags and packet id patched in place, and one write. No object, closure or promise per
 * message.
 *
 * Flow control:
 * - QoS 1/2: at most `window` unacknowledged publishes (the configured inflight, capped by the
 *   broker's 5.0 Receive Maximum), packet ids from a free list; freed by PUBACK / PUBCOMP.
 * - QoS 0 flat out, bounded two ways so loss on loopback is not self-inflicted: the sender
 *   waits while its socket holds more than HIGH_WATER bytes, and while more than qos0Window
 *   of its messages are on their way to each subscriber (arrivals from the shared Board, so
 *   subscribers in other threads count too). Messages a broker really dropped are written off
 *   after WRITE_OFF_MS without progress, so the run goes on.
 * - Fixed rate: message k of publisher p (of P) is due at startAt + (k·P + p)·1000/rate, one
 *   schedule for all publishers from one clock; its header carries that due time, so a late
 *   send shows as latency (coordinated-omission correction).
 */
import { encode } from '../codec/encode.js';
import type { PublishPacket } from '../codec/types.js';
import { S_ACKED, S_PUBLISHED, S_REFUSED, type Board } from './board.js';
import type { RawClient, Sender } from './client.js';
import { now } from './clock.js';
import type { Histogram } from './histogram.js';
import { FLAG_WARMUP, HEADER_FLAGS, HEADER_PUBLISHER, HEADER_RUN, HEADER_SEQ, HEADER_TIME } from './payload.js';

/** QoS 0 messages per batch (one socket write). */
const QOS0_BATCH = 100;
/** Batches one pump() may write before it lets I/O in (setImmediate): acks, timers, abort. */
const MAX_BATCHES_PER_PUMP = 32;
/** A QoS 0 sender held back by its window writes off what has not arrived after this long. */
export const WRITE_OFF_MS = 250;

export interface PublisherHost {
  readonly board: Board;
  /** Index of this shard's first slot in board.f. */
  readonly shardBase: number;
  readonly ackLatency: Histogram;
  /** Counted messages sent per second of the measured phase. */
  readonly publishedPerSecond: number[];
  /** Start of the measured phase (clock.ts), for the per-second rows. */
  measureStart: number;
  publisherDone(p: Publisher): void;
  /** A 5.0 ack with a failure code, and which ack it was. */
  refused(reasonCode: number, packet: 'PUBACK' | 'PUBREC' | 'PUBCOMP'): void;
  /** QoS 0 window full: pump this publisher again soon (arrivals may be in another thread). */
  blocked(p: Publisher): void;
  /** pump() stopped after MAX_BATCHES_PER_PUMP: pump it again after pending I/O. */
  yielded(p: Publisher): void;
}

const IDLE = 0;
const SENDING = 1;
/** Everything of the phase is sent; waiting for the last acks. */
const DRAINING = 2;
const DONE = 3;
/** Connection lost or run stopped: sends nothing more. */
const STOPPED = 4;

export interface PublisherOptions {
  qos: 0 | 1 | 2;
  retain: boolean;
  size: number;
  runId: number;
  /** QoS 1/2 window. */
  window: number;
  /** QoS 0: allowed on their way per subscriber. */
  qos0Window: number;
  /** Subscribers that receive this publisher's messages. */
  subsFor: number;
  /** Messages per second of all publishers together, or undefined for flat out. */
  rate: number | undefined;
  publishers: number;
}

export class Publisher implements Sender {
  private readonly qos: 0 | 1 | 2;
  private readonly len: number;
  private readonly payloadAt: number;
  private readonly idAt: number;
  private readonly batchMax: number;
  private readonly stamp: Buffer;
  private readonly window: number;
  private readonly freeIds: Uint16Array;
  private freeTop: number;
  /** Per packet id: 0 free, 1 counted message, 2 warm-up message. */
  private readonly busy: Uint8Array;
  /** Per packet id: the send time written into its payload. */
  private readonly sentAt: Float64Array;
  private readonly qos0Window: number;
  private readonly subsFor: number;
  /** Fixed rate: ms between two messages of this publisher, and its offset in the schedule. */
  private readonly intervalMs: number;
  private readonly offsetMs: number;

  private state = IDLE;
  private counted = false;
  private flags = 0;
  private limit = 0;
  private endAt = Number.POSITIVE_INFINITY;
  private startAt = 0;
  /** Messages sent in this phase: the next sequence number. */
  private seq = 0;
  private waitingDrain = false;
  /** Every message sent, all phases (QoS 0 window). */
  private sentAll = 0;
  private writtenOff = 0;
  private lastArrived = -1;
  private blockedSince = 0;

  /** Waiting in the shard's list of publishers to pump again (blocked or yielded): at most once. */
  queued = false;

  /** Counted totals. */
  published = 0;
  acked = 0;
  refusedCount = 0;
  firstSend = Number.POSITIVE_INFINITY;
  lastSend = Number.NEGATIVE_INFINITY;
  lastAck = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly host: PublisherHost,
    readonly client: RawClient,
    readonly index: number,
    readonly topic: string,
    options: PublisherOptions,
  ) {
    this.qos = options.qos;
    const payload = Buffer.alloc(options.size, 0x78);
    payload.writeUInt32BE(options.runId >>> 0, HEADER_RUN);
    payload.writeUInt16BE(index, HEADER_PUBLISHER);
    payload[HEADER_FLAGS] = 0;
    payload[HEADER_FLAGS + 1] = 0;
    const packet: PublishPacket = { type: 'publish', topic, payload, qos: this.qos, retain: options.retain, dup: false };
    if (this.qos > 0) packet.packetId = 1;
    const template = encode(packet, client.version);
    if (template.length > client.maximumPacketSize) {
      throw new RangeError(`a ${options.size}-byte message makes a ${template.length}-byte PUBLISH, above the broker's Maximum Packet Size ${client.maximumPacketSize}`);
    }
    this.len = template.length;
    this.payloadAt = this.len - options.size;
    // The packet id follows the fixed header and the topic.
    let pos = 1;
    while ((template[pos]! & 0x80) !== 0) pos++;
    pos++;
    this.idAt = pos + 2 + ((template[pos]! << 8) | template[pos + 1]!);
    // [MQTT-3.3.4-7] no more unacknowledged QoS 1/2 PUBLISH packets than the broker's Receive Maximum.
    this.window = Math.max(1, Math.min(options.window, client.receiveMaximum));
    this.batchMax = this.qos > 0 ? Math.min(this.window, 1000) : QOS0_BATCH;
    this.stamp = Buffer.allocUnsafe(this.len * this.batchMax);
    for (let k = 0; k < this.batchMax; k++) template.copy(this.stamp, k * this.len);
    this.freeIds = new Uint16Array(this.window);
    for (let k = 0; k < this.window; k++) this.freeIds[k] = this.window - k;
    this.freeTop = this.qos > 0 ? this.window : 0;
    this.busy = new Uint8Array(this.window + 1);
    this.sentAt = new Float64Array(this.window + 1);
    this.qos0Window = options.qos0Window;
    this.subsFor = options.subsFor;
    this.intervalMs = options.rate === undefined ? 0 : (options.publishers * 1000) / options.rate;
    this.offsetMs = options.rate === undefined ? 0 : (index * 1000) / options.rate;
    client.sender = this;
  }

  /** Starts a phase: `count` messages (Infinity: until endAt), counted or warm-up, from startAt. */
  begin(counted: boolean, count: number, endAt: number, startAt: number): void {
    if (this.state === STOPPED) {
      this.host.publisherDone(this);
      return;
    }
    this.state = SENDING;
    this.counted = counted;
    this.flags = counted ? 0 : FLAG_WARMUP;
    this.limit = count;
    this.endAt = endAt;
    this.startAt = startAt;
    this.seq = 0;
    this.pump();
  }

  /** Sends nothing more (run over, or the connection is gone). */
  stop(): void {
    const wasActive = this.state === SENDING || this.state === DRAINING;
    this.state = STOPPED;
    if (wasActive) this.host.publisherDone(this);
  }

  /** In a phase and not done sending it. */
  get sending(): boolean {
    return this.state === SENDING;
  }

  /** Fixed rate: when the next message is due (Infinity when none is). */
  nextDue(): number {
    if (this.state !== SENDING || this.intervalMs === 0 || this.seq >= this.limit) return Number.POSITIVE_INFINITY;
    // Held back by the window or the socket: an ack or 'drain' pumps it, not the ticker.
    if (this.waitingDrain || (this.qos > 0 && this.freeTop === 0)) return Number.POSITIVE_INFINITY;
    const due = this.startAt + this.offsetMs + this.seq * this.intervalMs;
    return due < this.endAt ? due : Number.POSITIVE_INFINITY;
  }

  /** Sends as much as the phase, the window, the schedule and the socket allow. */
  pump(): void {
    if (this.state !== SENDING || this.waitingDrain) return;
    const host = this.host;
    const board = host.board;
    const f = board.f;
    const len = this.len;
    const payloadAt = this.payloadAt;
    const idAt = this.idAt;
    const qos = this.qos;
    for (let batches = 0; ; batches++) {
      if (batches === MAX_BATCHES_PER_PUMP) {
        host.yielded(this);
        return;
      }
      const t = now();
      let n = this.limit - this.seq;
      if (this.intervalMs > 0) {
        // Messages of the phase: up to the limit, and only those due before its end.
        const x = (this.endAt - this.startAt - this.offsetMs) / this.intervalMs;
        const total = Math.min(this.limit, x > 0 ? Math.ceil(x) : 0);
        if (this.seq >= total) {
          n = 0;
        } else {
          const elapsed = t - this.startAt - this.offsetMs;
          const due = elapsed < 0 ? 0 : Math.floor(elapsed / this.intervalMs) + 1;
          n = (due < total ? due : total) - this.seq;
          if (n <= 0) return; // not due yet: the shard's ticker calls again
        }
      } else if (t >= this.endAt) {
        n = 0;
      }
      if (n <= 0) break; // the phase has sent everything
      if (n > this.batchMax) n = this.batchMax;
      if (qos > 0) {
        if (n > this.freeTop) n = this.freeTop;
        if (n === 0) return; // window full: acks call pump()
      } else if (this.subsFor > 0) {
        const arrived = board.arrivedFrom(this.index);
        const inTransit = Math.ceil((this.sentAll * this.subsFor - arrived - this.writtenOff) / this.subsFor);
        const credit = this.qos0Window - inTransit;
        if (credit <= 0) {
          if (arrived !== this.lastArrived) {
            this.lastArrived = arrived;
            this.blockedSince = t;
          } else if (t - this.blockedSince > WRITE_OFF_MS) {
            // Nothing arrived for a while: the broker dropped them. Write them off and go on.
            this.writtenOff = this.sentAll * this.subsFor - arrived;
            continue;
          }
          host.blocked(this);
          return;
        }
        if (n > credit) n = credit;
      }
      const out = Buffer.allocUnsafe(n * len);
      this.stamp.copy(out, 0, 0, n * len);
      const flags = this.flags;
      const counted = this.counted ? 1 : 2;
      let seq = this.seq;
      for (let k = 0, base = 0; k < n; k++, base += len, seq++) {
        const p = base + payloadAt;
        const ts = this.intervalMs > 0 ? this.startAt + this.offsetMs + seq * this.intervalMs : t;
        out.writeUInt32BE(seq >>> 0, p + HEADER_SEQ);
        out[p + HEADER_FLAGS] = flags;
        out.writeDoubleLE(ts, p + HEADER_TIME);
        if (qos > 0) {
          const id = this.freeIds[--this.freeTop]!;
          out[base + idAt] = id >> 8;
          out[base + idAt + 1] = id & 0xff;
          this.busy[id] = counted;
          this.sentAt[id] = ts;
        }
      }
      this.seq = seq;
      this.sentAll += n;
      f[board.sentAllIndex(this.index)] = this.sentAll;
      if (this.counted) {
        if (this.published === 0) this.firstSend = t;
        this.lastSend = t;
        this.published += n;
        f[board.countedSentIndex(this.index)] = this.published;
        f[host.shardBase + S_PUBLISHED]! += n;
        // As in subscriber.ts: before the shard knows the measured phase's start, the first second.
        const second = host.measureStart > 0 && t > host.measureStart ? Math.floor((t - host.measureStart) / 1000) : 0;
        const perSecond = host.publishedPerSecond;
        while (perSecond.length <= second) perSecond.push(0);
        perSecond[second]! += n;
      }
      this.client.write(out);
      if (this.client.link.needsDrain()) {
        this.waitingDrain = true;
        return;
      }
    }
    // Everything of the phase is sent.
    this.state = DRAINING;
    this.checkDrained();
  }

  onDrain(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    this.pump();
  }

  onAck(id: number, t: number): void {
    const kind = this.busy[id];
    if (kind === undefined || kind === 0) return; // not in flight: a stray or repeated ack
    this.busy[id] = 0;
    this.freeIds[this.freeTop++] = id;
    if (kind === 1) {
      this.acked++;
      this.lastAck = t;
      this.host.board.f[this.host.shardBase + S_ACKED]! += 1;
      this.host.ackLatency.recordMs(t - this.sentAt[id]!);
    }
    if (this.state === DRAINING) this.checkDrained();
  }

  onRefused(id: number, reasonCode: number, t: number): void {
    // QoS 1 ends with PUBACK; QoS 2 fails at PUBREC, or at PUBCOMP with its one failure code, 0x92.
    this.host.refused(reasonCode, this.qos === 1 ? 'PUBACK' : reasonCode === 0x92 ? 'PUBCOMP' : 'PUBREC');
    const kind = this.busy[id];
    if (kind === undefined || kind === 0) return;
    this.busy[id] = 0;
    this.freeIds[this.freeTop++] = id;
    if (kind === 1) {
      this.refusedCount++;
      this.lastAck = t;
      const board = this.host.board;
      board.f[board.refusedIndex(this.index)] = this.refusedCount;
      board.f[this.host.shardBase + S_REFUSED]! += 1;
    }
    if (this.state === DRAINING) this.checkDrained();
  }

  private checkDrained(): void {
    if (this.qos > 0 && this.freeTop < this.window) return;
    this.state = DONE;
    this.host.publisherDone(this);
  }
}
