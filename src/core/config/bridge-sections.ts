/**
 * mosquitto's bridge sections of a mosquitto.conf, read as mosquitto 2.0 reads them (src/conf.c,
 * src/bridge_topic.c; checked against mosquitto 2.0.11 and its mosquitto.conf(5)):
 * - `connection NAME` starts a bridge, and the bridge directives after it, in the same file,
 *   belong to it. mosquitto keeps the current bridge per file (a local of its file reader), so
 *   an included file starts outside any bridge, and the main file's bridge goes on after its
 *   include_dir. A bridge directive before any `connection` line of its file is an error
 *   (mosquitto: "Invalid bridge configuration"); so is a second bridge of one name ("Duplicate
 *   bridge name").
 * - String values (user name, password, client ids, files, notification topic, ALPN, TLS
 *   version) are the rest of the line, blanks trimmed, so a password may hold spaces; each
 *   once per bridge ("Duplicate ... value"). `address` takes the words up to one starting with #.
 * - keepalive_interval below 5 becomes 5 and restart_timeout below 1 becomes 1, each with a
 *   notice, as mosquitto does; restart_timeout with a cap below its base is an error.
 * - A bridge without address or without topic lines is an error at its `connection` line
 *   (mosquitto says it without a line after reading everything).
 *
 * The topic line is `topic PATTERN [in|out|both [QOS [LOCAL-PREFIX [REMOTE-PREFIX]]]]`: the
 * direction in any case, `""` for an empty pattern or prefix, and a word starting with # after
 * the direction ends the line (a comment, as mosquitto reads it). The pattern is a
 * subscription filter, a prefix part of a topic name (no wildcards), and an empty pattern
 * needs both prefixes (the pair then maps one local topic onto one remote topic).
 *
 * Stricter than mosquitto, on purpose: TLS settings without bridge_cafile/bridge_capath
 * (mosquitto then connects in plain TCP), bridge_certfile without bridge_keyfile or the
 * reverse, remote_password without remote_username (mosquitto sends neither), a QoS or
 * number that is not a number (its atoi reads "x" as 0), extra words after a value.
 *
 * Everything here is plain data; core/bridge/from-conf.ts applies mosquitto's defaults.
 */
import type { BridgeConf, BridgeTlsConf, BridgeTopicConf, ConfSource } from './conf-types.js';
import { parseBoolean, parseInteger, type Parsed } from './conf-values.js';
import type { ConfLine } from './conf-lines.js';

export type { BridgeConf, BridgeDirection, BridgeTlsConf, BridgeTopicConf } from './conf-types.js';

/** The bridge directives this file reads (the table in directives.ts marks them supported). */
export const BRIDGE_SUPPORTED = [
  'connection', 'address', 'addresses', 'topic', 'remote_username', 'username', 'remote_password', 'password', 'remote_clientid',
  'clientid', 'local_clientid', 'cleansession', 'local_cleansession', 'bridge_protocol_version', 'bridge_cafile', 'bridge_capath',
  'bridge_certfile', 'bridge_keyfile', 'bridge_insecure', 'bridge_tls_version', 'bridge_alpn', 'keepalive_interval', 'restart_timeout',
  'try_private', 'notifications', 'notifications_local_only', 'notification_topic', 'start_type', 'bridge_outgoing_retain',
  'bridge_max_packet_size', 'round_robin',
] as const;

/**
 * Bridge directives accepted with a notice (directives.ts says why for each); still checked
 * to be inside a bridge section, with a value of the right kind, as mosquitto checks them.
 */
export const BRIDGE_IGNORED = ['bridge_attempt_unsubscribe', 'idle_timeout', 'threshold', 'local_username', 'local_password'] as const;

const SUPPORTED = new Set<string>(BRIDGE_SUPPORTED);
const IGNORED = new Set<string>(BRIDGE_IGNORED);

type Fail = (problem: string) => never;

/** What one file's reading remembers: the bridge its lines go to. */
export interface BridgeFileState {
  current: BridgeConf | undefined;
}

export class BridgeSections {
  readonly bridges: BridgeConf[] = [];
  /** Where each string value of each bridge was given, for the duplicate check and the file checks. */
  private readonly strings = new Map<string, ConfSource>();

  /** `warn` takes mosquitto's notices ("file:line: ..."). */
  constructor(private readonly warn: (message: string) => void = () => undefined) {}

