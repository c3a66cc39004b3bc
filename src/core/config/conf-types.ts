/**
 * What `mqt broker -c mosquitto.conf` reads out of a mosquitto.conf: plain data, no defaults
 * filled in (an absent field means "the file does not say"; the part of mqt that maps this onto
 * the broker applies mqt's defaults). Another part of mqt maps it; keep these names.
 */
import type { TlsServerFiles } from '../net/tls-server.js';

/** Where something was declared: the file as given (relative to the working directory, as mosquitto) and its 1-based line. */
export interface ConfSource {
  file: string;
  line: number;
}

/**
 * Who may connect. Global in MosquittoConf.security; per listener as well when per_listener_settings
 * is true (allowAnonymous, passwordFile, aclFile), and for allowFrom/denyFrom always (mqt's own).
 */
export interface SecurityConf {
  allowAnonymous?: boolean;
  passwordFile?: string;
  aclFile?: string;
  /**
   * mqt extensions (`allow_from CIDR`, `deny_from CIDR`), each entry an address or address/prefix
   * as written. A listener's own allowFrom, when it has one, replaces the global allowFrom for it;
   * denyFrom entries of both apply. A connection is refused if it matches a denyFrom entry, or if an
   * allowFrom list applies and it matches none of its entries.
   */
  allowFrom?: string[];
  denyFrom?: string[];
}

/** A listener's TLS settings: the very shape the broker's TLS listeners take (net/tls-server.ts). */
export type ListenerTlsConf = TlsServerFiles;

export interface ListenerConf extends SecurityConf {
  /** tls/wss when certfile and keyfile are set; ws/wss when `protocol websockets`. */
  kind: 'tcp' | 'tls' | 'ws' | 'wss';
  port: number;
  /** The address to bind; absent means every address (as mosquitto). */
  host?: string;
  /** socket_domain ipv4|ipv6; absent means both. */
  family?: 4 | 6;
  tls?: ListenerTlsConf;
  /** -1 is unlimited (mosquitto maps every negative value to -1). */
  maxConnections?: number;
  useIdentityAsUsername?: boolean;
  /** Where the listener was declared (`listener`, or the first `port`/`bind_address` for mosquitto's default listener). */
  source: ConfSource;
}

export interface LimitsConf {
  /** max_inflight_messages; 0 is unlimited (mosquitto: negative values and 65535 mean 0). */
  maxInflight?: number;
  /** max_queued_messages; 0 is unlimited (negative values mean 0, as mosquitto). */
  maxQueued?: number;
  maxPacketSize?: number;
  /** 0..65535 seconds. */
  maxKeepalive?: number;
  retainAvailable?: boolean;
  /** Largest payload in bytes, 0 is no limit (mosquitto's message_size_limit). */
  messageSizeLimit?: number;
  /** mqt extension: subscriptions per client; 0 is unlimited. */
  maxSubscriptions?: number;
  /** mqt extension: levels of a topic or filter; 0 is unlimited. */
  maxTopicLevels?: number;
  /** mqt extension: bytes held in all queues of the broker together; 0 is unlimited. */
  maxQueueMemory?: number;
}

export type LogDestKind = 'stdout' | 'stderr' | 'file' | 'syslog' | 'topic' | 'none';

export interface LogConf {
  /**
   * Where to log, in the order given, each kind once; `log_dest none` drops the ones before it.
   * Empty when the file has no log_dest (then the broker's default applies; mosquitto's is stderr).
   * [{ kind: 'none' }] when the last word was none.
   */
  dest: Array<{ kind: LogDestKind; path?: string }>;
  /** log_type values in order, each once; `none` drops the ones before it; empty when not set. */
  types: string[];
  timestamp?: boolean;
  connectionMessages?: boolean;
}

