/**
 * A session at run time: its durable record (session-record.ts) plus what only lives while
 * the broker runs: the connection it delivers to, the in-flight ids a resumed session still
 * has to re-send, its deadlines and whom it holds back. It delivers through DeliveryTarget
 * and asks the broker through SessionHost, so it needs neither Connection nor Broker.
 */
import type { QoS } from '../codec/types.js';
import type { Message } from './message.js';
import type { Deadline } from './scheduler.js';
import { Delivery, SessionRecord } from './session-record.js';
import type { DeliveryTarget, SessionHandle, SessionHost } from './types.js';

export { Delivery, NEVER_EXPIRES } from './session-record.js';

/** Who a session holds back while its queue is long (see backpressure.ts). */
export interface HeldPublisher {
  /** Sessions this publisher waits on before it routes more. */
  readonly waitingOn: Session[];
  holdInput(): void;
  resumeInput(): void;
}

export class Session implements SessionHandle {
  connection: DeliveryTarget | null = null;
  /** In-flight packet ids a resumed session has yet to re-send, oldest first (Receive Maximum). */
  readonly resend: number[] = [];
  /** Messages dropped for this session: queue full, or too large for its client. */
  dropped = 0;
  /** Session expiry or will delay, whichever is due (see sessions.ts, will.ts). */
  expiry: Deadline | undefined = undefined;
  willDelay: Deadline | undefined = undefined;
  // Back-pressure (backpressure.ts): publishers held back until this queue drains.
  waiters: HeldPublisher[] | null = null;
  /** Holding back made no progress for stallTimeoutMs: this session no longer holds anyone. */
  stalled = false;
  stall: Deadline | undefined = undefined;

  constructor(
    readonly record: SessionRecord,
    private readonly host: SessionHost,
  ) {}

  static create(clientId: string, host: SessionHost): Session {
    return new Session(new SessionRecord(clientId), host);
  }

  get clientId(): string {
    return this.record.clientId;
  }

  get expiryInterval(): number {
    return this.record.expiryInterval;
  }

  set expiryInterval(seconds: number) {
    this.record.expiryInterval = seconds;
  }

  get queued(): number {
    return this.record.queued;
  }

  get inflightCount(): number {
    return this.record.inflightCount;
  }

  /**
   * Hands a message to this session: straight out when the client is online with room in its
   * window, else into the queue. QoS 0 waits in the queue only while the client is online but
   * its socket is backed up; offline it is not kept (as in mosquitto). A queue growing for an
   * online client holds back the publisher instead of dropping messages it has already
   * acknowledged (see backpressure.ts).
   */
  deliver(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, now: number): void {
    const conn = this.connection;
    const online = conn !== null && conn.ready;
    const record = this.record;
    if (qos === 0) {
      if (!online) return;
      if (!conn.congested && record.queued === 0) {
        if (!conn.sendPublish(msg, 0, retain, subscriptionIds, 0, false, now)) this.drop(msg, 'larger than the client accepts');
        return;
      }
    } else if (online && !conn.congested && record.queued === 0 && this.resend.length === 0 && record.inflightCount < conn.sendQuota) {
      this.send(new Delivery(msg, qos, retain, subscriptionIds), now);
      return;
    }
    if (record.queued >= this.host.config.maxQueued) {
      this.drop(msg, 'queue full');
      return;
    }
    // It outlives this read: its payload must not pin the socket chunk it came in.
    msg.detach();
    record.enqueue(new Delivery(msg, qos, retain, subscriptionIds));
    if (online && !this.stalled) this.host.queueLong(this);
  }

  private send(d: Delivery, now: number): void {
    const conn = this.connection!;
    if (d.qos === 0) {
      if (!conn.sendPublish(d.message, 0, d.retain, d.subscriptionIds, 0, false, now)) this.drop(d.message, 'larger than the client accepts');
      return;
    }
    const record = this.record;
    const id = record.allocatePacketId();
    if (conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, false, now)) {
      d.message.detach();
      (record.inflight ??= new Map()).set(id, d);
    } else {
      this.drop(d.message, 'larger than the client accepts');
    }
  }

  private drop(msg: Message, why: string): void {
    this.dropped++;
    this.host.dropped(this.clientId, msg, why);
  }

  /**
   * Sends what waits while the window has room: first the in-flight messages a resumed session
   * still owes (see resume), then the queue. Tells the host when the queue is short again.
   */
  drain(): void {
    const conn = this.connection;
    if (conn === null || !conn.ready) return;
    const now = Date.now();
    const record = this.record;
    const resend = this.resend;
    const inflight = record.inflight;
    while (inflight !== undefined && resend.length > 0 && !conn.congested && inflight.size - resend.length < conn.sendQuota) {
      const id = resend.shift()!;
      const d = inflight.get(id);
      if (d !== undefined && !conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) inflight.delete(id);
    }
    while (resend.length === 0 && !conn.congested) {
      const d = record.peek();
      if (d === undefined) break;
      if (d.qos > 0 && record.inflightCount >= conn.sendQuota) break;
      record.shift();
      // [MQTT-3.3.2-5] an expired message is not sent on.
      if (!d.message.isExpired(now)) this.send(d, now);
    }
    this.host.queueDrained(this);
  }

  /**
   * A client came back to this session: re-send what was in flight, PUBLISH with DUP or
   * PUBREL where PUBREC had arrived [MQTT-4.4.0-1], then the queue.
   */
  resume(): void {
    const conn = this.connection!;
    const now = Date.now();
    this.resend.length = 0;
    const inflight = this.record.inflight;
    if (inflight !== undefined) {
      // [MQTT-3.3.4-9] the client may come back with a smaller Receive Maximum: re-send only what
      // fits, keep the rest (same packet ids, so QoS 2 stays exactly once) for when acks free room.
      let outstanding = 0;
      for (const [id, d] of inflight) {
        if (d.released) {
          conn.sendPubrel(id);
          outstanding++;
        } else if (outstanding >= conn.sendQuota) {
          this.resend.push(id);
        } else if (conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) {
          outstanding++;
        } else {
          inflight.delete(id);
        }
      }
    }
    this.drain();
  }

  acknowledge(packetId: number, qos: QoS): void {
    const inflight = this.record.inflight;
    const d = inflight?.get(packetId);
    if (d === undefined || d.qos !== qos || (qos === 2 && !d.released)) return;
    inflight!.delete(packetId);
    if (this.record.queued > 0 || this.resend.length > 0) this.drain();
  }

  /** PUBREC: false when the packet id is unknown. A 5.0 failure code ends the delivery. */
  received(packetId: number, reasonCode: number): boolean {
    const inflight = this.record.inflight;
    const d = inflight?.get(packetId);
    if (d === undefined || d.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      inflight!.delete(packetId);
      if (this.record.queued > 0 || this.resend.length > 0) this.drain();
      return true;
    }
    d.released = true;
    return true;
  }

  hasIncoming(packetId: number): boolean {
    return this.record.incomingQos2?.has(packetId) === true;
  }

  incomingCount(): number {
    return this.record.incomingQos2?.size ?? 0;
  }

  addIncoming(packetId: number): void {
    (this.record.incomingQos2 ??= new Set()).add(packetId);
  }

  releaseIncoming(packetId: number): boolean {
    return this.record.incomingQos2?.delete(packetId) === true;
  }

  /** Forgets everything owed, when the session ends. */
  clear(): void {
    this.record.clear();
    this.resend.length = 0;
  }
}
