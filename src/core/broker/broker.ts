/**
 * createBroker(): the broker as a library, and the composition of its parts. Transport-
 * agnostic: a listener hands it a duplex byte stream and what it knows about it through
 * accept() (TCP, WebSocket, or an in-process pair in tests through handle()).
 *
 * The parts, each in its own file: sessions.ts (the session table and session life),
 * router.ts (subscriptions and routing), retained.ts (the retained store), will.ts,
 * backpressure.ts, scheduler.ts (every deadline), connection.ts (one client), handlers/ (one
 * per packet), inspect.ts (the read-only view). Handlers reach the broker only through
 * BrokerContext (types.ts): the named operations below.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ReasonCode } from '../codec/constants.js';
import type { Properties, QoS } from '../codec/types.js';
import { Backpressure } from './backpressure.js';
import type { ClusterOperations, ClusterPort } from './cluster-port.js';
import { ClusterSide } from './cluster-side.js';
import { resolveConfig, type BrokerOptions } from './config.js';
import { Connection, type ConnectionHost } from './connection.js';
import type { BrokerEvents } from './events.js';
import { defaultHooks } from './hooks.js';
import { Inspector } from './inspect.js';
import { listen, type ListenerRecord, type ListenerSpec, type ListenOptions, type Listener } from './listeners/index.js';
import { Message } from './message.js';
import { QueueMemory } from './queue-memory.js';
import { MemoryRetainedStore } from './retained.js';
import type { BrokerStore } from '../store/types.js';
import { Persistence } from './persistence.js';
import { restoreState, type RestoreCounts } from './restore.js';
import { Router } from './router.js';
import { Deadline, Scheduler } from './scheduler.js';
import type { Session } from './session.js';
import { SessionTable } from './sessions.js';
import { BrokerStats } from './stats.js';
import { SysTree } from './sys-tree.js';
import {
  State,
  type BrokerConfig,
  type BrokerContext,
  type ClientInfo,
  type HandlerConnection,
  type Hooks,
  type MaybePromise,
  type OpenedSession,
  type PublishTrace,
  type ReadHook,
  type RetainedStore,
  type SessionHandle,
  type SessionHost,
  type SubscriptionOptions,
  type TransportInfo,
} from './types.js';
import { Wills, type WillHost } from './will.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface CreateBrokerOptions extends BrokerOptions {
  /** Where the broker's own log lines go; silent by default (a library does not print). */
  log?: (level: LogLevel, message: string) => void;
  /** Where retained messages live; in memory by default. */
  retained?: RetainedStore;
  /**
   * Where sessions, their messages and retained messages are kept across a restart (e.g.
   * LmdbStore); none by default. The broker reads it back before its first listener opens
   * (await broker.ready() before handle()), acknowledges nothing before it is stored, and closes
   * the store in close().
   */
  store?: BrokerStore;
  /**
   * A cluster node (src/core/cluster): this broker is then one node of several that share
   * routing, retained messages and sessions. Needs a `store` the other nodes can read.
   */
  cluster?: ClusterPort;
}

/** The transport of a stream handed to handle() by the embedding application. */
function streamTransport(remoteAddress: string | undefined): TransportInfo {
  return { listener: { kind: 'stream', host: undefined, port: undefined, name: 'stream', useIdentityAsUsername: false }, remoteAddress, remotePort: undefined, peerCertificate: undefined };
}

/** A client on a bridge's own listener (core/bridge): the broker's code, not a remote user. */
function isBridge(client: ClientInfo): boolean {
  return client.transport?.listener.kind === 'bridge';
}

/**
 * The hooks as the broker calls them: the given ones, with bridges let past each, as mosquitto's
 * bridge context passes its ACL checks (the bridge forwards what the remote broker already
 * allowed, and publishes its state under $SYS). One field test per hook call.
 */
