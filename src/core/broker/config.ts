/** Broker options with their defaults, resolved once at creation. */
import type { QoS } from '../codec/types.js';
import type { BrokerConfig, Hooks } from './types.js';

export type { BrokerConfig } from './types.js';

export interface BrokerOptions {
  /** Outgoing QoS 1/2 messages in flight per client (capped by the client's Receive Maximum). Default 100. */
  maxInflight?: number;
  /** Messages queued per session while its client is away or busy; beyond, new ones are dropped. Default 1000. */
  maxQueued?: number;
  /** Largest packet accepted from a client, in bytes; announced in 5.0 CONNACK. Default: no limit (256 MiB). */
  maxPacketSize?: number;
  /** Largest keep-alive allowed, seconds; a 5.0 client asking for more (or 0) is told Server Keep Alive. Default 65535. */
  maxKeepalive?: number;
  /** Topic aliases a 5.0 client may use towards the broker. Default 65535. */
  topicAliasMaximum?: number;
  /** Receive Maximum announced to 5.0 clients: their QoS 1/2 publishes in flight. Default 65535. */
  receiveMaximum?: number;
  /** Highest QoS the broker grants. Default 2. */
  maxQoS?: QoS;
  /** Whether retained messages are kept. Default true. */
  retainAvailable?: boolean;
  /** Time a new connection has to send CONNECT, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Bytes buffered for a slow client before its QoS 0 messages are dropped and QoS 1/2 queued. Default 1 MiB. */
  maxClientBuffer?: number;
  /**
   * How long a subscriber whose queue makes no progress may hold back the clients publishing
   * to it, ms. After that they go on and the stalled session's queue overflows (drops counted
   * and logged) rather than one dead reader stopping everyone. Default 5000.
   */
  stallTimeoutMs?: number;
  /**
   * Open connections in all, CONNECT or not; one more is closed at once, before its CONNECT is
   * read (as mosquitto's max_connections). Default 0: no limit.
   */
  maxConnections?: number;
  /**
   * Subscriptions per client; a SUBSCRIBE past it is refused for the excess filters (5.0 0x97
   * Quota exceeded, 3.1.1 0x80). Replacing a filter the client holds does not count. Default 0: no limit.
   */
  maxSubscriptions?: number;
  /**
   * Levels of a topic name or filter (`a/b/c` has 3). A PUBLISH past it is refused (5.0: PUBACK/PUBREC
   * 0x90 Topic Name invalid; QoS 0 and 3.1.1: acknowledged and dropped), a filter gets SUBACK 0x8F
   * (3.1.1 0x80), a will topic CONNACK 0x90. Default 0: no limit.
   */
  maxTopicLevels?: number;
  /**
   * Bytes all session queues may hold (payload + topic of each queued delivery, counted once per
   * queue). Past it, new QoS 0 for queues is dropped first; then the longest offline queues lose
   * their oldest messages. Every drop is counted and logged. Default 0: no limit.
   */
  maxQueueMemory?: number;
  /**
   * Largest PUBLISH payload accepted, bytes (mosquitto's message_size_limit). Larger ones are not
   * routed: 5.0 PUBACK/PUBREC 0x83 Implementation specific error, QoS 0 and 3.1.1 acknowledged and dropped; a
   * larger will payload is refused at CONNECT. Default 0: no limit.
   */
  messageSizeLimit?: number;
  /**
   * Seconds between publishes of the `$SYS/broker/…` tree (retained, as mosquitto's sys_interval;
   * sys-tree.ts). Default 0: off, so an embedder gets no retained $SYS messages unless it asks.
   */
  sysInterval?: number;
  /** Overrides of the default hooks. */
  hooks?: Partial<Hooks>;
}

function positive(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** A limit where 0 (the default) means none. */
function limit(name: string, value: number | undefined, max: number): number {
  if (value === undefined || value === 0) return 0;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer from 0 (no limit) to ${max}, got ${value}`);
  }
  return value;
}

function sysInterval(value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new RangeError(`sysInterval must be an integer from 0 (off) to 65535 seconds, got ${value}`);
  return value;
}

export function resolveConfig(o: BrokerOptions): BrokerConfig {
  const maxQoS = o.maxQoS ?? 2;
  if (maxQoS !== 0 && maxQoS !== 1 && maxQoS !== 2) throw new RangeError(`maxQoS must be 0, 1 or 2, got ${String(maxQoS)}`);
  return {
    maxInflight: positive('maxInflight', o.maxInflight, 100, 65_535),
    maxQueued: positive('maxQueued', o.maxQueued, 1000, 100_000_000),
    maxPacketSize: positive('maxPacketSize', o.maxPacketSize, 268_435_460, 268_435_460),
    maxKeepalive: positive('maxKeepalive', o.maxKeepalive, 65_535, 65_535),
    topicAliasMaximum: o.topicAliasMaximum === 0 ? 0 : positive('topicAliasMaximum', o.topicAliasMaximum, 65_535, 65_535),
    receiveMaximum: positive('receiveMaximum', o.receiveMaximum, 65_535, 65_535),
    maxQoS,
    retainAvailable: o.retainAvailable ?? true,
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 10_000, 3_600_000),
    maxClientBuffer: positive('maxClientBuffer', o.maxClientBuffer, 1 << 20, 1 << 30),
    stallTimeoutMs: positive('stallTimeoutMs', o.stallTimeoutMs, 5000, 3_600_000),
    maxConnections: limit('maxConnections', o.maxConnections, 100_000_000),
    maxSubscriptions: limit('maxSubscriptions', o.maxSubscriptions, 100_000_000),
    maxTopicLevels: limit('maxTopicLevels', o.maxTopicLevels, 65_535),
    maxQueueMemory: limit('maxQueueMemory', o.maxQueueMemory, Number.MAX_SAFE_INTEGER),
    messageSizeLimit: limit('messageSizeLimit', o.messageSizeLimit, 268_435_455),
    sysInterval: sysInterval(o.sysInterval),
  };
}