  /** A new file starts outside any bridge section. */
  newFile(): BridgeFileState {
    return { current: undefined };
  }

  /** Whether `name` is a bridge directive this reader handles. */
  handles(name: string): boolean {
    return SUPPORTED.has(name);
  }

  /** Whether `name` is a bridge directive that mqt ignores (it is still checked by ignored()). */
  ignores(name: string): boolean {
    return IGNORED.has(name);
  }

  /** An ignored bridge directive: inside a bridge, with a value mosquitto would take. */
  ignored(l: ConfLine, fail: Fail, file: BridgeFileState): void {
    this.bridgeOf(l, fail, file);
    const word = l.args[0];
    if (word === undefined) fail(`${l.name} needs a value`);
    if (l.name === 'bridge_attempt_unsubscribe') check(parseBoolean(l.name, word!), fail);
    if (l.name === 'idle_timeout' || l.name === 'threshold') check(parseInteger(l.name, word!, -(2 ** 31), 2 ** 31 - 1), fail);
  }

  directive(l: ConfLine, at: ConfSource, fail: Fail, file: BridgeFileState): void {
    const value = <T>(r: Parsed<T>): T => check(r, fail);
    const one = (): string => {
      if (l.args.length === 0) fail(`${l.name} needs a value`);
      if (l.args.length > 1) fail(`${l.name} takes one value; "${l.args[1]}" is one word too many`);
      return l.args[0]!;
    };
    const bool = (): boolean => value(parseBoolean(l.name, one()));

    if (l.name === 'connection') {
      const name = one();
      const first = this.bridges.find((b) => b.name === name);
      if (first) fail(`connection ${name} is declared a second time (first at ${first.source.file}:${first.source.line}); mosquitto refuses two bridges of one name, rename one`);
      file.current = { name, source: at, addresses: [], topics: [] };
      this.bridges.push(file.current);
      return;
    }
    const b = this.bridgeOf(l, fail, file);
    /** A string value (the rest of the line), refused the second time for this bridge (mosquitto: "Duplicate ... value"). */
    const str = (key = l.name): string => {
      if (l.rest === '') fail(`${l.name} needs a value`);
      const id = `${b.name}\0${key}`;
      const first = this.strings.get(id);
      if (first) fail(`${l.name} is given a second time for bridge ${b.name} (first at ${first.file}:${first.line}); mosquitto refuses a duplicate value, keep one`);
      this.strings.set(id, at);
      return l.rest;
    };
    const tls = (): BridgeTlsConf => (b.tls ??= { sources: {} });
    const tlsFile = (key: 'caFile' | 'caPath' | 'certFile' | 'keyFile'): void => {
      const t = tls();
      t[key] = str();
      t.sources[key] = at;
    };

    switch (l.name) {
      case 'address':
      case 'addresses': {
        // mosquitto stops at a word starting with #: the rest of the line is a comment.
        const end = l.args.findIndex((w) => w.startsWith('#'));
        const words = end === -1 ? l.args : l.args.slice(0, end);
        if (words.length === 0) fail(`${l.name} needs host[:port], one or more`);
        if (b.addresses.length > 0) fail(`${l.name} is given a second time for bridge ${b.name}; list every address on one line: address host1[:port] host2[:port]`);
        b.addresses = words.map((w) => parseAddress(w, fail));
        return;
      }
      case 'topic':
        b.topics.push(parseTopic(l, at, fail));
        return;
      case 'remote_username':
      case 'username':
        b.remoteUsername = str('remote_username');
        return;
      case 'remote_password':
      case 'password':
        b.remotePassword = str('remote_password');
        return;
      case 'remote_clientid':
      case 'clientid':
        b.remoteClientId = str('remote_clientid');
        return;
      case 'local_clientid':
        b.localClientId = str();
        return;
      case 'cleansession':
        b.cleanSession = bool();
        return;
      case 'local_cleansession':
        b.localCleanSession = bool();
        return;
      case 'bridge_protocol_version': {
        const v = one();
        if (v !== 'mqttv31' && v !== 'mqttv311' && v !== 'mqttv50') fail(`bridge_protocol_version takes mqttv31, mqttv311 or mqttv50, not "${v}"`);
        b.protocolVersion = v as BridgeConf['protocolVersion'];
        return;
      }
      case 'bridge_cafile':
        return tlsFile('caFile');
      case 'bridge_capath':
        return tlsFile('caPath');
      case 'bridge_certfile':
        return tlsFile('certFile');
      case 'bridge_keyfile':
        return tlsFile('keyFile');
      case 'bridge_insecure':
        tls().insecure = bool();
        // mosquitto warns too ("Bridge %s using insecure mode").
        if (tls().insecure) this.warn(`${at.file}:${at.line}: bridge ${b.name} uses bridge_insecure true: the remote's certificate is not checked against its host name, so another server could pose as it; use it for tests only`);
        return;
      case 'bridge_tls_version': {
        const v = str();
        if (v !== 'tlsv1.3' && v !== 'tlsv1.2' && v !== 'tlsv1.1') fail(`bridge_tls_version takes tlsv1.3, tlsv1.2 or tlsv1.1, not "${v}"`);
        tls().version = v as BridgeTlsConf['version'];
        return;
      }
      case 'bridge_alpn':
        tls().alpn = str();
        return;
      case 'keepalive_interval': {
        const n = value(parseInteger(l.name, one(), 0, 65535));
        if (n < 5) this.warn(`${at.file}:${at.line}: keepalive_interval ${n} is too low; using 5 seconds, as mosquitto does`);
        b.keepaliveInterval = Math.max(5, n);
        return;
      }
      case 'restart_timeout': {
        const words = l.args;
        if (words.length === 0 || words.length > 2) fail('restart_timeout takes one value (a constant delay in seconds) or two (backoff base and cap), e.g. restart_timeout 5 30');
        let base = value(parseInteger(l.name, words[0]!, 0, 2 ** 31 - 1));
        if (base < 1) {
          this.warn(`${at.file}:${at.line}: restart_timeout ${base} is too low; using 1 second, as mosquitto does`);
          base = 1;
        }
        if (words.length === 1) {
          b.restartTimeout = { base };
          return;
        }
        const cap = value(parseInteger(l.name, words[1]!, 0, 2 ** 31 - 1));
        if (cap < base) fail(`restart_timeout ${words[0]} ${words[1]}: the cap (second value) is below the base (first value); mosquitto refuses it, raise the cap`);
        b.restartTimeout = { base, cap };
        return;
      }
      case 'try_private':
        b.tryPrivate = bool();
        return;
      case 'notifications':
        b.notifications = bool();
        return;
      case 'notifications_local_only':
        b.notificationsLocalOnly = bool();
        return;
      case 'notification_topic': {
        const t = str();
        if (/[+#]/.test(t)) fail(`notification_topic ${t}: a topic to publish to has no wildcards (+ or #)`);
        b.notificationTopic = t;
        return;
      }
      case 'start_type': {
        const word = one();
        if (word === 'lazy') fail('mqt does not support start_type lazy (a bridge started once `threshold` messages wait, stopped after idle_timeout); use automatic or once');
        if (word === 'manual') fail('start_type manual is not supported by mosquitto nor mqt; use automatic or once');
        if (word !== 'automatic' && word !== 'once') fail(`start_type takes automatic or once, not "${word}"`);
        b.startType = word as 'automatic' | 'once';
        return;
      }
      case 'bridge_outgoing_retain':
        b.outgoingRetain = bool();
        return;
      case 'bridge_max_packet_size': {
        // mosquitto reads a negative value as 0, unlimited.
        const n = value(parseInteger(l.name, one(), -(2 ** 31), 268_435_460));
        b.maxPacketSize = Math.max(0, n);
        return;
      }
      case 'round_robin':
        b.roundRobin = bool();
        return;
      default:
        throw new Error(`bridge-sections: no handler for ${l.name}`);
    }
  }

  /** The bridges, each checked as a whole (mosquitto's end-of-reading checks, and ours). */
  finish(fail: (source: ConfSource, problem: string) => never): BridgeConf[] {
    for (const b of this.bridges) {
      const at = b.source;
      if (b.addresses.length === 0) fail(at, `bridge ${b.name} has no address; add address host[:port] after its connection line`);
      if (b.topics.length === 0) fail(at, `bridge ${b.name} has no topic line, so it would carry nothing; add one, e.g. topic # both 1`);
      if (b.remotePassword !== undefined && b.remoteUsername === undefined) fail(at, `bridge ${b.name} has remote_password without remote_username; mosquitto only sends a password with a user name, add remote_username`);
      const t = b.tls;
      if (t !== undefined) {
        if (t.caFile === undefined && t.caPath === undefined) {
          fail(at, `bridge ${b.name} has TLS settings but neither bridge_cafile nor bridge_capath, which is what turns TLS on (mosquitto would connect without TLS); add one`);
        }
        if ((t.certFile === undefined) !== (t.keyFile === undefined)) fail(at, `bridge ${b.name}: bridge_certfile and bridge_keyfile go together; give both or neither`);
      }
    }
    return this.bridges;
  }

  /** The bridge a directive belongs to: the current one of its file. */
  private bridgeOf(l: ConfLine, fail: Fail, file: BridgeFileState): BridgeConf {
    if (file.current === undefined) fail(`${l.name} is a bridge setting but comes before any "connection NAME" line in this file (mosquitto: "Invalid bridge configuration"); start the bridge with connection NAME`);
    return file.current!;
  }
}

function check<T>(r: Parsed<T>, fail: Fail): T {
  return r.ok ? r.value : fail(r.problem);
}

/** host[:port]; the port after the last colon, as mosquitto (so an IPv6 address needs its port: ::1:1883, or [::1]:1883). */
function parseAddress(word: string, fail: Fail): { host: string; port: number } {
  const colon = word.lastIndexOf(':');
  if (colon === -1) return { host: word, port: 1883 };
  const host = word.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  if (host === '' || host === ':') fail(`address "${word}" has no host; write host[:port] (an IPv6 address needs its port: ::1:1883)`);
  const port = parseInteger('address', word.slice(colon + 1), 1, 65535);
  if (!port.ok) fail(`address "${word}": the port must be a number from 1 to 65535 (an IPv6 address needs its port, as in mosquitto: ::1:1883)`);
  return { host, port: (port as { value: number }).value };
}

const EMPTY = '""';

function parseTopic(l: ConfLine, at: ConfSource, fail: Fail): BridgeTopicConf {
  const [patternWord, dirWord, ...tail] = l.args;
  if (patternWord === undefined) fail('topic needs a pattern: topic PATTERN [in|out|both [QOS [LOCAL-PREFIX [REMOTE-PREFIX]]]]');
  // After the direction, a word starting with # is a comment to mosquitto: the line ends there.
  const end = tail.findIndex((w) => w.startsWith('#'));
  const [qosWord, localWord, remoteWord, more] = end === -1 ? tail : tail.slice(0, end);
  if (more !== undefined) fail(`topic takes at most 5 values; "${more}" is one too many`);
  const pattern = patternWord === EMPTY ? '' : patternWord!;
  if (pattern !== '') checkFilter(pattern, fail);
  let direction: BridgeTopicConf['direction'] = 'out';
  if (dirWord !== undefined) {
    // mosquitto compares the direction without case.
    const d = dirWord.toLowerCase();
    if (d !== 'in' && d !== 'out' && d !== 'both') fail(`topic ${patternWord}: the direction must be in, out or both, not "${dirWord}"`);
    direction = d as BridgeTopicConf['direction'];
  }
  let qos: 0 | 1 | 2 = 0;
  if (qosWord !== undefined) {
    const q = parseInteger('topic: the QoS', qosWord, 0, 2);
    if (!q.ok) fail(`topic ${patternWord}: the QoS must be 0, 1 or 2, not "${qosWord}"`);
    qos = (q as { value: number }).value as 0 | 1 | 2;
  }
  const localPrefix = localWord === undefined || localWord === EMPTY ? '' : localWord;
  const remotePrefix = remoteWord === undefined || remoteWord === EMPTY ? '' : remoteWord;
  for (const [what, p] of [['local', localPrefix], ['remote', remotePrefix]] as const) {
    if (/[+#]/.test(p)) fail(`topic: the ${what} prefix "${p}" has a wildcard; a prefix is part of a topic name (mosquitto: "Invalid bridge topic ${what} prefix")`);
  }
  if (pattern === '' && (localPrefix === '' || remotePrefix === '')) {
    fail('topic "": an empty pattern needs both a local and a remote prefix (they are then the two topics), as mosquitto requires ("Invalid bridge remapping")');
  }
  return { pattern, direction, qos, localPrefix, remotePrefix, source: at };
}

/** A subscription filter: `#` only last and alone in its level, `+` alone in its level. */
function checkFilter(filter: string, fail: Fail): void {
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) fail(`topic ${filter}: # must be the last level, alone (e.g. a/#)`);
    if (level.includes('+') && level !== '+') fail(`topic ${filter}: + must be a whole level (e.g. a/+/b)`);
  });
}
