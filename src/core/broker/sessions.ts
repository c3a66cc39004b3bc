/**
 * The broker's sessions by client id, and their life: open or resume at CONNECT, go offline
 * when the connection ends (will, expiry deadline), end (will first, then subscriptions and
 * everything owed). The only place that adds or removes a session.
 */
import { clientSnapshot } from './client-info.js';
import type { Backpressure } from './backpressure.js';
import type { Router } from './router.js';
import { Deadline, type Scheduler } from './scheduler.js';
import { NEVER_EXPIRES, Session } from './session.js';
import type { ClientInfo, SessionHost } from './types.js';
import type { Will } from '../codec/types.js';
import type { Wills } from './will.js';
import type { Persistence } from './persistence.js';

export class SessionTable {
  private readonly byId = new Map<string, Session>();
  /** Sessions ended by their expiry interval while offline, since the broker started. */
  expired = 0;
  /** Told of every session that ended (a cluster node lets go of the client); one field test otherwise. */
  onEnded: ((clientId: string) => void) | undefined = undefined;

  constructor(
    private readonly host: SessionHost,
    private readonly router: Router,
    private readonly wills: Wills,
    private readonly backpressure: Backpressure,
    private readonly scheduler: Scheduler,
    private readonly persistence: Persistence | undefined,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(clientId: string): Session | undefined {
    return this.byId.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** The session for a connecting client: the stored one when it may resume, else a fresh one. */
  open(clientId: string, clean: boolean): { session: Session; present: boolean } {
    const existing = this.byId.get(clientId);
    if (existing !== undefined) {
      if (existing.expiry !== undefined) this.scheduler.cancel(existing.expiry);
      existing.record.expiresAt = Infinity;
      existing.journal?.changed(existing.record);
      if (!clean) {
        // [MQTT-3.1.3-9] back in time: the delayed will is not sent.
        this.wills.cancel(existing);
        return { session: existing, present: true };
      }
      // Clean Start: the old session ends here, with its delayed will if one waits.
      this.end(existing);
    }
    const session = Session.create(clientId, this.host);
    this.byId.set(clientId, session);
    return { session, present: false };
  }

  /** A session read back from the store at start: offline, with what it owes. */
  restored(session: Session): void {
    this.byId.set(session.clientId, session);
  }

  /**
   * A restored session's life goes on: it ends at its stored deadline (at once when that passed
   * while the broker was down: its will is published), or, when a connection held it as the
   * broker stopped, its expiry interval from now.
   */
  offline(session: Session, now: number): void {
    const interval = session.expiryInterval;
    if (interval === NEVER_EXPIRES) return;
    let at = session.record.expiresAt;
    if (!Number.isFinite(at)) {
      at = now + interval * 1000;
      session.record.expiresAt = at;
      session.journal?.changed(session.record);
    }
    if (at <= now) {
      this.expired++;
      this.end(session);
      return;
    }
    this.expireAt(session, at);
  }

  /** The session ends at `at` (absolute ms) unless a client takes it back first. */
  private expireAt(session: Session, at: number): void {
    session.expiry ??= new Deadline(() => {
      this.expired++;
      this.end(session);
    });
    this.scheduler.schedule(session.expiry, at);
  }

  /**
   * The session's connection ended: nobody reads its queue now, so whoever waited on it goes
   * on; an unclean end publishes the will (now or after its delay); the session ends now or at
   * its expiry deadline.
   */
  disconnected(session: Session, will: Will | undefined, client: ClientInfo): void {
    session.connection = null;
    this.backpressure.release(session);
    if (will !== undefined) this.wills.connectionLost(session, will, client);
    const interval = session.expiryInterval;
    if (interval === 0) {
      this.end(session);
      return;
    }
    // Who the session belongs to while offline (hooks), without keeping the closed connection.
    session.client = clientSnapshot(client);
    if (interval !== NEVER_EXPIRES) {
      session.record.expiresAt = this.scheduler.now() + interval * 1000;
      this.expireAt(session, session.record.expiresAt);
    }
    session.journal?.changed(session.record);
  }

  /** Removes a session and its subscriptions; a will still waiting is published first. */
  end(session: Session): void {
    if (this.byId.get(session.clientId) !== session) return;
    this.wills.publishPending(session);
    if (session.expiry !== undefined) this.scheduler.cancel(session.expiry);
    this.backpressure.release(session);
    this.router.unsubscribeAll(session);
    this.persistence?.ended(session);
    session.clear();
    this.byId.delete(session.clientId);
    this.onEnded?.(session.clientId);
  }

  /**
   * The session moved to another node (cluster-side.ts): gone from here without a will or an
   * end, its stored records left as they are (the other node rewrites them).
   */
  drop(session: Session): void {
    if (this.byId.get(session.clientId) !== session) return;
    if (session.expiry !== undefined) this.scheduler.cancel(session.expiry);
    this.wills.cancel(session);
    this.backpressure.release(session);
    session.journal = undefined;
    this.router.unsubscribeAll(session);
    session.clear();
    this.byId.delete(session.clientId);
  }

  /** Forgets every session, when the broker closes. */
  clear(): void {
    for (const session of this.byId.values()) {
      // What is stored stays as it is: the next broker on the store takes the sessions over.
      session.journal = undefined;
      if (session.expiry !== undefined) this.scheduler.cancel(session.expiry);
      this.wills.cancel(session);
      this.backpressure.release(session);
    }
    this.byId.clear();
  }
}
