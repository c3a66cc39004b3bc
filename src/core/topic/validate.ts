import { ReasonCode } from '../codec/constants.js';
import { MqttError } from '../codec/errors.js';

/**
 * Most levels a topic name or filter may have. The spec sets no limit, but every level of a
 * filter is a node in the subscription trie and a frame of the matcher's recursion, so a
 * 65,535-byte filter made of slashes would cost ~65,000 nodes for one SUBSCRIBE.
 * mosquitto learnt this as CVE-2019-11779 and refuses more than 200 separators
 * (TOPIC_HIERARCHY_LIMIT); 256 is the same guard with a rounder number, far past any real
 * topic tree. Every validator takes a `maxLevels` argument for callers that want another one.
 */
export const MAX_TOPIC_LEVELS = 256;

/** Longest topic in UTF-8 bytes: its length prefix is two bytes [MQTT-4.7.3-3]. */
export const MAX_TOPIC_BYTES = 65_535;

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const SHARE_PREFIX = '$share/';

// Outcomes of one scan; 0 is "valid". Numbers, not strings or objects, so the boolean
// variants used on hot paths allocate nothing.
const OK = 0;
const EMPTY = 1;
const TOO_LONG = 2;
const NULL_CHAR = 3;
const BAD_UTF16 = 4;
const WILDCARD_IN_NAME = 5;
const HASH_MISPLACED = 6;
const PLUS_MISPLACED = 7;
const TOO_MANY_LEVELS = 8;

const MESSAGES = [
  '',
  'must be at least one character long [MQTT-4.7.3-1]',
  `must not be longer than ${MAX_TOPIC_BYTES} bytes in UTF-8 [MQTT-4.7.3-3]`,
  'must not contain the null character U+0000 [MQTT-4.7.3-2]',
  'must be well-formed UTF-8: it holds an unpaired surrogate [MQTT-1.5.3-1] [MQTT-1.5.4-1]',
  "must not contain the wildcards '+' or '#' [MQTT-3.3.2-2]",
  "may use '#' only as the whole last level, as in 'a/#' [MQTT-4.7.1-2]",
  "may use '+' only as a whole level, as in 'a/+/b' [MQTT-4.7.1-3]",
  'has more levels than the limit of',
] as const;

/**
 * Scans s[start, end) once. `isFilter` allows wildcards in their legal places; for a name
 * any wildcard is an error. Length in bytes is only computed when the UTF-16 length could
 * exceed it (a UTF-16 unit is at most 3 UTF-8 bytes, a surrogate pair 4 for 2 units).
 */
function scan(s: string, start: number, end: number, isFilter: boolean, maxLevels: number): number {
  if (end === start) return EMPTY; // [MQTT-4.7.3-1]
  if (end - start > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(s.slice(start, end), 'utf8') > MAX_TOPIC_BYTES) {
    return TOO_LONG; // [MQTT-4.7.3-3]
  }
  let levels = 1;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === SLASH) {
      if (++levels > maxLevels) return TOO_MANY_LEVELS;
    } else if (c === PLUS) {
      if (!isFilter) return WILDCARD_IN_NAME; // [MQTT-3.3.2-2]
      // [MQTT-4.7.1-3] '+' must occupy an entire level.
      if ((i > start && s.charCodeAt(i - 1) !== SLASH) || (i + 1 < end && s.charCodeAt(i + 1) !== SLASH)) {
        return PLUS_MISPLACED;
      }
    } else if (c === HASH) {
      if (!isFilter) return WILDCARD_IN_NAME; // [MQTT-3.3.2-2]
      // [MQTT-4.7.1-2] '#' must be alone in its level and that level must be the last.
      if ((i > start && s.charCodeAt(i - 1) !== SLASH) || i + 1 !== end) return HASH_MISPLACED;
    } else if (c === 0) {
      return NULL_CHAR; // [MQTT-4.7.3-2]
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A JS string can hold a lone surrogate, which has no UTF-8 encoding
      // [MQTT-1.5.3-1] (3.1.1) [MQTT-1.5.4-1] (5.0).
      if (c >= 0xdc00) return BAD_UTF16;
      const next = i + 1 < end ? s.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return BAD_UTF16;
      i++;
    }
  }
  return OK;
}

function fail(reasonCode: number, what: string, s: string, code: number, maxLevels: number): never {
  const shown = s.length > 64 ? `${JSON.stringify(s.slice(0, 61))}...` : JSON.stringify(s);
  const detail = code === TOO_MANY_LEVELS ? `${MESSAGES[code]} ${maxLevels}` : MESSAGES[code];
  throw new MqttError(reasonCode, `${what} ${shown} ${detail ?? 'is invalid'}`);
}

