import { describe, expect, it } from 'vitest';
import { ConfError, parseMosquittoConf, readMosquittoConf, type ConfReader } from '../../../src/core/config/mosquitto-conf.js';

/** Parses `text` as m.conf and returns the ConfError it must throw. */
function errorOf(text: string, reader?: ConfReader): ConfError {
  try {
    parseMosquittoConf(text, 'm.conf', reader);
  } catch (e) {
    if (e instanceof ConfError) return e;
    throw e;
  }
  throw new Error(`no error for:\n${text}`);
}

const L = 'listener 18001\n';
const TLS = 'certfile c.pem\nkeyfile k.pem\n';

// [what, text, line, message after "m.conf:LINE: "]
const CASES: Array<[string, string, number, string]> = [
  // ---- lines ----
  ['an indented comment (mosquitto: Unknown configuration variable "#")', `${L}  # note\n`, 2, 'a comment must start at the beginning of its line (mosquitto refuses "  # ..."); remove the blanks before #'],
  ['a tab between directive and value', 'listener\t18001\n', 1, '"listener\\t18001": separate a directive from its value with spaces, not tabs (mosquitto reads a tab as part of the name)'],
  ['an unknown directive close to a known one', `${L}allow_anonymus true\n`, 2, 'unknown directive "allow_anonymus" (did you mean "allow_anonymous"?); mosquitto would refuse it too, fix the spelling'],
  ['an unknown directive', `${L}frobnicate 3\n`, 2, 'unknown directive "frobnicate"; neither mosquitto 2.0 nor mqt has it, check mosquitto.conf(5) and remove or fix it'],
  // ---- refused mosquitto features ----
  ['a bridge without a topic line', `${L}connection upstream\naddress example.com:1883\n`, 2, 'bridge upstream has no topic line, so it would carry nothing; add one, e.g. topic # both 1'],
  ['a bridge setting outside a bridge', `${L}topic sensors/# out 1\n`, 2, 'topic is a bridge setting but comes before any "connection NAME" line in this file (mosquitto: "Invalid bridge configuration"); start the bridge with connection NAME'],
  ['bridge_psk', `${L}connection upstream\nbridge_psk 00ff\n`, 3, 'mqt does not support bridge_psk: mqt has no TLS-PSK; use bridge_cafile with bridge_certfile/bridge_keyfile'],
  ['an auth plugin', 'auth_plugin /usr/lib/auth.so\n', 1, "mqt does not support auth_plugin: mqt loads no mosquitto plugins; use password_file/acl_file or mqt's authenticate/authorize hooks"],
  ['a plugin option', 'plugin_opt_db x\n', 1, "mqt does not support plugin_opt_db: mqt loads no mosquitto plugins; use password_file/acl_file or mqt's authenticate/authorize hooks"],
  ['psk_hint', `${L}psk_hint hint\n`, 2, 'mqt does not support psk_hint: mqt has no TLS-PSK; use certfile/keyfile'],
  ['http_dir', `${L}protocol websockets\nhttp_dir /var/www\n`, 3, "mqt does not support http_dir: mqt's WebSocket listeners serve no files"],
  ['user', 'user mosquitto\n', 1, 'mqt does not support user: mqt does not switch user when started as root; remove it and start mqt as that user (systemd User=)'],
  ['mount_point', `${L}mount_point site/\n`, 2, 'mqt does not support mount_point: mqt has no mount points; topics would not be prefixed'],
  ['log_dest dlt', 'log_dest dlt\n', 1, 'mqt does not support log_dest dlt (the automotive DLT daemon); use stdout, stderr, file PATH or none'],
  ['log_dest syslog', 'log_dest syslog\n', 1, 'mqt does not support log_dest syslog; use log_dest stderr (journald keeps it under systemd) or log_dest file PATH'],
  ['log_dest topic', 'log_dest topic\n', 1, 'mqt does not support log_dest topic yet; use log_dest stdout, stderr or file PATH'],
  ['a Unix socket listener', 'listener 0 /run/mqtt.sock\n', 1, 'listener 0 is a Unix socket listener in mosquitto; mqt has none, use a TCP port (1-65535)'],
  // ---- values ----
  ['a listener without port', 'listener\n', 1, 'listener needs a port: listener PORT [ADDRESS]'],
  ['a port out of range', 'listener 70000\n', 1, 'listener must be between 1 and 65535, not 70000'],
  ['a port that is not a number (mosquitto: atoi)', 'listener 18001x\n', 1, 'listener takes a whole number, not "18001x"'],
  ['too many words after listener', 'listener 18001 127.0.0.1 extra\n', 1, 'listener takes one value; "extra" is one word too many'],
  ['a boolean that is not one', `${L}allow_anonymous yes\n`, 2, 'allow_anonymous takes true or false, not "yes"'],
  ['a missing value', `${L}allow_anonymous\n`, 2, 'allow_anonymous needs a value'],
  ['an extra value', `${L}allow_anonymous true false\n`, 2, 'allow_anonymous takes one value; "false" is one word too many'],
  ['a comment after a value', `${L}allow_anonymous true # for tests\n`, 2, 'allow_anonymous takes one value; a comment must be on a line of its own (mosquitto does not read "# ..." after a value as a comment)'],
  ['an empty path', `${L}password_file   \n`, 2, 'password_file needs a value'],
  ['an enum out of its values', `${L}protocol mqtts\n`, 2, 'protocol takes mqtt or websockets, not "mqtts"'],
  ['socket_domain', `${L}socket_domain ipv5\n`, 2, 'socket_domain takes ipv4 or ipv6, not "ipv5"'],
  ['tls_version', `${L}${TLS}tls_version tlsv1.0\n`, 4, 'tls_version takes tlsv1.3, tlsv1.2 or tlsv1.1, not "tlsv1.0"'],
  ['max_keepalive above 65535 (mosquitto: Invalid max_keepalive value)', 'max_keepalive 70000\n', 1, 'max_keepalive must be between 0 and 65535, not 70000'],
  ['max_packet_size below 20 (mosquitto: Invalid max_packet_size value)', 'max_packet_size 10\n', 1, 'max_packet_size must be between 20 and 268435460, not 10'],
  ['max_inflight_messages above 65535 (mosquitto: must be <= 65535)', 'max_inflight_messages 70000\n', 1, 'max_inflight_messages must be at most 65535, not 70000'],
  ['message_size_limit above MQTT\'s largest payload', 'message_size_limit 268435456\n', 1, 'message_size_limit must be between 0 and 268435455, not 268435456'],
  ['sys_interval negative (mosquitto: Invalid sys_interval value)', 'sys_interval -1\n', 1, 'sys_interval must be between 0 and 65535, not -1'],
  ['max_connections not a number (mosquitto reads 0: no connections at all)', `${L}max_connections abc\n`, 2, 'max_connections takes a whole number, not "abc"'],
  ['a log_dest that is not one', 'log_dest console\n', 1, 'log_dest takes stdout, stderr, file PATH, syslog, topic or none, not "console"'],
  ['log_dest file without a path', 'log_dest file\n', 1, 'log_dest file needs a path: log_dest file /var/log/mosquitto/mosquitto.log'],
  ['log_dest file twice (mosquitto: Duplicate "log_dest file" value)', 'log_dest file a.log\nlog_dest file b.log\n', 2, 'log_dest file is given a second time (first at m.conf:1); mosquitto refuses a duplicate, keep one'],
  ['log_type empty (mosquitto prints an error and goes on)', 'log_type\n', 1, 'log_type needs a value'],
  ['log_type unknown', 'log_type verbose\n', 1, 'log_type takes none, information, notice, warning, error, debug, subscribe, unsubscribe, websockets or all, not "verbose"'],
  ['allow_from not an address', 'allow_from 10.0.0/8\n', 1, 'allow_from takes an IP address or address/prefix (e.g. 10.0.0.0/8 or fd00::/8), not "10.0.0/8"'],
  ['deny_from with a prefix too long', 'deny_from 10.0.0.0/33\n', 1, 'deny_from: the prefix of "10.0.0.0/33" must be 0 to 32'],
  ['max_queue_memory with an unknown unit', 'max_queue_memory 5T\n', 1, 'max_queue_memory takes a number of bytes, optionally with k, M or G (e.g. 512M), not "5T"'],
  // ---- repeated ----
  ['a path twice (mosquitto: Duplicate password_file value)', 'password_file a\npassword_file b\n', 2, 'password_file is given a second time (first at m.conf:1); mosquitto refuses a duplicate value, keep one'],
  ['certfile twice on one listener', `${L}certfile a\ncertfile b\n`, 3, 'certfile is given a second time (first at m.conf:2); mosquitto refuses a duplicate value, keep one'],
  ['an ignored path twice (mosquitto: Duplicate pid_file value)', 'pid_file a.pid\npid_file b.pid\n', 2, 'pid_file is given a second time (first at m.conf:1); mosquitto refuses a duplicate value, keep one'],
  ['bind_address twice', 'bind_address 127.0.0.1\nbind_address ::1\n', 2, 'bind_address is given a second time (first at m.conf:1); mosquitto refuses a duplicate value, keep one'],
  // ---- per_listener_settings ----
  ['per_listener_settings true after a security directive (mosquitto: must be set before any other security settings)', `${L}allow_anonymous true\nper_listener_settings true\n`, 3, 'per_listener_settings must come before any security setting (allow_anonymous at m.conf:2), as mosquitto requires; move it to the top of the file'],
  ['per_listener_settings turned off again (mosquitto skips the line)', 'per_listener_settings true\nper_listener_settings false\n', 2, 'per_listener_settings was set true at m.conf:1, and mosquitto cannot turn it off again (it skips this line); remove one of the two'],
  ['per-listener security before any listener, no default listener (mosquitto opens 1883 for it)', 'per_listener_settings true\npassword_file p\nlistener 18001\n', 2, 'password_file comes before any listener line, so mosquitto would open a default listener on port 1883 for it; put it after a "listener PORT" line (or add "port 1883" if that listener is meant)'],
  // ---- listeners ----
  ['TLS settings before any listener, no default listener', `${TLS}listener 18001\n`, 1, 'certfile comes before any listener line, so mosquitto would open a default listener on port 1883 for it; put it after a "listener PORT" line (or add "port 1883" if that listener is meant)'],
  ['certfile without keyfile (mosquitto serves plain TCP)', `${L}certfile c.pem\n`, 2, 'certfile without keyfile on the listener of m.conf:1; add keyfile (TLS needs both; mosquitto would serve plain TCP)'],
  ['keyfile without certfile', `${L}keyfile k.pem\n`, 2, 'keyfile without certfile on the listener of m.conf:1; add certfile (TLS needs both; mosquitto would serve plain TCP)'],
  ['cafile on a plain listener (mosquitto ignores it)', `${L}cafile ca.pem\n`, 2, 'cafile on the listener of m.conf:1, which has no certfile and keyfile: mosquitto ignores it and serves plain TCP; add certfile and keyfile, or remove cafile'],
  ['require_certificate on a plain listener', `${L}require_certificate true\n`, 2, 'require_certificate on the listener of m.conf:1, which has no certfile and keyfile: mosquitto ignores it and serves plain TCP; add certfile and keyfile, or remove require_certificate'],
  ['require_certificate without a CA', `${L}${TLS}require_certificate true\n`, 4, 'require_certificate true on the listener of m.conf:1 needs cafile or capath to check client certificates against; add one'],
  ['TLS settings on the default listener without keyfile', 'port 18002\ncertfile c.pem\n', 2, 'certfile without keyfile on the default listener (port 18002); add keyfile (TLS needs both; mosquitto would serve plain TCP)'],
  ['two listeners on one port and address (mosquitto: Address already in use)', `${L}listener 18002\nlistener 18001\n`, 3, 'a second listener on port 18001 overlaps the one of m.conf:1 (every address); the second could not bind (mosquitto fails with "Address already in use"); give it another port or address'],
  ['a listener on every address and one on a single address, same port', 'listener 18001 127.0.0.1\nlistener 18001\n', 2, 'a second listener on port 18001 overlaps the one of m.conf:1 (127.0.0.1); the second could not bind (mosquitto fails with "Address already in use"); give it another port or address'],
  ['the default listener on the port of another', 'listener 1883\nport 1883\n', 2, 'a second listener on port 1883 overlaps the one of m.conf:1 (every address); the second could not bind (mosquitto fails with "Address already in use"); give it another port or address'],
];

