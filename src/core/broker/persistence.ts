/**
 * The broker's side of a BrokerStore (store/types.ts): durable sessions report their changes
 * here as they happen (Journal), each change becomes one staged write, and the end of the tick
 * commits them all at once. Nothing the tick wrote to clients leaves before that commit is
 * durable: the broker hands each connection's output of the tick to the batch (hold), and
 * writes it when the commit resolves. Commits overlap with the next tick's work; its writes go
 * into the next commit. One commit, one promise and one callback per tick, none per message.
 *
 * What is stored: a message once, while any stored delivery refers to it (Message.storedRefs);
 * each delivery of a durable session (queued, or in flight with its packet id and state);
 * incoming QoS 2 ids; a session's own fields (rewritten whole when they change, at most once a
 * tick); retained messages. A session is durable while its expiry interval is above 0.
 */
import type { BrokerStore, StoredClient, StoredMessage, StoredSession } from '../store/types.js';
import type { Message } from './message.js';
import type { Delivery, Journal, SessionRecord } from './session-record.js';
import type { Session } from './session.js';
import type { ClientInfo } from './types.js';

/** A connection as the journal writes its held output. */
export interface HeldOutput {
  writeHeld(buf: Buffer): void;
  /** The commit its output waited for failed: nothing of it may go out. */
  failHeld(reason: string): void;
}

/** One commit under way, with the output that waits for it. */
class Batch {
  readonly conns: HeldOutput[] = [];
  readonly bufs: Buffer[] = [];
  settled = false;
}

export function storedClient(c: ClientInfo): StoredClient {
  return { clientId: c.clientId, protocolVersion: c.protocolVersion, username: c.username, remoteAddress: c.remoteAddress };
}

export function storedMessage(m: Message): StoredMessage {
  return { id: m.id, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, properties: m.properties, publisherId: m.publisherId, expiresAt: m.expiresAt };
}

export class Persistence implements Journal {
  /** Writes staged since the last commit. */
  staged = 0;
  /** The newest commit not yet settled: output made now waits for it. */
  private latest: Batch | undefined = undefined;
  private dirty: { record: SessionRecord; session: Session }[] = [];
  private readonly sessionOf = new WeakMap<SessionRecord, Session>();
  private lastFailureLog = 0;
  /** Commits that failed, and writes committed, over the broker's life. */
  failures = 0;
  commits = 0;

  constructor(
    readonly store: BrokerStore,
    private readonly log: (level: 'error' | 'warn', message: string) => void,
  ) {}

  // ---- which sessions are stored ---------------------------------------------------------

  /** Makes the session's storing match its expiry interval: all of it written, or all removed. */
  track(session: Session): void {
    const durable = session.expiryInterval > 0;
    if (durable && session.journal === undefined) {
      session.journal = this;
      this.sessionOf.set(session.record, session);
      this.writeAll(session);
    } else if (!durable && session.journal !== undefined) {
      this.removeAll(session);
      session.journal = undefined;
    }
  }

  /** A restored session: already in the store. */
  adopt(session: Session): void {
    session.journal = this;
    this.sessionOf.set(session.record, session);
  }

  /** The session ends: everything of it leaves the store. */
  ended(session: Session): void {
    if (session.journal === undefined) return;
    this.removeAll(session);
    session.journal = undefined;
  }

  private writeAll(session: Session): void {
    const record = session.record;
    for (let i = record.queueHead; i < record.queue.length; i++) {
      const d = record.queue[i]!;
      if (d.qos !== 0) this.putDelivery(record, d, 0);
    }
    if (record.inflight !== undefined) for (const [id, d] of record.inflight) this.putDelivery(record, d, id);
    if (record.incomingQos2 !== undefined) for (const id of record.incomingQos2) this.putIncoming(record, id);
    this.changed(record);
  }

  private removeAll(session: Session): void {
    const record = session.record;
    for (let i = record.queueHead; i < record.queue.length; i++) this.forgetDelivery(record, record.queue[i]!);
    if (record.inflight !== undefined) for (const d of record.inflight.values()) this.forgetDelivery(record, d);
    if (record.incomingQos2 !== undefined) for (const id of record.incomingQos2) this.removeIncoming(record, id);
    this.store.removeSession(record.clientId);
    this.staged++;
    record.journalDirty = false;
  }

  // ---- Journal ----------------------------------------------------------------------------

  putDelivery(record: SessionRecord, d: Delivery, packetId: number): void {
    if (d.seq === 0) {
      d.seq = record.nextSeq++;
      this.ref(d.message);
    }
    this.store.putDelivery({ clientId: record.clientId, seq: d.seq, messageId: d.message.id, qos: d.qos, retain: d.retain, subscriptionIds: d.subscriptionIds, packetId, released: d.released });
    this.staged++;
  }

