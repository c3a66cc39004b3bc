/**
 * What `mqt broker` will run, from its flags and (with -c) a mosquitto.conf: the listeners,
 * who may connect on each, the broker's limits, and the file's bridges (no flag changes them). Pure: no file is read here beyond what
 * the caller parsed, so the precedence rules are tested without starting anything.
 *
 * Precedence, as the help says: flags override the file.
 * - Any listener flag (--port, --host, --tls-port, --ws-port, --wss-port) replaces the file's
 *   listeners with the ones the flags describe.
 * - Every other flag replaces the same setting of the file, on every listener it applies to.
 * - Defaults are mosquitto 2's for a file (a file that declares listeners refuses anonymous
 *   clients unless it says `allow_anonymous true`; one that declares none listens on
 *   loopback and lets anyone in), and ours for a command line (anonymous clients unless a
 *   password file is given).
 */
import type { CreateBrokerOptions } from '../core/broker/broker.js';
import type { ListenerSpec, TlsServerFiles } from '../core/broker/listeners/spec.js';
import type { ListenerConf, MosquittoConf, SecurityConf } from '../core/config/mosquitto-conf.js';
import { DEFAULT_HOST, DEFAULT_PORT, type BrokerFlags } from './broker-options.js';
import { planHttp, type HttpPlan } from './broker-http-plan.js';
import { planCluster, type ClusterPlan } from './broker-cluster-plan.js';
import { bridgesFromConf } from '../core/bridge/from-conf.js';
import type { BridgeOptions } from '../core/bridge/types.js';

/** Who may connect and what they may do, on one or more listeners. */
export interface AccessPlan {
  passwordFile: string | undefined;
  aclFile: string | undefined;
  allowAnonymous: boolean;
}

export interface BrokerPlan {
  listeners: ListenerSpec[];
  /** The access rules of each listener, by listener name; one shared object unless per_listener_settings. */
  access: Map<string, AccessPlan>;
  broker: Pick<
    CreateBrokerOptions,
    'maxInflight' | 'maxQueued' | 'maxPacketSize' | 'maxKeepalive' | 'retainAvailable' | 'maxConnections' | 'maxSubscriptions' | 'maxTopicLevels' | 'maxQueueMemory' | 'messageSizeLimit' | 'sysInterval'
  >;
  /** The store's directory: --persistence, or the file's persistence true with persistence_location (the current directory without one, as mosquitto). */
  persistence: string | undefined;
  /** The admin HTTP listener (--http-port or http_port); undefined when off. */
  http: HttpPlan | undefined;
  /** The cluster this broker is a node of (--cluster, the file's cluster); undefined alone. */
  cluster: ClusterPlan | undefined;
  /** The file's bridges (`connection` sections) with mosquitto's defaults; started once the listeners are open. */
  bridges: BridgeOptions[];
  /** The file's notices (directives ignored), then ours. */
  warnings: string[];
}

/** The path MQTT over WebSocket is conventionally served on; the listener accepts any path. */
export const WS_PATH = '/mqtt';

export function planBroker(flags: BrokerFlags, conf: MosquittoConf | undefined): BrokerPlan {
  const warnings = [...(conf?.warnings ?? [])];
  const fromFlags = conf === undefined || conf.listeners.length === 0 || hasListenerFlags(flags);
  const specs: Array<{ spec: ListenerSpec; security: SecurityConf }> = fromFlags
    ? listenersFromFlags(flags).map((spec) => ({ spec, security: {} }))
    : conf.listeners.map((l) => ({ spec: listenerFromConf(l, flags), security: conf.perListenerSettings ? l : {} }));
  nameListeners(specs.map((s) => s.spec));

  // mosquitto 2: no listener in the file means loopback only, anyone may connect.
  const fileDeclaresListeners = conf !== undefined && conf.listeners.length > 0;
  const global = conf?.security ?? {};
  const access = new Map<string, AccessPlan>();
  let shared: AccessPlan | undefined;
  for (const { spec, security } of specs) {
    const scoped = conf?.perListenerSettings === true && !fromFlags;
    const base = scoped ? security : global;
    const plan = scoped || shared === undefined ? accessPlan(base, flags, conf !== undefined, fileDeclaresListeners) : shared;
    if (!scoped) shared = plan;
    access.set(spec.name!, plan);
    const allowFrom = flags['allow-from'] ?? base.allowFrom ?? (scoped ? undefined : global.allowFrom);
    const denyFrom = flags['deny-from'] ?? base.denyFrom ?? (scoped ? undefined : global.denyFrom);
    if (allowFrom !== undefined) spec.allowFrom = allowFrom;
    if (denyFrom !== undefined) spec.denyFrom = denyFrom;
  }

  const limits = conf?.limits ?? {};
  // mosquitto's 0 is "no limit" for these; ours is the largest value the broker takes.
  const unlimited = (v: number | undefined, max: number | undefined): number | undefined => (v === 0 ? max : v);
  const broker: BrokerPlan['broker'] = {};
  const set = <K extends keyof BrokerPlan['broker']>(key: K, value: BrokerPlan['broker'][K] | undefined): void => {
    if (value !== undefined) broker[key] = value;
  };
  set('maxInflight', flags['max-inflight'] ?? unlimited(limits.maxInflight, 65_535));
  set('maxQueued', flags['max-queued'] ?? unlimited(limits.maxQueued, 100_000_000));
  set('maxPacketSize', flags['max-packet-size'] ?? limits.maxPacketSize);
  set('maxKeepalive', flags['max-keepalive'] ?? limits.maxKeepalive);
  set('retainAvailable', limits.retainAvailable);
  set('messageSizeLimit', limits.messageSizeLimit);
  set('maxConnections', flags['max-connections']);
  set('maxSubscriptions', flags['max-subscriptions'] ?? unlimited(limits.maxSubscriptions, undefined));
  set('maxTopicLevels', flags['max-topic-levels'] ?? unlimited(limits.maxTopicLevels, undefined));
  set('maxQueueMemory', flags['max-queue-memory'] ?? limits.maxQueueMemory);
  // mosquitto's default: $SYS every 10 seconds (the library's is off).
  set('sysInterval', flags['sys-interval'] ?? conf?.sysInterval ?? 10);
  const persistence = flags.persistence ?? (conf?.persistence === true ? (conf.persistenceLocation ?? '.') : undefined);
  const http = planHttp(flags, conf, [...access.values()].map((a) => a.passwordFile));
  const cluster = planCluster(flags.cluster ?? conf?.cluster, flags['node-id'] ?? conf?.nodeId, persistence);
  // Throws a ConfError when two bridges would share a local client id (mosquitto refuses it too).
  const bridges = bridgesFromConf(conf?.bridges ?? []);
  return { listeners: specs.map((s) => s.spec), access, broker, persistence, http, cluster, bridges, warnings };
}

