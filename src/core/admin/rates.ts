/**
 * The rates the dashboard charts: publishes and bytes in and out per second, and clients
 * connected, sampled once a second into a fixed ring of the last ten minutes. One unref'd
 * timer, running only while the admin listener is open; a sample is a few subtractions.
 */
import type { Broker } from '../broker/broker.js';

export interface RateSample {
  /** When it was taken, ms since the epoch. */
  readonly t: number;
  readonly publishIn: number;
  readonly publishOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly clients: number;
}

interface Reading {
  t: number;
  publishIn: number;
  publishOut: number;
  bytesIn: number;
  bytesOut: number;
}

export const RATE_INTERVAL_MS = 1000;
/** Ten minutes of one-second samples. */
export const RATE_SAMPLES = 600;

export class RateSampler {
  private readonly ring: Array<RateSample | undefined> = new Array<RateSample | undefined>(RATE_SAMPLES).fill(undefined);
  private next = 0;
  private last: Reading;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    readonly intervalMs = RATE_INTERVAL_MS,
  ) {
    this.last = this.read(Date.now());
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.last = this.read(Date.now());
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now: the rates since the previous one. */
  sample(now = Date.now()): RateSample {
    const r = this.read(now);
    const seconds = Math.max(0.001, (r.t - this.last.t) / 1000);
    const per = (a: number, b: number): number => Math.round(((a - b) / seconds) * 100) / 100;
    const s: RateSample = {
      t: r.t,
      publishIn: per(r.publishIn, this.last.publishIn),
      publishOut: per(r.publishOut, this.last.publishOut),
      bytesIn: per(r.bytesIn, this.last.bytesIn),
      bytesOut: per(r.bytesOut, this.last.bytesOut),
      clients: this.broker.inspect.connectedCount(),
    };
    this.last = r;
    this.ring[this.next] = s;
    this.next = (this.next + 1) % RATE_SAMPLES;
    return s;
  }

  /** The samples held, oldest first. */
  samples(): RateSample[] {
    const out: RateSample[] = [];
    for (let k = 0; k < RATE_SAMPLES; k++) {
      const s = this.ring[(this.next + k) % RATE_SAMPLES];
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  private read(t: number): Reading {
    const s = this.broker.stats;
    return { t, publishIn: s.publishReceived, publishOut: s.publishSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent };
  }
}