function trustBridges(given: Hooks): Hooks {
  const out: Hooks = {
    authenticate: (client, username, password) => (isBridge(client) ? true : given.authenticate(client, username, password)),
    authorizePublish: (client, topic, qos, retain) => (isBridge(client) ? true : given.authorizePublish(client, topic, qos, retain)),
    authorizeSubscribe: (client, filter, qos) => (isBridge(client) ? qos : given.authorizeSubscribe(client, filter, qos)),
  };
  if (given.authorizeRead !== undefined) out.authorizeRead = (client, topic, qos, retain) => (isBridge(client) ? true : given.authorizeRead!(client, topic, qos, retain));
  if (given.enhancedAuth !== undefined) out.enhancedAuth = (client, request) => (isBridge(client) ? { reasonCode: 0 } : given.enhancedAuth!(client, request));
  return out;
}

export class Broker extends EventEmitter<BrokerEvents> implements BrokerContext, ConnectionHost, SessionHost, WillHost {
  readonly config: BrokerConfig;
  /** The hooks in force; replaced as a whole by setHooks(), read afresh by every packet. */
  hooks: Hooks;
  /** The hooks as given (setHooks merges into these); `hooks` is them with bridges trusted. */
  private givenHooks: Hooks = { ...defaultHooks };
  /** hooks.authorizeRead, kept apart: the one field each delivery tests. */
  readHook: ReadHook | undefined = undefined;
  /**
   * Told of every PUBLISH read and written (a verbose log); undefined, the default, costs one
   * field test per PUBLISH. May be set or cleared at any time.
   */
  publishTrace: PublishTrace | undefined = undefined;
  readonly queueBudget: QueueMemory;
  readonly scheduler = new Scheduler();
  /** Counters since the broker started: what $SYS and /metrics read. */
  readonly stats = new BrokerStats();
  /** A read-only look at sessions, subscriptions, queues and retained messages. */
  readonly inspect: Inspector;
  /** The $SYS/broker/… tree, when config.sysInterval is above 0. */
  private readonly sysTree: SysTree | undefined;
  private readonly router = new Router();
  private readonly retained: RetainedStore;
  private readonly backpressure: Backpressure;
  private readonly wills: Wills;
  private readonly sessions: SessionTable;
  /** Every open connection, connected or not. */
  private readonly connections = new Set<Connection>();
  /** Connections answered with CONNACK success and still open. */
  private connectedCount = 0;
  /** Messages dropped across all sessions (queue full, slow client, too large). */
  private droppedCount = 0;
  private lastDropLog = 0;
  /** Deliveries authorizeRead refused, over all sessions. */
  private readDeniedCount = 0;
  /** Connections closed at once by maxConnections, and when that was last logged. */
  private refusedConnections = 0;
  private refusedSinceLog = 0;
  private lastRefusedLog = 0;
  /** Ids for messages: unique within this broker's life. */
  private nextMessageId = 1;
  private readonly logFn: ((level: LogLevel, message: string) => void) | undefined;
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly flushAllBound = (): void => this.flushAll();
  private listeners_: Listener[] = [];
  private closed = false;
  /** The store's side (persistence.ts); undefined when nothing is kept across a restart. */
  readonly persistence: Persistence | undefined;
  /** The cluster node plugged in (createBroker({ cluster })), and what it may do here. */
  private readonly clusterPort: ClusterPort | undefined;
  readonly cluster: ClusterSide | undefined;
  private readonly restoring: Promise<RestoreCounts> | undefined;
  private restored = false;
  /**
   * Connections still waiting for their CONNECT, in the order they came (a Set keeps it): one
   * deadline, for the oldest, instead of one per connection.
   */
  private readonly awaitingConnect = new Set<Connection>();
  private readonly connectDeadline = new Deadline((now) => this.connectDeadlineDue(now));
  private readonly acceptBound = (stream: Duplex, info: TransportInfo): void => {
    this.accept(stream, info);
  };

