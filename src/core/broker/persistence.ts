/**
 * The broker's side of a BrokerStore (store/types.ts): durable sessions report their changes
 * here as they happen (Journal), each change becomes one staged write, and the end of the tick
 * commits them all at once. Nothing the tick wrote to clients leaves before that commit is
 * durable: the broker hands each connection's output of the tick to the batch (hold), and
 * writes it when the commit resolves. Commits overlap with the next tick's work; its writes go
 * into the next commit. One commit, one promise and one callback per tick, none per message.
 *
 * What is stored: a message once: inside the record of its first stored delivery (one write for
 * the common one-subscriber case), and as a record of its own while other stored deliveries
 * refer to it (Message.storedRefs);
 * each delivery of a durable session (queued, or in flight with its packet id and state);
 * incoming QoS 2 ids; a session's own fields (rewritten whole when they change, at most once a
 * tick); retained messages. A session is durable while its expiry interval is above 0.
 */
import type { BrokerStore, StoredClient, StoredDelivery, StoredMessage, StoredSession, StoredState } from '../store/types.js';
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
  /** Whether bufs[i] holds an acknowledgement (see Connection.promised). */
  readonly promised: boolean[] = [];
  /** When its commit started (performance.now()), for the commit latency. */
  readonly started = performance.now();
}

export function storedClient(c: ClientInfo): StoredClient {
  const stored: StoredClient = { clientId: c.clientId, protocolVersion: c.protocolVersion, username: c.username, remoteAddress: c.remoteAddress };
  // A bridge's will on $SYS/broker/connection/… must still be allowed when it is published after a restart.
  if (c.bridge === true) (stored as { bridge: boolean }).bridge = true;
  return stored;
}

export function storedMessage(m: Message): StoredMessage {
  return { id: m.id, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, properties: m.properties, publisherId: m.publisherId, expiresAt: m.expiresAt };
}

/** Where writes go while the store cannot take them: nowhere; a resync rewrites everything once it can. */
const NOWHERE: BrokerStore = {
  load: (): Promise<StoredState> => Promise.resolve({ messages: [], sessions: [], deliveries: [], incoming: [], retained: [] }),
  putMessage: (): void => undefined,
  removeMessage: (): void => undefined,
  putDelivery: (_d: StoredDelivery): void => undefined,
  removeDelivery: (): void => undefined,
  putIncoming: (): void => undefined,
  removeIncoming: (): void => undefined,
  putSession: (): void => undefined,
  removeSession: (): void => undefined,
  putRetained: (): void => undefined,
  removeRetained: (): void => undefined,
  clear: (): void => undefined,
  probe: (): Promise<void> => Promise.resolve(),
  commit: (): Promise<void> => Promise.resolve(),
  close: (): Promise<void> => Promise.resolve(),
};

/** How often a store that failed is tried again. */
export const STORE_RETRY_MS = 1000;

/** What a resync writes anew: every durable session and every retained message. */
export interface ResyncSource {
  sessions(): Iterable<Session>;
  retained(now: number): Message[] | undefined;
}

/**
 * A durable session's link to its store, and what storing it needs per session (only durable
 * sessions have one: a clean session carries no field for it).
 */
export class SessionJournal implements Journal {
  /** The next Delivery.seq. */
  nextSeq = 1;
  /** In the list of sessions whose own fields are rewritten at the end of this tick. */
  dirty = false;

  constructor(
    private readonly p: Persistence,
    readonly session: Session,
  ) {}

  putDelivery(_record: SessionRecord, d: Delivery, packetId: number): void {
    this.p.putDelivery(this, d, packetId);
  }
  forgetDelivery(record: SessionRecord, d: Delivery): void {
    this.p.forgetDelivery(record, d);
  }
  putIncoming(record: SessionRecord, packetId: number): void {
    this.p.putIncoming(record, packetId);
  }
  removeIncoming(record: SessionRecord, packetId: number): void {
    this.p.removeIncoming(record, packetId);
  }
  changed(): void {
    this.p.changed(this);
  }
}

