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
 * listener); 'security' is global when per_listener_settings is false, per listener when true;
 * 'bridge' to the bridge started last by `connection NAME` in the same file (bridge-sections.ts).
 */
export type DirectiveScope = 'global' | 'listener' | 'security' | 'bridge';
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

const PLUGIN = 'mqt loads no mosquitto plugins; use password_file/acl_file or mqt\'s authenticate/authorize hooks';
const PSK = 'mqt has no TLS-PSK; use certfile/keyfile';

const b = (name: string, why?: string): Directive => s(name, 'bridge', why);
const LAZY = 'only for start_type lazy, which mqt does not support';
const BRIDGE_PSK = 'mqt has no TLS-PSK; use bridge_cafile with bridge_certfile/bridge_keyfile';

/** mosquitto's bridge directives (bridge-sections.ts reads them). */
const BRIDGE_DIRECTIVES: Directive[] = [
  b('connection', 'connection NAME: a new bridge to another broker; the bridge directives after it apply to it'),
  b('address', 'host[:port] [host[:port] ...]: the remote broker, port 1883 when not given; the first is the main one, the others are tried in turn'),
  b('addresses', 'the same as address'),
  b('topic', 'topic PATTERN [in|out|both [QOS [LOCAL-PREFIX [REMOTE-PREFIX]]]]; repeatable'),
  b('remote_username'),
  b('username', 'the old name of remote_username'),
  b('remote_password'),
  b('password', 'the old name of remote_password'),
  b('remote_clientid', 'the client id at the remote; <hostname>.<connection name> when not given, as mosquitto'),
  b('clientid', 'the old name of remote_clientid'),
  b('local_clientid', 'the bridge\'s client id in mqt; local.<remote_clientid> when not given, as mosquitto'),
  b('cleansession', 'false by default, as mosquitto: the remote keeps the bridge\'s session'),
  b('local_cleansession', 'the value of cleansession when not given'),
  b('bridge_protocol_version', 'mqttv311 (the default), mqttv31 or mqttv50'),
  b('bridge_cafile', 'turns TLS to the remote on (or bridge_capath)'),
  b('bridge_capath', 'turns TLS to the remote on (or bridge_cafile): every .pem, .crt and .cer file of the directory'),
  b('bridge_certfile'),
  b('bridge_keyfile'),
  b('bridge_insecure', 'true skips the remote certificate\'s host name check (for tests only)'),
  b('bridge_tls_version', 'the minimum: tlsv1.3, tlsv1.2 or tlsv1.1'),
  b('bridge_alpn'),
  b('keepalive_interval', 'seconds, 60 by default; below 5 is 5, as mosquitto'),
  b('restart_timeout', 'restart_timeout CONSTANT, or BASE CAP for backoff; backoff from 5 to 30 seconds by default, as mosquitto'),
  b('try_private', 'true by default: tells a mosquitto remote it is a bridge, so it does not send our messages back'),
  b('notifications', 'true by default: 1 or 0, retained, on the notification topic, locally and at the remote'),
  b('notifications_local_only'),
  b('notification_topic', '$SYS/broker/connection/<remote_clientid>/state by default'),
  b('start_type', 'automatic (the default) or once; lazy is refused'),
  b('bridge_outgoing_retain', 'true by default; false clears the retain flag of what goes out'),
  b('bridge_max_packet_size', '0 (the default) is unlimited'),
  b('round_robin', 'false by default: go back to the first address when it answers again'),
  ign('bridge_attempt_unsubscribe', 'bridge', 'mqt\'s bridges send no UNSUBSCRIBE for their out topics when they connect; connect once with cleansession true to clear a remote session\'s old subscriptions'),
  ign('local_username', 'bridge', 'a bridge\'s connection to mqt itself is in-process and trusted (no password check, no ACL), as mosquitto 2.0\'s bridge context passes its checks'),
  ign('local_password', 'bridge', 'a bridge\'s connection to mqt itself is in-process and trusted (no password check, no ACL), as mosquitto 2.0\'s bridge context passes its checks'),
  ign('idle_timeout', 'bridge', LAZY),
  ign('threshold', 'bridge', LAZY),
  ref('bridge_bind_address', 'bridge', 'mqt\'s bridges connect from the address the system chooses; remove it, or route the remote through that interface'),
  ref('bridge_require_ocsp', 'bridge', 'mqt does not check OCSP; a revoked remote certificate would be accepted'),
  ref('bridge_identity', 'bridge', BRIDGE_PSK),
  ref('bridge_psk', 'bridge', BRIDGE_PSK),
  // mosquitto 2.1
  ref('bridge_receive_maximum', 'bridge', 'mqt\'s bridges announce no receive maximum of their own'),
  ref('bridge_session_expiry_interval', 'bridge', 'mqt\'s bridges do not set a session expiry at the remote; use cleansession'),
  ref('bridge_tcp_keepalive', 'bridge', 'mqt\'s bridges use MQTT keep-alive only; use keepalive_interval'),
  ref('bridge_tcp_user_timeout', 'bridge', 'mqt\'s bridges use MQTT keep-alive only; use keepalive_interval'),
  ref('bridge_ciphers', 'bridge', 'mqt\'s bridges use Node.js\'s default ciphers'),
  ref('bridge_ciphers_tls1.3', 'bridge', 'mqt\'s bridges use Node.js\'s default ciphers'),
  ref('bridge_max_topic_alias', 'bridge', 'mqt\'s bridges use no topic aliases'),
  ref('bridge_reload_type', 'bridge', 'mqt does not reload bridges on SIGHUP; restart it'),
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
  s('sys_interval', 'global', 'seconds between publishes of the retained $SYS/broker/... tree, 10 by default; 0 turns it off'),
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
  ext('http_port', 'global', 'mqt extension: serve /metrics, the admin API and the dashboard over HTTP on this port (0 picks one); as --http-port'),
  ext('http_host', 'global', 'mqt extension: the address of http_port; loopback when not given'),
  ext('cluster', 'global', 'mqt extension: run as one node of a cluster sharing routing, retained messages and sessions through this Redis (redis://HOST:PORT); as --cluster'),
  ext('node_id', 'global', 'mqt extension: this node\'s name in the cluster; as --node-id'),
  ext('admin_user', 'global', 'mqt extension: a password_file user who may use the admin API with HTTP Basic; repeatable'),

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
  ...BRIDGE_DIRECTIVES,
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