  constructor(options: CreateBrokerOptions = {}) {
    super();
    this.config = resolveConfig(options);
    this.hooks = { ...defaultHooks };
    this.setHooks(options.hooks ?? {});
    this.logFn = options.log;
    this.queueBudget = new QueueMemory(this.config.maxQueueMemory, () => this.sessions.values());
    this.retained = options.retained ?? new MemoryRetainedStore();
    this.backpressure = new Backpressure(this.config.maxQueued, this.config.stallTimeoutMs, this.scheduler, (m) => this.log('warn', m));
    this.wills = new Wills(this, this.scheduler);
    this.persistence = options.store === undefined ? undefined : new Persistence(options.store, (level, m) => this.log(level, m), (ms) => this.stats.commitTook(ms));
    this.sessions = new SessionTable(this, this.router, this.wills, this.backpressure, this.scheduler, this.persistence);
    const port = (this.clusterPort = options.cluster);
    if (port !== undefined) {
      if (this.persistence === undefined) throw new Error('a cluster node needs a store the other nodes can read (createBroker({ store, cluster }))');
      this.router.filters = port;
      this.router.shareGate = (group, msg) => port.shareLocal(group, msg);
      this.sessions.onEnded = (clientId) => port.released(clientId);
      this.cluster = new ClusterSide({
        nodeId: port.nodeId,
        sessions: this.sessions,
        router: this.router,
        wills: this.wills,
        queueBudget: this.queueBudget,
        persistence: this.persistence,
        host: this,
        retained: this.retained,
        nextMessageId: () => this.nextMessageId++,
        takeOver: (clientId, why) => this.takeoverById(clientId, why),
      });
    } else {
      this.cluster = undefined;
    }
    this.persistence?.setResyncSource({ sessions: () => this.sessions.values(), retained: (now) => this.retained.all?.(now) });
    this.inspect = new Inspector({
      sessions: this.sessions,
      router: this.router,
      retained: this.retained,
      connections: this.connections,
      connectedCount: () => this.connectedCount,
      expiredCount: () => this.sessions.expired,
      droppedCount: () => this.droppedCount,
      readDeniedCount: () => this.readDeniedCount,
      refusedConnectionCount: () => this.refusedConnections,
      queueBytes: () => this.queueBudget.bytes,
    });
    const persistence = this.persistence;
    this.restoring = persistence === undefined ? undefined : this.restore(persistence).then((counts) => {
      this.restored = true;
      return counts;
    });
    // Seen by ready(), listen() and close(); not an unhandled rejection meanwhile.
    this.restoring?.catch(() => undefined);
    // $SYS starts once the store is read back, so its first values are not overwritten by the last run's.
    this.sysTree = this.config.sysInterval === 0 ? undefined : new SysTree({ stats: this.stats, inspect: this.inspect, sessions: () => this.sessions.values(), scheduler: this.scheduler, publish: (topic, payload) => this.publishMessage(topic, payload, { retain: true }) }, this.config.sysInterval);
    if (this.sysTree !== undefined) void this.ready().then(() => this.sysTree?.start(), () => undefined);
  }

  log(level: LogLevel, message: string): void {
    this.logFn?.(level, message);
  }

  /**
   * Resolves once the store is read back (at once without a store), with what was restored;
   * rejects with a one-line error when the store cannot be read. listen() waits for it.
   */
  ready(): Promise<RestoreCounts> {
    return (this.restoring as Promise<RestoreCounts> | undefined) ?? Promise.resolve({ sessions: 0, deliveries: 0, messages: 0, retained: 0, ms: 0 });
  }

  private async restore(p: Persistence): Promise<RestoreCounts> {
    const started = performance.now();
    const state = await p.store.load();
    const counts = restoreState(state, {
      persistence: p,
      sessions: this.sessions,
      router: this.router,
      retained: this.retained,
      wills: this.wills,
      queueBudget: this.queueBudget,
      host: this,
      now: Date.now(),
    });
    this.nextMessageId = Math.max(this.nextMessageId, counts.nextMessageId);
    // Orphans removed, expired sessions ended: written before anyone connects.
    await p.drain();
    return { sessions: counts.sessions, deliveries: counts.deliveries, messages: counts.messages, retained: counts.retained, ms: performance.now() - started };
  }

