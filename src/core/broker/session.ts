/**
 * A session at run time: its durable record (session-record.ts) plus what only lives while
 * the broker runs: the connection it delivers to, the in-flight ids a resumed session still
 * has to re-send, its deadlines and whom it holds back. It delivers through DeliveryTarget
 * and asks the broker through SessionHost, so it needs neither Connection nor Broker.
 */
import type { QoS } from '../codec/types.js';
import { isPromise } from './hooks.js';
import type { Message } from './message.js';
import type { Deadline } from './scheduler.js';
import { Delivery, SessionRecord, queuedSize, type Journal } from './session-record.js';
import type { ClientInfo, DeliveryTarget, SessionHandle, SessionHost } from './types.js';

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
  /** Messages dropped for this session: queue full, queue memory full, or too large for its client. */
  dropped = 0;
  /** Deliveries authorizeRead refused. */
  readDenied = 0;
  /**
   * Who authorizeRead is asked about: the live connection, or a copy of the client it last
   * connected as while the session is offline.
   */
  client: ClientInfo | undefined = undefined;
  /**
   * The delivery whose asynchronous authorizeRead answer is awaited: it waits at the head of the
   * queue (or of the resend list), and nothing goes out after it before it settles.
   */
  private readPending: Delivery | undefined = undefined;
  /** The head delivery authorizeRead just allowed (asynchronously): sent without asking again. */
  private readAllowed: Delivery | undefined = undefined;
  /** Session expiry or will delay, whichever is due (see sessions.ts, will.ts). */
  expiry: Deadline | undefined = undefined;
  willDelay: Deadline | undefined = undefined;
  // Back-pressure (backpressure.ts): publishers held back until this queue drains.
  waiters: HeldPublisher[] | null = null;
  /** Holding back made no progress for stallTimeoutMs: this session no longer holds anyone. */
  stalled = false;
  stall: Deadline | undefined = undefined;
  /** Where a durable session reports its changes (persistence.ts); undefined when nothing is stored. */
  journal: Journal | undefined = undefined;

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
    this.journal?.changed(this.record);
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
        if (this.host.readHook !== undefined && !this.mayRead(msg, 0, retain, subscriptionIds)) return;
        if (!conn.sendPublish(msg, 0, retain, subscriptionIds, 0, false, now)) this.drop(msg, 'larger than the client accepts');
        return;
      }
    } else if (online && !conn.congested && record.queued === 0 && this.resend.length === 0 && record.inflightCount < conn.sendQuota) {
      if (this.host.readHook !== undefined && !this.mayRead(msg, qos, retain, subscriptionIds)) return;
      this.send(new Delivery(msg, qos, retain, subscriptionIds), now);
      return;
    }
    if (record.queued >= this.host.config.maxQueued) {
      this.drop(msg, 'queue full');
      return;
    }
    const d = new Delivery(msg, qos, retain, subscriptionIds);
    if (!this.enqueue(d)) return;
    if (online && !this.stalled) this.host.queueLong(this);
  }

  /**
   * Queues `d`, within maxQueueMemory: past it a QoS 0 delivery is dropped, a QoS 1/2 one takes
   * the place of the oldest messages of the longest offline queues (the host drops them). False
   * when `d` was dropped.
   */
  private enqueue(d: Delivery): boolean {
    const budget = this.host.queueBudget;
    const size = queuedSize(d);
    if (budget.max !== 0 && budget.bytes + size > budget.max && (d.qos === 0 || !budget.makeRoom(size))) {
      this.drop(d.message, `queue memory full (maxQueueMemory ${budget.max} bytes)`);
      return false;
    }
    // It outlives this read: its payload must not pin the socket chunk it came in.
    d.message.detach();
    this.record.enqueue(d);
    budget.bytes += size;
    if (d.qos !== 0) this.journal?.putDelivery(this.record, d, 0);
    return true;
  }

  /** Takes the queue's head off (sent, expired, refused or dropped), with its bytes. */
  private shiftQueue(): Delivery | undefined {
    const d = this.record.shift();
    if (d !== undefined) this.host.queueBudget.bytes -= queuedSize(d);
    return d;
  }

  /** Drops the oldest queued message to make room in maxQueueMemory (the host picks this session). */
  dropOldest(why: string): boolean {
    const d = this.shiftQueue();
    if (d === undefined) return false;
    if (d === this.readPending) this.readPending = undefined;
    this.journal?.forgetDelivery(this.record, d);
    this.drop(d.message, why);
    return true;
  }

  /**
   * Asks authorizeRead before a delivery that would go out at once: true to send it now. A
   * refusal is counted; a pending answer queues the delivery (at the head: the queue is empty)
   * and holds everything after it.
   */
  private mayRead(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): boolean {
    const ok = this.host.readHook!(this.client!, msg.topic, qos, retain);
    if (ok === true) return true;
    if (isPromise(ok)) {
      const d = new Delivery(msg, qos, retain, subscriptionIds);
      if (this.enqueue(d)) this.awaitRead(d, ok);
      return false;
    }
    this.refuseRead();
    return false;
  }

  /** Holds `d` (the head of the queue or of the resend list) until its authorizeRead answer comes. */
  private awaitRead(d: Delivery, answer: Promise<boolean>): void {
    this.readPending = d;
    answer.then(
      (ok) => this.readSettled(d, ok),
      (err: unknown) => {
        this.host.readHookFailed(this.clientId, err);
        this.readSettled(d, false);
      },
    );
  }

  private readSettled(d: Delivery, ok: boolean): void {
    if (this.readPending !== d) return; // dropped, or the session ended meanwhile
    this.readPending = undefined;
    if (ok) {
      this.readAllowed = d;
    } else {
      this.refuseRead();
      const inflight = this.record.inflight;
      if (this.record.peek() === d) this.shiftQueue();
      else if (inflight !== undefined && inflight.get(this.resend[0]!) === d) inflight.delete(this.resend.shift()!);
      this.journal?.forgetDelivery(this.record, d);
    }
    this.drain();
  }

  /**
   * authorizeRead for the head delivery `d` of the queue or resend list in drain(): 1 send it,
   * 0 refused (the caller removes it), -1 the answer is pending (drain stops).
   */
  private readCheck(d: Delivery): number {
    if (this.readAllowed === d) {
      this.readAllowed = undefined;
      return 1;
    }
    const ok = this.host.readHook!(this.client!, d.message.topic, d.qos, d.retain);
    if (ok === true) return 1;
    if (isPromise(ok)) {
      this.awaitRead(d, ok);
      return -1;
    }
    this.refuseRead();
    return 0;
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
      this.journal?.putDelivery(record, d, id);
    } else {
      this.journal?.forgetDelivery(record, d);
      this.drop(d.message, 'larger than the client accepts');
    }
  }

  /** authorizeRead said no: the delivery is skipped without a word to the client (as mosquitto). */
  private refuseRead(): void {
    this.readDenied++;
    this.host.readRefused();
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
    if (conn === null || !conn.ready || this.readPending !== undefined) return;
    const now = Date.now();
    const record = this.record;
    const resend = this.resend;
    const inflight = record.inflight;
    const checkRead = this.host.readHook !== undefined;
    while (inflight !== undefined && resend.length > 0 && !conn.congested && inflight.size - resend.length < conn.sendQuota) {
      const id = resend[0]!;
      const d = inflight.get(id);
      if (d !== undefined && checkRead && !d.released) {
        const r = this.readCheck(d);
        if (r === -1) return;
        if (r === 0) {
          resend.shift();
          inflight.delete(id);
          this.journal?.forgetDelivery(record, d);
          continue;
        }
      }
      resend.shift();
      if (d === undefined) continue;
      if (d.released) conn.sendPubrel(id);
      else if (!conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) {
        inflight.delete(id);
        this.journal?.forgetDelivery(record, d);
      }
    }
    while (resend.length === 0 && !conn.congested) {
      const d = record.peek();
      if (d === undefined) break;
      if (d.qos > 0 && record.inflightCount >= conn.sendQuota) break;
      // [MQTT-3.3.2-5] an expired message is not sent on.
      if (!d.message.isExpired(now) && checkRead) {
        const r = this.readCheck(d);
        if (r === -1) return;
        if (r === 0) {
          this.shiftQueue();
          this.journal?.forgetDelivery(record, d);
          continue;
        }
      }
      this.shiftQueue();
      if (!d.message.isExpired(now)) this.send(d, now);
      else this.journal?.forgetDelivery(record, d);
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
      // With authorizeRead, every re-send goes through drain(), which asks before each: the
      // client may have lost the right, or be another user under the same client id.
      const checkRead = this.host.readHook !== undefined;
      for (const [id, d] of inflight) {
        if (d.released) {
          conn.sendPubrel(id);
          outstanding++;
        } else if (checkRead || outstanding >= conn.sendQuota) {
          this.resend.push(id);
        } else if (conn.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, id, true, now)) {
          outstanding++;
        } else {
          inflight.delete(id);
          this.journal?.forgetDelivery(this.record, d);
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
    this.journal?.forgetDelivery(this.record, d);
    if (this.record.queued > 0 || this.resend.length > 0) this.drain();
  }

  /** PUBREC: false when the packet id is unknown. A 5.0 failure code ends the delivery. */
  received(packetId: number, reasonCode: number): boolean {
    const inflight = this.record.inflight;
    const d = inflight?.get(packetId);
    if (d === undefined || d.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      inflight!.delete(packetId);
      this.journal?.forgetDelivery(this.record, d);
      if (this.record.queued > 0 || this.resend.length > 0) this.drain();
      return true;
    }
    if (!d.released) {
      d.released = true;
      this.journal?.putDelivery(this.record, d, packetId);
    }
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
    this.journal?.putIncoming(this.record, packetId);
  }

  releaseIncoming(packetId: number): boolean {
    const had = this.record.incomingQos2?.delete(packetId) === true;
    if (had) this.journal?.removeIncoming(this.record, packetId);
    return had;
  }

  /** Forgets everything owed, when the session ends. */
  clear(): void {
    this.host.queueBudget.bytes -= this.record.queuedBytes;
    this.record.clear();
    this.resend.length = 0;
    this.readPending = undefined;
    this.readAllowed = undefined;
  }

  get subscriptionCount(): number {
    return this.record.subscriptions?.size ?? 0;
  }

  hasSubscription(topicFilter: string): boolean {
    return this.record.subscriptions?.has(topicFilter) === true;
  }
}
