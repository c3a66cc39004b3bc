/**
 * The sequence checker with injected loss, duplication and reordering, and against a naive
 * oracle (a Set per publisher) on random arrival orders.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_GAPS, SequenceChecker } from '../../../src/core/bench/sequence.js';

function feed(checker: SequenceChecker, publisher: number, seqs: readonly number[]): void {
  for (const s of seqs) checker.receive(publisher, s);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('SequenceChecker', () => {
  it('in order, nothing missing: all clean', () => {
    const c = new SequenceChecker(2);
    feed(c, 0, range(1000));
    feed(c, 1, range(500));
    expect(c.result([1000, 500])).toEqual({ expected: 1500, received: 1500, lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it('injected loss: every 10th missing, and a missing tail', () => {
    const c = new SequenceChecker(1);
    feed(c, 0, range(1000).filter((s) => s % 10 !== 9));
    expect(c.result([1000])).toMatchObject({ received: 900, lost: 100, duplicated: 0, outOfOrder: 0 });
    const tail = new SequenceChecker(1);
    feed(tail, 0, range(990));
    expect(tail.result([1000]).lost).toBe(10);
  });

  it('injected duplication: repeats right away and long after', () => {
    const c = new SequenceChecker(1);
    feed(c, 0, [0, 1, 1, 2, 3, 3, 3, 4, 0, 2]);
    expect(c.result([5])).toEqual({ expected: 5, received: 10, lost: 0, duplicated: 5, outOfOrder: 0 });
  });

  it('injected reordering: late messages fill their gaps and count as out of order, not lost', () => {
    const c = new SequenceChecker(1);
    feed(c, 0, [0, 2, 1, 5, 3, 4, 9, 6, 8, 7]);
    expect(c.result([10])).toEqual({ expected: 10, received: 10, lost: 0, duplicated: 0, outOfOrder: 6 });
  });

  it('all three at once, per publisher', () => {
    const c = new SequenceChecker(3);
    feed(c, 0, [0, 1, 3, 4]); // 2 lost
    feed(c, 1, [0, 0, 1]); // 1 duplicate
    feed(c, 2, [1, 0]); // 1 out of order
    expect(c.result([5, 2, 2])).toEqual({ expected: 9, received: 9, lost: 1, duplicated: 1, outOfOrder: 1 });
    expect(c.uniqueFrom(0)).toBe(4);
  });

  it('a duplicate of a late message is still a duplicate', () => {
    const c = new SequenceChecker(1);
    feed(c, 0, [0, 3, 1, 1, 2, 2]);
    expect(c.result([4])).toEqual({ expected: 4, received: 6, lost: 0, duplicated: 2, outOfOrder: 2 });
  });

  it('publishers out of range are foreign, not counted', () => {
    const c = new SequenceChecker(1);
    expect(c.receive(1, 0)).toBe(false);
    expect(c.foreign).toBe(1);
    expect(c.result([0]).received).toBe(0);
  });

  it('memory is bounded: past MAX_GAPS gaps the oldest are forgotten', () => {
    const c = new SequenceChecker(1);
    // Every other message lost: one gap per message.
    for (let s = 0; s <= 2 * (MAX_GAPS + 10); s += 2) c.receive(0, s);
    // A late arrival in a remembered gap is out of order; in a forgotten one it counts as a duplicate.
    expect(c.receive(0, 2 * (MAX_GAPS + 5) - 1)).toBe(true);
    expect(c.receive(0, 1)).toBe(false);
    expect(c.outOfOrder).toBe(1);
    expect(c.duplicated).toBe(1);
  });

  it('agrees with a naive oracle on random arrivals', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 60 })), { maxLength: 400 }), (arrivals) => {
        const c = new SequenceChecker(3);
        const seen = [new Set<number>(), new Set<number>(), new Set<number>()];
        const highest = [-1, -1, -1];
        let duplicated = 0;
        let outOfOrder = 0;
        for (const [p, s] of arrivals) {
          const isNew = !seen[p]!.has(s);
          expect(c.receive(p, s)).toBe(isNew);
          if (!isNew) duplicated++;
          else if (s < highest[p]!) outOfOrder++;
          seen[p]!.add(s);
          highest[p] = Math.max(highest[p]!, s);
        }
        const expected = [61, 61, 61];
        const lost = seen.reduce((sum, set) => sum + 61 - set.size, 0);
        expect(c.result(expected)).toEqual({ expected: 183, received: arrivals.length, lost, duplicated, outOfOrder });
      }),
      { numRuns: 300 },
    );
  });
});
