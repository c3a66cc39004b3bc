/**
 * Who wants what across nodes: this node's counts and the deltas it announces, and the other
 * nodes' filters as routing sees them (MQTT matching, each node once, share groups by members).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalInterest, RemoteInterest, type InterestDelta } from '../../../src/core/cluster/interest.js';
import { topicMatches } from '../../../src/core/topic/match.js';

function membersOf(r: RemoteInterest, topic: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of r.sharesFor(topic)) out[m.group] = Object.fromEntries(m.members);
  return out;
}

describe('LocalInterest', () => {
  it('announces a plain filter only when it goes from none to some and back', () => {
    const l = new LocalInterest();
    expect(l.changed).toBe(false);
    expect(l.drain()).toEqual([]);
    l.add('a/#');
    l.add('a/#');
    expect(l.changed).toBe(true);
    expect(l.drain()).toEqual([{ filter: 'a/#', count: 2 }]);
    l.add('a/#');
    l.remove('a/#');
    l.remove('a/#');
    // 2 -> 3 -> 2 -> 1: still "has it", nothing for the others.
    expect(l.changed).toBe(false);
    expect(l.drain()).toEqual([]);
    expect(l.count('a/#')).toBe(1);
    l.remove('a/#');
    expect(l.changed).toBe(true);
    expect(l.drain()).toEqual([{ filter: 'a/#', count: 0 }]);
    expect(l.count('a/#')).toBe(0);
    expect([...l.entries()]).toEqual([]);
    l.remove('a/#'); // not subscribed: nothing
    expect(l.changed).toBe(false);
  });

  it('announces every change of a share group, by members, and its net count per drain', () => {
    const l = new LocalInterest();
    l.add('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 1 }]);
    l.add('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 2 }]);
    l.add('$share/g/t');
    l.add('$share/g/t');
    l.remove('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 3 }]);
    l.add('$share/g/t');
    l.remove('$share/g/t');
    expect(l.changed).toBe(false);
    expect(l.drain()).toEqual([]);
    l.remove('$share/g/t');
    l.remove('$share/g/t');
    l.remove('$share/g/t');
    expect(l.drain()).toEqual([{ filter: '$share/g/t', count: 0 }]);
  });

  it('leaves out a filter that came and went within one drain, and keeps first-change order', () => {
    const l = new LocalInterest();
    l.add('x');
    l.remove('x');
    expect(l.changed).toBe(false);
    l.add('b');
    l.add('$share/g/x');
    l.add('a');
    l.add('b');
    l.add('x');
    expect(l.drain()).toEqual([
      { filter: 'x', count: 1 },
      { filter: 'b', count: 2 },
      { filter: '$share/g/x', count: 1 },
      { filter: 'a', count: 1 },
    ]);
    expect(l.changed).toBe(false);
    expect(new Map(l.entries())).toEqual(new Map([['x', 1], ['b', 2], ['$share/g/x', 1], ['a', 1]]));
  });

  it('matches a model: what others know after each drain equals the counts, changed is exact', () => {
    const filter = fc.constantFrom('a', 'b/#', '$share/g/a', '$share/h/+');
    const op = fc.tuple(fc.constantFrom('add', 'remove', 'drain'), filter);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const l = new LocalInterest();
        const known = new Map<string, number>(); // what the other nodes were told
        const apply = (ds: InterestDelta[]): void => {
          expect(new Set(ds.map((d) => d.filter)).size).toBe(ds.length);
          for (const d of ds) {
            expect(d.count).toBe(l.count(d.filter));
            if (d.count === 0) known.delete(d.filter);
            else known.set(d.filter, d.count);
          }
        };
        const agrees = (): boolean => {
          for (const f of ['a', 'b/#', '$share/g/a', '$share/h/+']) {
            const k = known.get(f) ?? 0;
            const n = l.count(f);
            if (f.startsWith('$share/') ? k !== n : (k > 0) !== (n > 0)) return false;
          }
          return true;
        };
        for (const [kind, f] of ops) {
          if (kind === 'add') l.add(f);
          else if (kind === 'remove') l.remove(f);
          else apply(l.drain());
          expect(l.changed).toBe(!agrees());
        }
        apply(l.drain());
        expect(agrees()).toBe(true);
      }),
    );
  });
});

describe('RemoteInterest', () => {
  it('finds each node with a matching filter once, by MQTT rules', () => {
    const r = new RemoteInterest();
    const out: string[] = ['stale'];
    expect(r.nodesFor('a/b/c', out)).toBe(0);
    expect(out).toEqual([]);
    r.apply('n1', 'a/+/c', 1);
    r.apply('n1', 'a/#', 1);
    r.apply('n1', '#', 1);
    r.apply('n2', 'a/b/c', 3);
    r.apply('n3', '$SYS/#', 1);
    r.apply('n4', '+/b/c', 1);
    expect(r.nodesFor('a/b/c', out)).toBe(3);
    expect(out.sort()).toEqual(['n1', 'n2', 'n4']);
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a $ topic.
    expect(r.nodesFor('$SYS/x', out)).toBe(1);
    expect(out).toEqual(['n3']);
    expect(r.nodesFor('$SYS/b/c', out)).toBe(1);
    expect(r.nodesFor('q', out)).toBe(1); // '#'
    expect(out).toEqual(['n1']);
    r.apply('n1', '#', 0);
    r.apply('n1', 'a/#', 0);
    r.apply('n1', 'a/+/c', 0);
    expect(r.nodesFor('a/b/c', out)).toBe(2);
    expect(r.filters('n1')).toBeUndefined();
    expect([...r.nodes()].sort()).toEqual(['n2', 'n3', 'n4']);
    expect(r.filters('n2')).toEqual(new Map([['a/b/c', 3]]));
    r.apply('n2', 'a/b/c', 0);
    r.apply('n2', 'a/b/c', 0); // gone already: nothing
    expect(r.nodesFor('a/b/c', out)).toBe(1);
    expect(r.hasShares).toBe(false);
  });

  it('lists share groups with their members on each node, apart from plain routing', () => {
    const r = new RemoteInterest();
    expect(r.sharesFor('s/x')).toEqual([]);
    r.apply('n1', '$share/g/s/+', 2);
    r.apply('n2', '$share/g/s/+', 1);
    r.apply('n2', '$share/h/s/#', 1);
    r.apply('n3', '$share/g/other', 1);
    r.apply('n3', '$share/g/#', 1);
    expect(r.hasShares).toBe(true);
    const out: string[] = [];
    expect(r.nodesFor('s/x', out)).toBe(0);
    expect(membersOf(r, 's/x')).toEqual({
      '$share/g/s/+': { n1: 2, n2: 1 },
      '$share/h/s/#': { n2: 1 },
      '$share/g/#': { n3: 1 },
    });
    // [MQTT-4.7.2-1] holds for the filter inside a share too.
    expect(membersOf(r, '$SYS/x')).toEqual({});
    // One array, refilled by each call (documented), so routing allocates none.
    expect(r.sharesFor('s/x')).toBe(r.sharesFor('$SYS/x'));
    r.apply('n1', '$share/g/s/+', 5);
    expect(r.sharesFor('s/x').find((m) => m.group === '$share/g/s/+')?.members.get('n1')).toBe(5);
    r.apply('n1', '$share/g/s/+', 0);
    expect(membersOf(r, 's/x')['$share/g/s/+']).toEqual({ n2: 1 });
    r.dropNode('n2');
    expect(Object.keys(membersOf(r, 's/x'))).toEqual(['$share/g/#']);
    r.dropNode('n3');
    expect(r.hasShares).toBe(false);
    expect(r.sharesFor('s/x')).toEqual([]);
    expect([...r.nodes()]).toEqual([]);
  });

  it('replaces a node whole and drops it whole, leaving the other nodes alone', () => {
    const r = new RemoteInterest();
    r.apply('n1', 'old', 1);
    r.apply('n1', '$share/g/old', 1);
    r.apply('n2', 'old', 1);
    r.apply('n2', '$share/g/old', 4);
    r.replaceNode('n1', [['new/#', 1], ['$share/g/new', 2]]);
    const out: string[] = [];
    expect(r.nodesFor('old', out)).toBe(1);
    expect(out).toEqual(['n2']);
    expect(r.nodesFor('new/x', out)).toBe(1);
    expect(out).toEqual(['n1']);
    expect(membersOf(r, 'old')).toEqual({ '$share/g/old': { n2: 4 } });
    expect(membersOf(r, 'new')).toEqual({ '$share/g/new': { n1: 2 } });
    expect(r.filters('n1')).toEqual(new Map([['new/#', 1], ['$share/g/new', 2]]));
    r.replaceNode('n1', []);
    expect(r.filters('n1')).toBeUndefined();
    r.dropNode('n2');
    r.dropNode('n2');
    expect(r.nodesFor('old', out)).toBe(0);
    expect(r.hasShares).toBe(false);
    expect(r.rejected).toBe(0);
  });

  it('ignores and counts a filter or count that does not parse, and never throws', () => {
    const r = new RemoteInterest();
    r.replaceNode('n1', [['a/#/b', 1], ['ok', 1], ['$share//x', 1], ['$share/g', 1], ['x+', 1], ['', 1]]);
    r.apply('n1', 'y', Number.NaN);
    r.apply('n1', 'y', -1);
    r.apply('n1', 'y', 1.5);
    r.apply('n1', 'y', 'bad' as unknown as number);
    r.apply('n1', 42 as unknown as string, 1);
    expect(r.rejected).toBe(10);
    expect(r.filters('n1')).toEqual(new Map([['ok', 1]]));
    const out: string[] = [];
    expect(r.nodesFor('ok', out)).toBe(1);
    expect(r.hasShares).toBe(false);
  });

  it('agrees with a brute-force matcher on random filters, counts and topics', () => {
    const level = fc.constantFrom('a', 'b', '', '$x');
    const filterLevel = fc.constantFrom('a', 'b', '', '+', '$x');
    const plainFilter = fc
      .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([ls, hash]) => (hash ? [...ls, '#'] : ls).join('/'))
      .filter((f) => f.length > 0);
    const filter = fc.oneof(plainFilter, fc.constant('#'), plainFilter.map((f) => `$share/g/${f}`), plainFilter.map((f) => `$share/h/${f}`));
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/')).filter((t) => t.length > 0);
    const change = fc.tuple(fc.constantFrom('n1', 'n2', 'n3'), filter, fc.constantFrom(0, 1, 2, 3));
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), fc.array(topic, { minLength: 1, maxLength: 6 }), (changes, topics) => {
        const r = new RemoteInterest();
        const model = new Map<string, Map<string, number>>();
        for (const [node, f, count] of changes) {
          r.apply(node, f, count);
          const m = model.get(node) ?? new Map<string, number>();
          if (count === 0) m.delete(f);
          else m.set(f, count);
          if (m.size === 0) model.delete(node);
          else model.set(node, m);
        }
        expect(r.rejected).toBe(0);
        const out: string[] = [];
        for (const t of topics) {
          const plain = new Set<string>();
          const shares: Record<string, Record<string, number>> = {};
          for (const [node, m] of model) {
            for (const [f, count] of m) {
              const share = /^\$share\/[^/]+\//.exec(f);
              if (!topicMatches(share ? f.slice(share[0].length) : f, t)) continue;
              if (share) (shares[f] ??= {})[node] = count;
              else plain.add(node);
            }
          }
          expect(r.nodesFor(t, out)).toBe(plain.size);
          expect([...out].sort()).toEqual([...plain].sort());
          expect(membersOf(r, t)).toEqual(shares);
        }
        expect(r.hasShares).toBe([...model.values()].some((m) => [...m.keys()].some((f) => f.startsWith('$share/'))));
        expect(new Set(r.nodes())).toEqual(new Set(model.keys()));
      }),
    );
  });
});