function hasListenerFlags(f: BrokerFlags): boolean {
  return f.port !== undefined || f.host !== undefined || f['tls-port'] !== undefined || f['ws-port'] !== undefined || f['wss-port'] !== undefined;
}

function accessPlan(sec: SecurityConf, f: BrokerFlags, fromFile: boolean, fileDeclaresListeners: boolean): AccessPlan {
  const passwordFile = f['password-file'] ?? sec.passwordFile;
  const aclFile = f['acl-file'] ?? sec.aclFile;
  const anonymousDefault = fromFile ? !fileDeclaresListeners : passwordFile === undefined;
  return { passwordFile, aclFile, allowAnonymous: f['allow-anonymous'] ?? sec.allowAnonymous ?? anonymousDefault };
}

function tlsFromFlags(f: BrokerFlags): TlsServerFiles {
  const tls: TlsServerFiles = { certFile: f.cert!, keyFile: f.key! };
  overrideTls(tls, f);
  return tls;
}

/** The TLS flags, over whatever a listener of the file says. */
function overrideTls(tls: TlsServerFiles, f: BrokerFlags): void {
  if (f.cert !== undefined) tls.certFile = f.cert;
  if (f.key !== undefined) tls.keyFile = f.key;
  if (f.cafile !== undefined) tls.caFile = f.cafile;
  if (f.capath !== undefined) tls.caPath = f.capath;
  if (f['require-certificate'] === true) tls.requireCertificate = true;
  if (f['tls-version'] !== undefined) tls.tlsVersion = f['tls-version'] as TlsServerFiles['tlsVersion'];
}

/** The listeners a command line asks for: TCP unless only TLS ones are named, then TLS, WebSocket, secure WebSocket. */
function listenersFromFlags(f: BrokerFlags): ListenerSpec[] {
  const host = f.host ?? DEFAULT_HOST;
  const list: ListenerSpec[] = [];
  const tcpPort = f.port ?? (f['tls-port'] === undefined && f['wss-port'] === undefined ? DEFAULT_PORT : undefined);
  if (tcpPort !== undefined) list.push({ kind: 'tcp', port: tcpPort, host });
  if (f['tls-port'] !== undefined) list.push({ kind: 'tls', port: f['tls-port'], host, tls: tlsFromFlags(f) });
  if (f['ws-port'] !== undefined) list.push({ kind: 'ws', port: f['ws-port'], host });
  if (f['wss-port'] !== undefined) list.push({ kind: 'wss', port: f['wss-port'], host, tls: tlsFromFlags(f) });
  if (f['use-identity-as-username'] === true) for (const l of list) if (l.tls !== undefined) l.useIdentityAsUsername = true;
  return list;
}

function listenerFromConf(l: ListenerConf, f: BrokerFlags): ListenerSpec {
  // mosquitto binds every interface when a listener names no address; '::' is both IPv4 and IPv6 in Node.
  const host = l.host ?? (l.family === 4 ? '0.0.0.0' : '::');
  const spec: ListenerSpec = { kind: l.kind, port: l.port, host };
  if (l.family !== undefined) spec.family = l.family;
  if (l.tls !== undefined) {
    spec.tls = { ...l.tls };
    overrideTls(spec.tls, f);
  }
  if (l.maxConnections !== undefined && l.maxConnections >= 0) spec.maxConnections = l.maxConnections;
  if ((l.useIdentityAsUsername === true || f['use-identity-as-username'] === true) && spec.tls !== undefined) spec.useIdentityAsUsername = true;
  return spec;
}

/** `tcp:1883`, `tls:8883`; a second listener of a kind on the same port number gets `#2`. */
function nameListeners(list: ListenerSpec[]): void {
  const used = new Set<string>();
  for (const l of list) {
    const base = `${l.kind}:${l.port}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}#${n}`;
    used.add(name);
    l.name = name;
  }
}
