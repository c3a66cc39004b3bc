/**
 * The summary of a run says how long publishing took (not publishing plus the wait for
 * stragglers), how long it waited and for what, what the broker answered and what usually
 * causes a loss, and, for conn, when the kernel's listen queue overflowed.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../../src/commands/render/bench-output.js';
import { failureLabel, lossHints } from '../../../src/core/bench/loss-hints.js';
import { benchJson, kernelLines, summarize } from '../../../src/core/bench/report.js';
import { latency, result } from './fixtures.js';

const plain = new Chalk({ level: 0 });
const line = (text: string, label: string): string | undefined => text.split('\n').find((l) => l.startsWith(`  ${label.padEnd(16)}`));

describe('publishing time and the wait for missing messages', () => {
  // The run: 2,000 QoS 2 messages published in 0.06 s, then 10 s of waiting for 12.
  const waited = result(
    { published: 2000, acknowledged: 2000, expected: 2000, delivered: 1988, lost: 12, durationMs: 10_070, publishMs: 62.6, waitedMs: 10_000, publishRate: 31_954 },
    { qos: 2, msgs: 2000, timeoutMs: 10_000 },
  );

  it('"published N in X s" is the span of the publish rate, and the wait is its own line', () => {
    const text = renderSummary(summarize(waited), plain);
    expect(line(text, 'published')).toBe('  published       2,000 in 0.06 s');
    expect(line(text, 'publish rate')).toBe('  publish rate    31,954 msg/s');
    expect(line(text, 'waited')).toBe('  waited          10.00 s for 12 missing deliveries (--timeout 10.00 s)');
  });

  it('no wait line when everything arrived; an older result without publishMs falls back to durationMs', () => {
    const clean = renderSummary(summarize(result({ publishMs: 1200, waitedMs: 0 })), plain);
    expect(line(clean, 'published')).toBe('  published       100,000 in 1.20 s');
    expect(line(clean, 'waited')).toBeUndefined();
    expect(line(renderSummary(summarize(result()), plain), 'published')).toBe('  published       100,000 in 1.25 s');
  });

  it('a stalled run waited for acknowledgements, and says how many publishes were never answered', () => {
    const stalled = result({ published: 500, acknowledged: 480, expected: 480, delivered: 480, waitedMs: 10_000 });
    const text = renderSummary(summarize(stalled), plain);
    expect(line(text, 'acknowledged')).toBe('  acknowledged    480 of 500');
    expect(line(text, 'waited')).toBe('  waited          10.00 s for 20 acknowledgements (--timeout 10.00 s)');
    expect(line(text, 'why')).toMatch(/^ {2}why {13}20 QoS 1 publishes were never acknowledged: the broker stopped answering/);
  });

  it('a run too short to time says so instead of a rate of 0 msg/s', () => {
    const instant = result({ published: 60, acknowledged: 60, expected: 60, delivered: 60, publishMs: 0, durationMs: 0, publishRate: 0, deliveryRate: 0 }, { msgs: 60 });
    const text = renderSummary(summarize(instant), plain);
    expect(line(text, 'publish rate')).toBe('  publish rate    not measurable: all 60 within 1 ms (give more --msgs, or --duration)');
    expect(line(text, 'delivery rate')).toBe('  delivery rate   not measurable: all 60 within 1 ms (give more --msgs, or --duration)');
  });

  it('--json: publishMs and waitedMs beside durationMs, whose meaning is unchanged', () => {
    const j = benchJson(waited);
    expect(j).toMatchObject({ durationMs: 10_070, publishMs: 62.6, waitedMs: 10_000 });
    expect(benchJson(result())).toMatchObject({ durationMs: 1250, publishMs: 1250, waitedMs: 0, hints: [] });
  });
});

describe('what the broker said, and what usually causes a loss', () => {
  // MQTT 5 with an ACL denying the topic: every PUBACK says 0x87; nothing is expected, nothing lost.
  const denied = result(
    { acknowledged: 0, expected: 0, delivered: 0, errors: [{ reasonCode: 0x87, count: 100_000, packet: 'PUBACK' }], subscribers: [], publishRate: 0 },
    { protocolVersion: 5 },
  );

  it('names the packet and the code, and the ACL behind 0x87', () => {
    const text = renderSummary(summarize(denied), plain);
    expect(line(text, 'acknowledged')).toBe('  acknowledged    0 of 100,000 · refused 100,000');
    expect(line(text, 'errors')).toBe('  errors          PUBACK 0x87 Not authorized ×100,000');
    expect(line(text, 'why')).toBe(
      "  why             the broker answered PUBACK 0x87 Not authorized to 100,000 publishes: an ACL denies this client the topic: check the broker's ACL file (mosquitto's acl_file, mqt broker --acl-file) for the user the bench connects as (-u)",
    );
    expect(benchJson(denied).errors).toEqual([{ reasonCode: 0x87, reason: 'Not authorized', packet: 'PUBACK', count: 100_000 }]);
    expect(benchJson(denied).hints).toHaveLength(1);
  });

  it('a queue limit (0x97) and a DISCONNECT reason, most frequent first, two at most', () => {
    const hints = lossHints(
      result(
        {
          lost: 30,
          errors: [
            { reasonCode: 0x8e, count: 1, packet: 'DISCONNECT' },
            { reasonCode: 0x95, count: 2, packet: 'DISCONNECT' },
            { reasonCode: 0x97, count: 30, packet: 'PUBACK' },
          ],
        },
        { protocolVersion: 5 },
      ),
    );
    expect(hints).toHaveLength(2);
    expect(hints[0]).toMatch(/^the broker answered PUBACK 0x97 Quota exceeded to 30 publishes: the broker's quota: its queue or in-flight limit per client \(mosquitto's max_queued_messages, 1,000 by default; mqt broker --max-queued\)/);
    expect(hints[1]).toMatch(/^the broker answered DISCONNECT 0x95 Packet too large to 2 times: .*lower --size$/);
  });

  it('MQTT 3.1.1 and a silent loss: the queue and in-flight limits, and -V 5 to hear the broker', () => {
    const hints = lossHints(result({ lost: 17_143, delivered: 2857, expected: 20_000 }, { qos: 2 }));
    expect(hints[0]).toMatch(/^acknowledged, then dropped: usually the broker's queue limit per subscriber \(mosquitto's max_queued_messages, 1,000 by default; mqt broker --max-queued\) or in-flight limit/);
    expect(hints[1]).toMatch(/^MQTT 3\.1\.1 acks carry no reason code, so a broker drops silently: -V 5 shows what it says/);
  });

  it('nothing arrived at all: an ACL first (3.1.1 drops silently)', () => {
    const [hint] = lossHints(result({ lost: 100_000, delivered: 0 }));
    expect(hint).toMatch(/^nothing arrived: usually an ACL that denies the topic \(MQTT 3\.1\.1 cannot say so/);
  });

  it('QoS 0 loss is allowed: one line, no blame', () => {
    expect(lossHints(result({ lost: 10, ackLatency: undefined }, { qos: 0 }))).toEqual([expect.stringMatching(/^QoS 0 messages may be dropped/)]);
  });

  it('a clean run has no hints and no why line', () => {
    expect(lossHints(result())).toEqual([]);
    expect(renderSummary(summarize(result()), plain)).not.toContain('why');
  });

  it('3.1.1 CONNACK return codes by their own names (conn)', () => {
    expect(failureLabel(5, 'CONNACK', 4)).toBe('CONNACK 0x05 Connection Refused, not authorized');
    expect(failureLabel(0x87, 'CONNACK', 5)).toBe('CONNACK 0x87 Not authorized');
    expect(failureLabel(0x97, undefined, 5)).toBe('Quota exceeded (0x97)');
    const conn = result(
      { conn: { attempted: 10, connected: 0, failed: 10, rate: 0, connackLatency: latency(1) }, errors: [{ reasonCode: 5, count: 10, packet: 'CONNACK' }] },
      { scenario: 'conn' },
    );
    expect(lossHints(conn)).toEqual([expect.stringMatching(/^the broker answered CONNACK 0x05 Connection Refused, not authorized to 10 times: an ACL denies/)]);
  });
});

describe('conn: the kernel counters', () => {
  const conn = (kernel: { listenOverflows: number; listenDrops: number; synRetrans: number; retransSegs: number } | undefined) =>
    result({ conn: { attempted: 2000, connected: 2000, failed: 0, rate: 913, connackLatency: latency(2), kernel, listenOverflows: kernel?.listenOverflows } }, { scenario: 'conn' });

  it('says when they moved, that they are the machine’s, and what it means for conn/s', () => {
    const text = renderSummary(summarize(conn({ listenOverflows: 1234, listenDrops: 1234, synRetrans: 56, retransSegs: 60 })), plain);
    expect(line(text, 'kernel')).toBe('  kernel          1,234 listen queue overflows and 56 SYN retransmits during the run (counted on this machine, any process)');
    expect(text).toContain("the broker's listen backlog was full, so connections waited for the kernel's SYN retries (1 s, 3 s, 7 s… after the first SYN) before their CONNECT, which CONNACK latency does not show: conn/s is then the backlog's, not the broker's");
    expect(benchJson(conn({ listenOverflows: 1234, listenDrops: 1234, synRetrans: 56, retransSegs: 60 })).conn).toMatchObject({ kernel: { listenOverflows: 1234, synRetrans: 56 } });
  });

  it('names drops beyond the overflows', () => {
    expect(kernelLines({ listenOverflows: 3, listenDrops: 5, synRetrans: 1, retransSegs: 1 })[0]!.text).toBe(
      '3 listen queue overflows, 2 other listen drops and 1 SYN retransmit during the run (counted on this machine, any process)',
    );
  });

  it('says nothing when they did not move, or cannot be read; JSON has null then', () => {
    expect(renderSummary(summarize(conn({ listenOverflows: 0, listenDrops: 0, synRetrans: 0, retransSegs: 12 })), plain)).not.toContain('kernel');
    expect(renderSummary(summarize(conn(undefined)), plain)).not.toContain('kernel');
    expect(benchJson(conn(undefined)).conn!.kernel).toBeNull();
  });
});
