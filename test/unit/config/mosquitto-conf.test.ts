import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareIncludeNames, fsConfReader, includeFiles, parseMosquittoConf, readMosquittoConf, type ConfReader } from '../../../src/core/config/mosquitto-conf.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/conf');
const fixture = (name: string): string => join(FIXTURES, name);
/** The file system as seen from the fixtures directory (mosquitto takes relative paths from its working directory). */
const fromFixtures: ConfReader = {
  listDir: (dir) => fsConfReader.listDir(isAbsolute(dir) ? dir : join(FIXTURES, dir)),
  readFile: (path) => fsConfReader.readFile(isAbsolute(path) ? path : join(FIXTURES, path)),
};

/** A reader over an in-memory tree: { 'dir': ['names'], 'path': 'text' }. */
function memoryReader(files: Record<string, string>, dirs: Record<string, string[]> = {}): ConfReader {
  return {
    listDir(dir) {
      const names = dirs[dir];
      if (!names) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return names;
    },
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
  };
}

describe('a mosquitto.conf with three listeners', () => {
  it('reads TCP, TLS and secure WebSocket listeners, global security, limits and logging into the documented shape', () => {
    const file = fixture('three-listeners.conf');
    const conf = readMosquittoConf(file);
    expect(conf).toEqual({
      files: [file],
      perListenerSettings: false,
      security: { allowAnonymous: false, passwordFile: 'passwd', aclFile: 'acl' },
      listeners: [
        { kind: 'tcp', port: 18830, host: '127.0.0.1', maxConnections: 100, source: { file, line: 23 } },
        {
          kind: 'tls',
          port: 18883,
          tls: { certFile: 'certs/server.crt', keyFile: 'certs/server.key', caFile: 'certs/ca.crt', requireCertificate: true, tlsVersion: 'tlsv1.2' },
          useIdentityAsUsername: true,
          source: { file, line: 26 },
        },
        { kind: 'wss', port: 18084, family: 4, tls: { certFile: 'certs/server.crt', keyFile: 'certs/server.key' }, maxConnections: -1, source: { file, line: 34 } },
      ],
      limits: { maxInflight: 40, maxQueued: 5000, messageSizeLimit: 1048576, maxKeepalive: 600, retainAvailable: true },
      persistence: true,
      persistenceLocation: 'data/',
      sysInterval: 30,
      log: { dest: [{ kind: 'stdout' }, { kind: 'file', path: 'mosquitto.log' }], types: ['error', 'warning'], timestamp: false, connectionMessages: true },
      bridges: [],
      // sys_interval is honoured now ($SYS): read without a word.
      warnings: [],
    });
  });

  it('reads a CRLF file with blank lines of spaces, indented directives and trailing spaces like an LF one', () => {
    const conf = readMosquittoConf(fixture('crlf.conf'));
    expect(conf.listeners).toEqual([{ kind: 'tcp', port: 18870, host: '127.0.0.1', source: { file: fixture('crlf.conf'), line: 2 } }]);
    expect(conf.security).toEqual({ allowAnonymous: true });
    expect(conf.limits).toEqual({ maxKeepalive: 60 });
  });
});

