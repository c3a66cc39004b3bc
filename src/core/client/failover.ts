/**
 * Several brokers for one client (-L a,b): which one comes next, and what to say about it.
 *
 * MQTT.js's own `servers` option rotates on every reconnect attempt and says nothing about it,
 * so the list is driven here instead: when a connection closes and MQTT.js is going to
 * reconnect (its timer fires reconnectPeriod later), the client's options are pointed at the
 * next broker first. The same MqttClient then carries on there with everything it holds: the
 * outgoing store (QoS 1/2 messages not yet acknowledged, re-sent first, in the order they were
 * published, before anything newer), the subscriptions it resubscribes when the broker has no
 * session for it, and the clean/persistent session flag.
 *
 * A session cannot move between brokers: with -c, a reconnect to the same broker (or to
 * brokers that share their state) resumes it; on another broker the client starts a new
 * session there and resubscribes. Messages published to the old broker meanwhile stay there.
 */
import type { IClientOptions, MqttClient, Packet as MqttPacket } from 'mqtt';
import { CONNACK_RETURN_CODES_V3, reasonCodeName } from '../codec/constants.js';
import type { BrokerAddress } from './types.js';

/** A broker as the user would write it with -L: `mqtt://host:1883`, `ws://host:80/mqtt`. */
export function brokerUrl(b: BrokerAddress): string {
  const host = b.host.includes(':') ? `[${b.host}]` : b.host;
  return `${b.transport}://${host}:${b.port}${b.transport === 'ws' || b.transport === 'wss' ? b.wsPath : ''}`;
}

const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

/** A socket error code in a few words, for the one-line notes; undefined when we have none. */
function errnoWords(code: string | undefined): string | undefined {
  switch (code) {
    case 'ECONNRESET':
      return 'connection reset';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EPIPE':
    case 'ECLOSED':
      return 'connection closed';
    case 'ETIMEDOUT':
      return 'no answer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      return undefined;
  }
}

/** A CONNACK refusal code in a few words, as the protocol version names it. */
function refusalWords(code: number, protocolVersion: number): string {
  if (protocolVersion === 5 && code >= 0x80) return `refused: ${reasonCodeName(code, 'connack')} (${hex(code)})`;
  return `refused: ${(CONNACK_RETURN_CODES_V3[code] ?? 'refused').replace(/^Connection Refused, /, '')} (return code ${code})`;
}

/**
 * Why a connection ended, in a few words: the broker's DISCONNECT reason, a refused CONNACK,
 * the socket's error, or just "connection closed".
 */
export function lossReason(err: Error | undefined, disconnectCode: number | undefined, protocolVersion = 5): string {
  if (disconnectCode !== undefined) return `${reasonCodeName(disconnectCode, 'disconnect')} (${hex(disconnectCode)})`;
  const code = (err as { code?: unknown } | undefined)?.code;
  // MQTT.js reports a refused CONNACK as an error carrying the reason code.
  if (typeof code === 'number') return refusalWords(code, protocolVersion);
  const words = errnoWords(typeof code === 'string' ? code : undefined);
  if (words !== undefined) return words;
  if (err?.message === 'Keepalive timeout') return 'no answer to keep-alive';
  return err?.message ?? 'connection closed';
}

/** A first-connect failure (a ConnectError's code and reason code) in a few words. */
export function attemptReason(code: string | undefined, reasonCode: number | undefined, message: string, protocolVersion = 5): string {
  if (reasonCode !== undefined) return refusalWords(reasonCode, protocolVersion);
  return errnoWords(code) ?? message;
}

/**
 * Options MQTT.js keeps from the first connection whatever the broker: reconnecting is ours
 * (connect.ts turns it on), and per-broker option sets are made with reconnecting off.
 */
const KEEP = new Set(['reconnectPeriod', 'reconnectOnConnackError']);
/** Set by MQTT.js's stream builders on its options object (tls.js: servername; ws: path): reset per broker. */
const BUILDER_KEYS = ['servername', 'path'];

export interface FailoverOptions {
  /** Every broker, in order, and the MQTT.js options for each (same client, same version). */
  brokers: readonly BrokerAddress[];
  clientOptions: readonly IClientOptions[];
  /** The broker the client is connected to now. */
  index: number;
  /** One line for the user each time something changes. */
  notify: (line: string) => void;
}

/**
 * Moves one MqttClient along a list of brokers as connections close. Attach it once the first
 * connection is up and reconnecting is on; it ignores closes the command asked for.
 */
