import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/core/codec/constants.js';
import { MqttError } from '../../../src/core/codec/errors.js';
import { MAX_TOPIC_LEVELS, TopicTrie, type Subscription } from '../../../src/core/topic/index.js';

interface Opts {
  qos: number;
}

/** 'key:filter' for each result, sorted: results come in no particular order. */
function keys<T>(subs: Iterable<Subscription<T>>): string[] {
  return [...subs].map((s) => `${s.key}:${s.shareGroup === undefined ? '' : `$share/${s.shareGroup}/`}${s.filter}`).sort();
}

/** Reads the private root to check that removal prunes; the trie exposes no node API. */
function rootIsEmpty<T>(trie: TopicTrie<T>): boolean {
  const root = (trie as unknown as { root: Record<string, unknown> }).root;
  return ['children', 'plus', 'hash', 'subs', 'groups'].every((field) => root[field] === undefined);
}

describe('TopicTrie add/get/remove', () => {
  it('returns every subscription matching a topic, with its key, filter and value', () => {
    const trie = new TopicTrie<Opts>();
    trie.add('building/+/temp', 'c1', { qos: 1 });
    trie.add('building/#', 'c2', { qos: 0 });
    trie.add('building/f1/temp', 'c3', { qos: 2 });
    trie.add('building/f1/hum', 'c4', { qos: 2 });
    const result = trie.match('building/f1/temp');
    expect(keys(result)).toStrictEqual(['c1:building/+/temp', 'c2:building/#', 'c3:building/f1/temp']);
    const c3 = result.find((s) => s.key === 'c3');
    expect(c3).toStrictEqual({ key: 'c3', filter: 'building/f1/temp', shareGroup: undefined, value: { qos: 2 } });
  });

  // [MQTT-3.8.4-3] a SUBSCRIBE with an existing filter replaces the subscription.
  it('replaces the value when the same key subscribes to the same filter again', () => {
    const trie = new TopicTrie<Opts>();
    expect(trie.add('a/+', 'c1', { qos: 0 })).toBeUndefined();
    const previous = trie.add('a/+', 'c1', { qos: 2 });
    expect(previous?.value).toStrictEqual({ qos: 0 });
    expect(trie.size).toBe(1);
    expect(trie.match('a/b').map((s) => s.value)).toStrictEqual([{ qos: 2 }]);
    expect(trie.get('a/+', 'c1')?.value).toStrictEqual({ qos: 2 });
    // The replaced object is left as it was: subscriptions are immutable snapshots.
    expect(previous?.value).toStrictEqual({ qos: 0 });
  });

  it('keeps one subscription per (filter, key), several filters per key', () => {
    const trie = new TopicTrie<number>();
    trie.add('a/b', 'c1', 1);
    trie.add('a/+', 'c1', 2);
    trie.add('a/#', 'c1', 3);
    trie.add('a/b', 'c2', 4);
    expect(trie.size).toBe(4);
    expect(trie.match('a/b').map((s) => s.value).sort()).toStrictEqual([1, 2, 3, 4]);
  });

  it('removes by filter and key, reporting whether anything was removed', () => {
    const trie = new TopicTrie<number>();
    trie.add('a/b', 'c1', 1);
    trie.add('a/b', 'c2', 2);
    trie.add('a/b', 'c3', 3);
    expect(trie.remove('a/b', 'c1')).toBe(true);
    expect(trie.remove('a/b', 'c1')).toBe(false);
    expect(trie.remove('a/c', 'c2')).toBe(false);
    expect(trie.remove('a/+', 'c2')).toBe(false);
    expect(trie.remove('$share/g/a/b', 'c2')).toBe(false);
    expect(trie.size).toBe(2);
    expect(keys(trie.match('a/b'))).toStrictEqual(['c2:a/b', 'c3:a/b']);
    // The swap-with-last removal must keep the key index right for later removals.
    expect(trie.remove('a/b', 'c3')).toBe(true);
    expect(trie.get('a/b', 'c2')?.value).toBe(2);
    expect(trie.remove('a/b', 'c2')).toBe(true);
    expect(trie.match('a/b')).toStrictEqual([]);
  });

  // A node scans its first few subscribers and indexes them from the eighth on: add, replace,
  // get and remove must agree with a plain Map on either side of that line, and across it.
  it('keeps many subscribers of one filter straight as they come, replace and go', () => {
    const trie = new TopicTrie<number>();
    const model = new Map<string, number>();
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let step = 0; step < 3_000; step++) {
      const key = `c${next(24)}`;
      if (next(3) === 0) {
        expect(trie.remove('a/b', key)).toBe(model.delete(key));
      } else {
        const replaced = trie.add('a/b', key, step);
        expect(replaced?.value).toBe(model.get(key));
        model.set(key, step);
      }
      expect(trie.size).toBe(model.size);
      expect(trie.get('a/b', key)?.value).toBe(model.get(key));
      if (step % 50 === 0) {
        const got = new Map(trie.match('a/b').map((sub) => [sub.key, sub.value] as const));
        expect(got).toStrictEqual(model);
      }
    }
    for (const key of [...model.keys()]) expect(trie.remove('a/b', key)).toBe(true);
    expect(trie.match('a/b')).toStrictEqual([]);
    expect(rootIsEmpty(trie)).toBe(true);
  });

  it('returns false when removing an invalid filter instead of throwing', () => {
    const trie = new TopicTrie<number>();
    expect(trie.remove('a/#/b', 'c1')).toBe(false);
    expect(trie.remove('', 'c1')).toBe(false);
    expect(trie.get('$share//a', 'c1')).toBeUndefined();
  });

  it('prunes nodes left empty, so churn does not grow the trie', () => {
    const trie = new TopicTrie<number>();
    const filters = ['a/b/c', 'a/+/c', 'a/#', '#', '+', 'a//b', '$share/g/a/b', '$share/h/#', '$SYS/x'];
    for (let round = 0; round < 3; round++) {
      for (const f of filters) trie.add(f, 'k1', 1);
      for (const f of filters) trie.add(f, 'k2', 2);
      expect(trie.size).toBe(filters.length * 2);
      for (const f of filters) expect(trie.remove(f, 'k1')).toBe(true);
      expect(rootIsEmpty(trie)).toBe(false);
      for (const f of filters) expect(trie.remove(f, 'k2')).toBe(true);
      expect(trie.size).toBe(0);
      expect(rootIsEmpty(trie)).toBe(true);
    }
  });

  it('lists every subscription through its iterator, and clear() empties it', () => {
    const trie = new TopicTrie<number>();
    trie.add('a', 'c1', 1);
    trie.add('a/+', 'c1', 2);
    trie.add('#', 'c2', 3);
    trie.add('$share/g/a', 'c3', 4);
    expect(keys(trie)).toStrictEqual(['c1:a', 'c1:a/+', 'c2:#', 'c3:$share/g/a']);
    trie.clear();
    expect(trie.size).toBe(0);
    expect([...trie]).toStrictEqual([]);
    expect(trie.match('a')).toStrictEqual([]);
  });

  it('accepts keys of any type', () => {
    const a = { id: 'a' };
    const b = { id: 'b' };
    const trie = new TopicTrie<number, object>();
    trie.add('x', a, 1);
    trie.add('x', b, 2);
    trie.add('x', a, 3);
    expect(trie.match('x').map((s) => s.value).sort()).toStrictEqual([2, 3]);
  });
});

