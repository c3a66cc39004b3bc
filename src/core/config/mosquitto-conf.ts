/**
 * Reads a mosquitto.conf (mosquitto 2.0's format and meaning) for `mqt broker -c FILE`: a pure
 * parser (node:fs only, no broker), so start-up and SIGHUP can both call it.
 *
 * What it follows from mosquitto 2.0 (src/conf.c; each point checked against mosquitto 2.0.11):
 * - Bridges (`connection NAME` and the directives after it): see bridge-sections.ts.
 * - Lines, comments, CRLF, spaces and tabs: see conf-lines.ts. include_dir: see include-dir.ts;
 *   only the main file's include_dir is read (mosquitto silently skips one in an included file; we
 *   refuse it).
 * - Relative paths (include_dir, password_file, certfile, ...) are relative to the working
 *   directory of the process, not to the file: mosquitto opens them as given (`include_dir inc`
 *   works from the file's directory and fails from another). They are returned as written.
 * - `listener PORT [ADDRESS]` starts a listener; the listener directives after it, in the same
 *   file, apply to it. Before the first `listener` line of a file (also at the top of each
 *   included file) they apply to mosquitto's "default listener", which `port` and `bind_address`
 *   also set and which mosquitto places after the others. mosquitto opens that default listener
 *   on port 1883 when only, say, `certfile` was given before any listener; that is almost always a
 *   mistake, so mqt refuses a default listener that has no `port`/`bind_address`.
 * - Security directives (allow_anonymous, password_file, acl_file) are global unless
 *   per_listener_settings is true; then they belong to the current listener (before any listener:
 *   the default listener, so refused as above). per_listener_settings true after a security
 *   directive is mosquitto's error "must be set before any other security settings"; once true,
 *   mosquitto silently keeps it true, so a later `per_listener_settings false` is refused here.
 * - Repeated directives: a string value (path, cipher list) twice for the same target is an error
 *   ("Duplicate ... value", as mosquitto); a number or boolean twice: the last wins (as mosquitto);
 *   `port` twice: the last wins with a warning (as mosquitto).
 * - Values: booleans true/false (and 1/0, as mosquitto); numbers with mosquitto's ranges, but
 *   whole numbers only (mosquitto's atoi reads "abc" as 0); one value per directive (mosquitto
 *   ignores extra words, so "allow_anonymous true # note" hides nothing from it but would from a
 *   reader; we refuse them).
 *
 * Stricter than mosquitto, on purpose (mosquitto accepts these and then does something the user
 * did not mean): two listeners on the same port and address (mosquitto fails at bind time); a
 * listener with certfile but no keyfile or the reverse (mosquitto then serves plain TCP), and
 * cafile/capath/require_certificate/tls_version/ciphers/use_identity_as_username on a listener
 * without certfile+keyfile (ignored by mosquitto: plain TCP); require_certificate true without
 * cafile/capath; unknown tls_version (mosquitto fails when it opens the listener).
 *
 * mqt's own directives (mosquitto has none of them), marked origin 'mqt' in DIRECTIVES:
 * - `allow_from CIDR`, `deny_from CIDR`: repeatable; before any `listener` line they are global,
 *   after one they belong to that listener (whatever per_listener_settings says). See SecurityConf.
 * - `max_subscriptions N`, `max_topic_levels N`: per client; 0 is unlimited.
 * - `max_queue_memory BYTES`: a cap on the memory of all queues together; a number with an
 *   optional k, M or G suffix (powers of 1024); 0 is unlimited.
 */
import { directiveFor, DIRECTIVES, type Directive } from './directives.js';
import { confLines, type ConfLine } from './conf-lines.js';
import { checkOverlaps, listenerConf, newDraft, type Draft } from './listeners.js';
import { ConfError, type ConfReader, type ConfSource, type LogDestKind, type MosquittoConf, type SecurityConf } from './conf-types.js';
import { parseBoolean, parseBytes, parseCidr, parseEnum, parseInteger, type Parsed } from './conf-values.js';
import { fsConfReader, includeFiles, readConfText } from './include-dir.js';
import { BridgeSections, type BridgeFileState } from './bridge-sections.js';