export class Failover {
  private index: number;
  /** The current connection got its CONNACK (a close then is a loss, not a failed attempt). */
  private up = true;
  /** A loss happened since the last CONNACK: the next one is told. */
  private moved = false;
  /** Failed attempts since the last loss, as "url (reason)". */
  private failures: string[] = [];
  private lastError: Error | undefined;
  /** The broker the client moved from, while a QoS 2 release it re-sends may not be known where it is now. */
  private movedFrom: BrokerAddress | undefined;
  private toldUnknownRelease = false;
  private disconnectCode: number | undefined;
  private readonly keys: string[];

  constructor(
    private readonly client: MqttClient,
    private readonly options: FailoverOptions,
  ) {
    this.index = options.index;
    const keys = new Set<string>(BUILDER_KEYS);
    for (const o of options.clientOptions) for (const k of Object.keys(o)) if (!KEEP.has(k)) keys.add(k);
    this.keys = [...keys];
    // A broker that refuses the CONNACK of a reconnect is left like one that is down.
    client.options.reconnectOnConnackError = true;
    client.on('error', this.onError);
    client.on('packetreceive', this.onPacket);
    client.on('close', this.onClose);
  }

  /** The broker in use (or being tried) now. */
  get current(): BrokerAddress {
    return this.options.brokers[this.index]!;
  }

  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onPacket = (packet: MqttPacket): void => {
    if (packet.cmd === 'disconnect') {
      this.disconnectCode = packet.reasonCode ?? 0;
    } else if (packet.cmd === 'pubcomp') {
      // A QoS 2 message the old broker had received (PUBREC) is released anew here with PUBREL
      // only: MQTT.js keeps no payload past PUBREC. Another broker does not know it (5.0 answers
      // 0x92); whether the old one delivered it before it went is not known. Said once per move.
      const code = (packet as { reasonCode?: number }).reasonCode;
      if (code !== 0x92 || this.movedFrom === undefined || this.toldUnknownRelease) return;
      this.toldUnknownRelease = true;
      this.options.notify(
        `${brokerUrl(this.current)} did not know a QoS 2 message released after the move (PUBCOMP 0x92 Packet identifier not found): ${brokerUrl(this.movedFrom)} had received it and may not have delivered it`,
      );
    } else if (packet.cmd === 'connack') {
      const code = (packet as { reasonCode?: number; returnCode?: number }).reasonCode ?? (packet as { returnCode?: number }).returnCode ?? 0;
      if (code !== 0) return;
      this.up = true;
      this.failures = [];
      this.lastError = undefined;
      this.disconnectCode = undefined;
      if (this.moved) this.options.notify(`connected to ${brokerUrl(this.current)}`);
      this.moved = false;
    }
  };

  private readonly onClose = (): void => {
    const client = this.client;
    // The command ends the connection, or MQTT.js will not reconnect: nothing to move to.
    if (client.disconnecting || (client.options.reconnectPeriod ?? 0) === 0) return;
    const { brokers, notify } = this.options;
    const reason = lossReason(this.lastError, this.disconnectCode, client.options.protocolVersion);
    this.lastError = undefined;
    this.disconnectCode = undefined;
    const from = brokerUrl(this.current);
    const next = (this.index + 1) % brokers.length;
    const to = brokerUrl(brokers[next]!);
    if (this.up) {
      this.up = false;
      this.moved = true;
      this.failures = [];
      this.movedFrom = this.current;
      this.toldUnknownRelease = false;
      notify(`lost ${from} (${reason}); trying ${to}`);
    } else {
      this.failures.push(`${from} (${reason})`);
      // One line per broker of the first round; then one that says it goes on, then quiet.
      if (this.failures.length < brokers.length) notify(`${from}: ${reason}; trying ${to}`);
      else if (this.failures.length === brokers.length) {
        const period = client.options.reconnectPeriod ?? 1000;
        notify(`no broker answers (${this.failures.join(', ')}); trying them in turn every ${period / 1000} s`);
      }
    }
    this.switchTo(next);
  };

  /** Points the client's options at broker i; MQTT.js's next reconnect builds its stream from them. */
  private switchTo(i: number): void {
    this.index = i;
    const options = this.client.options as Record<string, unknown>;
    const target = this.options.clientOptions[i] as Record<string, unknown>;
    for (const key of this.keys) {
      if (target[key] === undefined) delete options[key];
      else options[key] = target[key];
    }
  }
}
