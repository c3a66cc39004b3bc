/**
 * A session's durable state (MQTT 5.0 section 4.1), apart from its live connection and
 * timers: what a store keeps and what a broker restores. Plain data and small operations on
 * it; it knows no connection, no broker and no clock.
 */
import type { QoS } from '../codec/types.js';
import type { Message } from './message.js';
import type { PendingWill, SubscriptionOptions } from './types.js';

/** One delivery owed to this session: in flight (waiting for its ack) or queued (not sent yet). */
export class Delivery {
  /** QoS 2 only: PUBREC arrived and PUBREL went out; waiting for PUBCOMP. */
  released = false;
  /** Its place in the session's stored deliveries; 0 while not in a store. */
  seq = 0;
  /** Its stored record carries the message (see Message.inlined). */
  inline = false;
  constructor(
    readonly message: Message,
    readonly qos: QoS,
    readonly retain: boolean,
    readonly subscriptionIds: number[] | undefined,
  ) {}
}

/** What a queued delivery counts against maxQueueMemory: its payload and topic (UTF-16 length, close enough). */
export function queuedSize(d: Delivery): number {
  return d.message.payload.length + d.message.topic.length;
}

/**
 * Where a durable session reports what changes in it (broker/persistence.ts): each call stages
 * one write for the end of the tick's commit. Only a session that outlives its connection has one.
 */
export interface Journal {
  /** `d` is queued (packetId 0) or in flight as `packetId`, or its state changed (released). */
  putDelivery(record: SessionRecord, d: Delivery, packetId: number): void;
  /** `d` is done (acknowledged, dropped, expired, refused): its stored copy goes. */
  forgetDelivery(record: SessionRecord, d: Delivery): void;
  putIncoming(record: SessionRecord, packetId: number): void;
  removeIncoming(record: SessionRecord, packetId: number): void;
  /** The session's own fields changed (subscriptions, expiry, will): rewritten at the end of the tick. */
  changed(record: SessionRecord): void;
}

/** Session Expiry Interval meaning "never" (5.0 section 3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

export class SessionRecord {
  /** Seconds the session outlives its connection: 0 ends it with the connection. */
  expiryInterval = 0;
  /** When the session ends (absolute ms) while no connection holds it; Infinity otherwise. */
  expiresAt = Infinity;
  // The tables below are made on first use: most connections of a busy broker are one-shot
  // publishers that never subscribe, receive or send QoS 2, and a connection storm is cheaper
  // without three empty tables per client.
  subscriptions: Map<string, SubscriptionOptions> | undefined = undefined;
  /** Outgoing QoS 1/2 deliveries by packet id, oldest first (a Map keeps insertion order). */
  inflight: Map<number, Delivery> | undefined = undefined;
  /** Incoming QoS 2 packet ids answered with PUBREC and not yet released [MQTT-4.3.3-10]. */
  incomingQos2: Set<number> | undefined = undefined;
  /** Deliveries waiting for room in the window, for the client to come back, or for the socket. */
  queue: Delivery[] = [];
  queueHead = 0;
  /** Payload and topic bytes of what the queue holds (maxQueueMemory). */
  queuedBytes = 0;
  nextPacketId = 1;
  /** The will waiting for its delay (5.0) after an unclean end. */
  will: PendingWill | undefined = undefined;

  constructor(readonly clientId: string) {}

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get inflightCount(): number {
    return this.inflight?.size ?? 0;
  }

  /** A packet id not in flight: ids wrap at 65535 and skip those still waiting for an ack. */
  allocatePacketId(): number {
    const inflight = this.inflight;
    let id = this.nextPacketId;
    if (inflight !== undefined) while (inflight.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextPacketId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  enqueue(d: Delivery): void {
    this.queue.push(d);
    this.queuedBytes += queuedSize(d);
  }

  peek(): Delivery | undefined {
    return this.queueHead < this.queue.length ? this.queue[this.queueHead] : undefined;
  }

  shift(): Delivery | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const d = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as Delivery;
    this.queuedBytes -= queuedSize(d);
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

  /** Forgets everything owed, when the session ends. */
  clear(): void {
    this.subscriptions = undefined;
    this.inflight = undefined;
    this.incomingQos2 = undefined;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.will = undefined;
  }
}
