/**
 * `mqt broker -v -v`: a line per PUBLISH received and sent, as mosquitto's log_type all prints
 * them, but at most `perSecond` lines a second, so that a busy broker is neither slowed down
 * by its own log nor buries it: past the limit a line is only counted, and when the second
 * ends one line says how many were left out.
 *
 * The broker calls it through `broker.publishTrace` (core/broker/types.ts PublishTrace), set
 * only at this level: below it the broker's hot path tests one field and calls nothing.
 */
import type { ClientInfo, PublishTrace } from '../core/broker/index.js';
import type { QoS } from '../core/codec/types.js';
import { listenerLabel, type BrokerLogRecord } from './render/broker-log.js';

export class PublishLog implements PublishTrace {
  /** Lines printed in the current second. */
  private printed = 0;
  /** Lines left out in the current second. */
  private suppressed = 0;
  /** Ends the current second; a second starts with its first line, so an idle broker has no timer. */
  private timer: NodeJS.Timeout | undefined;
  private readonly endSecond = (): void => {
    this.timer = undefined;
    this.flush();
  };

  constructor(
    private readonly print: (record: BrokerLogRecord) => void,
    readonly perSecond: number,
  ) {}

  received(client: ClientInfo, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, payloadBytes: number): void {
    if (this.admit()) this.line('received', client, topic, qos, retain, dup, packetId, payloadBytes);
  }

  sent(client: ClientInfo, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, payloadBytes: number): void {
    if (this.admit()) this.line('sent', client, topic, qos, retain, dup, packetId, payloadBytes);
  }

  /** Says what was left out so far and starts counting anew (at the end of each second and at stop). */
  flush(): void {
    const count = this.suppressed;
    this.printed = 0;
    this.suppressed = 0;
    if (count > 0) this.print({ event: 'publish-suppressed', count, perSecond: this.perSecond });
  }

  /** Stops the clock (the broker stopped) after saying what was left out. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Whether this line fits in the second; past the limit it costs a counter, nothing more. */
  private admit(): boolean {
    if (this.timer === undefined) {
      this.timer = setTimeout(this.endSecond, 1000);
      // The log never keeps a stopping broker alive.
      this.timer.unref();
    }
    if (this.printed < this.perSecond) {
      this.printed++;
      return true;
    }
    this.suppressed++;
    return false;
  }

  private line(direction: 'received' | 'sent', client: ClientInfo, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, payloadBytes: number): void {
    this.print({ event: 'publish', direction, clientId: client.clientId, listener: listenerLabel(client.transport?.listener), topic, qos, retain, dup, packetId, payloadBytes });
  }
}
