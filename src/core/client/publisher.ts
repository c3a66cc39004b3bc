/**
 * Many messages through one MQTT.js client, with a bounded number in flight: a QoS 1 or 2
 * message until the broker has acknowledged it, a QoS 0 one until MQTT.js has written it (so a
 * slow socket, or a connection being restored, holds the producer back too). Never more than
 * the broker's Receive Maximum (5.0 section 3.2.2.3.3), when its CONNACK names one.
 *
 * The producer awaits ready() before each publish() and drain() at the end. The publisher
 * stops when the connection is lost and MQTT.js will not restore it, at the first message the
 * broker refuses (or MQTT.js fails) unless told to go on, or on abort(); ready() and drain()
 * then reject with the reason, and callbacks of messages still in flight are ignored.
 *
 * Memory stays flat however many messages pass: per message one entry and one callback, both
 * released when it settles; a producer waiting for room waits on one shared promise, and
 * nothing outlives the message it was made for (no race against a long-lived promise).
 */
import type { IClientPublishOptions, MqttClient, Packet as MqttPacket } from 'mqtt';
import { reasonCodeName } from '../codec/constants.js';
import type { QoS } from '../codec/types.js';
import type { Connection } from './connect.js';
import { deferred, type Deferred } from './deferred.js';

/** Messages in flight at once unless the caller or the broker says fewer. */
export const DEFAULT_WINDOW = 256;

/**
 * How a message ended: acknowledged (QoS 0: written), refused by the broker with a reason code
 * ≥ 0x80, failed in MQTT.js before it reached the broker, or lost with the connection.
 */
export type PublishStatus = 'acknowledged' | 'refused' | 'failed' | 'lost';

/** One settled message, as onSettled sees it. */
export interface SettledMessage<T> {
  /** What the caller attached to the message in publish(). */
  readonly tag: T;
  /** The topic as given to publish() (empty when a topic alias stands for it). */
  readonly topic: string;
  readonly qos: QoS;
  readonly status: PublishStatus;
  /** Packet identifier (QoS 1 and 2), when MQTT.js reported it. */
  readonly messageId: number | undefined;
  /**
   * acknowledged: the PUBACK (QoS 1) or PUBREC (QoS 2) reason code, 0 when the broker said
   * nothing else and always for QoS 0 and 3.1.1; refused: the refusal (≥ 0x80); else undefined.
   */
  readonly reasonCode: number | undefined;
  /** The broker's reason string (5.0), if it gave one. */
  readonly reasonString: string | undefined;
  /** failed and lost: what MQTT.js reported. */
  readonly error: Error | undefined;
}

export interface PublisherOptions<T> {
  /** Messages in flight at once (default 256); never more than the broker's Receive Maximum. */
  window?: number | undefined;
  /** Told of each message as it settles, in the order the broker answers. */
  onSettled?: ((message: SettledMessage<T>) => void) | undefined;
  /**
   * Go on after a refused or failed message (each is still told to onSettled). Off: the first
   * one stops the publisher with a PublishError saying which message and why.
   */
  continueOnRefusal?: boolean | undefined;
  /** Told once, when the publisher stops for any reason (ready() and drain() then reject with it). */
  onStop?: ((reason: Error) => void) | undefined;
}

/** Why the publisher stopped on its own: the connection was lost, or a message was refused or failed. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly reason: 'lost' | 'refused' | 'failed',
    /** Messages sent and never acknowledged (for 'lost': in flight when the connection went). */
    readonly unacknowledged: number,
    /** refused: the PUBACK/PUBREC code; lost: the broker's DISCONNECT reason code, if it sent one. */
    readonly reasonCode?: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/** A message in flight. */
class Entry<T> {
  settled = false;
  constructor(
    readonly tag: T,
    readonly topic: string,
    readonly qos: QoS,
    /** The connection (counted from 1) a QoS 0 message is written on; see onClose. */
    readonly connection: number,
  ) {}
}

const READY = Promise.resolve();
const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;
const plural = (n: number): string => `${n} message${n === 1 ? ' was' : 's were'}`;

export class Publisher<T> {
  /** Messages in flight at once: the caller's window, at most the broker's Receive Maximum. */
  readonly window: number;
  private readonly client: MqttClient;
  private readonly inFlightEntries = new Set<Entry<T>>();
  /** PUBACK / PUBREC answers by packet id, read when MQTT.js calls back (its callback gets the stored PUBLISH). */
  private readonly ackCodes = new Map<number, number>();
  private readonly ackReasons = new Map<number, string>();
  private roomWaiter: Deferred | undefined;
  private drainWaiter: Deferred | undefined;
  private stopReason: Error | undefined;
  private stopped: Promise<void> | undefined;
  /** 'connect' events seen, counting the one before the publisher existed. */
  private connections = 1;
  /** Settled as lost before the publisher stopped (MQTT.js failed them with the connection). */
  private lostCount = 0;
  private disconnectCode: number | undefined;
  private sentCount = 0;
  private settledCount = 0;