export interface MosquittoConf {
  /** Every file read, in order: the main file, then each included file (for reload). */
  files: string[];
  perListenerSettings: boolean;
  /** Global security; also the only one used when per_listener_settings is false. */
  security: SecurityConf;
  /**
   * In file order, with mosquitto's default listener (from `port` / `bind_address` and the
   * listener settings before the first `listener` line) last, where mosquitto puts it. Empty when
   * the file declares none: mosquitto 2.0 then listens on localhost:1883 only, anonymous allowed.
   */
  listeners: ListenerConf[];
  limits: LimitsConf;
  persistence?: boolean;
  persistenceLocation?: string;
  /** sys_interval: seconds between $SYS publishes, 0 for none (mqt broker's default is 10, as mosquitto's). */
  sysInterval?: number;
  /** mqt extensions: `http_port N` and `http_host ADDRESS` (the admin HTTP listener), `admin_user NAME` (repeatable). */
  httpPort?: number;
  httpHost?: string;
  adminUsers?: string[];
  /** mqt extensions: `cluster URL` (join the cluster on that Redis, as --cluster) and `node_id NAME` (as --node-id). */
  cluster?: string;
  nodeId?: string;
  log: LogConf;
  /** The `connection NAME` sections (bridges to other brokers), in file order; see config/bridge-sections.ts. */
  bridges: BridgeConf[];
  /** One per ignored directive (its first use), "file:line: … is ignored by mqt (why)"; and the few notes mosquitto also prints. */
  warnings: string[];
}

export type BridgeDirection = 'in' | 'out' | 'both';

/** One `topic` line of a bridge (mosquitto's bridge_topic.c rules; config/bridge-sections.ts reads it). */
export interface BridgeTopicConf {
  /** The filter, '' for mosquitto's `""` (then both prefixes are the topics). */
  pattern: string;
  direction: BridgeDirection;
  qos: 0 | 1 | 2;
  /** '' when not given or `""`. */
  localPrefix: string;
  remotePrefix: string;
  source: ConfSource;
}

/** A bridge's TLS to the remote: on when bridge_cafile or bridge_capath is given, as in mosquitto. */
export interface BridgeTlsConf {
  caFile?: string;
  caPath?: string;
  certFile?: string;
  keyFile?: string;
  insecure?: boolean;
  /** The minimum version, as mosquitto's bridge_tls_version. */
  version?: 'tlsv1.3' | 'tlsv1.2' | 'tlsv1.1';
  alpn?: string;
  /** The line of each file's directive, for the start-up check of the files. */
  sources: { caFile?: ConfSource; caPath?: ConfSource; certFile?: ConfSource; keyFile?: ConfSource };
}

/** One `connection` section; absent fields: the file does not say (core/bridge/from-conf.ts applies mosquitto's defaults). */
export interface BridgeConf {
  name: string;
  /** The `connection` line. */
  source: ConfSource;
  /** In the order given: the first is the main one, the others are tried in turn. */
  addresses: Array<{ host: string; port: number }>;
  topics: BridgeTopicConf[];
  remoteUsername?: string;
  remotePassword?: string;
  remoteClientId?: string;
  localClientId?: string;
  cleanSession?: boolean;
  localCleanSession?: boolean;
  protocolVersion?: 'mqttv31' | 'mqttv311' | 'mqttv50';
  /** Present when bridge_cafile or bridge_capath is given: TLS to the remote. */
  tls?: BridgeTlsConf;
  /** Seconds, 5 to 65535 (mosquitto raises a lower value to 5). */
  keepaliveInterval?: number;
  /** Seconds: one value is a constant delay, two are the backoff's base and cap. */
  restartTimeout?: { base: number; cap?: number };
  tryPrivate?: boolean;
  notifications?: boolean;
  notificationsLocalOnly?: boolean;
  notificationTopic?: string;
  startType?: 'automatic' | 'once';
  outgoingRetain?: boolean;
  /** 0 is unlimited. */
  maxPacketSize?: number;
  roundRobin?: boolean;
}

/** A mosquitto.conf problem: message "file:line: what is wrong; what to do" (line 0: the file itself). */
export class ConfError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, problem: string) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
    this.name = 'ConfError';
    this.file = file;
    this.line = line;
  }
}

/** How included files are found and read; the default uses node:fs (tests may pass their own). */
export interface ConfReader {
  /** The names in a directory (not paths); throws if it cannot be listed. */
  listDir(dir: string): string[];
  /** The text of a file; throws (EISDIR, ENOENT, ...) if it cannot be read. */
  readFile(path: string): string;
}