export class Persistence {
  /** Writes staged since the last commit. */
  private staged = 0;
  /**
   * Of those, the ones an acknowledgement may promise (all but a delivery done and its message
   * let go: if such a removal is lost, a message is delivered again, which QoS 1 allows and the
   * stored PUBREL state keeps exactly once for QoS 2). A tick with none holds no output back.
   */
  private promising = 0;
  /** The newest commit not yet settled: output made now waits for it. */
  private latest: Batch | undefined = undefined;
  private dirty: SessionJournal[] = [];
  /** Where journal writes go: the store, or NOWHERE while it cannot write. */
  private sink: BrokerStore;
  /** Set while the store cannot write; resolved (and cleared) once a resync committed. */
  private blocked: { promise: Promise<void>; resolve: () => void } | undefined = undefined;
  private retryTimer: NodeJS.Timeout | undefined = undefined;
  private resyncSource: ResyncSource | undefined = undefined;
  private closed = false;

  constructor(
    readonly store: BrokerStore,
    private readonly log: (level: 'error' | 'warn' | 'info', message: string) => void,
    /** Told how long each commit took, ms (the broker's stats). */
    private readonly commitTook?: (ms: number) => void,
  ) {
    this.sink = store;
  }

  /** Where a resync finds what to write (the broker's sessions and retained messages). */
  setResyncSource(source: ResyncSource): void {
    this.resyncSource = source;
  }

  /** Undefined while the store can write; else resolves once it can again. */
  get blockedUntil(): Promise<void> | undefined {
    return this.blocked?.promise;
  }

  // ---- which sessions are stored ---------------------------------------------------------

  /** Makes the session's storing match its expiry interval: all of it written, or all removed. */
  track(session: Session): void {
    const durable = session.expiryInterval > 0;
    if (durable && session.journal === undefined) {
      session.journal = new SessionJournal(this, session);
      this.writeAll(session);
    } else if (!durable && session.journal !== undefined) {
      this.removeAll(session);
      session.journal = undefined;
    }
  }

  /**
   * A session that came from another node (cluster-side.ts merge): its old records go and it is
   * written anew, every delivery with a new place, in the same commit.
   */
  rewrite(session: Session): void {
    this.sink.removeSession(session.clientId);
    this.promise();
    session.journal = undefined;
    this.track(session);
  }

  /** A restored session: already in the store; its next delivery is stored as `nextSeq`. */
  adopt(session: Session, nextSeq: number): void {
    const j = new SessionJournal(this, session);
    j.nextSeq = nextSeq;
    session.journal = j;
  }

  /** The session ends: everything of it leaves the store. */
  ended(session: Session): void {
    if (session.journal === undefined) return;
    this.removeAll(session);
    session.journal = undefined;
  }

  private writeAll(session: Session): void {
    const record = session.record;
    const j = session.journal as SessionJournal;
    for (let i = record.queueHead; i < record.queue.length; i++) {
      const d = record.queue[i]!;
      if (d.qos !== 0) this.putDelivery(j, d, 0);
    }
    if (record.inflight !== undefined) for (const [id, d] of record.inflight) this.putDelivery(j, d, id);
    if (record.incomingQos2 !== undefined) for (const id of record.incomingQos2) this.putIncoming(record, id);
    this.changed(j);
  }

  private removeAll(session: Session): void {
    const record = session.record;
    for (let i = record.queueHead; i < record.queue.length; i++) this.forgetDelivery(record, record.queue[i]!);
    if (record.inflight !== undefined) for (const d of record.inflight.values()) this.forgetDelivery(record, d);
    if (record.incomingQos2 !== undefined) for (const id of record.incomingQos2) this.removeIncoming(record, id);
    this.sink.removeSession(record.clientId);
    this.promise();
    (session.journal as SessionJournal).dirty = false;
  }

  /** One staged write that an acknowledgement may promise. */
  private promise(): void {
    this.staged++;
    this.promising++;
  }

  // ---- Journal ----------------------------------------------------------------------------

