/**
 * The contract between the bench engine (src/core/bench) and its users (`mqt bench`, the
 * broker benchmark). Plain data in, plain data out: no rendering here.
 */
import type { ConnectionOptions } from '../client/types.js';

/** pub: P publishers → S subscribers; fan-in / fan-out: presets; conn: connection storm. */
export type Scenario = 'pub' | 'fan-in' | 'fan-out' | 'conn';

export interface BenchTarget {
  /** How the target is named in reports: 'builtin', or the URL given. */
  name: string;
  /** Where and how to connect; the engine opens raw TCP / TLS / WebSocket streams from it. */
  connection: ConnectionOptions;
  /** PID of the broker process, to report its CPU seconds and memory (known for the built-in one). */
  brokerPid?: number | undefined;
  /**
   * Where the subscribers connect instead, when not to `connection`: another node of a cluster,
   * to measure what crossing between nodes costs (npm run bench:broker's cross-node runs).
   */
  subscriberConnection?: ConnectionOptions | undefined;
}

export interface BenchConfig {
  scenario: Scenario;
  /** Publisher and subscriber clients. */
  pubs: number;
  subs: number;
  /** Topic of publisher i; `%i` is replaced by the client index. */
  topic: string;
  /** same: every publisher on `topic` with %i = 0, subscribers on it; distinct: publisher i on its own topic, subscriber j on topic j mod pubs. */
  topicMode: 'same' | 'distinct';
  qos: 0 | 1 | 2;
  /** Payload bytes (at least the engine's header: sequence number, publisher index, send time). */
  size: number;
  /** Total messages over all publishers; or run for `durationMs`. One of the two. */
  msgs?: number | undefined;
  durationMs?: number | undefined;
  /** Fixed total rate in messages per second (latency under a given load); undefined = flat out. */
  rate?: number | undefined;
  /** Unacknowledged QoS 1/2 messages per publisher. */
  inflight: number;
  /**
   * QoS 0 flat out: messages allowed on their way (sent, not yet received) to one subscriber,
   * shared by the publishers it hears. Default QOS0_WINDOW_PER_SUBSCRIBER (scenarios.ts).
   */
  qos0Window?: number | undefined;
  /**
   * Subscribers hold persistent sessions (3.1.1 clean session 0, 5.0 a session expiry of
   * PERSISTENT_EXPIRY_S), so that a broker with a store must store every message it owes them;
   * the sessions are ended when the run closes.
   */
  persistent?: boolean | undefined;
  retain: boolean;
  /** 4 = MQTT 3.1.1, 5 = 5.0. */
  protocolVersion: 4 | 5;
  /** Not counted: messages or time sent before measuring starts. */
  warmupMsgs?: number | undefined;
  warmupMs?: number | undefined;
  /** Worker threads the clients are spread over (1 = all in the calling thread). */
  workers: number;
  /** Give up waiting for missing deliveries after this long once publishing ended. */
  timeoutMs: number;
  /** conn scenario: connections to open, and how many at a time. */
  conns: number;
  concurrency: number;
}

/** Latency in milliseconds, from an HDR histogram. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A histogram as plain data, to cross a worker boundary: only the counters in use (histogram.ts). */
export interface HistogramSnapshot {
  /** Pairs [index, count, index, count, …]. */
  counts: number[];
  count: number;
  min: number;
  max: number;
  sum: number;
}

/** One point of a latency percentile distribution (Histogram.percentileDistribution). */
export interface PercentilePoint {
  /** 0 to 100. */
  percentile: number;
  ms: number;
}

/** The broker's packets that carry a failure reason code the engine counts. */
export type ReplyPacket = 'CONNACK' | 'SUBACK' | 'PUBACK' | 'PUBREC' | 'PUBCOMP' | 'DISCONNECT';

/**
 * Machine-wide TCP counters of the kernel (Linux /proc/net/netstat TcpExt and /proc/net/snmp
 * Tcp; netstat.ts): every process and listener of the host counts, not only this run.
 */