  /**
   * Replaces some hooks at run time (a reload of password and ACL files): new connections and
   * every next packet of the open ones use them, wills and deliveries from now on too. Open
   * connections and subscriptions stay; what a client may no longer read is filtered by the new
   * authorizeRead when it goes out, queued messages included. A hook given as undefined goes back
   * to its default (authorizeRead: none).
   */
  setHooks(partial: Partial<Hooks>): void {
    const next: Hooks = { ...this.givenHooks };
    for (const key of Object.keys(partial) as (keyof Hooks)[]) {
      const hook = partial[key];
      if (hook === undefined) {
        if (key === 'authorizeRead' || key === 'enhancedAuth') delete next[key];
        else (next as unknown as Record<string, unknown>)[key] = defaultHooks[key];
      } else if (typeof hook !== 'function') {
        throw new TypeError(`hook ${key} must be a function, got ${typeof hook}`);
      } else {
        (next as unknown as Record<string, unknown>)[key] = hook;
      }
    }
    this.givenHooks = next;
    this.hooks = trustBridges(next);
    this.readHook = this.hooks.authorizeRead;
  }

  // ---- connections ---------------------------------------------------------------------

  /** Serves one client over a stream a listener accepted, with what the listener knows of it. */
  accept(stream: Duplex, info: TransportInfo): Connection {
    if (this.restoring !== undefined && !this.restored) throw new Error('the broker is still reading its store back: await broker.ready() before handing it connections');
    const conn = new Connection(this, this, stream, info);
    if (this.closed) {
      conn.close('broker closed', false);
      return conn;
    }
    const max = this.config.maxConnections;
    if (max !== 0 && this.connections.size >= max) {
      // As mosquitto's max_connections: closed before anything is read, no CONNACK.
      conn.close('too many connections', false);
      stream.destroy();
      this.connectionRefused(info);
      return conn;
    }
    this.connections.add(conn);
    this.stats.listenerOpened(info.listener.name);
    this.awaitingConnect.add(conn);
    if (!this.connectDeadline.scheduled) this.scheduler.schedule(this.connectDeadline, conn.openedAt + this.config.connectTimeoutMs);
    return conn;
  }

  /** Serves one client over any duplex byte stream (an embedder's transport, or a test's pair). */
  handle(stream: Duplex, remoteAddress?: string): Connection {
    return this.accept(stream, streamTransport(remoteAddress));
  }

  /**
   * Disconnects the client connected as `clientId` (an operator's kick): 5.0 gets DISCONNECT 0x98
   * Administrative action first; its will is published as after any close it did not ask for,
   * and its session stays or ends by its expiry interval. False when no such client is connected.
   */
  kick(clientId: string, why = 'disconnected by an administrator'): boolean {
    for (const conn of this.connections) {
      if (conn.clientId !== clientId || !conn.ready) continue;
      conn.disconnectWith(0x98, why);
      return true;
    }
    return false;
  }