describe('per_listener_settings', () => {
  it('true: allow_anonymous, password_file and acl_file belong to the listener they follow; nothing is global', () => {
    const file = fixture('per-listener-true.conf');
    const conf = readMosquittoConf(file);
    expect(conf.perListenerSettings).toBe(true);
    expect(conf.security).toEqual({});
    expect(conf.listeners).toEqual([
      { kind: 'tcp', port: 18831, host: '127.0.0.1', allowAnonymous: true, source: { file, line: 3 } },
      { kind: 'tcp', port: 18832, host: '127.0.0.1', allowAnonymous: false, passwordFile: 'passwd', aclFile: 'acl', source: { file, line: 6 } },
    ]);
  });

  it('false: the same directives after a listener line are global, and the listeners carry none', () => {
    const file = fixture('per-listener-false.conf');
    const conf = readMosquittoConf(file);
    expect(conf.perListenerSettings).toBe(false);
    expect(conf.security).toEqual({ allowAnonymous: true, passwordFile: 'passwd' });
    expect(conf.listeners.map((l) => Object.keys(l).sort())).toEqual([
      ['host', 'kind', 'port', 'source'],
      ['host', 'kind', 'port', 'source'],
    ]);
  });

  it('false (the default): two listeners each naming a password_file is mosquitto\'s duplicate error, as both are global', () => {
    const text = 'listener 18001\npassword_file a\nlistener 18002\npassword_file b\n';
    expect(() => parseMosquittoConf(text, 'm.conf')).toThrow('m.conf:4: password_file is given a second time (first at m.conf:2)');
    expect(parseMosquittoConf(`per_listener_settings true\n${text}`, 'm.conf').listeners.map((l) => l.passwordFile)).toEqual(['a', 'b']);
  });

  it('may come after a listener line when no security directive came before it', () => {
    const conf = parseMosquittoConf('listener 18001\nper_listener_settings true\nallow_anonymous true\nlistener 18002\n', 'm.conf');
    expect(conf.listeners.map((l) => l.allowAnonymous)).toEqual([true, undefined]);
  });

  it('true with security directives before any listener: they go to mosquitto\'s default listener, declared by port', () => {
    const conf = parseMosquittoConf('per_listener_settings true\nallow_anonymous true\nport 18005\nlistener 18006\n', 'm.conf');
    expect(conf.listeners).toEqual([
      { kind: 'tcp', port: 18006, source: { file: 'm.conf', line: 4 } },
      { kind: 'tcp', port: 18005, allowAnonymous: true, source: { file: 'm.conf', line: 3 } },
    ]);
  });
});

describe('include_dir', () => {
  it('reads the *.conf files in mosquitto\'s order; an included file starts at the default listener; the main file goes on at its own listener', () => {
    const conf = readMosquittoConf('include-main.conf', fromFixtures);
    expect(conf.files).toEqual(['include-main.conf', 'include.d/a.conf', 'include.d/Z.conf', 'include.d/_x.conf']);
    expect(conf.listeners.map((l) => [l.port, l.kind, l.maxConnections])).toEqual([
      [18841, 'tcp', 7],
      [18842, 'tcp', undefined],
      [18843, 'tcp', undefined],
      // mosquitto's default listener (port 18840) comes last; protocol websockets came from include.d/a.conf.
      [18840, 'ws', undefined],
    ]);
  });

  it('takes a relative include_dir from the working directory, not from the file\'s directory (as mosquitto 2.0.11)', () => {
    expect(process.cwd()).not.toBe(FIXTURES);
    expect(() => readMosquittoConf(fixture('include-main.conf'))).toThrow(
      `${fixture('include-main.conf')}:5: cannot open include_dir "include.d" (no such file); a relative path is taken from the working directory, as in mosquitto`,
    );
  });

  it('sorts as mosquitto 2.0.11 does: by upper case first, then upper before lower case; skips names not ending in .conf (case matters) and keeps hidden files', () => {
    const names = ['b.conf', 'ab.conf', 'a.conf', 'A.conf', '_z.conf', 'Z.conf', '.h.conf', 'x.CONF', 'x.conf.bak', 'B.conf'];
    expect(includeFiles('d', names)).toEqual(['d/.h.conf', 'd/A.conf', 'd/a.conf', 'd/ab.conf', 'd/B.conf', 'd/b.conf', 'd/Z.conf', 'd/_z.conf']);
    expect(includeFiles('d/', ['a.conf'])).toEqual(['d/a.conf']);
    expect(compareIncludeNames('a.conf', 'a.conf')).toBe(0);
  });

  it('reads included files through the reader it is given, listing each in files', () => {
    const reader = memoryReader({ 'etc/conf.d/x.conf': 'listener 18010\n', 'etc/conf.d/y.conf': 'listener 18011\n' }, { 'etc/conf.d': ['y.conf', 'x.conf'] });
    const conf = parseMosquittoConf('include_dir etc/conf.d\n', 'main.conf', reader);
    expect(conf.files).toEqual(['main.conf', 'etc/conf.d/x.conf', 'etc/conf.d/y.conf']);
    expect(conf.listeners.map((l) => l.source)).toEqual([
      { file: 'etc/conf.d/x.conf', line: 1 },
      { file: 'etc/conf.d/y.conf', line: 1 },
    ]);
  });

  it('an empty directory adds nothing', () => {
    const conf = parseMosquittoConf('include_dir empty\nlistener 18012\n', 'main.conf', memoryReader({}, { empty: [] }));
    expect(conf.files).toEqual(['main.conf']);
    expect(conf.listeners).toHaveLength(1);
  });
});

