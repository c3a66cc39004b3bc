/**
 * Every timer of the broker as an absolute deadline in one place: session expiry, will delay,
 * keep-alive, the CONNECT deadline, the stall timeout. One Node timer is armed, for the
 * earliest deadline, and never for more than setTimeout can hold (2^31 - 1 ms, 24.8 days):
 * a longer wait re-arms when that runs out, so a 30-day session expiry or a will delay of
 * 0xFFFFFFFE s means what it says, and an absolute deadline is what a store can keep across
 * a restart.
 */

/** setTimeout's largest delay; past it Node fires after 1 ms. */
const MAX_TIMER_MS = 0x7fffffff;

/** Something with a deadline. Owners keep one per purpose and reuse it. */
export abstract class Timed {
  /** Absolute time in ms (Date.now() clock); Infinity when not scheduled. */
  at = Infinity;
  /** Position in the scheduler's heap, -1 when not in it. */
  slot = -1;

  get scheduled(): boolean {
    return this.slot !== -1;
  }

  abstract fire(now: number): void;
}

/** A deadline that calls a function: for the few per session or broker, not per connection. */
export class Deadline extends Timed {
  constructor(private readonly callback: (now: number) => void) {
    super();
  }

  fire(now: number): void {
    this.callback(now);
  }
}

export class Scheduler {
  private readonly heap: Timed[] = [];
  private timer: NodeJS.Timeout | undefined = undefined;
  /** When the armed timer fires, Infinity when none is armed. */
  private armedAt = Infinity;
  private readonly runBound = (): void => this.run();
  private closed = false;

  constructor(private readonly clock: () => number = Date.now) {}

  get size(): number {
    return this.heap.length;
  }

  now(): number {
    return this.clock();
  }

  /** Schedules `d` for `at` (absolute ms), moving it if it was scheduled; Infinity unschedules. */
  schedule(d: Timed, at: number): void {
    if (at === Infinity || Number.isNaN(at)) {
      this.cancel(d);
      return;
    }
    if (this.closed) return;
    const heap = this.heap;
    if (d.slot === -1) {
      d.at = at;
      d.slot = heap.length;
      heap.push(d);
      this.up(d.slot);
    } else {
      const before = d.at;
      d.at = at;
      if (at < before) this.up(d.slot);
      else this.down(d.slot);
    }
    if (heap[0]!.at < this.armedAt) this.arm();
  }

  cancel(d: Timed): void {
    const i = d.slot;
    d.at = Infinity;
    if (i === -1) return;
    d.slot = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (i < heap.length) {
      heap[i] = last;
      last.slot = i;
      this.up(i);
      this.down(last.slot);
    }
    // The armed timer may now fire early for nothing; run() re-arms, which is cheaper than
    // clearing and setting a Node timer on every cancel (keep-alives move all the time).
  }

  /** Stops everything; nothing fires after this. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    for (const d of this.heap) {
      d.slot = -1;
      d.at = Infinity;
    }
    this.heap.length = 0;
  }

  private arm(): void {
    const first = this.heap[0];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    if (first === undefined || this.closed) return;
    const now = this.clock();
    const wait = Math.min(Math.max(0, first.at - now), MAX_TIMER_MS);
    this.armedAt = now + wait;
    this.timer = setTimeout(this.runBound, wait);
    // The broker's own life is held by its listeners, not by deadlines.
    this.timer.unref();
  }

  /** Fires everything due, oldest first; a fired deadline may schedule itself again. */
  private run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const heap = this.heap;
    const now = this.clock();
    // Bounded by what was due when we started: a deadline re-scheduled for `now` waits a turn.
    let budget = heap.length;
    while (budget-- > 0) {
      const first = heap[0];
      if (first === undefined || first.at > now) break;
      this.cancel(first);
      first.fire(now);
    }
    if (heap.length > 0) this.arm();
  }

  private up(i: number): void {
    const heap = this.heap;
    const d = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.at <= d.at) break;
      heap[i] = p;
      p.slot = i;
      i = parent;
    }
    heap[i] = d;
    d.slot = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const d = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.at < heap[child]!.at) child++;
      const c = heap[child]!;
      if (c.at >= d.at) break;
      heap[i] = c;
      c.slot = i;
      i = child;
    }
    heap[i] = d;
    d.slot = i;
  }
}