  putDelivery(j: SessionJournal, d: Delivery, packetId: number): void {
    const record = j.session.record;
    const msg = d.message;
    if (d.seq === 0) {
      d.seq = j.nextSeq++;
      if (!msg.inlined) {
        msg.inlined = true;
        d.inline = true;
      } else {
        this.ref(msg);
      }
    }
    this.sink.putDelivery({
      clientId: record.clientId,
      seq: d.seq,
      messageId: msg.id,
      qos: d.qos,
      retain: d.retain,
      subscriptionIds: d.subscriptionIds,
      packetId,
      released: d.released,
      message: d.inline ? storedMessage(msg) : undefined,
    });
    this.promise();
  }

  forgetDelivery(record: SessionRecord, d: Delivery): void {
    if (d.seq === 0) return;
    this.sink.removeDelivery(record.clientId, d.seq);
    this.staged++;
    d.seq = 0;
    if (d.inline) d.inline = false;
    else this.unref(d.message);
  }

  putIncoming(record: SessionRecord, packetId: number): void {
    this.sink.putIncoming(record.clientId, packetId);
    this.promise();
  }

  removeIncoming(record: SessionRecord, packetId: number): void {
    this.sink.removeIncoming(record.clientId, packetId);
    this.promise();
  }

  changed(j: SessionJournal): void {
    if (j.dirty) return;
    j.dirty = true;
    this.dirty.push(j);
  }

  /** A message is stored while a stored delivery refers to it. */
  private ref(msg: Message): void {
    if (msg.storedRefs++ === 0) {
      this.sink.putMessage(storedMessage(msg));
      this.promise();
    }
  }

  private unref(msg: Message): void {
    if (--msg.storedRefs === 0) {
      this.sink.removeMessage(msg.id);
      this.staged++;
    }
  }

  /**
   * A write staged in the store by another part (a cluster node's forward of a QoS >= 1
   * message) that an acknowledgement made this tick promises: the tick commits, and its
   * output waits for that commit, as for a stored delivery.
   */
  external(promised: boolean): void {
    this.staged++;
    if (promised) this.promising++;
  }

  /** A record found at start that nothing refers to any more: removed (at start only, so no promise). */
  leftover(remove: (store: BrokerStore) => void): void {
    remove(this.store);
    this.staged++;
  }

  // ---- retained ---------------------------------------------------------------------------

  retained(msg: Message): void {
    // $SYS values describe this run only (sys-tree.ts publishes them afresh at start): storing
    // them would commit every interval and restore a dead broker's counts.
    if (msg.topic.startsWith('$SYS/')) return;
    if (msg.payload.length === 0) this.sink.removeRetained(msg.topic);
    else this.sink.putRetained(storedMessage(msg));
    this.promise();
  }

  retainedExpired(topic: string): void {
    this.sink.removeRetained(topic);
    this.promise();
  }

  // ---- the end of a tick -------------------------------------------------------------------