  forgetDelivery(record: SessionRecord, d: Delivery): void {
    if (d.seq === 0) return;
    this.store.removeDelivery(record.clientId, d.seq);
    this.staged++;
    d.seq = 0;
    this.unref(d.message);
  }

  putIncoming(record: SessionRecord, packetId: number): void {
    this.store.putIncoming(record.clientId, packetId);
    this.staged++;
  }

  removeIncoming(record: SessionRecord, packetId: number): void {
    this.store.removeIncoming(record.clientId, packetId);
    this.staged++;
  }

  changed(record: SessionRecord): void {
    if (record.journalDirty) return;
    const session = this.sessionOf.get(record);
    if (session === undefined) return;
    record.journalDirty = true;
    this.dirty.push({ record, session });
  }

  /** A message is stored while a stored delivery refers to it. */
  private ref(msg: Message): void {
    if (msg.storedRefs++ === 0) {
      this.store.putMessage(storedMessage(msg));
      this.staged++;
    }
  }

  private unref(msg: Message): void {
    if (--msg.storedRefs === 0) {
      this.store.removeMessage(msg.id);
      this.staged++;
    }
  }

  // ---- retained ---------------------------------------------------------------------------

  retained(msg: Message): void {
    if (msg.payload.length === 0) this.store.removeRetained(msg.topic);
    else this.store.putRetained(storedMessage(msg));
    this.staged++;
  }

  retainedExpired(topic: string): void {
    this.store.removeRetained(topic);
    this.staged++;
  }

  // ---- the end of a tick -------------------------------------------------------------------

  /** Rewrites the sessions whose own fields changed, then commits what the tick staged. */
  endOfTick(): void {
    const dirty = this.dirty;
    if (dirty.length > 0) {
      this.dirty = [];
      for (const { record, session } of dirty) {
        if (!record.journalDirty) continue;
        record.journalDirty = false;
        this.store.putSession(sessionRecord(session));
        this.staged++;
      }
    }
    if (this.staged === 0) return;
    this.staged = 0;
    const batch = new Batch();
    this.latest = batch;
    this.store.commit().then(
      () => this.settled(batch, undefined),
      (err: unknown) => this.settled(batch, err instanceof Error ? err : new Error(String(err))),
    );
  }

  /**
   * Whether output made now must wait: while writes are staged (the caller leaves it for the end
   * of the tick, which commits them first) or a commit is under way (it waits for that one).
   */
  get holding(): boolean {
    return this.staged > 0 || this.dirty.length > 0 || this.latest !== undefined;
  }

  /** True when writes are staged that no commit covers yet. */
  get uncommitted(): boolean {
    return this.staged > 0 || this.dirty.length > 0;
  }

  /** Holds a connection's output of this tick for the newest commit. False when no commit is under way. */
  hold(conn: HeldOutput, buf: Buffer): boolean {
    const batch = this.latest;
    if (batch === undefined) return false;
    batch.conns.push(conn);
    batch.bufs.push(buf);
    return true;
  }

  private settled(batch: Batch, err: Error | undefined): void {
    batch.settled = true;
    if (this.latest === batch) this.latest = undefined;
    const { conns, bufs } = batch;
    if (err === undefined) {
      this.commits++;
      for (let i = 0; i < conns.length; i++) conns[i]!.writeHeld(bufs[i]!);
      return;
    }
    this.failures++;
    const now = Date.now();
    if (now - this.lastFailureLog >= 60_000) {
      this.lastFailureLog = now;
      this.log('error', `the store could not commit (${err.message}): what it held is not acknowledged, and its ${conns.length} client${conns.length === 1 ? '' : 's'} are disconnected to send it again (${this.failures} failed commit${this.failures === 1 ? '' : 's'} so far)`);
    }
    for (const c of conns) c.failHeld('the store could not commit');
  }

  /** Waits until everything staged so far is durable. */
  async drain(): Promise<void> {
    this.endOfTick();
    await this.store.commit();
  }
}

/** A session's own fields as the store keeps them. */
function sessionRecord(session: Session): StoredSession {
  const r = session.record;
  const subscriptions = r.subscriptions === undefined ? [] : [...r.subscriptions.values()].map((s) => ({
    topicFilter: s.topicFilter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionIds: s.subscriptionIds,
  }));
  const will = r.will === undefined ? undefined : { will: r.will.will, from: storedClient(r.will.from), at: r.will.at };
  return {
    clientId: r.clientId,
    expiryInterval: r.expiryInterval,
    expiresAt: r.expiresAt,
    nextPacketId: r.nextPacketId,
    subscriptions,
    client: session.client === undefined ? undefined : storedClient(session.client),
    will,
  };
}
