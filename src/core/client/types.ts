/**
 * What a client command asks of a connection, in our words. `connect.ts` alone turns this
 * into MQTT.js options; nothing else in mqt builds an IClientOptions.
 */
import type { Properties, QoS } from '../codec/types.js';
import type { Transport } from '../net/dial.js';
import type { TlsOptions } from '../net/tls-files.js';

// Defined beside the dialer and the TLS reader (core/net), which know nothing of MQTT clients.
export type { Transport } from '../net/dial.js';
export type { TlsOptions, TlsVersion } from '../net/tls-files.js';
export const TRANSPORTS: readonly Transport[] = ['mqtt', 'mqtts', 'ws', 'wss'];

/** The port each transport uses unless told: IANA's 1883 / 8883, and HTTP's 80 / 443 for WebSocket. */
export const DEFAULT_PORTS: Readonly<Record<Transport, number>> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

/** The path MQTT over WebSocket is served on by mosquitto, EMQX, HiveMQ and MQTT.js alike. */
export const DEFAULT_WS_PATH = '/mqtt';

/** 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0: the protocol level byte of CONNECT. */
export type ProtocolLevel = 3 | 4 | 5;

export interface WillOptions {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties | undefined;
}

/** Where one broker is: what differs between the brokers of a failover list (-L a,b). */
export interface BrokerAddress {
  transport: Transport;
  host: string;
  port: number;
  /** Request path for ws / wss. */
  wsPath: string;
}

export interface ConnectionOptions {
  transport: Transport;
  host: string;
  port: number;
  /** Request path for ws / wss. */
  wsPath: string;
  clientId: string;
  /** Seconds; 0 turns keep-alive off. */
  keepalive: number;
  protocolVersion: ProtocolLevel;
  /**
   * Try 3.1.1 when the broker refuses 5 (CONNACK 0x84, or 0x01 from a 3.1.1 broker). Only
   * meaningful with protocolVersion 5 that the user did not ask for explicitly. The retry
   * drops every MQTT 5 property; connect()'s `needsMqtt5` names what must not be dropped.
   */
  fallback: boolean;
  /** Clean start (5.0) / clean session (3.1.1). */
  clean: boolean;
  username?: string | undefined;
  password?: Buffer | undefined;
  will?: WillOptions | undefined;
  /** CONNECT properties (5.0), e.g. sessionExpiryInterval. */
  properties?: Properties | undefined;
  tls?: TlsOptions | undefined;
  /** Reconnect after a connection that was up is lost (never for the first connect). */
  reconnect: boolean;
  /** Pause between reconnect attempts. Default 1000 ms. */
  reconnectPeriodMs?: number | undefined;
  /** How long to wait for CONNACK, TCP and TLS included. Default 10,000 ms. */
  connectTimeoutMs?: number | undefined;
  /**
   * Several brokers (-L a,b): tried in order at the first connect, and moved along when the one
   * in use goes away (core/client/failover.ts). The first is transport/host/port/wsPath above;
   * undefined or a single entry: that broker alone.
   */
  brokers?: readonly BrokerAddress[] | undefined;
}
