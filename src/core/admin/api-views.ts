/**
 * The JSON shapes of the admin API (/api/v1/…), from the broker's snapshots. These names are
 * a contract: the dashboard and `mqt broker clients` read exactly them.
 */
import type { Broker } from '../broker/broker.js';
import type { ClientSnapshot, RetainedSnapshot, SessionSnapshot } from '../broker/inspect.js';
import type { AdminListener } from './metrics.js';
import type { RateSample } from './rates.js';

export interface ClientView {
  clientId: string;
  username: string | null;
  address: string | null;
  port: number | null;
  listener: string | null;
  transport: string | null;
  protocolVersion: number;
  keepAlive: number;
  connectedAt: number;
  subscriptions: number;
  queued: number;
  inflight: number;
  buffered: number;
}

export interface SubscriptionView {
  topicFilter: string;
  qos: number;
}

export function clientView(c: ClientSnapshot): ClientView {
  const t = c.transport;
  return {
    clientId: c.clientId,
    username: c.username ?? null,
    address: c.remoteAddress ?? null,
    port: t?.remotePort ?? null,
    listener: t?.listener.name ?? null,
    transport: t?.listener.kind ?? null,
    protocolVersion: c.protocolVersion,
    keepAlive: c.keepAlive,
    connectedAt: c.connectedAt,
    subscriptions: c.subscriptions,
    queued: c.queued,
    inflight: c.inflight,
    buffered: c.buffered,
  };
}

/** GET /api/v1/clients/{id}: a client and its subscriptions. */
export interface ClientDetailView extends ClientView {
  subscriptionList: SubscriptionView[];
}

export interface SessionView {
  clientId: string;
  connected: boolean;
  expiryInterval: number;
  expiresAt: number | null;
  subscriptions: SubscriptionView[];
  queued: number;
  inflight: number;
  incomingQos2: number;
  dropped: number;
  willPending: boolean;
}

export interface RetainedView {
  topic: string;
  qos: number;
  bytes: number;
  /** The payload as text; null when it is not valid UTF-8. */
  payload: string | null;
  payloadBase64: string;
}

export interface BrokerListenerView {
  kind: string;
  name: string;
  address: string;
  port: number;
  url: string;
  connections: number;
}

export interface BrokerCounters {
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsSent: number;
  publishReceived: number;
  publishSent: number;
  publishDropped: number;
  clientsConnected: number;
  sessions: number;
  clientsMaximum: number;
  clientsExpired: number;
  retained: number;
  subscriptions: number;
  queueBytes: number;
}

export interface BrokerView {
  version: string;
  startedAt: number;
  now: number;
  uptimeSeconds: number;
  listeners: BrokerListenerView[];
  /** The broker's configuration (BrokerConfig), as numbers and switches by name. */
  limits: Record<string, unknown>;
  counters: BrokerCounters;
}

/** GET /api/v1/rates. */
export interface RatesView {
  intervalMs: number;
  samples: RateSample[];
}

/** DELETE /api/v1/retained. */
export interface DeletedView {
  deleted: string[];
}

/** Every error answer. */
export interface ErrorView {
  error: string;
}

export function sessionView(s: SessionSnapshot): SessionView {
  return {
    clientId: s.clientId,
    connected: s.connected,
    expiryInterval: s.expiryInterval,
    expiresAt: s.expiresAt ?? null,
    subscriptions: s.subscriptions.map((o): SubscriptionView => ({ topicFilter: o.topicFilter, qos: o.qos })),
    queued: s.queued,
    inflight: s.inflight,
    incomingQos2: s.incomingQos2,
    dropped: s.dropped,
    willPending: s.willPending,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function retainedView(m: RetainedSnapshot): RetainedView {
  let text: string | null;
  try {
    text = utf8.decode(m.payload);
  } catch {
    text = null; // not valid UTF-8: payloadBase64 alone says what it is
  }
  return { topic: m.topic, qos: m.qos, bytes: m.payload.length, payload: text, payloadBase64: m.payload.toString('base64') };
}

export function brokerView(broker: Broker, listeners: readonly AdminListener[], version: string, now = Date.now()): BrokerView {
  const s = broker.stats;
  const i = broker.inspect;
  return {
    version,
    startedAt: s.startedAt,
    now,
    uptimeSeconds: Math.max(0, Math.floor((now - s.startedAt) / 1000)),
    listeners: listeners.map((l) => ({ kind: l.kind, name: l.name, address: l.address, port: l.port, url: l.url, connections: s.listeners.get(l.name)?.open ?? 0 })),
    limits: { ...broker.config },
    counters: {
      bytesReceived: s.bytesReceived,
      bytesSent: s.bytesSent,
      packetsReceived: s.packetsReceived,
      packetsSent: s.packetsSent,
      publishReceived: s.publishReceived,
      publishSent: s.publishSent,
      publishDropped: i.droppedCount(),
      clientsConnected: i.connectedCount(),
      sessions: i.sessionCount(),
      clientsMaximum: s.clientsMaximum,
      clientsExpired: s.clientsExpired,
      retained: i.retainedCount(),
      subscriptions: i.subscriptionCount(),
      queueBytes: i.queueBytes(),
    },
  };
}