describe('TopicTrie matching', () => {
  // [MQTT-4.7.2-1]
  it("does not match '$' topics with filters starting with a wildcard, but does below the first level", () => {
    const trie = new TopicTrie<number>();
    trie.add('#', 'all', 1);
    trie.add('+/x', 'plus', 1);
    trie.add('+/#', 'plushash', 1);
    trie.add('$SYS/#', 'sys', 1);
    trie.add('a/#', 'a', 1);
    trie.add('a/+', 'aplus', 1);
    expect(keys(trie.match('$SYS/x'))).toStrictEqual(['sys:$SYS/#']);
    expect(keys(trie.match('$SYS'))).toStrictEqual(['sys:$SYS/#']);
    expect(keys(trie.match('a/$x'))).toStrictEqual(['a:a/#', 'all:#', 'aplus:a/+', 'plushash:+/#']);
  });

  it("matches '#' against the parent level and empty levels with '+'", () => {
    const trie = new TopicTrie<number>();
    trie.add('a/#', 'hash', 1);
    trie.add('a/+', 'plus', 1);
    trie.add('+/+/+', 'three', 1);
    expect(keys(trie.match('a'))).toStrictEqual(['hash:a/#']);
    expect(keys(trie.match('a/'))).toStrictEqual(['hash:a/#', 'plus:a/+']);
    expect(keys(trie.match('//'))).toStrictEqual(['three:+/+/+']);
    expect(keys(trie.match('a//'))).toStrictEqual(['hash:a/#', 'three:+/+/+']);
  });

  it('empties and refills an array passed as out, returning it', () => {
    const trie = new TopicTrie<number>();
    trie.add('a/+', 'c1', 1);
    trie.add('b', 'c1', 2);
    const stale: Subscription<number> = { key: 'old', filter: 'old', shareGroup: undefined, value: 0 };
    const out: Subscription<number>[] = [stale, stale, stale];
    expect(trie.match('a/x', out)).toBe(out);
    expect(out.map((s) => s.value)).toStrictEqual([1]);
    trie.match('b', out);
    expect(out.map((s) => s.value)).toStrictEqual([2]);
    trie.match('nothing', out);
    expect(out).toStrictEqual([]);
  });

  it('rejects a filter over the level limit with TopicFilterInvalid, and honours maxLevels', () => {
    const trie = new TopicTrie<number>();
    const deep = Array.from({ length: MAX_TOPIC_LEVELS + 1 }, () => 'x').join('/');
    const err = (() => {
      try {
        trie.add(deep, 'c', 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MqttError);
    expect((err as MqttError).reasonCode).toBe(ReasonCode.TopicFilterInvalid);
    expect(trie.size).toBe(0);
    const small = new TopicTrie<number>({ maxLevels: 2 });
    expect(() => small.add('a/b/c', 'c', 1)).toThrow(MqttError);
    expect(() => small.add('a/#', 'c', 1)).not.toThrow();
  });

  it.each([['sport/tennis#'], ['a/#/b'], ['+a'], [''], ['$share/+/a'], ['$share/g']])(
    'refuses the invalid filter %j with TopicFilterInvalid',
    (filter) => {
      const trie = new TopicTrie<number>();
      expect(() => trie.add(filter, 'c', 1)).toThrow(
        expect.objectContaining({ reasonCode: ReasonCode.TopicFilterInvalid }),
      );
    },
  );

  it('matches a topic far deeper than any filter without splitting all of it', () => {
    const trie = new TopicTrie<number>();
    trie.add('a/#', 'hash', 1);
    trie.add('a/+', 'plus', 1);
    trie.add('+/b/c', 'deep', 1);
    const topic = 'a' + '/x'.repeat(30_000);
    expect(keys(trie.match(topic))).toStrictEqual(['hash:a/#']);
    expect(keys(trie.match('a/b/c/d'))).toStrictEqual(['hash:a/#']);
    expect(keys(trie.match('a/b/c'))).toStrictEqual(['deep:+/b/c', 'hash:a/#']);
  });
});

describe('TopicTrie shared subscriptions', () => {
  it('delivers to one member per group, rotating round-robin on each match', () => {
    const trie = new TopicTrie<number>();
    trie.add('$share/g/sensors/+', 'm1', 1);
    trie.add('$share/g/sensors/+', 'm2', 2);
    trie.add('$share/g/sensors/+', 'm3', 3);
    trie.add('sensors/+', 'plain', 0);
    const picked: string[] = [];
    for (let i = 0; i < 6; i++) {
      const result = trie.match('sensors/t1');
      expect(result.length).toBe(2);
      const shared = result.filter((s) => s.shareGroup === 'g');
      expect(shared.length).toBe(1);
      expect(shared[0]!.filter).toBe('sensors/+');
      picked.push(String(shared[0]!.key));
    }
    expect(picked).toStrictEqual(['m1', 'm2', 'm3', 'm1', 'm2', 'm3']);
  });

  it('keeps groups apart by name and by filter', () => {
    const trie = new TopicTrie<number>();
    trie.add('$share/g1/a/+', 'x', 1);
    trie.add('$share/g2/a/+', 'y', 1);
    trie.add('$share/g1/a/#', 'z', 1);
    trie.add('$share/g1/b', 'w', 1);
    expect(keys(trie.match('a/b'))).toStrictEqual(['x:$share/g1/a/+', 'y:$share/g2/a/+', 'z:$share/g1/a/#']);
    expect(trie.size).toBe(4);
  });

  it('lets the same key be a plain subscriber and a group member of the same filter', () => {
    const trie = new TopicTrie<number>();
    trie.add('a', 'c1', 1);
    trie.add('$share/g/a', 'c1', 2);
    expect(trie.size).toBe(2);
    expect(trie.match('a').map((s) => s.value).sort()).toStrictEqual([1, 2]);
    expect(trie.remove('a', 'c1')).toBe(true);
    expect(trie.match('a').map((s) => s.value)).toStrictEqual([2]);
  });

  it('replacing a member keeps its turn; removing one keeps the rotation fair', () => {
    const trie = new TopicTrie<string>();
    for (const m of ['m1', 'm2', 'm3', 'm4']) trie.add('$share/g/t', m, m);
    const next = (): string => trie.match('t')[0]!.value;
    expect(next()).toBe('m1');
    expect(next()).toBe('m2');
    // m3 is next; re-subscribing it with new options must not change the order.
    expect(trie.add('$share/g/t', 'm3', 'm3*')?.value).toBe('m3');
    expect(trie.size).toBe(4);
    expect(next()).toBe('m3*');
    // Removing a member that already had its turn: m4 is still next.
    expect(trie.remove('$share/g/t', 'm1')).toBe(true);
    expect(next()).toBe('m4');
    // Removing the member whose turn is next passes the turn on.
    expect(trie.remove('$share/g/t', 'm2')).toBe(true);
    expect(next()).toBe('m3*');
    expect(trie.remove('$share/g/t', 'm4')).toBe(true);
    expect(next()).toBe('m3*');
    expect(next()).toBe('m3*');
    expect(trie.get('$share/g/t', 'm3')?.value).toBe('m3*');
    expect(trie.remove('$share/g/t', 'm3')).toBe(true);
    expect(trie.match('t')).toStrictEqual([]);
    expect(rootIsEmpty(trie)).toBe(true);
  });

  it('skips members that are not available, and falls back to the rotation when none is', () => {
    const online = new Set(['m2', 'm3']);
    const trie = new TopicTrie<number>({ isAvailable: (_value, key) => online.has(key) });
    for (const m of ['m1', 'm2', 'm3']) trie.add('$share/g/t', m, 0);
    const next = (): string => trie.match('t')[0]!.key;
    expect([next(), next(), next(), next()]).toStrictEqual(['m2', 'm3', 'm2', 'm3']);
    online.clear();
    // Nobody online: the message still goes to one session (it will be queued), in turn.
    expect([next(), next(), next()]).toStrictEqual(['m1', 'm2', 'm3']);
    online.add('m1');
    expect([next(), next()]).toStrictEqual(['m1', 'm1']);
  });

  it('stays correct when isAvailable calls back into the trie', () => {
    let inner: string[] = [];
    const trie: TopicTrie<number> = new TopicTrie<number>({
      isAvailable: () => {
        inner = trie.match('x/y/z').map((s) => String(s.key));
        return true;
      },
    });
    // The group sits on 'a/#', reached before the walk reads levels 'b' and 'c': a nested
    // match that overwrote the outer call's levels would make it miss 'a/b/c'.
    trie.add('$share/g/a/#', 'member', 1);
    trie.add('a/b/c', 'plain', 1);
    trie.add('x/+/z', 'other', 1);
    expect(keys(trie.match('a/b/c'))).toStrictEqual(['member:$share/g/a/#', 'plain:a/b/c']);
    expect(inner).toStrictEqual(['other']);
  });

  // [MQTT-4.7.2-1] applies to the filter inside $share as well.
  it("does not match '$' topics with a shared '#' filter", () => {
    const trie = new TopicTrie<number>();
    trie.add('$share/g/#', 'm', 1);
    expect(trie.match('$SYS/x')).toStrictEqual([]);
    expect(trie.match('a').length).toBe(1);
  });
});