export interface KernelTcpCounters {
  /** A SYN arrived at a full accept queue (TcpExt ListenOverflows). */
  listenOverflows: number;
  /** SYNs dropped at a listener for any reason, overflows included (TcpExt ListenDrops). */
  listenDrops: number;
  /** SYNs a client sent again, unanswered (TcpExt TCPSynRetrans). */
  synRetrans: number;
  /** Segments sent again, all kinds (Tcp RetransSegs). */
  retransSegs: number;
}

export interface SubscriberCheck {
  /** Index of the subscriber client. */
  index: number;
  expected: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

export interface BenchResult {
  target: string;
  config: BenchConfig;
  /** ISO time the measured part started. */
  startedAt: string;
  /** Measured wall time, ms: first counted send to the last expected delivery (or timeout). */
  durationMs: number;
  /**
   * Publishing time, ms: first counted send to the last acknowledgement (QoS 0: the last send),
   * the span publishRate is over; "published N in …" shows it. (Optional so older producers stay valid.)
   */
  publishMs?: number | undefined;
  /**
   * How long the end of the run waited with nothing arriving, ms: for missing deliveries once
   * publishing ended, or for a stalled run to move, up to timeoutMs; 0 when everything arrived.
   */
  waitedMs?: number | undefined;
  published: number;
  /** PUBACK / PUBCOMP received (QoS 1/2), else equal to published. */
  acknowledged: number;
  /** Deliveries over all subscribers, and how many were expected. */
  delivered: number;
  expected: number;
  /** First send to last acknowledgement (QoS 0: last send), msg/s. */
  publishRate: number;
  /** Deliveries per second over all subscribers. */
  deliveryRate: number;
  /** One row per second of the measured part. */
  perSecond: { second: number; published: number; delivered: number }[];
  /** Publish → PUBACK/PUBCOMP; undefined at QoS 0. */
  ackLatency?: LatencySummary | undefined;
  /** Publish → delivery, corrected for coordinated omission in fixed-rate mode. */
  deliveryLatency: LatencySummary;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  subscribers: SubscriberCheck[];
  /**
   * Failures by reason code (CONNACK refusals, 5.0 PUBACK/PUBREC failures, DISCONNECT reasons),
   * with the packet that carried the code when the engine knows it.
   */
  errors: { reasonCode: number; count: number; packet?: ReplyPacket | undefined }[];
  /**
   * Failures below MQTT, by Node error code: ECONNREFUSED, ECONNRESET, ETIMEDOUT (no TCP/TLS/WS
   * connection or no CONNACK in time), ECLOSED (the broker closed a connection without a
   * DISCONNECT), EPROTO (the broker sent bytes our codec cannot decode), TLS codes.
   * (Added by the engine; optional so older producers stay valid.)
   */
  socketErrors?: { code: string; count: number }[] | undefined;
  reconnects: number;
  /**
   * CPU seconds used by the engine (all its threads), and by the broker when its PID is known,
   * over `wallSeconds` of wall time (the metered span: a share of one core is seconds / wallSeconds).
   */
  cpu: { engineSeconds: number; brokerSeconds?: number | undefined; wallSeconds?: number | undefined };
  brokerRssBytes?: number | undefined;
  /**
   * The latency histograms themselves, for pictures of the whole distribution (the HTML
   * report merges rounds with them); not part of --json. Added by the engine; optional so
   * older producers stay valid.
   */
  histograms?: { ack?: HistogramSnapshot | undefined; delivery?: HistogramSnapshot | undefined; connack?: HistogramSnapshot | undefined } | undefined;
  /** conn scenario only. */
  conn?:
    | {
        attempted: number;
        connected: number;
        failed: number;
        rate: number;
        connackLatency: LatencySummary;
        /**
         * Connections this machine's kernel dropped on a full listen queue during the storm
         * (Linux TcpExt ListenOverflows, all listeners of the host; undefined without /proc):
         * each costs its client a SYN retry a second later. Only a broker on this machine counts.
         */
        listenOverflows?: number | undefined;
        /** How much each of the kernel's TCP counters moved during the storm (undefined without /proc). */
        kernel?: KernelTcpCounters | undefined;
      }
    | undefined;
}

export interface BenchProgress {
  elapsedMs: number;
  published: number;
  delivered: number;
  /** Messages per second over the last second. */
  rate: number;
}
