/**
 * What one bridge is told: the library's form of mosquitto's `connection` section (config/
 * bridge-sections.ts reads the file; from-conf.ts maps it here with mosquitto's defaults applied).
 * Every field is resolved: the engine applies no defaults of its own.
 */
import type { BridgeDirection, BridgeTopicConf } from '../config/conf-types.js';

export type { BridgeDirection };

/**
 * One topic line: a filter ('' only with both prefixes, which are then the two topics), its
 * direction, the QoS that caps it, and the prefixes prepended on each side ('' for none), as
 * mosquitto's bridge_topic.c: the conf form without its file position.
 */
export type BridgeTopic = Omit<BridgeTopicConf, 'source'>;

export interface BridgeTls {
  caFile?: string;
  caPath?: string;
  certFile?: string;
  keyFile?: string;
  /** bridge_insecure: skip the host name check (the chain is still checked). */
  insecure: boolean;
  minVersion?: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1';
  alpn?: string;
}

export interface BridgeOptions {
  name: string;
  /** In order: the first is the main one; the others are tried in turn when it fails. */
  addresses: ReadonlyArray<{ host: string; port: number }>;
  topics: ReadonlyArray<BridgeTopic>;
  /** The client id at the remote; mosquitto's default is `<hostname>.<name>`. */
  remoteClientId: string;
  /** The id of the bridge's session in our broker; mosquitto's default is `<hostname>.<name>`-ish too. */
  localClientId: string;
  remoteUsername?: string;
  remotePassword?: string;
  /** cleansession (mosquitto default false): whether the remote session is thrown away at each connect. */
  cleanSession: boolean;
  /** local_cleansession (defaults to cleanSession): the same for the session in our broker. */
  localCleanSession: boolean;
  protocolVersion: 3 | 4 | 5;
  tls?: BridgeTls;
  /** Seconds (mosquitto default 60). */
  keepalive: number;
  /** Reconnect delay in seconds: constant when cap is undefined, else backoff from base up to cap (mosquitto: 5, or 5 30 with backoff). */
  restartTimeout: { base: number; cap?: number };
  /** Set the bridge bit of the protocol version (0x80) so a mosquitto remote does not send our messages back (default true). */
  tryPrivate: boolean;
  /** Publish the connection state, retained, '1' up and '0' down (default true). */
  notifications: boolean;
  notificationsLocalOnly: boolean;
  /** Default `$SYS/broker/connection/<remoteClientId>/state`. */
  notificationTopic: string;
  /** automatic: reconnect forever; once: one connection, never restarted. */
  startType: 'automatic' | 'once';
  /** bridge_outgoing_retain (default true): keep the retain flag on messages sent out. */
  outgoingRetain: boolean;
  /** Largest packet sent to the remote; 0 no limit. */
  maxPacketSize: number;
  /** false (mosquitto default): after failing over, go back to the main address when it returns. */
  roundRobin: boolean;
}

/** What a running bridge says of itself (admin API, $SYS, logs). */
export interface BridgeStatus {
  readonly name: string;
  readonly connected: boolean;
  /** host:port of the remote now (or last) connected. */
  readonly address: string | undefined;
  /** QoS 1/2 messages waiting to go out to the remote. */
  readonly queued: number;
  readonly sent: number;
  readonly received: number;
}