  /**
   * Deletes the retained messages whose topics match `filter`, without delivering anything to
   * subscribers (a client clearing a topic would send them an empty retained message); kept
   * deleted in the store too. Resolves with the topics deleted.
   */
  async deleteRetained(filter: string): Promise<string[]> {
    const found = await this.retained.match(filter, Date.now());
    const topics: string[] = [];
    for (const m of found) {
      const empty = this.createMessage(m.topic, Buffer.alloc(0), 0, true, undefined, '');
      this.retained.store(empty);
      this.persistence?.retained(empty);
      topics.push(m.topic);
    }
    if (topics.length > 0 && this.persistence !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAllBound);
    }
    return topics;
  }

  /** Counts a connection refused by maxConnections; logs at most once a minute, with how many. */
  private connectionRefused(info: TransportInfo): void {
    this.refusedConnections++;
    this.stats.refused(0x97);
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusedLog < 60_000) return;
    this.lastRefusedLog = now;
    const n = this.refusedSinceLog;
    this.refusedSinceLog = 0;
    this.log('warn', `refused ${n} connection${n === 1 ? '' : 's'} (latest from ${info.remoteAddress ?? 'a stream'}): maxConnections ${this.config.maxConnections} reached (${this.refusedConnections} refused so far)`);
  }

  connectArrived(conn: HandlerConnection): void {
    this.awaitingConnect.delete(conn as Connection);
  }

  /**
   * Closes whoever has waited connectTimeoutMs without a CONNECT; then waits for the next oldest.
   * A client in an enhanced authentication (enhanced-auth.ts) stays on this clock until its
   * CONNACK: one that has not finished by then is refused with CONNACK 0x87.
   */
  private connectDeadlineDue(now: number): void {
    for (const conn of this.awaitingConnect) {
      const due = conn.openedAt + this.config.connectTimeoutMs;
      if (due > now) {
        this.scheduler.schedule(this.connectDeadline, due);
        return;
      }
      this.awaitingConnect.delete(conn);
      if (conn.state === State.Connecting) conn.refuse(ReasonCode.NotAuthorized, `authentication not finished within ${this.config.connectTimeoutMs} ms of connecting`);
      else conn.close('no CONNECT in time', false);
    }
  }

  connectionError(conn: Connection, error: Error, known: boolean): void {
    this.emit('clientError', conn.state === State.New ? undefined : conn, error);
    if (!known) this.log('error', `client ${conn.clientId || conn.id}: ${error.stack ?? error.message}`);
  }

  /** A connection ended: its session goes offline (will, expiry), whoever it held back goes on. */
  connectionClosed(conn: Connection, reason: string, unclean: boolean, wasConnected: boolean): void {
    if (this.connections.delete(conn)) this.stats.listenerClosed(conn.transport.listener.name);
    this.awaitingConnect.delete(conn);
    this.backpressure.leave(conn);
    if (wasConnected) this.connectedCount--;
    const session = conn.session;
    const will = conn.will;
    conn.will = undefined;
    // openSession and sessionOnline run in one turn, so a session is ours only once online.
    if (session !== null && session.connection === conn) this.sessions.disconnected(session, unclean ? will : undefined, conn);
    if (wasConnected && this.clusterPort !== undefined) this.clusterPort.willDone(conn.clientId);
    if (wasConnected) this.emit('disconnect', conn, reason);
  }

  /**
   * Starts listeners: one spec, several, or the old form (TCP, and WebSocket when `ws` is given).
   * All open or none. Resolves with one record per listener, in order; each still has the
   * `address`, `port` and `family` of the AddressInfo this returned before.
   */
  async listen(options: ListenOptions | ListenerSpec | ListenerSpec[]): Promise<ListenerRecord[]> {
    await this.ready();
    const started = await listen(this.acceptBound, (m) => this.log('warn', m), options);
    this.listeners_.push(...started);
    return started.map((l) => ({ kind: l.kind, name: l.name, address: l.address.address, port: l.address.port, family: l.address.family, url: l.url }));
  }

  /** Re-reads the files of every TLS listener (ws included): new connections get them, open ones stay. Resolves with one line per listener whose files failed (those keep the old ones). */
  async reloadTls(): Promise<string[]> {
    const results = await Promise.all(this.listeners_.map((l) => l.reload?.()));
    return results.filter((r): r is string => r !== undefined);
  }

  /** Stops listening and closes every connection; sessions and retained messages are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sysTree?.stop();
    // DISCONNECT 0x8B goes out first: closing a listener destroys its sockets, and a packet
    // queued on a destroyed socket is never written.
    for (const conn of [...this.connections]) conn.disconnectWith(0x8b, 'server shutting down');
    this.flushAll();
    const stopping = this.listeners_.map((l) => l.close());
    this.listeners_ = [];
    const p = this.persistence;
    // A store that could not be read back has nothing of ours to commit.
    if (p !== undefined && (await this.restoring!.then(() => true, () => false))) {
      try {
        await p.drain();
      } catch (err) {
        this.log('error', `the store could not commit at close: ${(err as Error).message}`);
      }
    }
    this.sessions.clear();
    this.scheduler.close();
    p?.close();
    await Promise.all(stopping);
    if (p !== undefined) await p.store.close();
  }

  // ---- output batching -----------------------------------------------------------------

  /** Registers a connection with output for this tick; all are written in one pass. */
  markDirty(conn: Connection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.dirty.push(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After this turn of the event loop's I/O: everything read in it is answered in one write per socket.
      setImmediate(this.flushAllBound);
    }
  }

  private flushAll(): void {
    this.flushScheduled = false;
    // What this tick changed goes to the store first; the output below waits for that commit.
    this.persistence?.endOfTick();
    const list = this.dirty;
    this.dirty = [];
    for (const conn of list) conn.flush();
  }

  /**
   * Called by a connection about to write: true when its output must wait for the store. With
   * writes staged it waits for the end of the tick (which commits them first), else it joins
   * the commit under way.
   */
  holdOutput(conn: Connection): boolean {
    const p = this.persistence;
    if (p === undefined || !p.holding) return false;
    if (p.uncommitted) {
      this.markDirty(conn);
      return true;
    }
    // Holding with nothing uncommitted: a commit is under way, and this output joins it.
    const buf = conn.outbox.take();
    const promised = conn.promised;
    conn.promised = false;
    if (buf !== undefined) p.hold(conn, buf, promised);
    return true;
  }

  // ---- sessions (BrokerContext) --------------------------------------------------------

  /** Takeover [MQTT-3.1.4-2] [MQTT-3.1.4-3]: the connection holding the session is closed, with DISCONNECT 0x8E in 5.0. */
  takeover(conn: HandlerConnection): void {
    const old = this.sessions.get(conn.clientId)?.connection as Connection | null | undefined;
    if (old == null || old === conn) return;
    // 5.0 publishes the old connection's will (section 3.1.4). 3.1.1 leaves takeover out of its
    // will situations; we do not publish there, so a client that reconnects over a half-open
    // socket does not flap "offline" (mosquitto 2.0 does publish; 5.0's will delay is the cure).
    if (old.protocolVersion !== 5) old.will = undefined;
    old.disconnectWith(0x8e, 'session taken over');
  }

  /** The whole cluster, as operators see it; undefined for a broker on its own. */
  get clusterOperations(): ClusterOperations | undefined {
    return this.clusterPort?.operations;
  }

  /** Closes the connection holding `clientId`'s session as takeover() does (another node's client took it). */
  private takeoverById(clientId: string, why: string): void {
    const old = this.sessions.get(clientId)?.connection as Connection | null | undefined;
    if (old == null) return;
    if (old.protocolVersion !== 5) old.will = undefined;
    old.disconnectWith(0x8e, why);
  }

  claim(conn: HandlerConnection, clean: boolean, lasting: boolean): Promise<void> | undefined {
    return this.clusterPort?.claim(conn.clientId, clean, lasting);
  }

  /** A CONNECT that claimed its client closed before it was answered: the node lets go unless a session stayed here. */
  claimAbandoned(clientId: string): void {
    if (this.sessions.get(clientId) === undefined) this.clusterPort?.released(clientId);
  }

  /** Writes what this tick staged soon, though no connection has output (a cluster node's own writes). */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushAllBound);
  }

  openSession(conn: HandlerConnection, clean: boolean, expiryInterval: number): OpenedSession {
    const opened = this.sessions.open(conn.clientId, clean);
    opened.session.expiryInterval = expiryInterval;
    this.persistence?.track(opened.session);
    (conn as Connection).session = opened.session;
    return opened;
  }

  sessionOnline(conn: HandlerConnection, present: boolean): void {
    const c = conn as Connection;
    const session = c.session!;
    session.connection = c;
    session.client = c;
    c.connectedAt = Date.now();
    const stats = this.stats;
    stats.connectsAccepted++;
    if (++this.connectedCount > stats.clientsMaximum) stats.clientsMaximum = this.connectedCount;
    if (this.clusterPort !== undefined && c.will !== undefined) this.clusterPort.willHeld(c, c.will);
    this.emit('client', c, present);
    if (present) session.resume();
  }

  subscribe(session: SessionHandle, options: SubscriptionOptions): boolean {
    const s = session as Session;
    s.journal?.changed(s.record);
    return this.router.subscribe(s, options);
  }

  unsubscribe(session: SessionHandle, topicFilter: string): boolean {
    const s = session as Session;
    const had = this.router.unsubscribe(s, topicFilter);
    if (had) s.journal?.changed(s.record);
    return had;
  }

  storeBlocked(): Promise<void> | undefined {
    return this.persistence?.blockedUntil ?? this.clusterPort?.blockedUntil;
  }

  retainedFor(topicFilter: string, now: number): MaybePromise<Message[]> {
    const found = this.retained.match(topicFilter, now);
    if (this.persistence === undefined) return found;
    // Each match is a Message of its own; stored, it needs an id of its own too.
    if (Array.isArray(found)) return this.renumber(found);
    return found.then((list) => this.renumber(list));
  }

  private renumber(list: Message[]): Message[] {
    for (const m of list) m.id = this.nextMessageId++;
    return list;
  }

  // ---- messages ------------------------------------------------------------------------

  /** A message id of this broker (for a message made elsewhere, e.g. by a cluster node). */
  newMessageId(): number {
    return this.nextMessageId++;
  }

  createMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties: Properties | undefined, publisherId: string): Message {
    const msg = new Message(topic, payload, qos, retain, properties, publisherId);
    msg.id = this.nextMessageId++;
    return msg;
  }

  /** Accepts a message for routing: retained store, events, then every matching session. */
  publish(msg: Message, from: ClientInfo | undefined, now = Date.now()): number {
    if (msg.retain && this.config.retainAvailable) {
      this.retained.store(msg);
      this.persistence?.retained(msg);
    }
    if (this.listenerCount('publish') > 0) this.emit('publish', msg, from);
    // Whoever publishes is whom a long queue holds back (backpressure.ts): only a live connection.
    const bp = this.backpressure;
    bp.publishing = from instanceof Connection ? from : undefined;
    const n = this.router.route(msg, now);
    bp.publishing = undefined;
    // $SYS is each node's own; everything else this node routes first goes to the nodes that want it.
    const port = this.clusterPort;
    if (port !== undefined && !(msg.topic.charCodeAt(0) === 36 && msg.topic.startsWith('$SYS/'))) port.forward(msg, now);
    return n;
  }

  /** Publishes from outside any client, e.g. `$SYS` or an embedding application. */
  publishMessage(topic: string, payload: Buffer | string, options: { qos?: 0 | 1 | 2; retain?: boolean; properties?: Properties } = {}): number {
    const msg = this.createMessage(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), options.qos ?? 0, options.retain ?? false, options.properties, '');
    return this.publish(msg, undefined);
  }

  // ---- SessionHost, WillHost -----------------------------------------------------------

  queueLong(session: SessionHandle): void {
    this.backpressure.queueLong(session as Session);
  }

  queueDrained(session: SessionHandle): void {
    this.backpressure.queueDrained(session as Session);
  }

  willPublished(client: ClientInfo, msg: Message): void {
    this.emit('will', client, msg);
  }

  readRefused(): void {
    this.readDeniedCount++;
  }

  readHookFailed(clientId: string, err: unknown): void {
    this.log('error', `authorizeRead failed for client ${clientId}, delivery refused: ${err instanceof Error ? err.message : String(err)}`);
  }

  dropped(clientId: string, msg: Message, why: string): void {
    this.droppedCount++;
    if (this.listenerCount('drop') > 0) this.emit('drop', clientId, msg, why);
    // A log line, but at most one a second: a flood of drops must not become a flood of logs.
    const now = Date.now();
    if (now - this.lastDropLog >= 1000) {
      this.lastDropLog = now;
      this.log('warn', `dropped a message on ${msg.topic} for client ${clientId}: ${why} (${this.droppedCount} dropped so far)`);
    }
  }
}

export function createBroker(options: CreateBrokerOptions = {}): Broker {
  return new Broker(options);
}
