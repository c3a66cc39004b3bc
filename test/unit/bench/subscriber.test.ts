/**
 * The per-second rows of a subscriber. With worker threads, a shard is told the measured phase's
 * start when it begins it, and a counted message published by another shard can arrive first:
 * it must land in the first second, not at second 1.8e9 (an index from the clock's epoch), which
 * grew the rows' array until V8 gave up ("invalid size error") in `--workers 2` runs.
 */
import { describe, expect, it } from 'vitest';
import { Board } from '../../../src/core/bench/board.js';
import { now } from '../../../src/core/bench/clock.js';
import { Histogram } from '../../../src/core/bench/histogram.js';
import { HEADER_PUBLISHER, HEADER_RUN, HEADER_SEQ, HEADER_TIME, PAYLOAD_HEADER_BYTES } from '../../../src/core/bench/payload.js';
import { Subscriber, type SubscriberHost } from '../../../src/core/bench/subscriber.js';

const RUN = 7;

function host(measureStart: number): SubscriberHost {
  const board = Board.create(1, 1);
  return { board, shardBase: 0, arrivedRow: board.arrivedRow(0), deliveryLatency: new Histogram(), deliveredPerSecond: [], measureStart, delivered: () => undefined };
}

function message(seq: number, sentAt: number): Buffer {
  const buf = Buffer.alloc(PAYLOAD_HEADER_BYTES + 8);
  buf.writeUInt32BE(RUN, HEADER_RUN);
  buf.writeUInt32BE(seq, HEADER_SEQ);
  buf.writeUInt16BE(0, HEADER_PUBLISHER);
  buf.writeDoubleLE(sentAt, HEADER_TIME);
  return buf;
}

describe('Subscriber per-second rows', () => {
  it('counts a message that arrives before its shard knows the measured start in the first second', () => {
    const h = host(0);
    const sub = new Subscriber(h, 0, 'mqt/bench/#', RUN, 1);
    const t = now();
    const m = message(1, t - 1);
    sub.onMessage(m, 0, m.length, t);
    expect(h.deliveredPerSecond).toEqual([1]);
  });

  it('counts by seconds since the measured start once it is known', () => {
    const start = now();
    const h = host(start);
    const sub = new Subscriber(h, 0, 'mqt/bench/#', RUN, 1);
    for (const [seq, at] of [[1, start + 10], [2, start + 1500], [3, start + 2100]] as const) {
      const m = message(seq, at - 1);
      sub.onMessage(m, 0, m.length, at);
    }
    expect(h.deliveredPerSecond).toEqual([1, 1, 1]);
  });
});
