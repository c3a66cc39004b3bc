/**
 * Every mosquitto.conf directive mqt knows, and what it does with it: supported (read into
 * MosquittoConf), ignored (accepted, reported once in `warnings` with why ignoring is harmless) or
 * refused (an error: mosquitto has it, mqt does not, and skipping it would change security or
 * delivery). Every directive of mosquitto 2.0's mosquitto.conf(5) is here, so a mosquitto user
 * never meets "unknown directive" but "mqt does not support X (why)". A few of mosquitto 2.1 too.
 * The closing note and the man page are generated from this table.
 *
 * Scope, as mosquitto 2.0 (src/conf.c): 'global' applies to the whole broker; 'listener' to the
 * listener declared last in the same file (before any `listener` line: mosquitto's default
 * listener); 'security' is global when per_listener_settings is false, per listener when true.
 */
export type DirectiveScope = 'global' | 'listener' | 'security';
export type DirectiveStatus = 'supported' | 'ignored' | 'refused';

export interface Directive {
  name: string;
  scope: DirectiveScope;
  status: DirectiveStatus;
  /** Why it is ignored or refused (shown to the user), or a note for a supported one. */
  why?: string;
  /** 'mqt': our extension, mosquitto does not have it. */
  origin: 'mosquitto' | 'mqt';
}

const s = (name: string, scope: DirectiveScope, why?: string): Directive => ({ name, scope, status: 'supported', origin: 'mosquitto', ...(why === undefined ? {} : { why }) });
const ext = (name: string, scope: DirectiveScope, why: string): Directive => ({ name, scope, status: 'supported', origin: 'mqt', why });
const ign = (name: string, scope: DirectiveScope, why: string): Directive => ({ name, scope, status: 'ignored', origin: 'mosquitto', why });
const ref = (name: string, scope: DirectiveScope, why: string): Directive => ({ name, scope, status: 'refused', origin: 'mosquitto', why });

const BRIDGE = 'bridges are not part of mqt; run mosquitto as the bridge next to mqt';
const PLUGIN = 'mqt loads no mosquitto plugins; use password_file/acl_file or mqt\'s authenticate/authorize hooks';
const PSK = 'mqt has no TLS-PSK; use certfile/keyfile';

const BRIDGE_DIRECTIVES = [
  'address', 'addresses', 'bridge_attempt_unsubscribe', 'bridge_bind_address', 'bridge_max_packet_size', 'bridge_outgoing_retain',
  'bridge_protocol_version', 'bridge_cafile', 'bridge_capath', 'bridge_certfile', 'bridge_keyfile', 'bridge_insecure',
  'bridge_require_ocsp', 'bridge_tls_version', 'bridge_alpn', 'bridge_identity', 'bridge_psk', 'cleansession', 'local_cleansession',
  'clientid', 'remote_clientid', 'connection', 'idle_timeout', 'keepalive_interval', 'local_clientid', 'local_password',
  'local_username', 'notifications', 'notifications_local_only', 'notification_topic', 'password', 'remote_password',
  'remote_username', 'username', 'restart_timeout', 'round_robin', 'start_type', 'threshold', 'topic', 'try_private',
  // mosquitto 2.1
  'bridge_receive_maximum', 'bridge_session_expiry_interval', 'bridge_tcp_keepalive', 'bridge_tcp_user_timeout', 'bridge_ciphers',
  'bridge_ciphers_tls1.3',
];

