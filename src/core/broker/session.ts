/**
 * What outlives a connection (MQTT 5.0 section 4.1): subscriptions, outgoing QoS 1/2 messages
 * in flight by packet id, a bounded queue of messages not yet sent, and the QoS 2 packet ids
 * received but not yet released.
 */
import type { QoS, Will } from '../codec/types.js';
import type { Connection } from './connection.js';
import type { ClientInfo } from './hooks.js';
import type { Broker } from './broker.js';
import type { Message } from './message.js';

/** A subscription as the trie stores it, keyed by client id. */
export interface SubscriptionEntry {
  readonly session: Session;
  /** The filter as the client sent it, `$share/{group}/` included. */
  readonly topicFilter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** [id] when the SUBSCRIBE carried a subscription identifier, shared by every delivery. */
  readonly subscriptionIds: number[] | undefined;
}

/** One delivery to this session: in flight (waiting for its ack) or queued (not sent yet). */
export class Delivery {
  /** QoS 2 only: PUBREC arrived and PUBREL went out; waiting for PUBCOMP. */
  released = false;
  constructor(
    readonly message: Message,
    readonly qos: QoS,
    readonly retain: boolean,
    readonly subscriptionIds: number[] | undefined,
  ) {}
}

/** Session Expiry Interval meaning "never" (5.0 section 3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

export class Session {
  connection: Connection | null = null;
  /** Seconds the session outlives its connection: 0 ends it with the connection. */
  expiryInterval = 0;
  // The collections below are made on first use: most connections of a busy broker are
  // one-shot publishers that never subscribe, receive or send QoS 2, and a connection storm
  // is cheaper without three empty tables per client.
  private subscriptions_: Map<string, SubscriptionEntry> | undefined = undefined;
  private inflight_: Map<number, Delivery> | undefined = undefined;
  private incomingQos2_: Set<number> | undefined = undefined;

  get subscriptions(): Map<string, SubscriptionEntry> {
    return (this.subscriptions_ ??= new Map());
  }

  /** Outgoing QoS 1/2 deliveries by packet id, oldest first (Map keeps insertion order). */
  get inflight(): Map<number, Delivery> {
    return (this.inflight_ ??= new Map());
  }
  /** Deliveries waiting for room in the window, for the client to come back, or for the socket to drain. */
  private queue: Delivery[] = [];
  private queueHead = 0;
  /** In-flight packet ids a resumed session has yet to re-send, oldest first (Receive Maximum). */
  readonly resend: number[] = [];
  /** Incoming QoS 2 packet ids answered with PUBREC and not yet released [MQTT-4.3.3-9]. */
  get incomingQos2(): Set<number> {
    return (this.incomingQos2_ ??= new Set());
  }
  private nextId = 1;
  /** The last will waiting for its delay (5.0) after an unclean end. */
  pendingWill: Will | undefined = undefined;
  /** Who set that will: its publish is authorized as theirs, even after the session is gone. */
  pendingWillFrom: ClientInfo | undefined = undefined;
  willTimer: NodeJS.Timeout | undefined = undefined;
  expiryTimer: NodeJS.Timeout | undefined = undefined;
  /** Publishing connections paused until this session's queue drains (see Broker.throttle). */
  throttled: Connection[] | null = null;
  /** Set when throttling made no progress for stallTimeoutMs: this session no longer throttles. */
  stalled = false;
  stallTimer: NodeJS.Timeout | undefined = undefined;
  /** Messages dropped for this session: queue full, client too slow or too small a maximum packet size. */
  dropped = 0;

  constructor(
    readonly clientId: string,
    private readonly broker: Broker,
  ) {}

  /** The filters subscribed to, without making the table for a session that has none. */
  subscribedFilters(): Iterable<string> {
    return this.subscriptions_?.keys() ?? [];
  }

  /** Forgets subscriptions and messages in flight, when the session ends. */
  clearTables(): void {
    this.subscriptions_ = undefined;
    this.inflight_ = undefined;
    this.incomingQos2_ = undefined;
  }

  /**
   * Hands a message to this session: straight out when the client is online with room in
   * its window, else into the queue. QoS 0 waits in the queue only while the client is
   * online but its socket is backed up; offline it is not kept (as in mosquitto).
   * A queue growing for an online client throttles the publisher instead of dropping
   * messages it has already acknowledged (see Broker.throttle).
   */
  deliver(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, now: number): void {
    const conn = this.connection;
    const online = conn !== null && conn.ready;
    if (qos === 0) {
      if (!online) return;
      if (!conn.congested && this.queued === 0) {
        if (!conn.sendPublish(msg, 0, retain, subscriptionIds, 0, false, now)) this.drop(msg, 'larger than the client accepts');
        return;
      }
    } else if (online && !conn.congested && this.queued === 0 && this.resend.length === 0 && this.inflight.size < conn.sendQuota) {
      this.send(new Delivery(msg, qos, retain, subscriptionIds), now);
      return;
    }
    if (!this.enqueue(new Delivery(msg, qos, retain, subscriptionIds), this.broker.config.maxQueued)) {
      this.broker.dropped(this.clientId, msg, 'queue full');
    } else if (online && !this.stalled && this.queued >= this.broker.highWater) {
      this.broker.throttle(this);
    }
  }

  private send(d: Delivery, now: number): void {
    const conn = this.connection!;
    if (d.qos === 0) {
      if (!conn.sendPublish(d.message, 0, d.retain, d.subscriptionIds, 0, false, now)) this.drop(d.message, 'larger than the client accepts');
      return;
    }
    const id = this.allocateId();
    if (conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, false, now)) {
      this.inflight.set(id, d);
    } else {
      this.drop(d.message, 'larger than the client accepts');
    }
  }

  private drop(msg: Message, why: string): void {
    this.dropped++;
    this.broker.dropped(this.clientId, msg, why);
  }

  /**
   * Sends what waits while the window has room: first the in-flight messages a resumed session
   * still owes (see resume), then the queue. Releases throttled publishers.
   */
  drain(): void {
    const conn = this.connection;
    if (conn === null || !conn.ready) return;
    const now = Date.now();
    const resend = this.resend;
    while (resend.length > 0 && !conn.congested && this.inflight.size - resend.length < conn.sendQuota) {
      const id = resend.shift()!;
      const d = this.inflight.get(id);
      if (d !== undefined && !conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) this.inflight.delete(id);
    }
    while (resend.length === 0 && !conn.congested) {
      const d = this.peek();
      if (d === undefined) break;
      if (d.qos > 0 && this.inflight.size >= conn.sendQuota) break;
      this.shift();
      // [MQTT-3.3.2-5] an expired message is not sent on.
      if (!d.message.isExpired(now)) this.send(d, now);
    }
    if (this.queued <= this.broker.lowWater) {
      this.stalled = false;
      if (this.throttled !== null) this.broker.release(this);
    }
  }

  /**
   * A client came back to this session: re-send what was in flight, PUBLISH with DUP or
   * PUBREL where PUBREC had arrived [MQTT-4.4.0-1], then the queue.
   */
  resume(): void {
    const conn = this.connection!;
    const now = Date.now();
    this.resend.length = 0;
    // [MQTT-3.3.4-9] the client may come back with a smaller Receive Maximum: re-send only what
    // fits, keep the rest (same packet ids, so QoS 2 stays exactly once) for when acks free room.
    let outstanding = 0;
    for (const [id, d] of this.inflight) {
      if (d.released) {
        conn.send({ type: 'pubrel', packetId: id });
        outstanding++;
      } else if (outstanding >= conn.sendQuota) {
        this.resend.push(id);
      } else if (conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) {
        outstanding++;
      } else {
        this.inflight.delete(id);
      }
    }
    this.drain();
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the delivery is done. */
  acknowledge(packetId: number, qos: QoS): void {
    const d = this.inflight.get(packetId);
    if (d === undefined || d.qos !== qos || (qos === 2 && !d.released)) return;
    this.inflight.delete(packetId);
    if (this.queued > 0 || this.resend.length > 0) this.drain();
  }

  /** PUBREC: false when the packet id is unknown. A 5.0 failure code ends the delivery. */
  received(packetId: number, reasonCode: number): boolean {
    const d = this.inflight.get(packetId);
    if (d === undefined || d.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      this.inflight.delete(packetId);
      if (this.queued > 0 || this.resend.length > 0) this.drain();
      return true;
    }
    d.released = true;
    return true;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** A packet id not in flight: ids wrap at 65535 and skip those still waiting for an ack. */
  allocateId(): number {
    let id = this.nextId;
    while (this.inflight.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  /** Queues a delivery; false when the queue is full and the message is dropped. */
  enqueue(d: Delivery, max: number): boolean {
    if (this.queued >= max) {
      this.dropped++;
      return false;
    }
    this.queue.push(d);
    return true;
  }

  peek(): Delivery | undefined {
    return this.queueHead < this.queue.length ? this.queue[this.queueHead] : undefined;
  }

  shift(): Delivery | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const d = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as Delivery;
    // Compact now and then so a long-lived queue does not grow without bound.
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return d;
  }

  clearQueue(): void {
    this.queue = [];
    this.queueHead = 0;
  }

  clearTimers(): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.willTimer !== undefined) clearTimeout(this.willTimer);
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.willTimer = undefined;
    this.expiryTimer = undefined;
  }
}
