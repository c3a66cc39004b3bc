/**
 * What a shard hands the coordinator at the end of a run: plain data (histogram snapshots,
 * [key, count] pairs), so it crosses a worker boundary by structured clone.
 */
import type { Board } from './board.js';
import type { Histogram, HistogramSnapshot } from './histogram.js';
import type { Publisher } from './publisher.js';
import { expectedFor, type Plan } from './scenarios.js';
import type { Subscriber } from './subscriber.js';
import type { BenchResult, ReplyPacket, SubscriberCheck } from './types.js';

export interface ShardReport {
  published: number;
  acknowledged: number;
  delivered: number;
  firstSend: number;
  lastSend: number;
  lastAck: number;
  lastDelivery: number;
  publishedPerSecond: number[];
  deliveredPerSecond: number[];
  ackLatency: HistogramSnapshot;
  deliveryLatency: HistogramSnapshot;
  subscribers: SubscriberCheck[];
  /** [errorKey(packet, reasonCode), count] */
  errors: [number, number][];
  /** [code, count] */
  socketErrors: [string, number][];
  conn: { attempted: number; connected: number; failed: number; firstOpen: number; lastConnack: number; connackLatency: HistogramSnapshot };
}

const REPLY_PACKETS: readonly ReplyPacket[] = ['CONNACK', 'SUBACK', 'PUBACK', 'PUBREC', 'PUBCOMP', 'DISCONNECT'];

/**
 * The key of a failure in the shards' error counts: the reason code in the low 8 bits, the
 * packet that carried it above them (0: not known). One number, so counting stays a Map bump.
 */
export function errorKey(packet: ReplyPacket | undefined, reasonCode: number): number {
  return ((packet === undefined ? 0 : REPLY_PACKETS.indexOf(packet) + 1) << 8) | (reasonCode & 0xff);
}

/** Merged error counts (by errorKey) as the result's list, by reason code, then packet. */
export function errorList(counts: ReadonlyMap<number, number>): BenchResult['errors'] {
  return [...counts]
    .sort((a, b) => (a[0] & 0xff) - (b[0] & 0xff) || a[0] - b[0])
    .map(([key, count]) => {
      const packet = REPLY_PACKETS[(key >> 8) - 1];
      return packet === undefined ? { reasonCode: key & 0xff, count } : { reasonCode: key & 0xff, count, packet };
    });
}

export interface ReportInput {
  plan: Plan;
  board: Board;
  publishers: readonly Publisher[];
  subscribers: readonly Subscriber[];
  ackLatency: Histogram;
  deliveryLatency: Histogram;
  publishedPerSecond: readonly number[];
  deliveredPerSecond: readonly number[];
  errors: Map<number, number>;
  socketErrors: Map<string, number>;
  conn: ShardReport['conn'];
}

/**
 * Totals over the shard's publishers, and each subscriber's sequence check against what the
 * publishers (in every thread: the Board) had accepted by the end.
 */
export function buildReport(input: ReportInput): ShardReport {
  const board = input.board;
  const accepted = new Array<number>(input.plan.publishers);
  for (let p = 0; p < input.plan.publishers; p++) accepted[p] = board.accepted(p);
  let published = 0;
  let acknowledged = 0;
  let firstSend = Number.POSITIVE_INFINITY;
  let lastSend = Number.NEGATIVE_INFINITY;
  let lastAck = Number.NEGATIVE_INFINITY;
  for (const p of input.publishers) {
    published += p.published;
    acknowledged += p.acked;
    firstSend = Math.min(firstSend, p.firstSend);
    lastSend = Math.max(lastSend, p.lastSend);
    lastAck = Math.max(lastAck, p.lastAck);
  }
  let delivered = 0;
  let lastDelivery = Number.NEGATIVE_INFINITY;
  const subscribers: SubscriberCheck[] = [];
  for (const s of input.subscribers) {
    const r = s.checker.result(expectedFor(input.plan, s.index, accepted));
    delivered += r.received;
    lastDelivery = Math.max(lastDelivery, s.lastDelivery);
    subscribers.push({ index: s.index, expected: r.expected, received: r.received, lost: r.lost, duplicated: r.duplicated, outOfOrder: r.outOfOrder });
  }
  return {
    published,
    acknowledged,
    delivered,
    firstSend,
    lastSend,
    lastAck,
    lastDelivery,
    publishedPerSecond: [...input.publishedPerSecond],
    deliveredPerSecond: [...input.deliveredPerSecond],
    ackLatency: input.ackLatency.snapshot(),
    deliveryLatency: input.deliveryLatency.snapshot(),
    subscribers,
    errors: [...input.errors],
    socketErrors: [...input.socketErrors],
    conn: input.conn,
  };
}