  /** Rewrites the sessions whose own fields changed, then commits what the tick staged. */
  endOfTick(): void {
    this.endOfTickSessions();
    if (this.staged === 0) return;
    const promising = this.promising > 0;
    this.staged = 0;
    this.promising = 0;
    // While the store cannot write, nothing waits for it: the resync will cover this tick.
    if (this.blocked !== undefined) return;
    const batch = new Batch();
    // Output waits for the newest commit that holds a promise; a batch of removals alone holds none.
    if (promising) this.latest = batch;
    this.store.commit().then(
      () => this.settled(batch, undefined),
      (err: unknown) => this.settled(batch, err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** The sessions whose own fields changed this tick, rewritten. */
  private endOfTickSessions(): void {
    const dirty = this.dirty;
    if (dirty.length === 0) return;
    this.dirty = [];
    for (const j of dirty) {
      if (!j.dirty) continue;
      j.dirty = false;
      this.sink.putSession(sessionRecord(j.session));
      this.promise();
    }
  }

  /**
   * Whether output made now must wait: while writes are staged (the caller leaves it for the end
   * of the tick, which commits them first) or a commit is under way (it waits for that one).
   */
  get holding(): boolean {
    return this.uncommitted || this.latest !== undefined;
  }

  /** True when writes an acknowledgement may promise are staged that no commit covers yet. */
  get uncommitted(): boolean {
    return this.promising > 0 || this.dirty.length > 0;
  }

  /** Holds a connection's output of this tick for the newest commit (call only while holding and nothing is uncommitted). */
  hold(conn: HeldOutput, buf: Buffer, promised: boolean): void {
    const batch = this.latest!;
    batch.conns.push(conn);
    batch.bufs.push(buf);
    batch.promised.push(promised);
  }

  private settled(batch: Batch, err: Error | undefined): void {
    if (this.latest === batch) this.latest = undefined;
    this.commitTook?.(performance.now() - batch.started);
    const { conns, bufs } = batch;
    if (err === undefined) {
      for (let i = 0; i < conns.length; i++) conns[i]!.writeHeld(bufs[i]!);
      return;
    }
    // No acknowledgement of what it held may go out: those clients send again when they
    // reconnect. Deliveries alone go out (the broker's memory has them; a resync stores them).
    for (let i = 0; i < conns.length; i++) {
      if (batch.promised[i]) conns[i]!.failHeld('the store could not commit');
      else conns[i]!.writeHeld(bufs[i]!);
    }
    this.fail(err);
  }

  /**
   * The store cannot write (disk full, directory gone): said once; from now on no QoS 1/2
   * publish is accepted, writes go nowhere, and the store is tried again every STORE_RETRY_MS
   * until a resync of the whole state commits.
   */
  private fail(err: Error): void {
    if (this.closed) return;
    if (this.blocked === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.blocked = { promise, resolve };
      this.sink = NOWHERE;
      this.latest = undefined;
      this.log('error', `the store cannot write (${err.message}): QoS 1 and 2 publishes are not acknowledged until it can (MQTT 5 clients get 0x97 quota exceeded, MQTT 3 clients are not read); QoS 0 and deliveries go on; trying again every ${STORE_RETRY_MS / 1000} s`);
    }
    this.retryLater();
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry();
    }, STORE_RETRY_MS);
    this.retryTimer.unref();
  }

  /** A cheap write first; when it commits, everything is written anew in one commit. */
  private async retry(): Promise<void> {
    if (this.blocked === undefined || this.closed) return;
    try {
      await this.store.probe();
      this.store.clear();
      this.resync();
      await this.store.commit();
    } catch {
      this.sink = NOWHERE;
      this.retryLater();
      return;
    }
    const blocked = this.blocked;
    this.blocked = undefined;
    this.log('warn', 'the store can write again: QoS 1 and 2 publishes are acknowledged again');
    blocked.resolve();
  }

  /** Writes every durable session (with what it owes) and every retained message to the store. */
  private resync(): void {
    const source = this.resyncSource;
    this.sink = this.store;
    if (source === undefined) return;
    const sessions = [...source.sessions()].filter((s) => s.journal !== undefined);
    // Counted afresh: the writes made while the store failed went nowhere.
    for (const session of sessions) {
      const r = session.record;
      for (let i = r.queueHead; i < r.queue.length; i++) resetStored(r.queue[i]!);
      if (r.inflight !== undefined) for (const d of r.inflight.values()) resetStored(d);
    }
    for (const session of sessions) {
      (session.journal as SessionJournal).dirty = false;
      this.writeAll(session);
    }
    const retained = source.retained(Date.now());
    if (retained !== undefined) for (const m of retained) this.retained(m);
    this.endOfTickSessions();
    this.staged = 0;
    this.promising = 0;
  }

  /**
   * The store lost what it held (a Redis that restarted empty): everything is written anew at
   * the end of this tick, as after a failure. Call while it can write.
   */
  rewriteAll(): void {
    if (this.blocked !== undefined || this.closed) return;
    this.store.clear();
    this.resync();
    this.staged++;
    this.promising++;
  }

  /** Waits until everything staged so far is durable. */
  async drain(): Promise<void> {
    this.endOfTick();
    if (this.blocked !== undefined) throw new Error('the store cannot write; what changed since it failed is not stored');
    await this.store.commit();
  }

  /** The broker closes: no more retries. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

function resetStored(d: Delivery): void {
  d.message.storedRefs = 0;
  d.message.inlined = false;
  d.seq = 0;
  d.inline = false;
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
