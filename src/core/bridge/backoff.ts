/**
 * How long a bridge waits before it reconnects: restart_timeout's constant delay, or with a cap
 * mosquitto's "decorrelated jitter" backoff (each delay a random pick between the base and three
 * times the last, never above the cap; back to the base after a connection that worked).
 */
export class Backoff {
  private last: number;

  constructor(
    private readonly baseMs: number,
    private readonly capMs: number | undefined,
    private readonly random: () => number = Math.random,
  ) {
    this.last = baseMs;
  }

  next(): number {
    const cap = this.capMs;
    if (cap === undefined || cap <= this.baseMs) return this.baseMs;
    const high = Math.max(this.baseMs, this.last * 3);
    this.last = Math.min(cap, this.baseMs + this.random() * (high - this.baseMs));
    return this.last;
  }

  reset(): void {
    this.last = this.baseMs;
  }
}
