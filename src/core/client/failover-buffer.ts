/**
 * What a stream producer (`mqt pub -l`) hands over while the connection is being restored.
 *
 * While a connection is up, a message goes straight to the sender when its window has room,
 * and the producer waits for room otherwise (at most one message waits here), as before. Once
 * the connection closes, messages are kept here instead, in order, up to `maxBuffered`; past
 * that the producer is held (offer() returns a promise), so it stops reading its input rather
 * than dropping anything. When MQTT.js is connected again it has already re-sent, first, the
 * QoS 1/2 messages that were not acknowledged when the connection broke (its outgoing store,
 * in the order they were published), and only then emits 'connect': the kept messages follow
 * from there, through the same window. So the broker sees every message in the order the
 * producer made them (a re-sent one may come twice, as QoS 1 allows).
 *
 * Nothing is handed to MQTT.js while no connection is up: its own offline queue would send
 * everything at once on reconnect, past the window and the broker's Receive Maximum.
 */
import type { MqttClient } from 'mqtt';
import { deferred, type Deferred } from './deferred.js';

export const DEFAULT_MAX_BUFFERED = 10_000;

export interface OfflineBufferOptions<M> {
  client: MqttClient;
  /** Whether the sender can take one more message now (its window has room). */
  hasRoom: () => boolean;
  /** Resolves when the sender may have room; rejects once it has stopped for good. */
  ready: () => Promise<void>;
  /** Hands one message to the sender (synchronously: no other message may overtake it). */
  send: (message: M) => void;
  /** Messages kept while no connection is up. Default 10,000. */
  maxBuffered?: number | undefined;
  /** Told the first time the buffer is full and the producer is held back. */
  onFull?: ((kept: number) => void) | undefined;
}

export class OfflineBuffer<M> {
  readonly maxBuffered: number;
  /** Kept messages from `head` on; compacted now and then, so a long outage costs no shifting. */
  private queue: M[] = [];
  private head = 0;
  private online: boolean;
  private pumping = false;
  private failure: Error | undefined;
  private toldFull = false;
  private roomWaiter: Deferred | undefined;
  private flushWaiter: Deferred | undefined;
  /** Resolved when the connection closes: ends a pump's wait for room. */
  private offlineWaiter: Deferred | undefined;

  constructor(private readonly options: OfflineBufferOptions<M>) {
    this.maxBuffered = Math.max(1, options.maxBuffered ?? DEFAULT_MAX_BUFFERED);
    this.online = options.client.connected;
    options.client.on('close', this.onClose);
    options.client.on('connect', this.onConnect);
  }

  /** Messages kept now. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes one message. Returns undefined when the producer may go on at once, or a promise that
   * resolves when it may (rejects with the sender's stop reason). Throws once stopped.
   */
  offer(message: M): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.online && this.size === 0 && !this.pumping && this.options.hasRoom()) {
      this.options.send(message);
      return undefined;
    }
    this.queue.push(message);
    this.pump();
    if (this.size < this.limit()) return undefined;
    if (!this.online && !this.toldFull && this.size >= this.maxBuffered) {
      this.toldFull = true;
      this.options.onFull?.(this.size);
    }
    this.roomWaiter ??= deferred();
    return this.roomWaiter.promise;
  }

  /** Resolves once every message offered has been handed to the sender. */
  flushed(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.size === 0) return Promise.resolve();
    this.flushWaiter ??= deferred();
    return this.flushWaiter.promise;
  }

  /** The sender stopped for good: what is kept will not be sent; waits reject with `reason`. */
  stop(reason: Error): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.queue = [];
    this.head = 0;
    this.roomWaiter?.reject(reason);
    this.flushWaiter?.reject(reason);
    this.roomWaiter = undefined;
    this.flushWaiter = undefined;
    this.offlineWaiter?.resolve();
  }

  detach(): void {
    this.options.client.off('close', this.onClose);
    this.options.client.off('connect', this.onConnect);
  }

  /** While connected, one message waits here at most; while not, up to maxBuffered. */
  private limit(): number {
    return this.online ? 1 : this.maxBuffered;
  }

  private readonly onClose = (): void => {
    this.online = false;
    const w = this.offlineWaiter;
    this.offlineWaiter = undefined;
    w?.resolve();
    // The producer waiting for the window may now fill the buffer instead.
    this.wakeRoom();
  };

  private readonly onConnect = (): void => {
    this.online = true;
    this.pump();
  };

  /** Hands kept messages to the sender while connected and it has room; one pump at a time. */
  private pump(): void {
    if (this.pumping || !this.online || this.failure !== undefined) return;
    this.pumping = true;
    void this.run().finally(() => {
      this.pumping = false;
      // A message offered while the pump was finishing, and the connection still up.
      if (this.online && this.size > 0 && this.failure === undefined) this.pump();
    });
  }

  private async run(): Promise<void> {
    try {
      while (this.online && this.size > 0 && this.failure === undefined) {
        if (!this.options.hasRoom()) {
          this.offlineWaiter ??= deferred();
          await Promise.race([this.options.ready(), this.offlineWaiter.promise]);
          continue;
        }
        const message = this.queue[this.head] as M;
        this.queue[this.head] = undefined as M;
        this.head++;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.options.send(message);
        this.wakeRoom();
      }
    } catch (err) {
      this.stop(err as Error);
      return;
    }
    if (this.size === 0) {
      this.toldFull = false;
      const w = this.flushWaiter;
      this.flushWaiter = undefined;
      w?.resolve();
    }
  }

  private wakeRoom(): void {
    if (this.roomWaiter !== undefined && this.size < this.limit()) {
      const w = this.roomWaiter;
      this.roomWaiter = undefined;
      w.resolve();
    }
  }
}