describe('ignored directives', () => {
  it('are accepted and reported once each, at their first line, with why ignoring them is harmless', () => {
    const file = fixture('ignored.conf');
    const conf = readMosquittoConf(file);
    expect(conf.warnings).toEqual([
      `${file}:1: pid_file is ignored by mqt (mqt does not daemonize nor write a pid file; a service manager knows its pid)`,
      `${file}:2: autosave_interval is ignored by mqt (mqt stores every change before acknowledging it, so there is no snapshot to schedule)`,
      `${file}:3: autosave_on_changes is ignored by mqt (mqt stores every change before acknowledging it, so there is no snapshot to schedule)`,
      `${file}:4: log_timestamp_format is ignored by mqt (mqt's log timestamps have one fixed format)`,
      `${file}:5: persistence_file is ignored by mqt (mqt keeps its store as an LMDB environment in persistence_location, not as one mosquitto.db file)`,
      `${file}:8: websockets_log_level is ignored by mqt (it tunes libwebsockets' own debug output, which mqt does not use)`,
    ]);
    expect(conf.listeners).toHaveLength(1);
  });

  it('sys_interval is read without a word, the last one standing; persistence true is read without a word too', () => {
    const on = parseMosquittoConf('persistence true\nretained_persistence true\nsys_interval 10\nsys_interval 20\n', 'm.conf');
    expect(on.persistence).toBe(true);
    expect(on.sysInterval).toBe(20);
    expect(on.warnings).toEqual([]);
    const off = parseMosquittoConf('persistence false\nsys_interval 0\n', 'm.conf');
    expect([off.sysInterval, off.warnings]).toEqual([0, []]);
  });

  it('still have their values checked, so a typo in one is not hidden', () => {
    expect(() => parseMosquittoConf('autosave_on_changes yes\n', 'm.conf')).toThrow('m.conf:1: autosave_on_changes takes true or false, not "yes"');
    expect(() => parseMosquittoConf('pid_file\n', 'm.conf')).toThrow('m.conf:1: pid_file needs a value');
  });

  it('port given twice: the last wins, with mosquitto\'s warning', () => {
    const conf = parseMosquittoConf('port 18020\nport 18021\n', 'm.conf');
    expect(conf.listeners).toEqual([{ kind: 'tcp', port: 18021, source: { file: 'm.conf', line: 1 } }]);
    expect(conf.warnings).toEqual(['m.conf:2: port is given a second time (first at m.conf:1); the last one wins, as in mosquitto']);
  });
});

