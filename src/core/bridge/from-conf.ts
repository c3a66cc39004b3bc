/**
 * A mosquitto.conf bridge section (config/bridge-sections.ts) as the engine's BridgeOptions,
 * with mosquitto 2.0's defaults filled in. Where each default comes from (mosquitto 2.0.11:
 * src/conf.c at a `connection` line and in config__check_bridges, and mosquitto.conf(5)):
 * - remote_clientid: `<hostname>.<name>` (gethostname(), as os.hostname(); the man page says
 *   "name.hostname" but the code, and a running 2.0.11, use hostname first);
 * - local_clientid: `local.<remote_clientid>`; two bridges with one local_clientid are an error;
 * - notification_topic: `$SYS/broker/connection/<remote_clientid>/state`;
 * - keepalive_interval 60; restart_timeout: backoff ("decorrelated jitter") from 5 to 30 seconds
 *   when not given, a constant with one value, backoff with two;
 * - cleansession false, local_cleansession the value of cleansession; try_private true;
 *   notifications true, notifications_local_only false; start_type automatic;
 *   bridge_outgoing_retain true; bridge_protocol_version mqttv311; bridge_max_packet_size 0
 *   (unlimited); round_robin false; bridge_insecure false;
 * - the port of an address: 1883 when not given, with TLS too (the man page: "the default of
 *   1883 is used").
 * checkBridgeFiles() reads a bridge's TLS files once, for `--check` and start-up, so a missing
 * or mismatched file is a one-line error at its line rather than a reconnect loop.
 */
import { createRequire } from 'node:module';
import { hostname as osHostname } from 'node:os';
import { ConfError, type BridgeConf, type BridgeTlsConf, type ConfSource } from '../config/conf-types.js';
import { readTlsFiles, TlsFileError } from '../net/tls-files.js';
import { loadTlsServer } from '../net/tls-server.js';
import type { BridgeOptions, BridgeTls } from './types.js';

/** mosquitto 2.0's defaults for what a bridge section does not say (the ids depend on the host name). */
export const BRIDGE_DEFAULTS = {
  keepalive: 60,
  restartTimeout: { base: 5, cap: 30 },
  cleanSession: false,
  protocolVersion: 4,
  tryPrivate: true,
  notifications: true,
  notificationsLocalOnly: false,
  startType: 'automatic',
  outgoingRetain: true,
  maxPacketSize: 0,
  roundRobin: false,
} as const;

const PROTOCOL = { mqttv31: 3, mqttv311: 4, mqttv50: 5 } as const;
const TLS_VERSION = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' } as const;

/** One bridge section with mosquitto's defaults; `host` is this machine's name (for the default client ids). */
export function bridgeOptions(conf: BridgeConf, host: string = osHostname()): BridgeOptions {
  const d = BRIDGE_DEFAULTS;
  const remoteClientId = conf.remoteClientId ?? `${host}.${conf.name}`;
  const cleanSession = conf.cleanSession ?? d.cleanSession;
  const options: BridgeOptions = {
    name: conf.name,
    addresses: conf.addresses.map((a) => ({ host: a.host, port: a.port })),
    topics: conf.topics.map((t) => ({ pattern: t.pattern, direction: t.direction, qos: t.qos, localPrefix: t.localPrefix, remotePrefix: t.remotePrefix })),
    remoteClientId,
    localClientId: conf.localClientId ?? `local.${remoteClientId}`,
    cleanSession,
    localCleanSession: conf.localCleanSession ?? cleanSession,
    protocolVersion: conf.protocolVersion !== undefined ? PROTOCOL[conf.protocolVersion] : d.protocolVersion,
    keepalive: conf.keepaliveInterval ?? d.keepalive,
    restartTimeout: conf.restartTimeout !== undefined ? { ...conf.restartTimeout } : { ...d.restartTimeout },
    tryPrivate: conf.tryPrivate ?? d.tryPrivate,
    notifications: conf.notifications ?? d.notifications,
    notificationsLocalOnly: conf.notificationsLocalOnly ?? d.notificationsLocalOnly,
    notificationTopic: conf.notificationTopic ?? `$SYS/broker/connection/${remoteClientId}/state`,
    startType: conf.startType ?? d.startType,
    outgoingRetain: conf.outgoingRetain ?? d.outgoingRetain,
    maxPacketSize: conf.maxPacketSize ?? d.maxPacketSize,
    roundRobin: conf.roundRobin ?? d.roundRobin,
  };
  if (conf.remoteUsername !== undefined) options.remoteUsername = conf.remoteUsername;
  if (conf.remotePassword !== undefined) options.remotePassword = conf.remotePassword;
  if (conf.tls !== undefined) options.tls = tlsOptions(conf.tls);
  return options;
}

