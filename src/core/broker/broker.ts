/**
 * createBroker(): the broker as a library. Transport-agnostic: a listener hands it a duplex
 * byte stream (TCP, TLS, WebSocket, or an in-process pair in tests) through handle().
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Properties, Will } from '../codec/types.js';
import { resolveConfig, type BrokerConfig, type BrokerOptions } from './config.js';
import { Connection } from './connection.js';
import type { BrokerEvents } from './events.js';
import { defaultHooks, isPromise, type ClientInfo, type Hooks } from './hooks.js';
import { listen, type ListenOptions, type Listener } from './listeners/index.js';
import { Message, detachPayload } from './message.js';
import { RetainedStore } from './retained.js';
import { Router } from './router.js';
import { NEVER_EXPIRES, Session } from './session.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface CreateBrokerOptions extends BrokerOptions {
  /** Where the broker's own log lines go; silent by default (a library does not print). */
  log?: (level: LogLevel, message: string) => void;
}

/** Will properties that travel with the will message; the delay is the broker's business. */
function willMessageProperties(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const { willDelayInterval: _delay, messageExpiryInterval: _expiry, ...rest } = props;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

export class Broker extends EventEmitter<BrokerEvents> {
  readonly config: BrokerConfig;
  readonly hooks: Hooks;
  readonly sessions = new Map<string, Session>();
  readonly router = new Router();
  readonly retained = new RetainedStore();
  /** Every open connection, connected or not. */
  readonly connections = new Set<Connection>();
  /** Messages dropped across all sessions (queue full, slow client, too large). */
  droppedCount = 0;
  private lastDropLog = 0;
  /**
   * Queue length at which an online session throttles whoever publishes to it, and the length
   * at which they are released: acknowledged messages wait, they are not dropped.
   */
  readonly highWater: number;
  readonly lowWater: number;
  /** The connection whose PUBLISH is being routed, so a full queue knows whom to throttle. */
  private publishing: Connection | undefined = undefined;
  private readonly logFn: ((level: LogLevel, message: string) => void) | undefined;
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly flushAllBound = (): void => this.flushAll();
  private listeners_: Listener[] = [];
  private closed = false;
  /**
   * Connections still waiting for their CONNECT, in the order they came (a Set keeps it): one
   * timer, due when the oldest runs out of time, instead of one timer per connection.
   */
  private readonly awaitingConnect = new Set<Connection>();
  private connectTimer: NodeJS.Timeout | undefined = undefined;
  private readonly connectDeadlineBound = (): void => this.connectDeadline();

  constructor(options: CreateBrokerOptions = {}) {
    super();
    this.config = resolveConfig(options);
    this.hooks = { ...defaultHooks, ...options.hooks };
    this.logFn = options.log;
    this.highWater = Math.max(1, Math.min(this.config.maxQueued >> 1, 1000));
    this.lowWater = this.highWater >> 1;
  }

  log(level: LogLevel, message: string): void {
    this.logFn?.(level, message);
  }

  /** Serves one client over any duplex byte stream. */
  handle(stream: Duplex, remoteAddress?: string): Connection {
    const conn = new Connection(this, stream, remoteAddress);
    if (this.closed) {
      conn.close('broker closed', false);
      return conn;
    }
    this.connections.add(conn);
    this.awaitingConnect.add(conn);
    this.connectTimer ??= setTimeout(this.connectDeadlineBound, this.config.connectTimeoutMs).unref();
    return conn;
  }

  /** `conn` sent its CONNECT (or closed): no longer on the clock for it. */
  connectArrived(conn: Connection): void {
    this.awaitingConnect.delete(conn);
  }

  /** Closes whoever has waited connectTimeoutMs without a CONNECT; re-arms for the next oldest. */
  private connectDeadline(): void {
    this.connectTimer = undefined;
    const now = Date.now();
    for (const conn of this.awaitingConnect) {
      const due = conn.openedAt + this.config.connectTimeoutMs;
      if (due > now) {
        this.connectTimer = setTimeout(this.connectDeadlineBound, due - now).unref();
        return;
      }
      this.awaitingConnect.delete(conn);
      conn.close('no CONNECT in time', false);
    }
  }

  /** Starts listeners (TCP, and WebSocket when `ws` is given); resolves with their addresses. */
  async listen(options: ListenOptions): Promise<AddressInfo[]> {
    const started = await listen(this, options);
    this.listeners_.push(...started);
    return started.map((l) => l.address);
  }

  /** Stops listening and closes every connection; sessions and retained messages are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    // DISCONNECT 0x8B goes out first: closing a listener destroys its sockets, and a packet
    // queued on a destroyed socket is never written.
    for (const conn of [...this.connections]) conn.disconnectWith(0x8b, 'server shutting down');
    this.flushAll();
    const stopping = this.listeners_.map((l) => l.close());
    this.listeners_ = [];
    for (const session of this.sessions.values()) session.clearTimers();
    this.sessions.clear();
    await Promise.all(stopping);
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
    const list = this.dirty;
    this.dirty = [];
    for (const conn of list) conn.flush();
  }

  // ---- messages ------------------------------------------------------------------------

  /** Accepts a message for routing: retained store, events, then every matching session. */
  publish(msg: Message, from: ClientInfo | undefined, now = Date.now()): number {
    if (msg.retain && this.config.retainAvailable) this.retained.store(msg);
    if (this.listenerCount('publish') > 0) this.emit('publish', msg, from);
    this.publishing = from instanceof Connection ? from : undefined;
    const n = this.router.route(msg, now);
    this.publishing = undefined;
    return n;
  }

  /**
   * Backpressure across the broker: `session` (online) has a long queue, so the connection
   * publishing into it stops routing until the queue drains. Its acknowledgements keep
   * flowing meanwhile, so two clients feeding each other cannot lock each other up.
   */
  throttle(session: Session): void {
    const conn = this.publishing;
    if (conn === undefined || conn === session.connection) return;
    if (!conn.waitFor(session)) return;
    (session.throttled ??= []).push(conn);
    if (session.stallTimer === undefined) {
      // A reader that never drains must not hold its publishers forever.
      session.stallTimer = setTimeout(() => this.stall(session), this.config.stallTimeoutMs);
      session.stallTimer.unref();
    }
  }

  /** The throttle made no progress in time: let the publishers go; the queue bound takes over. */
  private stall(session: Session): void {
    session.stallTimer = undefined;
    if (session.throttled === null) return;
    session.stalled = true;
    this.log('warn', `client ${session.clientId} reads too slowly: its queue holds ${session.queued} messages; publishers are no longer held back for it`);
    this.release(session);
  }

  /** The session's queue drained: its throttled publishers go on. */
  release(session: Session): void {
    if (session.stallTimer !== undefined) clearTimeout(session.stallTimer);
    session.stallTimer = undefined;
    const list = session.throttled;
    session.throttled = null;
    if (list !== null) for (const conn of list) conn.unthrottle(session);
  }

  /** Publishes from outside any client, e.g. `$SYS` or an embedding application. */
  publishMessage(topic: string, payload: Buffer | string, options: { qos?: 0 | 1 | 2; retain?: boolean; properties?: Properties } = {}): number {
    const msg = new Message(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), options.qos ?? 0, options.retain ?? false, options.properties, '');
    return this.publish(msg, undefined);
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

  // ---- sessions ------------------------------------------------------------------------

  /** Called by a connection when it ends. */
  connectionClosed(conn: Connection, reason: string, unclean: boolean, wasConnected: boolean): void {
    this.connections.delete(conn);
    this.awaitingConnect.delete(conn);
    conn.releaseThrottles();
    const session = conn.session;
    if (session === null || session.connection !== conn) {
      if (wasConnected) this.emit('disconnect', conn, reason);
      return;
    }
    session.connection = null;
    // Nobody reads this queue now: whoever waited on it goes on.
    this.release(session);
    const will = conn.will;
    conn.will = undefined;
    if (unclean && will !== undefined) this.scheduleWill(session, will, conn);
    if (session.expiryInterval === 0) {
      this.endSession(session);
    } else if (session.expiryInterval !== NEVER_EXPIRES) {
      session.expiryTimer = setTimeout(() => this.endSession(session), session.expiryInterval * 1000);
      session.expiryTimer.unref();
    }
    this.emit('disconnect', conn, reason);
  }

  /**
   * Publishes a will now, or after its delay (5.0): the delay ends early when the session
   * ends first, and a reconnect in time cancels it [MQTT-3.1.3-9].
   */
  private scheduleWill(session: Session, will: Will, client: ClientInfo): void {
    const delay = will.properties?.willDelayInterval ?? 0;
    session.pendingWill = will;
    session.pendingWillFrom = { clientId: client.clientId, protocolVersion: client.protocolVersion, username: client.username, remoteAddress: client.remoteAddress };
    if (delay > 0 && session.expiryInterval > 0) {
      session.willTimer = setTimeout(() => {
        session.willTimer = undefined;
        this.publishWill(session);
      }, Math.min(delay, session.expiryInterval) * 1000);
      session.willTimer.unref();
      return;
    }
    this.publishWill(session);
  }

  /**
   * Publishes the session's pending will, if any, once authorizePublish allows it for the
   * client that set it: a will is a publish like any other ($SYS stays the broker's).
   */
  publishWill(session: Session): void {
    const will = session.pendingWill;
    const client = session.pendingWillFrom;
    if (will === undefined || client === undefined) return;
    session.pendingWill = undefined;
    session.pendingWillFrom = undefined;
    if (session.willTimer !== undefined) clearTimeout(session.willTimer);
    session.willTimer = undefined;
    const msg = new Message(will.topic, detachPayload(will.payload), will.qos, will.retain, willMessageProperties(will.properties), client.clientId);
    const expiry = will.properties?.messageExpiryInterval;
    if (expiry !== undefined) msg.expiresAt = Date.now() + expiry * 1000;
    const allowed = this.hooks.authorizePublish(client, will.topic, will.qos, will.retain);
    if (isPromise(allowed)) {
      allowed.then(
        (ok) => this.sendWill(msg, client, ok),
        (err: unknown) => this.log('error', `authorizePublish failed for the will of ${client.clientId}: ${String(err)}`),
      );
    } else {
      this.sendWill(msg, client, allowed);
    }
  }

  private sendWill(msg: Message, client: ClientInfo, allowed: boolean): void {
    if (!allowed) return;
    this.emit('will', client, msg);
    this.publish(msg, client);
  }

  /** Removes a session and its subscriptions; a will still waiting is published first. */
  endSession(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return;
    this.publishWill(session);
    session.clearTimers();
    for (const filter of session.subscribedFilters()) this.router.trie.remove(filter, session.clientId);
    session.clearTables();
    session.resend.length = 0;
    session.clearQueue();
    this.sessions.delete(session.clientId);
  }

  /** The session for a connecting client: a fresh one, or the stored one when it may resume. */
  openSession(clientId: string, clean: boolean): { session: Session; present: boolean } {
    const existing = this.sessions.get(clientId);
    if (existing !== undefined) {
      existing.clearTimers();
      if (!clean) {
        // [MQTT-3.1.3-9] back in time: the delayed will is not sent.
        existing.pendingWill = undefined;
        existing.pendingWillFrom = undefined;
        return { session: existing, present: true };
      }
      // Clean Start: the old session ends here, with its delayed will if one waits.
      this.endSession(existing);
    }
    const session = new Session(clientId, this);
    this.sessions.set(clientId, session);
    return { session, present: false };
  }
}

export function createBroker(options: CreateBrokerOptions = {}): Broker {
  return new Broker(options);
}