  constructor(
    conn: Connection,
    private readonly options: PublisherOptions<T> = {},
  ) {
    this.client = conn.client;
    const receiveMaximum = conn.connack.properties?.receiveMaximum;
    this.window = Math.max(1, Math.min(options.window ?? DEFAULT_WINDOW, receiveMaximum ?? Number.MAX_SAFE_INTEGER));
    this.client.on('packetreceive', this.onPacket);
    this.client.on('connect', this.onConnect);
    this.client.on('close', this.onClose);
  }

  /** Messages handed to publish(). */
  get sent(): number {
    return this.sentCount;
  }

  /** Messages settled (acknowledged, refused, failed or lost) and told to onSettled. */
  get settled(): number {
    return this.settledCount;
  }

  /** Messages awaiting an acknowledgement (QoS 0: awaiting their write). */
  get inFlight(): number {
    return this.inFlightEntries.size;
  }

  /** Why the publisher stopped; undefined while it runs. */
  get stopError(): Error | undefined {
    return this.stopReason;
  }

  /**
   * Resolves when publish() may be called (at once while the window has room), rejects with
   * the reason once the publisher has stopped. For one producer: with several, recheck.
   */
  ready(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    if (this.inFlightEntries.size < this.window) return READY;
    this.roomWaiter ??= deferred();
    return this.roomWaiter.promise;
  }

  /**
   * Sends one message; `tag` comes back with it in onSettled. Throws the stop reason once the
   * publisher has stopped, and an Error when the window is full (await ready() first).
   */
  publish(topic: string, payload: Buffer | string, options: IClientPublishOptions, tag: T): void {
    if (this.stopReason !== undefined) throw this.stopReason;
    if (this.inFlightEntries.size >= this.window) throw new Error('Publisher: the window is full; await ready() before publish()');
    const qos = options.qos ?? 0;
    // A QoS 0 message published while MQTT.js is reconnecting waits in its queue for the next connection.
    const entry = new Entry(tag, topic, qos, this.client.connected ? this.connections : this.connections + 1);
    this.inFlightEntries.add(entry);
    this.sentCount++;
    this.client.publish(topic, payload, options, (err, packet) => this.onDone(entry, err, packet));
  }

  /** Resolves once every message sent is settled; rejects with the reason if the publisher stops first. */
  drain(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    if (this.inFlightEntries.size === 0) return READY;
    this.drainWaiter ??= deferred();
    return this.drainWaiter.promise;
  }