describe('mosquitto.conf errors name the file and line, what is wrong and what to do', () => {
  for (const [what, text, line, message] of CASES) {
    it(what, () => {
      const e = errorOf(text);
      expect({ file: e.file, line: e.line, message: e.message }).toEqual({ file: 'm.conf', line, message: `m.conf:${line}: ${message}` });
    });
  }

  it('two listeners on one port but different addresses or socket domains are fine', () => {
    expect(parseMosquittoConf('listener 18001 127.0.0.1\nlistener 18001 127.0.0.2\nlistener 18002\nsocket_domain ipv4\nlistener 18002\nsocket_domain ipv6\n', 'm.conf').listeners).toHaveLength(4);
  });

  it('include_dir inside an included file: the error names the included file (mosquitto skips it silently)', () => {
    const reader: ConfReader = {
      listDir: (dir) => (dir === 'd' ? ['x.conf'] : []),
      readFile: (path) => (path === 'd/x.conf' ? 'listener 18001\ninclude_dir e\n' : ''),
    };
    const e = errorOf('include_dir d\n', reader);
    expect(e.message).toBe('d/x.conf:2: include_dir in an included file: mosquitto only reads include_dir in the main file and skips this one; move it to the main file');
  });

  it('an error inside an included file names that file and its line', () => {
    const reader: ConfReader = { listDir: () => ['x.conf'], readFile: () => '# one\nlistener 18001\nallow_anonymous maybe\n' };
    expect(errorOf('include_dir d\n', reader).message).toBe('d/x.conf:3: allow_anonymous takes true or false, not "maybe"');
  });

  it('an include_dir that cannot be listed, and an entry ending .conf that is a directory (mosquitto: "is a directory")', () => {
    const missing: ConfReader = { listDir: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); }, readFile: () => '' };
    expect(errorOf('\ninclude_dir /nope\n', missing).message).toBe('m.conf:2: cannot open include_dir "/nope" (no such file); a relative path is taken from the working directory, as in mosquitto');
    const dirEntry: ConfReader = { listDir: () => ['sub.conf'], readFile: () => { throw Object.assign(new Error('x'), { code: 'EISDIR' }); } };
    expect(errorOf('include_dir d\n', dirEntry).message).toBe('m.conf:1: include_dir: cannot read d/sub.conf (it is a directory); mosquitto reads every name ending .conf there');
  });

  it('a configuration file that cannot be read, or is not UTF-8', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mqt-conf-'));
    try {
      expect(() => readMosquittoConf(join(dir, 'none.conf'))).toThrow(`${join(dir, 'none.conf')}: cannot read the configuration file (no such file); check the path given to -c`);
      expect(() => readMosquittoConf(dir)).toThrow(`${dir}: cannot read the configuration file (it is a directory); check the path given to -c`);
      await writeFile(join(dir, 'latin1.conf'), Buffer.concat([Buffer.from('listener 18001\npassword_file /etc/p'), Buffer.from([0xe4]), Buffer.from('sswd\n')]));
      expect(() => readMosquittoConf(join(dir, 'latin1.conf'))).toThrow(`${join(dir, 'latin1.conf')}:2: not valid UTF-8; save the file as UTF-8`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
