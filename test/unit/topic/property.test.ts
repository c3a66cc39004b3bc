import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetainedIndex, TopicTrie, isValidTopicFilter, isValidTopicName, topicMatches } from '../../../src/core/topic/index.js';

/*
 * Levels come from a small alphabet so that random filters and topics actually match often,
 * and include the corner cases: empty levels, '$' at the first level, '+' and '#'.
 */
const NAME_LEVELS = ['a', 'b', '', '$x', '$'];
const nameLevel = fc.constantFrom(...NAME_LEVELS);
// A single empty level would be the empty string, which is no topic [MQTT-4.7.3-1].
const topicArb = fc
  .array(nameLevel, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((t) => t !== '');
const filterArb = fc
  .tuple(fc.array(fc.constantFrom(...NAME_LEVELS, '+'), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f !== '')
  .chain((f) => fc.constantFrom(f, '#')); // '#' alone often, as brokers see it in practice
const keyArb = fc.constantFrom('c1', 'c2', 'c3');
const groupArb = fc.option(fc.constantFrom('g1', 'g2'), { nil: undefined });

/**
 * An independent reading of MQTT section 4.7, written for clarity rather than speed: split
 * both strings, walk level by level. topicMatches (one pass over characters, no split) and
 * both tries are checked against it.
 */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0]!.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false; // [MQTT-4.7.2-1]
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the rest, including nothing ('a/#' matches 'a')
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

interface Sub {
  filter: string;
  key: string;
  group: string | undefined;
}
const subArb = fc.record({ filter: filterArb, key: keyArb, group: groupArb });
const full = (s: Sub): string => (s.group === undefined ? s.filter : `$share/${s.group}/${s.filter}`);

describe('property: matchers agree with the reference reading of the spec', () => {
  it('the generators produce valid names and filters', () => {
    fc.assert(fc.property(topicArb, filterArb, (t, f) => isValidTopicName(t) && isValidTopicFilter(f)));
  });

  it('topicMatches(filter, topic) equals the reference', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(topicMatches(filter, topic)).toBe(reference(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });

  it('TopicTrie.match returns exactly the plain subscriptions topicMatches accepts, and one member per matching group', () => {
    fc.assert(
      fc.property(fc.array(subArb, { maxLength: 30 }), fc.array(topicArb, { minLength: 1, maxLength: 10 }), (subs, topics) => {
        const trie = new TopicTrie<string>();
        // Later duplicates replace earlier ones, as in the trie.
        const live = new Map<string, Sub>();
        for (const s of subs) {
          trie.add(full(s), s.key, full(s));
          live.set(`${s.key} ${full(s)}`, s);
        }
        expect(trie.size).toBe(live.size);
        for (const topic of topics) {
          const got = trie.match(topic);
          const plainGot = got.filter((g) => g.shareGroup === undefined).map((g) => `${g.key} ${g.value}`).sort();
          const plainWant = [...live.entries()]
            .filter(([, s]) => s.group === undefined && topicMatches(s.filter, topic))
            .map(([id]) => id)
            .sort();
          expect(plainGot).toStrictEqual(plainWant);
          // Shared: one result per (group, filter) that matches, from that group's members.
          const sharedGot = got.filter((g) => g.shareGroup !== undefined);
          const groupsWant = new Set(
            [...live.values()].filter((s) => s.group !== undefined && topicMatches(s.filter, topic)).map(full),
          );
          expect(sharedGot.map((g) => `$share/${g.shareGroup}/${g.filter}`).sort()).toStrictEqual([...groupsWant].sort());
          for (const g of sharedGot) expect(live.has(`${g.key} $share/${g.shareGroup}/${g.filter}`)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('TopicTrie stays right after removals, and empties completely', () => {
    fc.assert(
      fc.property(
        fc.array(subArb, { maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (subs, removeMask, topics) => {
          const trie = new TopicTrie<string>();
          const live = new Map<string, Sub>();
          for (const s of subs) {
            trie.add(full(s), s.key, full(s));
            live.set(`${s.key} ${full(s)}`, s);
          }
          subs.forEach((s, i) => {
            if (!removeMask[i]) return;
            const id = `${s.key} ${full(s)}`;
            expect(trie.remove(full(s), s.key)).toBe(live.delete(id));
          });
          expect(trie.size).toBe(live.size);
          for (const topic of topics) {
            const got = trie.match(topic).map((g) => `${g.key} ${g.value}`);
            for (const id of got) expect(live.has(id)).toBe(true);
            const plainWant = [...live.entries()].filter(([, s]) => s.group === undefined && topicMatches(s.filter, topic));
            expect(got.filter((id) => !id.includes('$share/')).length).toBe(plainWant.length);
          }
          for (const s of live.values()) expect(trie.remove(full(s), s.key)).toBe(true);
          expect(trie.size).toBe(0);
          expect([...trie]).toStrictEqual([]);
          const root = (trie as unknown as { root: Record<string, unknown> }).root;
          expect(['children', 'plus', 'hash', 'subs', 'groups'].every((f) => root[f] === undefined)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('RetainedIndex.match returns exactly the stored topics topicMatches accepts', () => {
    fc.assert(
      fc.property(
        fc.array(topicArb, { maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        fc.array(filterArb, { minLength: 1, maxLength: 10 }),
        (topics, deleteMask, filters) => {
          const index = new RetainedIndex<string>();
          const stored = new Set<string>();
          for (const t of topics) {
            index.set(t, t);
            stored.add(t);
          }
          topics.forEach((t, i) => {
            if (deleteMask[i]) expect(index.delete(t)).toBe(stored.delete(t));
          });
          expect(index.size).toBe(stored.size);
          for (const filter of filters) {
            const want = [...stored].filter((t) => topicMatches(filter, t)).sort();
            expect(index.match(filter).sort()).toStrictEqual(want);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
