import { describe, expect, it } from 'vitest';
import { DIRECTIVES, parseMosquittoConf } from '../../../src/core/config/mosquitto-conf.js';

/** A line that is valid for a supported directive, in a file that makes it valid where it is. */
const SAMPLE: Record<string, string> = {
  listener: 'listener 18001',
  port: 'port 18001',
  bind_address: 'bind_address 127.0.0.1',
  protocol: 'listener 18001\nprotocol websockets',
  socket_domain: 'listener 18001\nsocket_domain ipv6',
  max_connections: 'listener 18001\nmax_connections 10',
  cafile: 'listener 18001\ncertfile c\nkeyfile k\ncafile ca',
  capath: 'listener 18001\ncertfile c\nkeyfile k\ncapath cas',
  certfile: 'listener 18001\ncertfile c\nkeyfile k',
  keyfile: 'listener 18001\ncertfile c\nkeyfile k',
  require_certificate: 'listener 18001\ncertfile c\nkeyfile k\ncafile ca\nrequire_certificate true',
  use_identity_as_username: 'listener 18001\ncertfile c\nkeyfile k\nuse_identity_as_username true',
  tls_version: 'listener 18001\ncertfile c\nkeyfile k\ntls_version tlsv1.3',
  ciphers: 'listener 18001\ncertfile c\nkeyfile k\nciphers HIGH',
  'ciphers_tls1.3': 'listener 18001\ncertfile c\nkeyfile k\nciphers_tls1.3 TLS_AES_256_GCM_SHA384',
  include_dir: 'include_dir d',
  log_dest: 'log_dest stderr',
  log_type: 'log_type debug',
  max_queue_memory: 'max_queue_memory 64M',
  allow_from: 'allow_from 127.0.0.1/32',
  deny_from: 'deny_from ::1',
  persistence_location: 'persistence_location /var/lib/mqt/',
  password_file: 'password_file p',
  acl_file: 'acl_file a',
  max_packet_size: 'max_packet_size 1024',
};
/** A bridge directive is valid inside a bridge: after a connection line with an address and a topic. */
const BRIDGE = 'connection b\naddress h\ntopic t\n';
const BRIDGE_SAMPLE: Record<string, string> = {
  connection: 'connection b\naddress h\ntopic t',
  address: 'connection b\naddress h:1884 g\ntopic t',
  addresses: 'connection b\naddresses h:1884 g\ntopic t',
  topic: 'connection b\naddress h\ntopic a/# in 2 L/ R/',
  remote_password: `${BRIDGE}remote_username u\nremote_password p w`,
  password: `${BRIDGE}username u\npassword p`,
  bridge_protocol_version: `${BRIDGE}bridge_protocol_version mqttv50`,
  bridge_cafile: `${BRIDGE}bridge_cafile ca`,
  bridge_capath: `${BRIDGE}bridge_capath cas`,
  bridge_certfile: `${BRIDGE}bridge_cafile ca\nbridge_certfile c\nbridge_keyfile k`,
  bridge_keyfile: `${BRIDGE}bridge_cafile ca\nbridge_certfile c\nbridge_keyfile k`,
  bridge_insecure: `${BRIDGE}bridge_cafile ca\nbridge_insecure true`,
  bridge_tls_version: `${BRIDGE}bridge_cafile ca\nbridge_tls_version tlsv1.3`,
  bridge_alpn: `${BRIDGE}bridge_cafile ca\nbridge_alpn mqtt`,
  restart_timeout: `${BRIDGE}restart_timeout 5 30`,
  start_type: `${BRIDGE}start_type once`,
  notification_topic: `${BRIDGE}notification_topic b/state`,
};
const BRIDGE_BOOLEANS = new Set(['cleansession', 'local_cleansession', 'try_private', 'notifications', 'notifications_local_only', 'bridge_outgoing_retain', 'round_robin']);
const BOOLEANS = new Set(['per_listener_settings', 'allow_anonymous', 'retain_available', 'persistence', 'retained_persistence', 'log_timestamp', 'connection_messages']);
const emptyDir = { listDir: () => [], readFile: () => '' };

describe('DIRECTIVES', () => {
  it('names each directive once', () => {
    const names = DIRECTIVES.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('every supported directive is read (a table entry without a handler would throw a bug error)', () => {
    for (const d of DIRECTIVES.filter((x) => x.status === 'supported')) {
      const text =
        d.scope === 'bridge'
          ? (BRIDGE_SAMPLE[d.name] ?? `${BRIDGE}${d.name} ${BRIDGE_BOOLEANS.has(d.name) ? 'true' : '5'}`)
          : (SAMPLE[d.name] ?? `${d.name} ${BOOLEANS.has(d.name) ? 'true' : '5'}`);
      expect(() => parseMosquittoConf(`${text}\n`, 'm.conf', emptyDir), d.name).not.toThrow();
    }
  });

  it('every refused directive is an error saying mqt does not support it, with why', () => {
    for (const d of DIRECTIVES.filter((x) => x.status === 'refused')) {
      expect(d.why, d.name).toBeTruthy();
      expect(() => parseMosquittoConf(`${d.name} x\n`, 'm.conf'), d.name).toThrow(`m.conf:1: mqt does not support ${d.name}: ${d.why}`);
    }
  });

  it('every ignored directive is accepted with one warning saying why', () => {
    for (const d of DIRECTIVES.filter((x) => x.status === 'ignored')) {
      const value = ['autosave_on_changes', 'set_tcp_nodelay', 'allow_duplicate_messages', 'bridge_attempt_unsubscribe'].includes(d.name) ? 'true' : '1';
      // An ignored bridge directive still belongs inside a bridge, as mosquitto requires.
      const before = d.scope === 'bridge' ? BRIDGE : '';
      const line = d.scope === 'bridge' ? 4 : 1;
      // Twice where mosquitto allows it (numbers, booleans); strings once (a duplicate is an error).
      const twice = ['pid_file', 'persistence_file', 'log_timestamp_format'].includes(d.name) ? `${d.name} x\nlog_timestamp true\n` : `${d.name} ${value}\n${d.name} ${value}\n`;
      const conf = parseMosquittoConf(before + twice, 'm.conf');
      expect(conf.warnings, d.name).toEqual([`m.conf:${line}: ${d.name} is ignored by mqt (${d.why})`]);
    }
  });

  it('marks mqt\'s own directives as such, and only them', () => {
    expect(DIRECTIVES.filter((d) => d.origin === 'mqt').map((d) => d.name).sort()).toEqual(['admin_user', 'allow_from', 'cluster', 'deny_from', 'http_host', 'http_port', 'max_queue_memory', 'max_subscriptions', 'max_topic_levels', 'node_id']);
  });
});
