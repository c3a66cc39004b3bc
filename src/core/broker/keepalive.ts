/**
 * Keep-alive [MQTT-3.1.2-24]: a connection silent for 1.5 × its Keep Alive is closed as if the
 * network had failed. One deadline per connection in the broker's scheduler, moved once per
 * period (not once per packet): when it fires, the time since the last packet says whether to
 * close or to look again later.
 */
import { Timed, type Scheduler } from './scheduler.js';

/** The connection as the keep-alive watch sees it. */
export interface KeepAliveTarget {
  /** When the last bytes arrived (ms). */
  lastActivity: number;
  /** We are holding its input unread (held back, or a hook pending). */
  readonly inputHeld: boolean;
  /** Silent too long: close it (DISCONNECT 0x8D in 5.0). */
  keepaliveExpired(): void;
}

export class KeepAlive extends Timed {
  /** 1.5 × the negotiated Keep Alive, ms. */
  private periodMs = 0;

  constructor(
    private readonly target: KeepAliveTarget,
    private readonly scheduler: Scheduler,
  ) {
    super();
  }

  /** Watches for `seconds` (0: no keep-alive). */
  start(seconds: number): void {
    this.periodMs = seconds * 1500;
    if (seconds > 0) this.scheduler.schedule(this, this.target.lastActivity + this.periodMs);
    else this.scheduler.cancel(this);
  }

  stop(): void {
    this.scheduler.cancel(this);
  }

  fire(now: number): void {
    const target = this.target;
    // While we hold its input unread, the client's packets may be waiting in the socket:
    // silence is ours, not the client's.
    if (target.inputHeld) target.lastActivity = now;
    const idle = now - target.lastActivity;
    if (idle >= this.periodMs) {
      target.keepaliveExpired();
      return;
    }
    this.scheduler.schedule(this, target.lastActivity + this.periodMs);
  }
}