function tlsOptions(t: BridgeTlsConf): BridgeTls {
  const out: BridgeTls = { insecure: t.insecure ?? false };
  if (t.caFile !== undefined) out.caFile = t.caFile;
  if (t.caPath !== undefined) out.caPath = t.caPath;
  if (t.certFile !== undefined) out.certFile = t.certFile;
  if (t.keyFile !== undefined) out.keyFile = t.keyFile;
  if (t.version !== undefined) out.minVersion = TLS_VERSION[t.version];
  if (t.alpn !== undefined) out.alpn = t.alpn;
  return out;
}

/**
 * Every bridge of a file with its defaults. Throws a ConfError (at the later `connection` line)
 * when two bridges would have one local client id, as mosquitto refuses ("Bridge local_clientid
 * '...' is not unique"): each would take the other's session over in our broker.
 */
export function bridgesFromConf(list: readonly BridgeConf[], host: string = osHostname()): BridgeOptions[] {
  const seen = new Map<string, BridgeConf>();
  return list.map((conf) => {
    const options = bridgeOptions(conf, host);
    const first = seen.get(options.localClientId);
    if (first !== undefined) {
      throw new ConfError(
        conf.source.file,
        conf.source.line,
        `bridges ${first.name} (${first.source.file}:${first.source.line}) and ${conf.name} would both be ${options.localClientId} in mqt (local_clientid, local.<remote_clientid> by default); give one another local_clientid or remote_clientid, as mosquitto requires`,
      );
    }
    seen.set(options.localClientId, conf);
    return options;
  });
}

/**
 * Reads and checks a bridge's TLS files (CA file or directory, certificate and key: readable,
 * PEM, the key unencrypted and matching the certificate, the certificate in its dates).
 * Rejects with a ConfError at the line of the file at fault. Nothing to do without TLS.
 */
export async function checkBridgeFiles(conf: BridgeConf): Promise<void> {
  const t = conf.tls;
  if (t === undefined) return;
  const files = { caFile: t.caFile, caPath: t.caPath, certFile: t.certFile, keyFile: t.keyFile };
  try {
    if (files.certFile !== undefined && files.keyFile !== undefined) {
      // The checks of a server's certificate (dates, key match, encrypted key) hold for a client's.
      await loadTlsServer({ certFile: files.certFile, keyFile: files.keyFile, ...(files.caFile !== undefined ? { caFile: files.caFile } : {}), ...(files.caPath !== undefined ? { caPath: files.caPath } : {}) });
    } else {
      const read = await readTlsFiles(files);
      // node:tls only now: `mqt broker` without TLS does not load it. require, not import(): the
      // CLI bundle runs under V8's code cache, where import() fails (scripts/bundle-cli.mjs).
      const { createSecureContext } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
      try {
        createSecureContext({ ca: read.ca });
      } catch (cause) {
        throw new TlsFileError(`the CA certificates of ${files.caFile ?? files.caPath} are refused: ${firstLine(cause)}`, files.caFile ?? files.caPath ?? '', { cause });
      }
    }
  } catch (cause) {
    const at = sourceOf(conf, cause);
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ConfError(at.file, at.line, `bridge ${conf.name}: ${message}`);
  }
}

/** The line of the directive that names the file a TLS error is about; the connection line otherwise. */
function sourceOf(conf: BridgeConf, cause: unknown): ConfSource {
  const t = conf.tls!;
  const path = cause instanceof TlsFileError ? cause.path : undefined;
  if (path !== undefined) {
    for (const key of ['keyFile', 'certFile', 'caFile', 'caPath'] as const) {
      const file = t[key];
      if (file !== undefined && (path === file || (key === 'caPath' && path.startsWith(file))) && t.sources[key] !== undefined) return t.sources[key]!;
    }
  }
  return t.sources.certFile ?? conf.source;
}

function firstLine(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('\n')[0]!;
}
