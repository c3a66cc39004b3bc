import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/core/codec/constants.js';
import { MqttError } from '../../../src/core/codec/errors.js';
import {
  MAX_TOPIC_LEVELS,
  isValidTopicFilter,
  isValidTopicName,
  parseSubscriptionFilter,
  validateTopicFilter,
  validateTopicName,
} from '../../../src/core/topic/index.js';

/** Runs `fn` and returns the MqttError it throws; fails the test if it does not throw one. */
function thrown(fn: () => unknown): MqttError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MqttError);
    return err as MqttError;
  }
  throw new Error('expected an MqttError');
}

const levels = (n: number): string => Array.from({ length: n }, (_, i) => `l${i}`).join('/');

/** A readable test title for inputs that may be 65,535 characters long. */
function show(s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 16))}... (${s.length} UTF-16 units)` : JSON.stringify(s);
}
/** Prefixes each table row with its title. */
function titled<R extends [string, ...unknown[]]>(rows: R[]): [string, ...R][] {
  return rows.map((row) => [show(row[0]), ...row]);
}

describe('validateTopicName', () => {
  it.each(titled([
    ['sport/tennis/player1'],
    ['/finance'], // a leading '/' makes an empty first level (MQTT 4.7.3)
    ['finance/'],
    ['a//b'],
    ['/'],
    ['Accounts payable'], // spaces are allowed [MQTT 4.7.3]
    ['$SYS/broker/uptime'],
    ['$share/g/a'], // only a SUBSCRIBE filter gives $share a meaning
    ['caf\u00e9/\u{1F600}'], // a surrogate pair is one well-formed code point
    ['\u00e9'.repeat(32_767) + 'a'], // 65,535 bytes exactly [MQTT-4.7.3-3]
    ['a'.repeat(65_535)],
    [levels(MAX_TOPIC_LEVELS)],
  ]))('accepts %s', (_title, name) => {
    expect(() => validateTopicName(name)).not.toThrow();
    expect(isValidTopicName(name)).toBe(true);
  });

  it.each(titled([
    // [MQTT-4.7.3-1]
    ['', 'at least one character'],
    // [MQTT-3.3.2-2]
    ['sport/+', "wildcards '+' or '#'"],
    ['sport/#', "wildcards '+' or '#'"],
    ['sport/tennis#', "wildcards '+' or '#'"],
    ['+', "wildcards '+' or '#'"],
    // [MQTT-4.7.3-2]
    ['a\u0000b', 'U+0000'],
    // [MQTT-4.7.3-3]: 32,768 two-byte characters are 65,536 bytes in only 32,768 UTF-16 units
    ['\u00e9'.repeat(32_768), '65535 bytes'],
    ['a'.repeat(65_536), '65535 bytes'],
    // [MQTT-1.5.3-1] [MQTT-1.5.4-1]: unpaired surrogates have no UTF-8 encoding
    ['a\ud800', 'unpaired surrogate'],
    ['a\ud800b', 'unpaired surrogate'],
    ['\udc00a', 'unpaired surrogate'],
    // The level guard (CVE-2019-11779 in mosquitto)
    [levels(MAX_TOPIC_LEVELS + 1), `limit of ${MAX_TOPIC_LEVELS}`],
    ['/'.repeat(65_000), `limit of ${MAX_TOPIC_LEVELS}`],
  ]))('rejects %s with TopicNameInvalid (0x90)', (_title, name, message) => {
    const err = thrown(() => validateTopicName(name));
    expect(err.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    expect(err.reasonCode).toBe(0x90);
    expect(err.message).toContain(message);
    expect(isValidTopicName(name)).toBe(false);
  });

  it('takes another level limit when asked', () => {
    expect(isValidTopicName('a/b/c', 2)).toBe(false);
    expect(isValidTopicName('a/b', 2)).toBe(true);
    expect(isValidTopicName(levels(1000), Infinity)).toBe(true);
    expect(thrown(() => validateTopicName('a/b/c', 2)).message).toContain('limit of 2');
  });

  it('shortens a long topic in the message', () => {
    const err = thrown(() => validateTopicName('x'.repeat(70_000)));
    expect(err.message.length).toBeLessThan(200);
  });
});

describe('validateTopicFilter', () => {
  it.each(titled([
    // MQTT 3.1.1 / 5.0 section 4.7.1.2
    ['sport/tennis/player1/#'],
    ['sport/tennis/#'],
    ['#'],
    ['sport/#'],
    // 4.7.1.3
    ['+'],
    ['+/tennis/#'],
    ['sport/+/player1'],
    ['sport/+'],
    ['+/+'],
    ['/+'],
    ['/#'],
    ['+/+/+'],
    ['a//b'],
    ['$SYS/#'],
    ['$SYS/monitor/+'],
    ['$share/g/a'], // as a plain filter, $share is an ordinary level
    [levels(MAX_TOPIC_LEVELS)],
  ]))('accepts %s', (_title, filter) => {
    expect(() => validateTopicFilter(filter)).not.toThrow();
    expect(isValidTopicFilter(filter)).toBe(true);
  });

  it.each(titled([
    // [MQTT-4.7.3-1]
    ['', 'at least one character'],
    // [MQTT-4.7.1-2] '#' alone in the last level
    ['sport/tennis#', "'#' only as the whole last level"],
    ['sport/tennis/#/ranking', "'#' only as the whole last level"],
    ['#/', "'#' only as the whole last level"],
    ['##', "'#' only as the whole last level"],
    ['a/#b', "'#' only as the whole last level"],
    // [MQTT-4.7.1-3] '+' alone in its level
    ['sport+', "'+' only as a whole level"],
    ['sport/+tennis', "'+' only as a whole level"],
    ['++', "'+' only as a whole level"],
    ['a/b+/c', "'+' only as a whole level"],
    // [MQTT-4.7.3-2]
    ['a/\u0000', 'U+0000'],
    // [MQTT-4.7.3-3]
    ['a'.repeat(65_534) + '/#', '65535 bytes'],
    // [MQTT-1.5.3-1] [MQTT-1.5.4-1]
    ['a/\udfff', 'unpaired surrogate'],
    [levels(MAX_TOPIC_LEVELS + 1), `limit of ${MAX_TOPIC_LEVELS}`],
  ]))('rejects %s with TopicFilterInvalid (0x8F)', (_title, filter, message) => {
    const err = thrown(() => validateTopicFilter(filter));
    expect(err.reasonCode).toBe(ReasonCode.TopicFilterInvalid);
    expect(err.reasonCode).toBe(0x8f);
    expect(err.message).toContain(message);
    expect(isValidTopicFilter(filter)).toBe(false);
  });
});

describe('parseSubscriptionFilter', () => {
  it.each([
    ['sport/tennis/+', { filter: 'sport/tennis/+' }],
    ['#', { filter: '#' }],
    ['$share/consumers/sport/tennis/+', { filter: 'sport/tennis/+', shareGroup: 'consumers' }],
    ['$share/g/#', { filter: '#', shareGroup: 'g' }],
    ['$share/g/$SYS/#', { filter: '$SYS/#', shareGroup: 'g' }],
    ['$share/g//', { filter: '/', shareGroup: 'g' }],
    ['$share/g/$share/h/x', { filter: '$share/h/x', shareGroup: 'g' }],
    ['$share/\u00e9quipe/a', { filter: 'a', shareGroup: '\u00e9quipe' }],
    // Not a shared subscription: the prefix is exactly "$share/", case-sensitive.
    ['$share', { filter: '$share' }],
    ['$shared/g/a', { filter: '$shared/g/a' }],
    ['$SHARE/g/a', { filter: '$SHARE/g/a' }],
    ['a/$share/g/b', { filter: 'a/$share/g/b' }],
  ])('parses %j', (input, expected) => {
    expect(parseSubscriptionFilter(input)).toStrictEqual(expected);
  });

  it.each(titled([
    // [MQTT-4.8.2-1] a ShareName of at least one character
    ['$share/', 'needs a share name'],
    ['$share//a', 'needs a share name'],
    // [MQTT-4.8.2-2] followed by '/' and a topic filter
    ['$share/g', 'needs a topic filter'],
    ['$share/g/', 'needs a topic filter'],
    // [MQTT-4.8.2-2] no '+' or '#' in the ShareName
    ['$share/+/a', "share name containing '+' or '#'"],
    ['$share/#/a', "share name containing '+' or '#'"],
    ['$share/g+/a', "share name containing '+' or '#'"],
    ['$share/g\u0000/a', 'U+0000'],
    ['$share/\ud800/a', 'unpaired surrogate'],
    // The filter after the group obeys the normal rules.
    ['$share/g/a#', "'#' only as the whole last level"],
    ['$share/g/a+/b', "'+' only as a whole level"],
    ['$share/g/a\u0000', 'U+0000'],
    ['$share/g/' + levels(MAX_TOPIC_LEVELS + 1), `limit of ${MAX_TOPIC_LEVELS}`],
    // [MQTT-4.7.3-3] the whole string, prefix included, is one UTF-8 string.
    ['$share/g/' + 'a'.repeat(65_535 - 9 + 1), '65535 bytes'],
    // Ordinary filters are validated as such.
    ['', 'at least one character'],
    ['sport/tennis#', "'#' only as the whole last level"],
  ]))('rejects %s with TopicFilterInvalid (0x8F)', (_title, input, message) => {
    const err = thrown(() => parseSubscriptionFilter(input));
    expect(err.reasonCode).toBe(ReasonCode.TopicFilterInvalid);
    expect(err.message).toContain(message);
  });

  it('accepts a shared filter of exactly 65,535 bytes', () => {
    const s = '$share/g/' + 'a'.repeat(65_535 - 9);
    expect(parseSubscriptionFilter(s).shareGroup).toBe('g');
  });
});
