/**
 * Who wants what across nodes: this node's counts and the deltas it announces, and the other
 * nodes' filters as routing sees them (MQTT matching, each node once, share groups by members).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalInterest, RemoteInterest } from '../../../src/core/cluster/interest.js';
import { topicMatches } from '../../../src/core/topic/match.js';

describe('LocalInterest', () => {
  it('announces a plain filter only when it goes from none to some and back', () => {
    const l = new LocalInterest();
    l.add('a/#');
    l.add('a/#');
    expect(l.drain()).toEqual([{ filter: 'a/#', count: 2 }]);
    l.add('a/#');
    l.remove('a/#');
    expect(l.changed).toBe(true);
    expect(l.drain()).toEqual([]);
    l.remove('a/#');
    l.remove('a/#');
    expect(l.drain()).toEqual([{ filter: 'a/#', count: 0 }]);
    expect(l.count('a/#')).toBe(0);
  });

  it('announces every change of a share group, by members', () => {
    const l = new LocalInterest();
    l.add('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 1 }]);
    l.add('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 2 }]);
  });

  it('leaves out a filter that came and went within one drain, and keeps first-change order', () => {
    const l = new LocalInterest();
    l.add('x');
    l.remove('x');
    l.add('b');
    l.add('a');
    expect(l.drain()).toEqual([
      { filter: 'b', count: 1 },
      { filter: 'a', count: 1 },
    ]);
    expect(l.changed).toBe(false);
  });
});

describe('RemoteInterest', () => {
  it('finds each node with a matching filter once, by MQTT rules', () => {
    const r = new RemoteInterest();
    r.apply('n1', 'a/+/c', 1);
    r.apply('n1', 'a/#', 1);
    r.apply('n1', '#', 1);
    r.apply('n2', 'a/b/c', 3);
    r.apply('n3', '$SYS/#', 1);
    const out: string[] = [];
    expect(r.nodesFor('a/b/c', out)).toBe(2);
    expect(out.sort()).toEqual(['n1', 'n2']);
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a $ topic.
    expect(r.nodesFor('$SYS/x', out)).toBe(1);
    expect(out).toEqual(['n3']);
    r.apply('n1', '#', 0);
    r.apply('n1', 'a/#', 0);
    r.apply('n1', 'a/+/c', 0);
    expect(r.nodesFor('a/b/c', out)).toBe(1);
    expect(r.filters('n1')).toBeUndefined();
  });

  it('lists share groups with their members on each node, apart from plain routing', () => {
    const r = new RemoteInterest();
    r.apply('n1', '$share/g/s/+', 2);
    r.apply('n2', '$share/g/s/+', 1);
    r.apply('n2', '$share/h/s/#', 1);
    expect(r.hasShares).toBe(true);
    const out: string[] = [];
    expect(r.nodesFor('s/x', out)).toBe(0);
    const shares = r.sharesFor('s/x').map((m) => ({ group: m.group, members: Object.fromEntries(m.members) }));
    expect(shares.sort((a, b) => a.group.localeCompare(b.group))).toEqual([
      { group: '$share/g/s/+', members: { n1: 2, n2: 1 } },
      { group: '$share/h/s/#', members: { n2: 1 } },
    ]);
    r.apply('n1', '$share/g/s/+', 5);
    expect(r.sharesFor('s/x').find((m) => m.group === '$share/g/s/+')?.members.get('n1')).toBe(5);
    r.dropNode('n2');
    expect(r.sharesFor('s/x').map((m) => m.group)).toEqual(['$share/g/s/+']);
  });

  it('replaces a node whole, ignores a filter that does not parse, and never throws', () => {
    const r = new RemoteInterest();
    r.apply('n1', 'old', 1);
    r.replaceNode('n1', [['new/#', 1], ['a/#/b', 1]]);
    const out: string[] = [];
    expect(r.nodesFor('old', out)).toBe(0);
    expect(r.nodesFor('new/x', out)).toBe(1);
    expect(r.rejected).toBe(1);
  });

  it('agrees with a brute-force matcher on random filters and topics', () => {
    const level = fc.constantFrom('a', 'b', 'c', '$x');
    const filterLevel = fc.constantFrom('a', 'b', 'c', '+', '$x');
    const filter = fc.tuple(fc.array(filterLevel, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ls, hash]) => (hash ? [...ls, '#'] : ls).join('/'));
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/'));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('n1', 'n2', 'n3'), filter), { maxLength: 12 }), fc.array(topic, { minLength: 1, maxLength: 5 }), (subs, topics) => {
        const r = new RemoteInterest();
        for (const [node, f] of subs) r.apply(node, f, 1);
        const out: string[] = [];
        for (const t of topics) {
          r.nodesFor(t, out);
          const expected = [...new Set(subs.filter(([, f]) => topicMatches(f, t)).map(([n]) => n))].sort();
          expect([...out].sort()).toEqual(expected);
        }
      }),
    );
  });
});