  /**
   * After drain(): resolves once the broker has answered a PINGREQ sent behind every message.
   * A broker reads a connection's packets in order, so a QoS 0 message it refused by closing
   * the connection (DISCONNECT 0x95 Packet too large, an access rule that disconnects) is
   * told here, where a written QoS 0 message alone proves nothing. Rejects with a PublishError
   * when the connection closes first; resolves after `timeoutMs` without an answer (a broker
   * that does not answer PINGREQ is not evidence against the messages), or at once when not
   * connected (MQTT.js is restoring the connection: onClose told what was lost).
   */
  async confirm(timeoutMs: number): Promise<void> {
    await this.drain();
    if (!this.client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('packetreceive', onPacket);
        this.client.off('close', onClose);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, timeoutMs);
      const onPacket = (packet: MqttPacket): void => {
        if (packet.cmd !== 'pingresp') return;
        done();
        resolve();
      };
      // After the publisher's own onClose (registered first), which may have stopped it with the reason.
      const onClose = (): void => {
        done();
        const what = this.sentCount === 1 ? 'the message' : `the ${this.sentCount} messages`;
        reject(this.lostError(`; ${what} may not have arrived (at QoS 0 a broker refuses a message by closing the connection)`));
      };
      this.client.on('packetreceive', onPacket);
      this.client.on('close', onClose);
      this.client.sendPing();
    });
  }

  /** Stops with `reason`: what is in flight is no longer waited for or reported. */
  abort(reason: Error): void {
    this.stop(reason);
  }

  /** Removes the publisher's listeners from the client; call it when done with the publisher. */
  detach(): void {
    this.client.off('packetreceive', this.onPacket);
    this.client.off('connect', this.onConnect);
    this.client.off('close', this.onClose);
    this.ackCodes.clear();
    this.ackReasons.clear();
  }

  private readonly onPacket = (packet: MqttPacket): void => {
    if (packet.cmd === 'puback' || packet.cmd === 'pubrec') {
      if (packet.messageId === undefined) return;
      this.ackCodes.set(packet.messageId, packet.reasonCode ?? 0);
      const reasonString = packet.properties?.reasonString;
      if (reasonString !== undefined) this.ackReasons.set(packet.messageId, reasonString);
    } else if (packet.cmd === 'disconnect') {
      this.disconnectCode = packet.reasonCode ?? 0;
    }
  };

  private readonly onConnect = (): void => {
    this.connections++;
    this.disconnectCode = undefined;
  };

  private readonly onClose = (): void => {
    if (this.stopped !== undefined) return;
    // A QoS 0 message whose write waited for the socket to drain never hears back once the
    // socket is gone: it is lost, and must not hold its place in the window for ever.
    for (const entry of this.inFlightEntries) {
      if (entry.qos === 0 && entry.connection <= this.connections) this.settle(entry, 'lost', undefined, undefined, undefined, new Error('connection closed before the message was written'));
      if (this.stopped !== undefined) return;
    }
    // MQTT.js restores the connection itself when told to (QoS 1/2 messages are sent again then).
    const reconnecting = !this.client.disconnecting && (this.client.options.reconnectPeriod ?? 0) > 0;
    if (reconnecting) return;
    const unacknowledged = this.lostCount + this.inFlightEntries.size;
    this.stop(this.lostError(unacknowledged > 0 ? `; ${plural(unacknowledged)} not acknowledged` : '', unacknowledged));
  };

  /** 'lost the connection to host:port: Packet too large (0x95)' and `tail`. */
  private lostError(tail: string, unacknowledged = 0): PublishError {
    const o = this.client.options;
    const reason = this.disconnectCode !== undefined ? `: ${reasonCodeName(this.disconnectCode, 'disconnect')} (${hex(this.disconnectCode)})` : '';
    return new PublishError(`lost the connection to ${o.hostname ?? o.host ?? 'the broker'}:${o.port ?? ''}${reason}${tail}`, 'lost', unacknowledged, this.disconnectCode);
  }

  private onDone(entry: Entry<T>, err: Error | undefined, packet: unknown): void {
    const messageId = entry.qos > 0 ? (packet as { messageId?: number } | undefined)?.messageId : undefined;
    let code: number | undefined;
    let reasonString: string | undefined;
    if (messageId !== undefined) {
      code = this.ackCodes.get(messageId);
      reasonString = this.ackReasons.get(messageId);
      this.ackCodes.delete(messageId);
      this.ackReasons.delete(messageId);
    }
    if (err === undefined || err === null) return this.settle(entry, 'acknowledged', messageId, code ?? 0, reasonString, undefined);
    const errCode = (err as { code?: unknown }).code;
    // MQTT.js reports a PUBACK/PUBREC reason code ≥ 0x80 as an error carrying the code.
    if (typeof errCode === 'number') return this.settle(entry, 'refused', messageId, errCode, reasonString, err);
    // MQTT.js fails what is in flight when the connection closes for good.
    this.settle(entry, this.client.connected ? 'failed' : 'lost', messageId, undefined, undefined, err);
  }

  private settle(entry: Entry<T>, status: PublishStatus, messageId: number | undefined, reasonCode: number | undefined, reasonString: string | undefined, error: Error | undefined): void {
    if (entry.settled || this.stopped !== undefined) return;
    entry.settled = true;
    this.inFlightEntries.delete(entry);
    this.settledCount++;
    if (status === 'lost') this.lostCount++;
    this.options.onSettled?.({ tag: entry.tag, topic: entry.topic, qos: entry.qos, status, messageId, reasonCode, reasonString, error });
    if (this.stopped !== undefined) return;
    if ((status === 'refused' || status === 'failed') && this.options.continueOnRefusal !== true) {
      const what = `'${entry.topic}'`;
      const message =
        status === 'refused'
          ? `${what} refused by the broker: ${reasonCodeName(reasonCode ?? 0x80, 'puback')} (${hex(reasonCode ?? 0x80)})${reasonString !== undefined ? `: ${reasonString}` : ''}`
          : `publishing to ${what} failed: ${error?.message ?? 'unknown error'}`;
      return this.stop(new PublishError(message, status, this.lostCount + this.inFlightEntries.size, reasonCode, { cause: error }));
    }
    this.wake();
  }

  private wake(): void {
    if (this.roomWaiter !== undefined && this.inFlightEntries.size < this.window) {
      const waiter = this.roomWaiter;
      this.roomWaiter = undefined;
      waiter.resolve();
    }
    if (this.drainWaiter !== undefined && this.inFlightEntries.size === 0) {
      const waiter = this.drainWaiter;
      this.drainWaiter = undefined;
      waiter.resolve();
    }
  }

  private stop(reason: Error): void {
    if (this.stopped !== undefined) return;
    this.stopReason = reason;
    this.stopped = Promise.reject(reason);
    this.stopped.catch(() => undefined);
    this.inFlightEntries.clear();
    this.roomWaiter?.reject(reason);
    this.drainWaiter?.reject(reason);
    this.roomWaiter = undefined;
    this.drainWaiter = undefined;
    this.options.onStop?.(reason);
  }
}
