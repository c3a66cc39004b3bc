import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/core/codec/constants.js';
import { MAX_TOPIC_LEVELS, RetainedIndex } from '../../../src/core/topic/index.js';

/** Reads the private root to check pruning; the index exposes no node API. */
function rootIsEmpty<T>(index: RetainedIndex<T>): boolean {
  return (index as unknown as { root: { children: unknown } }).root.children === undefined;
}

const TOPICS = [
  'sport/tennis/player1',
  'sport/tennis/player1/ranking',
  'sport/tennis/player2',
  'sport/football',
  'sport',
  'sport/',
  '/finance',
  'finance',
  '$SYS/broker/uptime',
  '$SYS/monitor/Clients',
  'a//b',
];

describe('RetainedIndex', () => {
  it('stores, replaces, reads and deletes values by topic name', () => {
    const index = new RetainedIndex<string>();
    index.set('a/b', 'one');
    index.set('a/b', 'two');
    expect(index.size).toBe(1);
    expect(index.get('a/b')).toBe('two');
    expect(index.has('a/b')).toBe(true);
    expect(index.get('a')).toBeUndefined();
    expect(index.has('a')).toBe(false);
    expect(index.delete('a')).toBe(false);
    expect(index.delete('a/b')).toBe(true);
    expect(index.delete('a/b')).toBe(false);
    expect(index.size).toBe(0);
    expect(index.get('a/b')).toBeUndefined();
  });

  it('keeps a value that is undefined apart from no value', () => {
    const index = new RetainedIndex<string | undefined>();
    index.set('a', undefined);
    expect(index.has('a')).toBe(true);
    expect(index.match('#')).toStrictEqual([undefined]);
  });

  it.each([
    ['sport/tennis/+', ['sport/tennis/player1', 'sport/tennis/player2']],
    ['sport/tennis/player1/#', ['sport/tennis/player1', 'sport/tennis/player1/ranking']],
    ['sport/#', [
      'sport', 'sport/', 'sport/football', 'sport/tennis/player1', 'sport/tennis/player1/ranking', 'sport/tennis/player2',
    ]],
    ['sport/+', ['sport/', 'sport/football']],
    ['+', ['finance', 'sport']],
    ['+/+', ['/finance', 'sport/', 'sport/football']],
    ['/+', ['/finance']],
    ['+/+/+', ['a//b', 'sport/tennis/player1', 'sport/tennis/player2']],
    ['a/+/b', ['a//b']],
    ['finance', ['finance']],
    ['nothing/+', []],
    // [MQTT-4.7.2-1]: wildcards at the first level skip '$' topics; explicit '$SYS' reaches them.
    ['#', TOPICS.filter((t) => !t.startsWith('$'))],
    ['+/monitor/Clients', []],
    ['$SYS/#', ['$SYS/broker/uptime', '$SYS/monitor/Clients']],
    ['$SYS/monitor/+', ['$SYS/monitor/Clients']],
  ])('matches %j', (filter, expected) => {
    const index = new RetainedIndex<string>();
    for (const t of TOPICS) index.set(t, t);
    expect(index.match(filter).sort()).toStrictEqual([...expected].sort());
  });

  it('empties and refills an array passed as out, returning it', () => {
    const index = new RetainedIndex<number>();
    index.set('a', 1);
    index.set('b', 2);
    const out: number[] = [9, 9, 9];
    expect(index.match('a', out)).toBe(out);
    expect(out).toStrictEqual([1]);
    expect(index.match('c', out)).toStrictEqual([]);
  });

  it('prunes empty branches on delete but keeps those that still hold a topic', () => {
    const index = new RetainedIndex<number>();
    index.set('a/b/c', 1);
    index.set('a', 2);
    index.set('a/b/d', 3);
    expect(index.delete('a/b/c')).toBe(true);
    expect(index.match('a/#').sort()).toStrictEqual([2, 3]);
    expect(index.delete('a')).toBe(true);
    expect(index.match('a/#')).toStrictEqual([3]);
    expect(rootIsEmpty(index)).toBe(false);
    expect(index.delete('a/b/d')).toBe(true);
    expect(rootIsEmpty(index)).toBe(true);
    // The branch can be rebuilt after pruning.
    index.set('a/b/c', 4);
    expect(index.match('a/+/c')).toStrictEqual([4]);
  });

  it('iterates [topic, value] pairs and clears', () => {
    const index = new RetainedIndex<number>();
    index.set('x', 1);
    index.set('y/z', 2);
    expect([...index]).toStrictEqual([['x', 1], ['y/z', 2]]);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.match('#')).toStrictEqual([]);
    expect(rootIsEmpty(index)).toBe(true);
  });

  it.each([['a/+'], ['#'], [''], ['a\u0000'], [Array.from({ length: MAX_TOPIC_LEVELS + 1 }, () => 'x').join('/')]])(
    'refuses to store under the invalid topic name %#',
    (topic) => {
      const index = new RetainedIndex<number>();
      expect(() => index.set(topic, 1)).toThrow(expect.objectContaining({ reasonCode: ReasonCode.TopicNameInvalid }));
      expect(index.size).toBe(0);
    },
  );

  it.each([['a/#/b'], ['a+'], ['']])('refuses to match with the invalid filter %j', (filter) => {
    const index = new RetainedIndex<number>();
    index.set('a', 1);
    expect(() => index.match(filter)).toThrow(expect.objectContaining({ reasonCode: ReasonCode.TopicFilterInvalid }));
  });

  it('honours maxLevels', () => {
    const index = new RetainedIndex<number>({ maxLevels: 2 });
    expect(() => index.set('a/b/c', 1)).toThrow();
    index.set('a/b', 1);
    expect(() => index.match('a/b/c')).toThrow();
    expect(index.match('a/#')).toStrictEqual([1]);
  });
});
