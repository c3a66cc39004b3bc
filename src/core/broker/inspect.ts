/**
 * A read-only look inside a running broker: sessions, subscriptions, queues, retained
 * messages, counters. Snapshots are copies, so nothing outside can change broker state through
 * them. For tests, the admin API and $SYS, instead of reaching into the broker's tables.
 */
import type { Properties, QoS } from '../codec/types.js';
import type { Connection } from './connection.js';
import type { Router } from './router.js';
import type { Session } from './session.js';
import type { SessionTable } from './sessions.js';
import type { ClientInfo, RetainedStore, SubscriptionOptions } from './types.js';

export interface SessionSnapshot {
  readonly clientId: string;
  /** A connection holds it and has been answered with CONNACK. */
  readonly connected: boolean;
  readonly expiryInterval: number;
  /** When it ends (ms since the epoch) while offline; undefined while connected or never. */
  readonly expiresAt: number | undefined;
  readonly subscriptions: SubscriptionOptions[];
  /** Deliveries waiting to be sent. */
  readonly queued: number;
  /** Outgoing QoS 1/2 deliveries waiting for their acknowledgement. */
  readonly inflight: number;
  /** Incoming QoS 2 packet ids waiting for PUBREL. */
  readonly incomingQos2: number;
  /** Messages dropped for this session. */
  readonly dropped: number;
  /** Deliveries to it that authorizeRead refused. */
  readonly readDenied: number;
  /** Payload and topic bytes its queue holds (what maxQueueMemory counts). */
  readonly queuedBytes: number;
  /** A will waits for its delay. */
  readonly willPending: boolean;
}

export interface ClientSnapshot extends ClientInfo {
  /** CONNACK sent and not closed. */
  readonly connected: boolean;
  /** Bytes written to the transport and not yet taken by it (a slow reader's backlog). */
  readonly buffered: number;
  /** Output is backed up past maxClientBuffer: QoS 0 waits, QoS 1/2 stays queued. */
  readonly congested: boolean;
  /** Its input is held: a session it publishes to has a long queue, or a hook is pending. */
  readonly heldBack: boolean;
  /** Keep-alive in force, seconds (0: none). */
  readonly keepAlive: number;
  /** When CONNACK accepted it, ms since the epoch (0: not yet). */
  readonly connectedAt: number;
  /** Subscriptions, queued and in-flight deliveries of its session (0 before CONNACK). */
  readonly subscriptions: number;
  readonly queued: number;
  readonly inflight: number;
}

export interface RetainedSnapshot {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly properties: Properties | undefined;
}

/** What the inspector reads; the broker hands it its parts. */
export interface InspectedParts {
  readonly sessions: SessionTable;
  readonly router: Router;
  readonly retained: RetainedStore;
  readonly connections: ReadonlySet<Connection>;
  readonly connectedCount: () => number;
  readonly expiredCount: () => number;
  readonly droppedCount: () => number;
  readonly readDeniedCount: () => number;
  readonly refusedConnectionCount: () => number;
  readonly queueBytes: () => number;
}

function clientSnapshot(c: Connection): ClientSnapshot {
  const r = c.session?.record;
  return {
    clientId: c.clientId,
    protocolVersion: c.protocolVersion,
    username: c.username,
    remoteAddress: c.remoteAddress,
    transport: c.transport,
    connected: c.ready,
    buffered: c.stream.writableLength,
    congested: c.congested,
    heldBack: c.waitingOn.length > 0 || c.inputHeld,
    keepAlive: c.keepAliveSeconds,
    connectedAt: c.connectedAt,
    subscriptions: r?.subscriptions?.size ?? 0,
    queued: r?.queued ?? 0,
    inflight: r?.inflightCount ?? 0,
  };
}

function snapshot(s: Session): SessionSnapshot {
  const r = s.record;
  const subs: SubscriptionOptions[] = [];
  for (const e of r.subscriptions?.values() ?? []) {
    subs.push({ topicFilter: e.topicFilter, qos: e.qos, noLocal: e.noLocal, retainAsPublished: e.retainAsPublished, retainHandling: e.retainHandling, subscriptionIds: e.subscriptionIds });
  }
  return {
    clientId: s.clientId,
    connected: s.connection?.ready === true,
    expiryInterval: r.expiryInterval,
    expiresAt: r.expiresAt === Infinity ? undefined : r.expiresAt,
    subscriptions: subs,
    queued: r.queued,
    inflight: r.inflightCount,
    incomingQos2: r.incomingQos2?.size ?? 0,
    dropped: s.dropped,
    readDenied: s.readDenied,
    queuedBytes: r.queuedBytes,
    willPending: r.will !== undefined,
  };
}

export class Inspector {
  constructor(private readonly parts: InspectedParts) {}

  session(clientId: string): SessionSnapshot | undefined {
    const s = this.parts.sessions.get(clientId);
    return s === undefined ? undefined : snapshot(s);
  }

  sessions(): SessionSnapshot[] {
    return [...this.parts.sessions.values()].map(snapshot);
  }

  sessionCount(): number {
    return this.parts.sessions.size;
  }

  /** Open connections, with or without a CONNECT yet. */
  connectionCount(): number {
    return this.parts.connections.size;
  }

  /** The open connections, as hooks see them. */
  connections(): ClientInfo[] {
    return [...this.parts.connections];
  }

  /** Connections answered with CONNACK success and still open. */
  connectedCount(): number {
    return this.parts.connectedCount();
  }

  /** Sessions ended by their expiry interval while offline, since the broker started. */
  expiredCount(): number {
    return this.parts.expiredCount();
  }

  /** The open connection of `clientId`, if any (a connected one before one still connecting). */
  client(clientId: string): ClientSnapshot | undefined {
    let found: Connection | undefined;
    for (const c of this.parts.connections) {
      if (c.clientId !== clientId) continue;
      found = c;
      if (c.ready) break;
    }
    return found === undefined ? undefined : clientSnapshot(found);
  }

  /** Every connection answered with CONNACK success and still open. */
  clients(): ClientSnapshot[] {
    const out: ClientSnapshot[] = [];
    for (const c of this.parts.connections) if (c.ready) out.push(clientSnapshot(c));
    return out;
  }

  /** Subscriptions over all sessions. */
  subscriptionCount(): number {
    return this.parts.router.size;
  }

  retained(topic: string): RetainedSnapshot | undefined {
    const m = this.parts.retained.get(topic);
    return m === undefined ? undefined : { topic: m.topic, payload: m.payload, qos: m.qos, properties: m.properties };
  }

  /** Live retained messages whose topic matches `filter`. */
  async retainedMatching(filter: string, now = Date.now()): Promise<RetainedSnapshot[]> {
    const list = await this.parts.retained.match(filter, now);
    return list.map((m) => ({ topic: m.topic, payload: m.payload, qos: m.qos, properties: m.properties }));
  }

  retainedCount(): number {
    return this.parts.retained.size;
  }

  /** Messages dropped over all sessions (queue full, queue memory full, too large for the client). */
  droppedCount(): number {
    return this.parts.droppedCount();
  }

  /** Deliveries authorizeRead refused, over all sessions since the broker started. */
  readDeniedCount(): number {
    return this.parts.readDeniedCount();
  }

  /** Connections closed at once because maxConnections were open. */
  refusedConnectionCount(): number {
    return this.parts.refusedConnectionCount();
  }

  /** Payload and topic bytes held in all session queues now (what maxQueueMemory bounds). */
  queueBytes(): number {
    return this.parts.queueBytes();
  }
}
