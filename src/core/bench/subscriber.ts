/**
 * The receiving side of one bench client: the per-message hot path. Reads the payload header
 * (payload.ts), ignores what is not this run's, counts arrivals per publisher on the shared
 * Board (the QoS 0 window of publishers in any thread), and for counted messages feeds the
 * sequence checker, the delivery-latency histogram and the per-second rows.
 */
import { S_DELIVERED, S_UNIQUE, type Board } from './board.js';
import type { Receiver } from './client.js';
import type { Histogram } from './histogram.js';
import { FLAG_WARMUP, HEADER_FLAGS, HEADER_PUBLISHER, HEADER_RUN, HEADER_SEQ, HEADER_TIME, PAYLOAD_HEADER_BYTES } from './payload.js';
import { SequenceChecker } from './sequence.js';

export interface SubscriberHost {
  readonly board: Board;
  readonly shardBase: number;
  /** This shard's row of arrivals per publisher in board.f. */
  readonly arrivedRow: number;
  readonly deliveryLatency: Histogram;
  readonly deliveredPerSecond: number[];
  measureStart: number;
  /** Messages arrived in the chunk just read: QoS 0 publishers of this thread may go on. */
  delivered(): void;
}

export class Subscriber implements Receiver {
  readonly checker: SequenceChecker;
  lastDelivery = Number.NEGATIVE_INFINITY;
  /** Something arrived in this chunk (counted or not), and something counted. */
  private arrivals = false;
  private countedArrivals = false;
  private readonly runId: number;
  private readonly publishers: number;

  constructor(
    private readonly host: SubscriberHost,
    readonly index: number,
    readonly filter: string,
    runId: number,
    publishers: number,
  ) {
    this.runId = runId >>> 0;
    this.publishers = publishers;
    this.checker = new SequenceChecker(publishers);
  }

  onMessage(buf: Buffer, at: number, end: number, t: number): void {
    // Not this run's (another run, a retained message left by one, a short payload): ignored.
    if (end - at < PAYLOAD_HEADER_BYTES || buf.readUInt32BE(at + HEADER_RUN) !== this.runId) return;
    const pub = buf.readUInt16BE(at + HEADER_PUBLISHER);
    if (pub >= this.publishers) return;
    const host = this.host;
    const f = host.board.f;
    f[host.arrivedRow + pub]! += 1;
    this.arrivals = true;
    if ((buf[at + HEADER_FLAGS]! & FLAG_WARMUP) !== 0) return;
    if (this.checker.receive(pub, buf.readUInt32BE(at + HEADER_SEQ))) f[host.shardBase + S_UNIQUE]! += 1;
    f[host.shardBase + S_DELIVERED]! += 1;
    host.deliveryLatency.recordMs(t - buf.readDoubleLE(at + HEADER_TIME));
    // A shard learns the measured phase's start when told to begin it; a message of that phase from
    // another shard's publisher can arrive first (measureStart still 0): it belongs to the first second.
    const second = host.measureStart > 0 && t > host.measureStart ? Math.floor((t - host.measureStart) / 1000) : 0;
    const perSecond = host.deliveredPerSecond;
    while (perSecond.length <= second) perSecond.push(0);
    perSecond[second]! += 1;
    this.countedArrivals = true;
  }

  afterChunk(t: number): void {
    if (!this.arrivals) return;
    this.arrivals = false;
    if (this.countedArrivals) {
      this.countedArrivals = false;
      this.lastDelivery = t;
    }
    this.host.delivered();
  }
}
