/**
 * Back-pressure across the broker, in one place: holding back, stalling, releasing.
 *
 * An online session whose queue grows past `highWater` holds back the connection that is
 * publishing into it: that connection stops routing (its input is held, in order) until the
 * queue is down to `lowWater`. Acknowledged messages wait instead of being dropped, and acks
 * keep flowing meanwhile, so two clients feeding each other cannot lock each other up. A
 * reader that makes no progress for stallTimeoutMs must not hold its publishers for ever: they
 * are let go and that session's queue bound takes over (drops counted and logged).
 */
import { Deadline, type Scheduler } from './scheduler.js';
import type { HeldPublisher, Session } from './session.js';

export class Backpressure {
  /** Queue length at which an online session holds back its publishers. */
  readonly highWater: number;
  /** Queue length at which they are let go. */
  readonly lowWater: number;
  /** The connection whose PUBLISH is being routed now: whom a long queue holds back. */
  publishing: HeldPublisher | undefined = undefined;

  constructor(
    maxQueued: number,
    private readonly stallTimeoutMs: number,
    private readonly scheduler: Scheduler,
    private readonly warn: (message: string) => void,
  ) {
    this.highWater = Math.max(1, Math.min(maxQueued >> 1, 1000));
    this.lowWater = this.highWater >> 1;
  }

  /** `session` (online) queued a message: past highWater, hold back whoever is publishing. */
  queueLong(session: Session): void {
    if (session.queued < this.highWater) return;
    const pub = this.publishing;
    if (pub === undefined || pub === (session.connection as unknown)) return;
    if (pub.waitingOn.includes(session)) return;
    pub.waitingOn.push(session);
    pub.holdInput();
    (session.waiters ??= []).push(pub);
    if (session.stall === undefined || !session.stall.scheduled) {
      session.stall ??= new Deadline(() => this.stalled(session));
      this.scheduler.schedule(session.stall, this.scheduler.now() + this.stallTimeoutMs);
    }
  }

  /** `session` sent from its queue: once it is short again, its publishers go on. */
  queueDrained(session: Session): void {
    if (session.queued > this.lowWater) return;
    session.stalled = false;
    if (session.waiters !== null) this.release(session);
  }

  /** The holding made no progress in time: let the publishers go. */
  private stalled(session: Session): void {
    if (session.waiters === null) return;
    session.stalled = true;
    this.warn(`client ${session.clientId} reads too slowly: its queue holds ${session.queued} messages; publishers are no longer held back for it`);
    this.release(session);
  }

  /** Lets every publisher `session` holds back go on (its queue drained, or nobody reads it now). */
  release(session: Session): void {
    if (session.stall !== undefined) this.scheduler.cancel(session.stall);
    const list = session.waiters;
    session.waiters = null;
    if (list === null) return;
    for (const pub of list) {
      const waiting = pub.waitingOn;
      const i = waiting.indexOf(session);
      if (i === -1) continue;
      waiting.splice(i, 1);
      if (waiting.length === 0) pub.resumeInput();
    }
  }

  /** A held-back connection ends: it leaves every waiting list. */
  leave(pub: HeldPublisher): void {
    for (const session of pub.waitingOn) {
      const list = session.waiters;
      if (list === null) continue;
      const i = list.indexOf(pub);
      if (i !== -1) list.splice(i, 1);
    }
    pub.waitingOn.length = 0;
  }
}