export const DIRECTIVES: ReadonlyArray<Directive> = [
  // ---- listeners ----
  s('listener', 'global', 'listener PORT [ADDRESS]: a new listener; the listener directives after it apply to it'),
  s('port', 'global', 'the port of mosquitto\'s default listener (deprecated by mosquitto; use listener)'),
  s('bind_address', 'global', 'the address of mosquitto\'s default listener (deprecated by mosquitto; use listener PORT ADDRESS)'),
  s('protocol', 'listener', 'mqtt or websockets'),
  s('socket_domain', 'listener', 'ipv4 or ipv6'),
  s('max_connections', 'listener', '-1 is unlimited'),
  s('cafile', 'listener'),
  s('capath', 'listener'),
  s('certfile', 'listener'),
  s('keyfile', 'listener'),
  s('require_certificate', 'listener'),
  s('use_identity_as_username', 'listener'),
  s('tls_version', 'listener', 'the minimum: tlsv1.3, tlsv1.2 or tlsv1.1'),
  s('ciphers', 'listener'),
  s('ciphers_tls1.3', 'listener'),
  // ---- security ----
  s('per_listener_settings', 'global'),
  s('allow_anonymous', 'security'),
  s('password_file', 'security'),
  s('acl_file', 'security'),
  // ---- limits, persistence, $SYS ----
  s('max_inflight_messages', 'global'),
  s('max_queued_messages', 'global'),
  s('message_size_limit', 'global'),
  s('max_packet_size', 'global'),
  s('max_keepalive', 'global'),
  s('retain_available', 'global'),
  s('persistence', 'global', 'true keeps retained messages and persistent sessions in persistence_location, every change committed before it is acknowledged'),
  s('retained_persistence', 'global', 'the same as persistence (mosquitto\'s other name for it)'),
  s('persistence_location', 'global', 'the directory of the store (created if missing); the current directory when not given, as mosquitto'),
  s('sys_interval', 'global', 'a value above 0 is accepted with a warning: mqt does not publish $SYS yet'),
  s('include_dir', 'global', 'the files ending .conf in the directory, sorted as mosquitto sorts them; main file only'),
  // ---- logging ----
  s('log_dest', 'global', 'stdout, stderr, file PATH or none (syslog and topic are refused)'),
  s('log_type', 'global'),
  s('log_timestamp', 'global'),
  s('connection_messages', 'global'),
  // ---- mqt's own ----
  ext('allow_from', 'listener', 'mqt extension: allow_from CIDR, repeatable; before any listener: global, after a listener line: that listener'),
  ext('deny_from', 'listener', 'mqt extension: deny_from CIDR, repeatable; scoped as allow_from'),
  ext('max_subscriptions', 'global', 'mqt extension: subscriptions per client; 0 is unlimited'),
  ext('max_topic_levels', 'global', 'mqt extension: levels of a topic or filter; 0 is unlimited'),
  ext('max_queue_memory', 'global', 'mqt extension: bytes in all queues together; a number with an optional k, M or G (x1024); 0 is unlimited'),

  // ---- accepted and ignored: harmless to ignore ----
  ign('autosave_interval', 'global', 'mqt stores every change before acknowledging it, so there is no snapshot to schedule'),
  ign('autosave_on_changes', 'global', 'mqt stores every change before acknowledging it, so there is no snapshot to schedule'),
  ign('persistence_file', 'global', 'mqt keeps its store as an LMDB environment in persistence_location, not as one mosquitto.db file'),
  ign('pid_file', 'global', 'mqt does not daemonize nor write a pid file; a service manager knows its pid'),
  ign('log_timestamp_format', 'global', 'mqt\'s log timestamps have one fixed format'),
  ign('log_facility', 'global', 'mqt does not log to syslog, so a facility changes nothing'),
  ign('websockets_log_level', 'global', 'it tunes libwebsockets\' own debug output, which mqt does not use'),
  ign('websockets_headers_size', 'global', 'mqt\'s WebSocket server sizes its header buffer itself'),
  ign('set_tcp_nodelay', 'global', 'mqt writes each connection\'s output once per tick, so Nagle\'s delay does not build up'),
  ign('retry_interval', 'global', 'mosquitto 2.0 ignores it too ("no longer available")'),
  ign('allow_duplicate_messages', 'global', 'deprecated by mosquitto; mqt delivers one copy per session for overlapping subscriptions, as MQTT 5 asks'),
  ign('auto_id_prefix', 'security', 'mqt chooses the client id it assigns to clients that send none'),
  ign('max_topic_alias', 'listener', 'mqt sets the topic alias maximum it announces to MQTT 5 clients itself'),
  ign('dhparamfile', 'listener', 'Node.js picks ECDHE key exchange; no DH parameters are needed'),

  // ---- refused: would change security or delivery ----
  ref('user', 'global', 'mqt does not switch user when started as root; remove it and start mqt as that user (systemd User=)'),
  ref('bind_interface', 'listener', 'mqt binds to addresses only; use listener PORT ADDRESS'),
  ref('http_dir', 'listener', 'mqt\'s WebSocket listeners serve no files'),
  ref('mount_point', 'listener', 'mqt has no mount points; topics would not be prefixed'),
  ref('max_qos', 'listener', 'mqt grants every QoS; a limit would be silently lifted'),
  ref('maximum_qos', 'listener', 'mqt grants every QoS; a limit would be silently lifted'),
  ref('use_username_as_clientid', 'listener', 'mqt keeps the client id the client sends'),
  ref('use_subject_as_username', 'listener', 'mqt can take the certificate\'s CN as username (use_identity_as_username), not the whole subject'),
  ref('crlfile', 'listener', 'mqt does not check revocation lists; revoked certificates would be accepted'),
  ref('tls_engine', 'listener', 'mqt loads keys from PEM files only'),
  ref('tls_engine_kpass_sha1', 'listener', 'mqt loads keys from PEM files only'),
  ref('tls_keyform', 'listener', 'mqt loads keys from PEM files only'),
  ref('psk_hint', 'listener', PSK),
  ref('psk_file', 'security', PSK),
  ref('allow_zero_length_clientid', 'security', 'mqt follows the MQTT rules for empty client ids and cannot refuse them'),
  ref('check_retain_source', 'security', 'mqt does not re-check a retained message\'s publisher against the ACL'),
  ref('clientid_prefixes', 'global', 'mqt does not restrict client ids by prefix; use an acl_file'),
  ref('upgrade_outgoing_qos', 'global', 'mqt delivers at the QoS granted, as MQTT asks'),
  ref('queue_qos0_messages', 'global', 'mqt does not queue QoS 0 messages for offline clients'),
  ref('max_inflight_bytes', 'global', 'mqt limits in-flight messages by count; use max_inflight_messages'),
  ref('max_queued_bytes', 'global', 'mqt limits queues by count per client; use max_queued_messages, or max_queue_memory for the whole broker'),
  ref('memory_limit', 'global', 'mqt caps the memory of queues, not the whole process; use max_queue_memory'),
  ref('persistent_client_expiration', 'global', 'mqt does not expire MQTT 3 persistent sessions by age'),
  ref('auth_plugin', 'security', PLUGIN),
  ref('plugin', 'security', PLUGIN),
  ref('auth_plugin_deny_special_chars', 'security', PLUGIN),
  ref('global_plugin', 'global', PLUGIN),
  ref('plugin_load', 'global', PLUGIN),
  // mosquitto 2.1
  ref('accept_protocol_versions', 'listener', 'mqt accepts MQTT 3.1, 3.1.1 and 5 on every listener'),
  ref('disable_client_cert_date_checks', 'listener', 'mqt always checks certificate dates'),
  ref('enable_control_api', 'global', 'mqt has no $CONTROL API'),
  ref('global_max_clients', 'global', 'use max_connections per listener'),
  ref('global_max_connections', 'global', 'use max_connections per listener'),
  ref('websockets_origin', 'listener', 'mqt does not check the Origin header'),
  ref('max_topic_alias_broker', 'listener', 'mqt uses as many outgoing topic aliases as each client allows and has no cap of its own to set'),
  ...BRIDGE_DIRECTIVES.map((name) => ref(name, 'global', BRIDGE)),
];

/** Prefixes mosquitto treats as directive families (`plugin_opt_KEY value`, `auth_opt_KEY value`). */
export const REFUSED_PREFIXES: ReadonlyArray<{ prefix: string; why: string }> = [
  { prefix: 'plugin_opt_', why: PLUGIN },
  { prefix: 'auth_opt_', why: PLUGIN },
];

const BY_NAME = new Map(DIRECTIVES.map((d) => [d.name, d]));

/** The table entry for a directive name, including the plugin_opt_* / auth_opt_* families. */
export function directiveFor(name: string): Directive | undefined {
  const found = BY_NAME.get(name);
  if (found) return found;
  const family = REFUSED_PREFIXES.find((p) => name.startsWith(p.prefix) && name.length > p.prefix.length);
  return family ? { name, scope: 'security', status: 'refused', origin: 'mosquitto', why: family.why } : undefined;
}
