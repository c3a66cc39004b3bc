/**
 * What one subscriber received from each publisher, checked from the sequence numbers in the
 * payloads: lost, duplicated and out-of-order messages.
 *
 * Per publisher it keeps the highest sequence number seen and the gaps below it (sequence
 * numbers not received yet), as sorted half-open intervals. In-order delivery is one compare
 * and one increment and keeps no gap at all; memory grows only with losses and reordering,
 * never with the number of messages. A message below the highest is taken out of its gap
 * (late: out of order) or, when in no gap, was seen before (duplicate).
 *
 * Bounded: at most MAX_GAPS gaps per publisher are remembered; past that the oldest are
 * forgotten, and a late arrival in a forgotten gap counts as a duplicate (it can no longer be
 * told from one). A run that loses so much has failed loudly already.
 */

export const MAX_GAPS = 65_536;

/** The gaps below the highest sequence number of one publisher: [start, end) pairs, sorted. */
class Gaps {
  starts: number[] = [];
  ends: number[] = [];
  /** Gaps before `head` were forgotten (MAX_GAPS) or closed; the array is compacted now and then. */
  head = 0;

  get size(): number {
    return this.starts.length - this.head;
  }

  /** A new gap above every existing one. */
  append(start: number, end: number): void {
    if (this.size >= MAX_GAPS) this.head++;
    this.starts.push(start);
    this.ends.push(end);
    if (this.head > 1024 && this.head * 2 > this.starts.length) {
      this.starts.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Removes `seq` from its gap; false when no gap holds it. */
  take(seq: number): boolean {
    const starts = this.starts;
    const ends = this.ends;
    // The last gap whose start is ≤ seq.
    let lo = this.head;
    let hi = starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= seq) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (at < 0 || seq >= ends[at]!) return false;
    const start = starts[at]!;
    const end = ends[at]!;
    if (end - start === 1) {
      starts.splice(at, 1);
      ends.splice(at, 1);
    } else if (seq === start) {
      starts[at] = start + 1;
    } else if (seq === end - 1) {
      ends[at] = end - 1;
    } else {
      ends[at] = seq;
      starts.splice(at + 1, 0, seq + 1);
      ends.splice(at + 1, 0, end);
    }
    return true;
  }
}

export interface SequenceResult {
  expected: number;
  /** Every counted arrival, duplicates included. */
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

export class SequenceChecker {
  /** Highest sequence number seen per publisher, -1 before the first. */
  private readonly highest: Float64Array;
  /** Distinct sequence numbers seen per publisher. */
  private readonly unique: Float64Array;
  private readonly gaps: (Gaps | null)[];
  received = 0;
  duplicated = 0;
  outOfOrder = 0;
  /** Arrivals naming a publisher index out of range: not from this run's publishers. */
  foreign = 0;

  constructor(readonly publishers: number) {
    this.highest = new Float64Array(publishers).fill(-1);
    this.unique = new Float64Array(publishers);
    this.gaps = new Array<Gaps | null>(publishers).fill(null);
  }

  /** Counts one arrival; true when this sequence number is new from this publisher. */
  receive(publisher: number, seq: number): boolean {
    if (publisher >= this.publishers) {
      this.foreign++;
      return false;
    }
    this.received++;
    const highest = this.highest[publisher]!;
    if (seq === highest + 1) {
      this.highest[publisher] = seq;
      this.unique[publisher]!++;
      return true;
    }
    if (seq > highest) {
      let gaps = this.gaps[publisher];
      if (gaps === undefined || gaps === null) gaps = this.gaps[publisher] = new Gaps();
      gaps.append(highest + 1, seq);
      this.highest[publisher] = seq;
      this.unique[publisher]!++;
      return true;
    }
    const gaps = this.gaps[publisher];
    if (gaps !== undefined && gaps !== null && gaps.take(seq)) {
      this.outOfOrder++;
      this.unique[publisher]!++;
      return true;
    }
    this.duplicated++;
    return false;
  }

  /** Distinct messages seen from one publisher. */
  uniqueFrom(publisher: number): number {
    return this.unique[publisher] ?? 0;
  }

  /**
   * The verdict once the run is over. `expected[p]` is how many messages this subscriber should
   * have from publisher p (0 for one it does not listen to); what did not arrive is lost.
   */
  result(expected: ArrayLike<number>): SequenceResult {
    let total = 0;
    let lost = 0;
    for (let p = 0; p < this.publishers; p++) {
      const want = expected[p] ?? 0;
      total += want;
      // More than expected arrives when the broker delivers a message it refused (5.0
      // PUBACK ≥ 0x80 yet routed): not a loss.
      lost += Math.max(0, want - this.unique[p]!);
    }
    return { expected: total, received: this.received, lost, duplicated: this.duplicated, outOfOrder: this.outOfOrder };
  }
}
