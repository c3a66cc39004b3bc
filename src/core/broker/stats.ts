/**
 * The broker's counters since it started: what $SYS publishes and /metrics exposes. Plain
 * number fields bumped on the hot path (one add per chunk, per packet, per delivery), so
 * counting costs the same whether anyone reads them or not; rates and averages are worked
 * out by whoever reads them, from two readings.
 */

/** Upper bounds, in milliseconds, of the store commit latency buckets (Prometheus `le`). */
export const COMMIT_BUCKETS_MS: readonly number[] = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/** Counts per listener, by the listener's name. */
export interface ListenerCounts {
  /** Connections open now (CONNECT or not). */
  open: number;
  /** Connections accepted since the broker started. */
  accepted: number;
}

export class BrokerStats {
  /** When the broker was created, ms since the epoch. */
  readonly startedAt = Date.now();

  /** Bytes read from every client's transport, and written to it. */
  bytesReceived = 0;
  bytesSent = 0;
  /** MQTT packets of every type read, and written. */
  packetsReceived = 0;
  packetsSent = 0;

  /** PUBLISH packets read from clients, and their payload bytes. */
  publishReceived = 0;
  publishBytesReceived = 0;
  /** PUBLISH packets written to clients, by the QoS they went out at; and their payload bytes. */
  readonly publishSentByQos: [number, number, number] = [0, 0, 0];
  publishBytesSent = 0;

  /** CONNECTs answered with CONNACK success. */
  connectsAccepted = 0;
  /** CONNECTs refused, by reason code (5.0 numbering, whatever version the client spoke). */
  readonly connectsRefused = new Map<number, number>();

  /** Most clients connected at once. */
  clientsMaximum = 0;
  /** Sessions ended by their expiry interval while offline. */
  clientsExpired = 0;

  /** Connections per listener, by name. */
  readonly listeners = new Map<string, ListenerCounts>();

  /** Store commits: count, total ms, and one count per COMMIT_BUCKETS_MS bucket (not cumulative) plus one above. */
  commits = 0;
  commitMsTotal = 0;
  readonly commitBuckets: number[] = new Array<number>(COMMIT_BUCKETS_MS.length + 1).fill(0);

  get publishSent(): number {
    return this.publishSentByQos[0] + this.publishSentByQos[1] + this.publishSentByQos[2];
  }

  refused(reasonCode: number): void {
    this.connectsRefused.set(reasonCode, (this.connectsRefused.get(reasonCode) ?? 0) + 1);
  }

  listenerOpened(name: string): void {
    let c = this.listeners.get(name);
    if (c === undefined) this.listeners.set(name, (c = { open: 0, accepted: 0 }));
    c.open++;
    c.accepted++;
  }

  listenerClosed(name: string): void {
    const c = this.listeners.get(name);
    if (c !== undefined && c.open > 0) c.open--;
  }

  commitTook(ms: number): void {
    this.commits++;
    this.commitMsTotal += ms;
    let i = 0;
    while (i < COMMIT_BUCKETS_MS.length && ms > COMMIT_BUCKETS_MS[i]!) i++;
    this.commitBuckets[i]!++;
  }
}