describe('values', () => {
  it('numbers and booleans given twice: the last wins, as mosquitto; 1/0 are booleans too', () => {
    const conf = parseMosquittoConf('max_inflight_messages 5\nmax_inflight_messages 7\nretain_available 0\nretain_available 1\n', 'm.conf');
    expect(conf.limits).toEqual({ maxInflight: 7, retainAvailable: true });
  });

  it('maps mosquitto\'s "unlimited" spellings: negative max_inflight_messages and 65535 are 0, negative max_queued_messages is 0, negative max_connections is -1', () => {
    const conf = parseMosquittoConf('max_inflight_messages 65535\nmax_queued_messages -5\nlistener 18030\nmax_connections -20\n', 'm.conf');
    expect(conf.limits).toEqual({ maxInflight: 0, maxQueued: 0 });
    expect(conf.listeners[0]!.maxConnections).toBe(-1);
    expect(parseMosquittoConf('max_inflight_messages -1\n', 'm.conf').limits.maxInflight).toBe(0);
  });

  it('reads mqt\'s extensions: max_queue_memory with k/M/G (x1024), max_subscriptions, max_topic_levels, allow_from/deny_from global and per listener', () => {
    const conf = parseMosquittoConf(
      'max_queue_memory 512M\nmax_subscriptions 100\nmax_topic_levels 0\nallow_from 10.0.0.0/8\ndeny_from 10.0.0.1\nlistener 18040\nallow_from 192.168.1.0/24\nallow_from fd00::/8\ndeny_from ::1\n',
      'm.conf',
    );
    expect(conf.limits).toEqual({ maxQueueMemory: 512 * 1024 * 1024, maxSubscriptions: 100, maxTopicLevels: 0 });
    expect(conf.security).toEqual({ allowFrom: ['10.0.0.0/8'], denyFrom: ['10.0.0.1'] });
    expect(conf.listeners[0]).toMatchObject({ allowFrom: ['192.168.1.0/24', 'fd00::/8'], denyFrom: ['::1'] });
    expect(parseMosquittoConf('max_queue_memory 1000\n', 'm.conf').limits.maxQueueMemory).toBe(1000);
    expect(parseMosquittoConf('max_queue_memory 2k\n', 'm.conf').limits.maxQueueMemory).toBe(2048);
    expect(parseMosquittoConf('max_queue_memory 1G\n', 'm.conf').limits.maxQueueMemory).toBe(1024 ** 3);
  });

  it('string values are the rest of the line, blanks trimmed, spaces inside kept', () => {
    const conf = parseMosquittoConf('password_file   /etc/my dir/passwd \t\nlistener 18050\ncertfile c.pem\nkeyfile k.pem\nciphers ECDHE-RSA-AES128-GCM-SHA256:HIGH\n', 'm.conf');
    expect(conf.security.passwordFile).toBe('/etc/my dir/passwd');
    expect(conf.listeners[0]!.tls?.ciphers).toBe('ECDHE-RSA-AES128-GCM-SHA256:HIGH');
  });

  it('listener PORT ADDRESS # comment: mosquitto reads # after the port or address as a comment', () => {
    const conf = parseMosquittoConf('listener 18060 # plain\nlistener 18061 ::1 # local\n', 'm.conf');
    expect(conf.listeners.map((l) => [l.port, l.host])).toEqual([
      [18060, undefined],
      [18061, '::1'],
    ]);
  });

  it('log_dest none drops the destinations before it; log_type none drops the types before it', () => {
    expect(parseMosquittoConf('log_dest stderr\nlog_dest none\n', 'm.conf').log.dest).toEqual([{ kind: 'none' }]);
    expect(parseMosquittoConf('log_dest stderr\nlog_dest none\nlog_dest stdout\nlog_dest stdout\n', 'm.conf').log.dest).toEqual([{ kind: 'stdout' }]);
    expect(parseMosquittoConf('log_type all\nlog_type none\nlog_type error\n', 'm.conf').log.types).toEqual(['error']);
    expect(parseMosquittoConf('log_type error\nlog_type none\n', 'm.conf').log.types).toEqual(['none']);
  });

  it('a file that declares no listener has none (mosquitto 2.0 then listens on localhost only)', () => {
    const conf = parseMosquittoConf('allow_anonymous true\n', 'm.conf');
    expect(conf.listeners).toEqual([]);
  });

  it('bind_address alone is mosquitto\'s default listener on port 1883 at that address', () => {
    expect(parseMosquittoConf('bind_address 127.0.0.1\n', 'm.conf').listeners).toEqual([{ kind: 'tcp', port: 1883, host: '127.0.0.1', source: { file: 'm.conf', line: 1 } }]);
  });

  it('TLS settings before any listener apply to the default listener when port declares it', () => {
    const conf = parseMosquittoConf('certfile c.pem\nkeyfile k.pem\nport 18070\nlistener 18071\n', 'm.conf');
    expect(conf.listeners.map((l) => [l.port, l.kind])).toEqual([
      [18071, 'tcp'],
      [18070, 'tls'],
    ]);
  });
});
