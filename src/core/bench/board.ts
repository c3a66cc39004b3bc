/**
 * The counters every thread of a run shares: one SharedArrayBuffer of doubles. The
 * coordinator reads it to follow progress and decide when the run is over, without a message
 * per event; QoS 0 publishers read how much of their output has arrived at the subscribers
 * (in whatever thread those live) to bound what is on its way.
 *
 * Every slot has one writer (the thread that owns the shard, the publisher or the row), so
 * plain stores suffice; readers may see a value a moment old, never a mix of two. Each
 * thread's slots start on their own 64-byte line so threads do not fight over cache lines.
 */

/** Per shard (thread) slots. */
export const S_PUBLISHED = 0; // counted messages sent
export const S_ACKED = 1; // counted PUBACK/PUBCOMP with success
export const S_DELIVERED = 2; // counted arrivals, duplicates included
export const S_UNIQUE = 3; // counted arrivals new to their subscriber
export const S_PUBS_DONE = 4; // publishers of this shard done with the current phase (or gone)
export const S_REFUSED = 5; // counted messages refused by a 5.0 ack ≥ 0x80
export const S_CONN_SETTLED = 6; // conn: attempts finished (CONNACK, refusal or failure)
export const S_CONNECTED = 7; // conn: successful CONNACKs
const SHARD_STRIDE = 8;

const pad = (n: number): number => Math.ceil(n / 8) * 8;

export class Board {
  readonly f: Float64Array;
  private readonly countedSentAt: number;
  private readonly refusedAt: number;
  private readonly sentAllAt: number;
  private readonly arrivedAt: number;
  private readonly rowStride: number;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly publishers: number,
    readonly shards: number,
  ) {
    this.f = new Float64Array(buffer);
    const p = pad(publishers);
    this.countedSentAt = shards * SHARD_STRIDE;
    this.refusedAt = this.countedSentAt + p;
    this.sentAllAt = this.refusedAt + p;
    this.arrivedAt = this.sentAllAt + p;
    this.rowStride = p;
  }

  static create(publishers: number, shards: number): Board {
    const doubles = shards * SHARD_STRIDE + pad(publishers) * (3 + shards);
    return new Board(new SharedArrayBuffer(doubles * 8), publishers, shards);
  }

  /** Index of a per-shard slot (S_*) of shard w. */
  slot(w: number, s: number): number {
    return w * SHARD_STRIDE + s;
  }

  /** Sum of one per-shard slot over every shard. */
  total(s: number): number {
    let sum = 0;
    for (let w = 0; w < this.shards; w++) sum += this.f[w * SHARD_STRIDE + s]!;
    return sum;
  }

  /** Counted messages publisher p has sent (written by its owner). */
  countedSentIndex(p: number): number {
    return this.countedSentAt + p;
  }

  /** Counted messages of publisher p refused by the broker. */
  refusedIndex(p: number): number {
    return this.refusedAt + p;
  }

  /** Every message publisher p has sent, warm-up included (for the QoS 0 window). */
  sentAllIndex(p: number): number {
    return this.sentAllAt + p;
  }

  /** Start of shard w's row of arrivals per publisher, warm-up included. */
  arrivedRow(w: number): number {
    return this.arrivedAt + w * this.rowStride;
  }

  /** Arrivals of publisher p's messages over all subscribers in all threads. */
  arrivedFrom(p: number): number {
    let sum = 0;
    const f = this.f;
    for (let w = 0, at = this.arrivedAt + p; w < this.shards; w++, at += this.rowStride) sum += f[at]!;
    return sum;
  }

  /** Messages publisher p has had accepted: sent minus refused. */
  accepted(p: number): number {
    return this.f[this.countedSentAt + p]! - this.f[this.refusedAt + p]!;
  }
}