export { ConfError } from './conf-types.js';
export type { BridgeConf, BridgeDirection, BridgeTlsConf, BridgeTopicConf } from './conf-types.js';
export type { ConfReader, ConfSource, LimitsConf, ListenerConf, ListenerTlsConf, LogConf, LogDestKind, MosquittoConf, SecurityConf } from './conf-types.js';
export { DIRECTIVES, REFUSED_PREFIXES, directiveFor, type Directive, type DirectiveScope, type DirectiveStatus } from './directives.js';
export { compareIncludeNames, fsConfReader, includeFiles } from './include-dir.js';

/** Reads and parses a mosquitto.conf and the files it includes. Throws ConfError. */
export function readMosquittoConf(path: string, reader: ConfReader = fsConfReader): MosquittoConf {
  return parseMosquittoConf(readTop(path, reader), path, reader);
}

/** Parses the text of a mosquitto.conf named `file`; include_dir is read through `includeReader`. Throws ConfError. */
export function parseMosquittoConf(text: string, file: string, includeReader: ConfReader = fsConfReader): MosquittoConf {
  const p = new Parser(includeReader);
  p.files.push(file);
  p.parseFile(text, file, 0);
  return p.finish();
}

function readTop(path: string, reader: ConfReader): string {
  try {
    return reader.readFile(path);
  } catch (e) {
    if (lineOf(e) > 0) throw new ConfError(path, lineOf(e), reason(e));
    throw new ConfError(path, 0, `cannot read the configuration file (${reason(e)}); check the path given to -c`);
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EISDIR') return 'it is a directory';
  if (err?.code === 'EACCES') return 'permission denied';
  return err?.message ?? String(e);
}

function lineOf(e: unknown): number {
  const line = (e as { line?: unknown })?.line;
  return typeof line === 'number' ? line : 0;
}

/** Something that holds string values (a listener, or the global settings), for mosquitto's duplicate check. */
interface StringOwner {
  set: Map<string, ConfSource>;
}

const LOG_DESTS = ['stdout', 'stderr', 'file', 'syslog', 'topic', 'none'] as const;
// mosquitto 2.0's log_type values (src/conf.c).
const LOG_TYPES = ['none', 'information', 'notice', 'warning', 'error', 'debug', 'subscribe', 'unsubscribe', 'websockets', 'all'] as const;

/** Ignored directives whose value mosquitto reads as a string (so refuses twice). */
const IGNORED_STRINGS = new Set(['pid_file', 'persistence_file', 'log_timestamp_format']);

/** Checks of the value of an ignored directive, so that a typo in one is still caught. */
const IGNORED_VALUE: Record<string, (name: string, word: string) => Parsed<unknown>> = {
  autosave_interval: (n, w) => parseInteger(n, w, -(2 ** 31), 2 ** 31 - 1),
  autosave_on_changes: parseBoolean,
  set_tcp_nodelay: parseBoolean,
  allow_duplicate_messages: parseBoolean,
  log_facility: (n, w) => parseInteger(n, w, 0, 7),
  websockets_log_level: (n, w) => parseInteger(n, w, -(2 ** 31), 2 ** 31 - 1),
  websockets_headers_size: (n, w) => parseInteger(n, w, 0, 65535),
  max_topic_alias: (n, w) => parseInteger(n, w, 0, 65535),
};

class Parser {
  readonly files: string[] = [];
  private readonly listeners: Draft[] = [];
  private readonly defaultListener: Draft = newDraft(true);
  /** The `port`/`bind_address` line that declared the default listener. */
  private defaultDeclared: ConfSource | undefined;
  /** The first listener directive that went to the default listener. */
  private defaultTouched: { source: ConfSource; name: string } | undefined;
  private perListener: ConfSource | undefined;
  /** The first security directive, for the per_listener_settings ordering rule. */
  private firstSecurity: { source: ConfSource; name: string } | undefined;
  private readonly global: StringOwner = { set: new Map() };
  private readonly warned = new Set<string>();
  private logFile: ConfSource | undefined;
  private readonly bridgeSections = new BridgeSections((message) => this.warn(message));
  private readonly conf: MosquittoConf = {
    files: this.files,
    perListenerSettings: false,
    security: {},
    listeners: [],
    limits: {},
    log: { dest: [], types: [] },
    bridges: [],
    warnings: [],
  };

  constructor(private readonly reader: ConfReader) {}

  parseFile(text: string, file: string, level: number): void {
    // mosquitto keeps the current listener per file: each file starts at the default listener.
    const cur = { listener: this.defaultListener, bridge: this.bridgeSections.newFile() };
    for (const item of confLines(text)) {
      if (item.kind === 'problem') throw new ConfError(file, item.line, item.problem);
      this.directive(item.value, file, level, cur);
    }
  }

  private directive(l: ConfLine, file: string, level: number, cur: { listener: Draft; bridge: BridgeFileState }): void {
    const at: ConfSource = { file, line: l.line };
    const fail = (problem: string): never => {
      throw new ConfError(file, l.line, problem);
    };
    const d = directiveFor(l.name);
    if (d === undefined) fail(unknownDirective(l.name));
    if (d!.status === 'refused') fail(`mqt does not support ${l.name}: ${d!.why}`);
    if (d!.status === 'ignored') {
      if (this.bridgeSections.ignores(l.name)) this.bridgeSections.ignored(l, fail, cur.bridge);
      return this.ignored(l, d!, at, fail);
    }
    if (this.bridgeSections.handles(l.name)) return this.bridgeSections.directive(l, at, fail, cur.bridge);

    const one = (): string => {
      if (l.args.length === 0) fail(`${l.name} needs a value`);
      if (l.args.length > 1) fail(extraWords(l.name, l.args[1]!));
      return l.args[0]!;
    };
    const value = <T>(r: Parsed<T>): T => (r.ok ? r.value : fail(r.problem));
    const text = (): string => {
      if (l.rest === '') fail(`${l.name} needs a value`);
      return l.rest;
    };
    const int = (min: number, max: number): number => value(parseInteger(l.name, one(), min, max));
    const bool = (): boolean => value(parseBoolean(l.name, one()));
    /** A string value, refused the second time for the same owner (mosquitto: "Duplicate X value"). */
    const str = (owner: StringOwner, key = l.name): string => {
      const v = text();
      const first = owner.set.get(`str:${key}`);
      if (first) fail(`${l.name} is given a second time (first at ${first.file}:${first.line}); mosquitto refuses a duplicate value, keep one`);
      owner.set.set(`str:${key}`, at);
      return v;
    };
    const listener = (): Draft => {
      const target = cur.listener;
      if (target.isDefault && this.defaultTouched === undefined) this.defaultTouched = { source: at, name: l.name };
      if (!target.set.has(l.name)) target.set.set(l.name, at);
      return target;
    };
    const security = (): { sec: SecurityConf; owner: StringOwner } => {
      this.firstSecurity ??= { source: at, name: l.name };
      if (!this.perListener) {
        if (!this.global.set.has(l.name)) this.global.set.set(l.name, at);
        return { sec: this.conf.security, owner: this.global };
      }
      const target = listener();
      return { sec: target.security, owner: target };
    };
    const limits = this.conf.limits;

    switch (l.name) {
      case 'listener': {
        if (l.args.length === 0) fail('listener needs a port: listener PORT [ADDRESS]');
        const [portWord, address, more] = l.args as [string, string?, string?];
        // mosquitto reads a word starting with # after the port as the start of a comment.
        const host = address !== undefined && !address.startsWith('#') ? address : undefined;
        if (host !== undefined && more !== undefined && !more.startsWith('#')) fail(extraWords('listener', more));
        if (portWord === '0') fail('listener 0 is a Unix socket listener in mosquitto; mqt has none, use a TCP port (1-65535)');
        const port = value(parseInteger('listener', portWord, 1, 65535));
        const draft = newDraft(false, at);
        draft.port = port;
        if (host !== undefined) draft.host = host;
        this.listeners.push(draft);
        cur.listener = draft;
        return;
      }
      case 'port': {
        const port = int(1, 65535);
        const first = this.defaultListener.set.get('port');
        if (first) this.warn(`${file}:${l.line}: port is given a second time (first at ${first.file}:${first.line}); the last one wins, as in mosquitto`);
        else this.defaultListener.set.set('port', at);
        this.defaultDeclared ??= at;
        this.defaultListener.port = port;
        return;
      }
      case 'bind_address': {
        this.defaultListener.host = str(this.defaultListener);
        this.defaultDeclared ??= at;
        return;
      }
      case 'protocol':
        listener().protocol = value(parseEnum('protocol', one(), ['mqtt', 'websockets'] as const));
        return;
      case 'socket_domain':
        listener().family = value(parseEnum('socket_domain', one(), ['ipv4', 'ipv6'] as const)) === 'ipv4' ? 4 : 6;
        return;
      case 'max_connections': {
        const n = int(-(2 ** 31), 2 ** 31 - 1);
        listener().maxConnections = n < 0 ? -1 : n;
        return;
      }
      case 'cafile':
        listener().caFile = str(cur.listener);
        return;
      case 'capath':
        listener().caPath = str(cur.listener);
        return;
      case 'certfile':
        listener().certFile = str(cur.listener);
        return;
      case 'keyfile':
        listener().keyFile = str(cur.listener);
        return;
      case 'ciphers':
        listener().ciphers = str(cur.listener);
        return;
      case 'ciphers_tls1.3':
        listener().ciphersTls13 = str(cur.listener);
        return;
      case 'tls_version': {
        // A string in mosquitto (so a duplicate is refused); checked when it opens the listener.
        const v = str(cur.listener);
        listener().tlsVersion = value(parseEnum('tls_version', v, ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'] as const));
        return;
      }
      case 'require_certificate':
        listener().requireCertificate = bool();
        return;
      case 'use_identity_as_username':
        listener().useIdentityAsUsername = bool();
        return;
      case 'allow_from':
      case 'deny_from': {
        const cidr = value(parseCidr(l.name, one()));
        const target = cur.listener.isDefault ? this.conf.security : cur.listener.security;
        const key = l.name === 'allow_from' ? 'allowFrom' : 'denyFrom';
        (target[key] ??= []).push(cidr);
        return;
      }
      case 'per_listener_settings': {
        const v = bool();
        if (this.perListener) {
          if (!v) fail(`per_listener_settings was set true at ${this.perListener.file}:${this.perListener.line}, and mosquitto cannot turn it off again (it skips this line); remove one of the two`);
          return;
        }
        if (v && this.firstSecurity) {
          const f = this.firstSecurity;
          fail(`per_listener_settings must come before any security setting (${f.name} at ${f.source.file}:${f.source.line}), as mosquitto requires; move it to the top of the file`);
        }
        if (v) this.perListener = at;
        this.conf.perListenerSettings = v;
        return;
      }
      case 'allow_anonymous': {
        const v = bool();
        security().sec.allowAnonymous = v;
        return;
      }
      case 'password_file': {
        const { sec, owner } = security();
        sec.passwordFile = str(owner);
        return;
      }
      case 'acl_file': {
        const { sec, owner } = security();
        sec.aclFile = str(owner);
        return;
      }
      case 'max_inflight_messages': {
        // mosquitto: negative and 65535 mean 0 (unlimited); above 65535 is an error.
        const n = int(-(2 ** 31), 65535);
        limits.maxInflight = n < 0 || n === 65535 ? 0 : n;
        return;
      }
      case 'max_queued_messages': {
        const n = int(-(2 ** 31), 2 ** 31 - 1);
        limits.maxQueued = n < 0 ? 0 : n;
        return;
      }
      case 'message_size_limit':
        limits.messageSizeLimit = int(0, 268_435_455);
        return;
      case 'max_packet_size':
        // mosquitto refuses below 20; above MQTT's largest packet would mean nothing.
        limits.maxPacketSize = int(20, 268_435_460);
        return;
      case 'max_keepalive':
        limits.maxKeepalive = int(0, 65535);
        return;
      case 'retain_available':
        limits.retainAvailable = bool();
        return;
      case 'max_subscriptions':
        limits.maxSubscriptions = int(0, 2 ** 31 - 1);
        return;
      case 'max_topic_levels':
        limits.maxTopicLevels = int(0, 65535);
        return;
      case 'max_queue_memory':
        limits.maxQueueMemory = value(parseBytes(l.name, one()));
        return;
      case 'http_port':
        this.conf.httpPort = int(0, 65535);
        return;
      case 'http_host':
        this.conf.httpHost = str(this.global);
        return;
      case 'cluster':
        this.conf.cluster = str(this.global);
        return;
      case 'node_id':
        this.conf.nodeId = str(this.global);
        return;
      case 'admin_user':
        (this.conf.adminUsers ??= []).push(one());
        return;
      case 'persistence':
      case 'retained_persistence':
        this.conf.persistence = bool();
        return;
      case 'persistence_location':
        this.conf.persistenceLocation = str(this.global);
        return;
      case 'sys_interval':
        this.conf.sysInterval = int(0, 65535);
        return;
      case 'include_dir':
        return this.includeDir(text(), file, l.line, level);
      case 'log_dest':
        return this.logDest(l, at, fail);
      case 'log_type': {
        const t = value(parseEnum('log_type', one(), LOG_TYPES));
        const types = this.conf.log.types;
        // As mosquitto: none drops what came before it; the others add up.
        if (t === 'none' || types[0] === 'none') types.length = 0;
        if (!types.includes(t)) types.push(t);
        return;
      }
      case 'log_timestamp':
        this.conf.log.timestamp = bool();
        return;
      case 'connection_messages':
        this.conf.log.connectionMessages = bool();
        return;
      default:
        // A 'supported' entry in DIRECTIVES without a case here is a bug of ours, not the user's.
        throw new Error(`mosquitto-conf: no handler for supported directive ${l.name}`);
    }
  }

  private ignored(l: ConfLine, d: Directive, at: ConfSource, fail: (p: string) => never): void {
    if (l.rest === '') fail(`${l.name} needs a value`);
    if (IGNORED_STRINGS.has(l.name)) {
      // Ignored, but still mosquitto's string: a second one is its "Duplicate ... value" error.
      const first = this.global.set.get(`str:${l.name}`);
      if (first) fail(`${l.name} is given a second time (first at ${first.file}:${first.line}); mosquitto refuses a duplicate value, keep one`);
      this.global.set.set(`str:${l.name}`, at);
    }
    const check = IGNORED_VALUE[l.name];
    if (check) {
      if (l.args.length > 1) fail(extraWords(l.name, l.args[1]!));
      const r = check(l.name, l.args[0]!);
      if (!r.ok) fail(r.problem);
    }
    if (this.warned.has(l.name)) return;
    this.warned.add(l.name);
    this.warn(`${at.file}:${at.line}: ${l.name} is ignored by mqt (${d.why})`);
  }

  private warn(message: string): void {
    this.conf.warnings.push(message);
  }

  private logDest(l: ConfLine, at: ConfSource, fail: (p: string) => never): void {
    if (l.args.length === 0) fail('log_dest needs a value: stdout, stderr, file PATH, syslog, topic or none');
    const word = l.args[0]!;
    if (word === 'dlt') fail('mqt does not support log_dest dlt (the automotive DLT daemon); use stdout, stderr, file PATH or none');
    // Node has no syslog socket of its own, and a $SYS log topic is for the $SYS work still to come.
    if (word === 'syslog') fail('mqt does not support log_dest syslog; use log_dest stderr (journald keeps it under systemd) or log_dest file PATH');
    if (word === 'topic') fail('mqt does not support log_dest topic yet; use log_dest stdout, stderr or file PATH');
    if (!(LOG_DESTS as readonly string[]).includes(word)) fail(`log_dest takes stdout, stderr, file PATH, syslog, topic or none, not "${word}"`);
    const kind = word as LogDestKind;
    const dest = this.conf.log.dest;
    if (kind === 'file') {
      const path = l.rest.slice('file'.length).replace(/^\s+/, '');
      if (path === '') fail('log_dest file needs a path: log_dest file /var/log/mosquitto/mosquitto.log');
      if (this.logFile) fail(`log_dest file is given a second time (first at ${this.logFile.file}:${this.logFile.line}); mosquitto refuses a duplicate, keep one`);
      this.logFile = at;
      if (dest[0]?.kind === 'none') dest.length = 0;
      dest.push({ kind, path });
      return;
    }
    if (l.args.length > 1) fail(extraWords('log_dest', l.args[1]!));
    if (kind === 'none') {
      dest.length = 0;
      dest.push({ kind });
      return;
    }
    if (dest[0]?.kind === 'none') dest.length = 0;
    if (!dest.some((x) => x.kind === kind)) dest.push({ kind });
  }

  private includeDir(dir: string, file: string, line: number, level: number): void {
    if (level > 0) throw new ConfError(file, line, 'include_dir in an included file: mosquitto only reads include_dir in the main file and skips this one; move it to the main file');
    let names: string[];
    try {
      names = this.reader.listDir(dir);
    } catch (e) {
      throw new ConfError(file, line, `cannot open include_dir "${dir}" (${reason(e)}); a relative path is taken from the working directory, as in mosquitto`);
    }
    for (const path of includeFiles(dir, names)) {
      let text: string;
      try {
        text = this.reader.readFile(path);
      } catch (e) {
        if (lineOf(e) > 0) throw new ConfError(path, lineOf(e), reason(e));
        throw new ConfError(file, line, `include_dir: cannot read ${path} (${reason(e)}); mosquitto reads every name ending .conf there`);
      }
      this.files.push(path);
      this.parseFile(text, path, level + 1);
    }
  }

  finish(): MosquittoConf {
    const conf = this.conf;
    const all = [...this.listeners];
    const def = this.defaultListener;
    if (this.defaultDeclared) {
      def.port ??= 1883;
      def.source = this.defaultDeclared;
      all.push(def);
    } else if (this.defaultTouched) {
      const { source, name } = this.defaultTouched;
      throw new ConfError(source.file, source.line, `${name} comes before any listener line, so mosquitto would open a default listener on port 1883 for it; put it after a "listener PORT" line (or add "port 1883" if that listener is meant)`);
    }
    conf.listeners = all.map(listenerConf);
    checkOverlaps(conf.listeners);
    conf.bridges = this.bridgeSections.finish((source, problem) => {
      throw new ConfError(source.file, source.line, problem);
    });
    return conf;
  }
}

function extraWords(name: string, extra: string): string {
  if (extra.startsWith('#')) return `${name} takes one value; a comment must be on a line of its own (mosquitto does not read "${extra} ..." after a value as a comment)`;
  return `${name} takes one value; "${extra}" is one word too many`;
}

function unknownDirective(name: string): string {
  const near = DIRECTIVES.map((d) => d.name)
    .map((n) => ({ n, d: distance(name, n) }))
    .filter((x) => x.d <= 2)
    .sort((a, b) => a.d - b.d)[0];
  return near
    ? `unknown directive "${name}" (did you mean "${near.n}"?); mosquitto would refuse it too, fix the spelling`
    : `unknown directive "${name}"; neither mosquitto 2.0 nor mqt has it, check mosquitto.conf(5) and remove or fix it`;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

export { readConfText };