/**
 * Throws MqttError(TopicNameInvalid, 0x90) unless `s` may be the topic of a PUBLISH: non-empty,
 * at most 65,535 UTF-8 bytes, no U+0000, well-formed UTF-16, no '+' or '#', at most
 * `maxLevels` levels.
 */
export function validateTopicName(s: string, maxLevels = MAX_TOPIC_LEVELS): void {
  const code = scan(s, 0, s.length, false, maxLevels);
  if (code !== OK) fail(ReasonCode.TopicNameInvalid, 'Topic name', s, code, maxLevels);
}

/**
 * Throws MqttError(TopicFilterInvalid, 0x8F) unless `s` is a valid topic filter: the rules of
 * a name, except that '+' may fill a whole level and '#' the whole last level. A `$share/`
 * prefix gets no special treatment here; use parseSubscriptionFilter for SUBSCRIBE filters.
 */
export function validateTopicFilter(s: string, maxLevels = MAX_TOPIC_LEVELS): void {
  const code = scan(s, 0, s.length, true, maxLevels);
  if (code !== OK) fail(ReasonCode.TopicFilterInvalid, 'Topic filter', s, code, maxLevels);
}

/** validateTopicName without the throw, for hot paths. */
export function isValidTopicName(s: string, maxLevels = MAX_TOPIC_LEVELS): boolean {
  return scan(s, 0, s.length, false, maxLevels) === OK;
}

/** validateTopicFilter without the throw, for hot paths. */
export function isValidTopicFilter(s: string, maxLevels = MAX_TOPIC_LEVELS): boolean {
  return scan(s, 0, s.length, true, maxLevels) === OK;
}

/** A SUBSCRIBE/UNSUBSCRIBE filter after its `$share/{group}/` prefix, if any, is taken off. */
export interface SubscriptionFilter {
  /** The topic filter to match topics with (without the `$share/{group}/` prefix). */
  filter: string;
  /** The ShareName when the filter was `$share/{group}/{filter}`. */
  shareGroup?: string;
}

function shareError(s: string, why: string): never {
  throw new MqttError(ReasonCode.TopicFilterInvalid, `Shared subscription ${JSON.stringify(s)} ${why}`);
}

/**
 * Validates a filter as received in SUBSCRIBE or UNSUBSCRIBE and splits off a shared
 * subscription's group, once, so nothing downstream re-checks the `$share/` prefix.
 * Throws MqttError(TopicFilterInvalid) for any invalid filter or share syntax.
 *
 * `$share` followed by anything but '/' (e.g. `$shared/x`, or `$share` alone) is an ordinary
 * filter. The prefix is honoured at every protocol level, as mosquitto and EMQX do for 3.1.1.
 */
export function parseSubscriptionFilter(s: string, maxLevels = MAX_TOPIC_LEVELS): SubscriptionFilter {
  if (!s.startsWith(SHARE_PREFIX)) {
    validateTopicFilter(s, maxLevels);
    return { filter: s };
  }
  const groupEnd = s.indexOf('/', SHARE_PREFIX.length);
  // [MQTT-4.8.2-1] the ShareName is at least one character long.
  if (groupEnd === SHARE_PREFIX.length || s.length === SHARE_PREFIX.length) {
    shareError(s, 'needs a share name: $share/{group}/{filter} [MQTT-4.8.2-1]');
  }
  // [MQTT-4.8.2-2] the ShareName is followed by '/' and that '/' by a topic filter.
  if (groupEnd === -1 || groupEnd + 1 === s.length) {
    shareError(s, 'needs a topic filter after the share name: $share/{group}/{filter} [MQTT-4.8.2-2]');
  }
  if (s.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_TOPIC_BYTES) {
    fail(ReasonCode.TopicFilterInvalid, 'Topic filter', s, TOO_LONG, maxLevels); // [MQTT-4.7.3-3]
  }
  // The group is a level without wildcards: scanning it as a name applies every other rule.
  const groupCode = scan(s, SHARE_PREFIX.length, groupEnd, false, 1);
  if (groupCode === WILDCARD_IN_NAME) {
    shareError(s, "has a share name containing '+' or '#' [MQTT-4.8.2-2]");
  }
  if (groupCode !== OK) fail(ReasonCode.TopicFilterInvalid, 'Share name of', s, groupCode, maxLevels);
  const filter = s.slice(groupEnd + 1);
  validateTopicFilter(filter, maxLevels);
  return { filter, shareGroup: s.slice(SHARE_PREFIX.length, groupEnd) };
}
