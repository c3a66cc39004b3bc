import { describe, expect, it } from 'vitest';
import { RetainedIndex, TopicTrie, topicMatches } from '../../../src/core/topic/index.js';

/**
 * [filter, topic, matches]. The examples of MQTT 3.1.1 and 5.0 section 4.7 first, then
 * mosquitto's util_topic_test.c rows for the corners the spec leaves implicit. Every row is
 * run through all three matchers: topicMatches, TopicTrie and RetainedIndex.
 */
const TABLE: [string, string, boolean][] = [
  // 4.7.1.2 multi-level wildcard
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true], // '#' includes the parent level
  ['sport/tennis/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/#', 'sport/tennisball', false],
  ['#', 'sport/tennis/player1', true],
  ['#', '/', true],
  // 4.7.1.3 single-level wildcard
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true], // '+' matches an empty level
  ['+/tennis/#', 'sport/tennis/player1', true],
  ['sport/+/player1', 'sport/tennis/player1', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+', 'finance', true],
  // 4.7.2 topics beginning with '$' [MQTT-4.7.2-1]
  ['#', '$SYS/broker/uptime', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/#', '$SYS', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['+', '$SYS', false],
  ['+/#', '$SYS/x', false],
  ['#', '$', false],
  // 4.7.3 topic semantics: case-sensitive, spaces and leading '/' are significant
  ['ACCOUNTS', 'Accounts', false],
  ['Accounts payable', 'Accounts payable', true],
  ['/finance', 'finance', false],
  ['finance', '/finance', false],
  // mosquitto util_topic_test.c: matches
  ['foo/bar', 'foo/bar', true],
  ['foo/+', 'foo/bar', true],
  ['foo/+/baz', 'foo/bar/baz', true],
  ['foo/+/#', 'foo/bar/baz', true],
  ['A/B/+/#', 'A/B/B/C', true],
  ['#', 'foo/bar/baz', true],
  ['#', '/foo/bar', true],
  ['/#', '/foo/bar', true],
  ['$SYS/bar', '$SYS/bar', true],
  ['foo/#', 'foo/$bar', true], // the '$' rule is about the first level only
  ['foo/+/baz', 'foo/$bar/baz', true],
  ['foo//bar', 'foo//bar', true],
  ['foo/+/bar', 'foo//bar', true],
  ['foo/+/+/baz', 'foo///baz', true],
  ['foo/bar/+', 'foo/bar/', true],
  ['foo/#', 'foo', true],
  ['foo/#', 'foo/', true],
  ['foo/#', 'foo//', true],
  ['+/+/+', '//', true],
  ['//', '//', true],
  // mosquitto util_topic_test.c: no match
  ['test/6/#', 'test/3', false],
  ['foo/bar', 'foo', false],
  ['foo', 'foo/bar', false],
  ['foo/+', 'foo/bar/baz', false],
  ['foo/+/baz', 'foo/bar/bar', false],
  ['foo/+/#', 'fo2/bar/baz', false],
  ['/#', 'foo/bar', false],
  ['#', '$SYS/bar', false],
  ['$BOB/bar', '$SYS/bar', false],
  ['+/bar', '$SYS/bar', false],
  ['+/+', '$a/b', false],
  ['foo/+/+', 'foo/bar', false],
  ['foo//bar', 'foo/bar', false],
  ['foo/bar/', 'foo/bar', false],
  ['foo/bar', 'foo/bar/', false],
  ['a/b/c/#', 'a/b', false],
  ['a/+', 'a', false],
  ['a', 'ab', false],
  ['ab', 'a', false],
];

describe('topicMatches', () => {
  it.each(TABLE)('%j vs %j → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('matches misplaced wildcards literally, so invalid filters still have a defined answer', () => {
    expect(topicMatches('a+', 'a+')).toBe(true);
    expect(topicMatches('a+', 'ab')).toBe(false);
    expect(topicMatches('#a', 'xa')).toBe(false);
    expect(topicMatches('a/#/b', 'a/#/b')).toBe(true);
    expect(topicMatches('a/#/b', 'a/x/b')).toBe(false);
  });
});

describe('TopicTrie agrees with the spec table', () => {
  it.each(TABLE)('%j vs %j → %s', (filter, topic, expected) => {
    const trie = new TopicTrie<number>();
    trie.add(filter, 'client', 1);
    expect(trie.match(topic).length).toBe(expected ? 1 : 0);
    // The same filter as a shared subscription follows the same rules.
    const shared = new TopicTrie<number>();
    shared.add(`$share/g/${filter}`, 'client', 1);
    expect(shared.match(topic).length).toBe(expected ? 1 : 0);
  });
});

describe('RetainedIndex agrees with the spec table', () => {
  it.each(TABLE)('%j vs %j → %s', (filter, topic, expected) => {
    const index = new RetainedIndex<string>();
    index.set(topic, topic);
    expect(index.match(filter)).toStrictEqual(expected ? [topic] : []);
  });
});
