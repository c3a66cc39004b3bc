/**
 * The work behind `mqt broker`, loaded only when the command runs: start the core broker,
 * print what it does, and stop it cleanly on SIGINT or SIGTERM. Returns when the broker has
 * stopped; throws a CliError when it cannot start. Never exits the process (main() does).
 */
import { isIPv4 } from 'node:net';
import { reasonCodeName } from '../core/codec/constants.js';
import { createRequire } from 'node:module';
import { createBroker, type Broker, type CreateBrokerOptions, type ListenerRecord as ListenerAddress, type LogLevel } from '../core/broker/index.js';
import type { ClusterNode } from '../core/cluster/node.js';
import type { ClusterPlan } from './broker-cluster-plan.js';
import { parseWorkers, runWorkers, workerIndex, workerNodeId, workerReady } from './broker-workers.js';
import { PRIVATE_REDIS_ENV, startPrivateRedis } from './broker-private-redis.js';
import { readMosquittoConf, type MosquittoConf } from '../core/config/mosquitto-conf.js';
import { maskUrl } from '../core/net/mask-url.js';
import { loadTlsServer } from '../core/net/tls-server.js';
import { LmdbStore } from '../core/store/lmdb-store.js';
import { BrokerAccess } from './broker-access.js';
import { logSinks, stderrWrite, stdoutWrite, type LogSinks } from './broker-log-sinks.js';
import type { HttpPlan } from './broker-http-plan.js';
import { PUBLISH_LINES_PER_SECOND, type BrokerFlags } from './broker-options.js';
import { PublishLog } from './broker-publish-log.js';
import type { BrokerHttp, BrokerHttpCredentials } from './broker-http.js';
import { planBroker, type BrokerPlan } from './broker-plan.js';
import type { Bridge, BridgeOptions } from '../core/bridge/index.js';
import { checkBridgeFiles } from '../core/bridge/from-conf.js';
import { capYoungGeneration } from './broker-heap.js';
import { CliError } from './errors.js';
import { colorFor } from './render/color.js';
import { bridgeText, jsonLine, listenerLabel, oneLine, textLine, urlHost, type BrokerLogRecord, type ListenerRecord } from './render/broker-log.js';

export interface BrokerRunOptions {
  /** The flags as given (undefined: not on the command line). */
  flags: BrokerFlags;
  debug: boolean;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function runBroker(options: BrokerRunOptions): Promise<void> {
  const { flags } = options;
  const out = colorFor('stdout');
  const err = colorFor('stderr');
  const plain = colorFor('stdout', { NO_COLOR: '1' });
  // A log file gets no colour codes; stdout and stderr as their terminals allow.
  const chalkFor = (write: (text: string) => void): typeof out => (write === stdoutWrite ? out : write === stderrWrite ? err : plain);
  let tagged = '';
  const warn = (message: string): void => {
    process.stderr.write(`mqt broker: ${tagged}${err.yellow('warning')}: ${message}\n`);
  };

  const conf = flags['config-file'] !== undefined ? readConf(flags['config-file']) : undefined;
  const plan = planOrFail(flags, conf);
  const workers = flags.workers === undefined ? 1 : parseWorkers(flags.workers);
  const worker = workerIndex();
  if (workers > 1 && !flags.check) {
    // The primary runs the workers; each worker runs the broker below as a node of its own,
    // of the cluster given, or of one on the primary's own redis-server (broker-private-redis.ts).
    if (worker === undefined) {
      if (plan.cluster !== undefined) return runWorkers(workers, flags['node-id'] ?? conf?.nodeId);
      const redis = await startPrivateRedis();
      process.env[PRIVATE_REDIS_ENV] = redis.url;
      try {
        return await runWorkers(workers, flags['node-id'] ?? conf?.nodeId);
      } finally {
        await redis.stop();
      }
    }
    const url = plan.cluster?.url ?? process.env[PRIVATE_REDIS_ENV];
    if (url === undefined) throw new CliError('--workers: this worker was started without a cluster to join', { command: 'broker' });
    plan.cluster = { url, nodeId: workerNodeId(worker, flags['node-id'] ?? conf?.nodeId) };
  }
  // Worker 0 speaks for all; the others say only what goes wrong, tagged with their index.
  const quiet = worker !== undefined && worker > 0;
  tagged = worker === undefined ? '' : `[w${worker}] `;
  const access = loadAccess(plan);
  for (const w of plan.warnings) warn(w);
  await checkBridges(conf);
  if (flags.check) {
    await checkTls(plan);
    process.stdout.write(checkSummary(flags['config-file']!, plan));
    return;
  }

  // `mqt broker -v | head` must not crash the broker when the reader goes away: stop logging instead.
  let stdoutOpen = true;
  const onStdoutError = (): void => {
    stdoutOpen = false;
  };
  process.stdout.on('error', onStdoutError);
  const sinks = logSinks(conf?.log, flags.verbose);
  const print = (record: BrokerLogRecord): void => {
    if (!stdoutOpen) return;
    const now = new Date();
    // The listening and stopped lines are the command's own: always on stdout.
    if (record.event === 'listening' || record.event === 'admin' || record.event === 'bridge' || record.event === 'stopped' || record.event === 'restored' || record.event === 'cluster') {
      if (quiet) return;
      process.stdout.write(flags.json ? jsonLine(now, record) : textLine(now, record, out));
      return;
    }
    for (const write of sinks.records) write(flags.json ? jsonLine(now, record) : textLine(now, record, chalkFor(write)));
  };
  const log = (level: LogLevel, message: string): void => {
    // Errors and warnings always; the broker's chatter only when asked for.
    if ((level === 'debug' && !sinks.debug) || (level === 'info' && !sinks.info)) return;
    for (const write of sinks.lines) {
      const c = chalkFor(write);
      const tag = level === 'error' ? c.red('error') : level === 'warn' ? c.yellow('warning') : level;
      write(`mqt broker: ${tagged}${tag}: ${options.debug ? message : oneLine(message)}\n`);
    }
  };

  // A broker runs for weeks: what V8's young generation grows to while clients connect it keeps.
  const uncapYoungGeneration = capYoungGeneration();
  const hooks = access.hooks();
  const store = plan.persistence === undefined ? undefined : openStore(plan.persistence);
  const brokerOptions: CreateBrokerOptions = { ...plan.broker, ...(hooks !== undefined ? { hooks } : {}), ...(store !== undefined ? { store } : {}), log };
  // A cluster node: the cluster's code (and its Redis client) is loaded only then.
  const joined = plan.cluster === undefined ? undefined : await joinCluster(brokerOptions, plan.cluster, log);
  const broker = joined?.broker ?? createBroker(brokerOptions);
  if (joined !== undefined && plan.cluster !== undefined) print({ event: 'cluster', url: maskUrl(plan.cluster.url), nodeId: plan.cluster.nodeId });
  const publishLog = observe(broker, print, sinks);

  // Listen for the stop signals first, so one that arrives during start-up still stops cleanly.
  // `once`: a second Ctrl-C while closing gets Node's default, an immediate exit.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
  // SIGHUP re-reads the password and ACL files and the certificates, without dropping anyone.
  const onHangup = (): void => {
    void reload(broker, access, log, (line) => process.stderr.write(`mqt broker: ${line}\n`));
  };
  process.on('SIGHUP', onHangup);

  let http: BrokerHttp | undefined;
  let bridges: Bridge[] = [];
  try {
    // The admin token and users are read before any listener opens: a bad file stops the start.
    const httpCredentials = plan.http !== undefined ? await loadHttpCredentials(broker, plan.http) : undefined;
    let opened: ListenerAddress[];
    if (store !== undefined) {
      try {
        const restored = await broker.ready();
        print({ event: 'restored', directory: store.dir, ...restored });
      } catch (cause) {
        await broker.close().catch(() => undefined);
        throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
      }
    }
    try {
      opened = await broker.listen(plan.listeners);
    } catch (cause) {
      await broker.close();
      throw listenError(cause, flags);
    }
    const listeners: ListenerRecord[] = opened.map((a) => ({ kind: a.kind, url: a.url, address: a.address, port: a.port }));

    // Like mosquitto 2: beyond loopback with anonymous access deserves a warning.
    const exposed = [...new Set(opened.filter((a) => !isLoopback(a.address) && access.allowsAnonymous(a.name)).map((a) => a.address))];
    if (exposed.length > 0) {
      warn(`listening on ${exposed.join(' and ')} beyond loopback with anonymous access; anyone who can reach this machine can connect, publish and subscribe`);
    }
    if (plan.http !== undefined) http = await openHttp(broker, plan.http, opened, log, warn, httpCredentials);
    print({ event: 'listening', listeners });
    workerReady();
    if (http !== undefined) print(adminRecord(http, plan.http!));
    // Bridges once the broker serves: a message in from a remote finds the local subscribers.
    bridges = await startBridges(broker, plan.bridges, log);
    for (const b of plan.bridges) print(bridgeRecord(b));

    const signal = await stopped;
    // The admin listener first: no API call sees a broker half closed.
    await http?.close();
    http = undefined;
    // Bridges before the broker: each says '0' on its notification topic while it still can.
    await closeBridges(bridges, log);
    bridges = [];
    await broker.close();
    await joined?.node.close();
    publishLog?.close();
    print({ event: 'stopped', signal });
  } finally {
    await closeBridges(bridges, log);
    await http?.close();
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    process.off('SIGHUP', onHangup);
    process.stdout.off('error', onStdoutError);
    uncapYoungGeneration();
  }
}

/**
 * The admin HTTP listener, once the MQTT listeners are open (it reports them); loaded only when
 * asked for, so a broker without --http-port pays nothing for it. A failure closes the broker.
 */
async function openHttp(
  broker: Broker,
  plan: HttpPlan,
  opened: readonly ListenerAddress[],
  log: (level: LogLevel, message: string) => void,
  warn: (message: string) => void,
  credentials: BrokerHttpCredentials | undefined,
): Promise<BrokerHttp> {
  try {
    const { startBrokerHttp } = await import('./broker-http.js');
    return await startBrokerHttp(broker, plan, opened, log, warn, credentials);
  } catch (cause) {
    await broker.close().catch(() => undefined);
    throw cause instanceof CliError ? cause : new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

async function loadHttpCredentials(broker: Broker, plan: HttpPlan): Promise<BrokerHttpCredentials> {
  try {
    const { loadBrokerHttpCredentials } = await import('./broker-http.js');
    return loadBrokerHttpCredentials(plan);
  } catch (cause) {
    await broker.close().catch(() => undefined);
    throw cause;
  }
}

function adminRecord(http: BrokerHttp, plan: HttpPlan): BrokerLogRecord {
  const api = http.server.apiEnabled;
  return { event: 'admin', url: http.server.url, api, metrics: plan.metricsPublic ? 'public' : api ? 'credentials' : 'off' };
}

/** The engine is loaded only for a file with bridges: a broker without them pays nothing for it. */
async function startBridges(broker: Broker, list: readonly BridgeOptions[], log: (level: LogLevel, message: string) => void): Promise<Bridge[]> {
  if (list.length === 0) return [];
  const { startBridge } = await import('../core/bridge/index.js');
  return list.map((options) => startBridge(broker, options, log));
}

async function closeBridges(bridges: readonly Bridge[], log: (level: LogLevel, message: string) => void): Promise<void> {
  await Promise.all(bridges.map((b) => b.close().catch((e: unknown) => log('warn', `bridge ${b.name}: ${e instanceof Error ? e.message : String(e)} while closing`))));
}

function bridgeRecord(b: BridgeOptions): Extract<BrokerLogRecord, { event: 'bridge' }> {
  return {
    event: 'bridge',
    name: b.name,
    addresses: b.addresses.map((a) => `${urlHost(a.host)}:${a.port}`),
    tls: b.tls !== undefined,
    protocolVersion: b.protocolVersion,
    topics: b.topics.map((t) => ({ pattern: t.pattern, direction: t.direction, qos: t.qos, localPrefix: t.localPrefix, remotePrefix: t.remotePrefix })),
  };
}

/** The plan, or a one-line error (two bridges with one local client id). */
function planOrFail(flags: BrokerFlags, conf: MosquittoConf | undefined): BrokerPlan {
  try {
    return planBroker(flags, conf);
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

/** Every bridge's TLS files, read and checked once, at --check and at start-up: a bad one is an error at its line. */
async function checkBridges(conf: MosquittoConf | undefined): Promise<void> {
  for (const b of conf?.bridges ?? []) {
    try {
      await checkBridgeFiles(b);
    } catch (cause) {
      throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
    }
  }
}

/** SIGHUP: the access files, then the certificates; each outcome one log line. */
async function reload(broker: Broker, access: BrokerAccess, log: (level: LogLevel, message: string) => void, notice: (line: string) => void): Promise<void> {
  // What was re-read is said always: the operator asked for it.
  for (const r of access.reload()) {
    if (r.ok) notice(r.line);
    else log('error', r.line);
  }
  for (const e of await broker.reloadTls()) log('error', `${e}; keeping the certificate read before`);
}

/** This broker as a node of the cluster on `plan.url`, or a one-line error (Redis unreachable). */
async function joinCluster(options: CreateBrokerOptions, plan: ClusterPlan, log: (level: LogLevel, message: string) => void): Promise<{ broker: Broker; node: ClusterNode }> {
  try {
    // Required from dist/ at run time, not bundled: the broker's bundle stays without the
    // cluster and its Redis client (and a code-cached bundle cannot import() at all).
    const cluster = createRequire(import.meta.url)('../core/cluster/index.js') as typeof import('../core/cluster/index.js');
    return await cluster.createClusterBroker(options, { url: plan.url, nodeId: plan.nodeId, log });
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

/** The store in `dir`, or a one-line error: locked by another broker, unreadable, of another format. */
function openStore(dir: string): LmdbStore {
  try {
    return LmdbStore.open(dir);
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

function readConf(path: string): MosquittoConf {
  try {
    return readMosquittoConf(path);
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

function loadAccess(plan: BrokerPlan): BrokerAccess {
  try {
    return BrokerAccess.load(plan);
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
  }
}

/** --check: every TLS listener's files load and pass the start-up checks. */
async function checkTls(plan: BrokerPlan): Promise<void> {
  for (const l of plan.listeners) {
    if (l.tls === undefined) continue;
    try {
      await loadTlsServer(l.tls);
    } catch (cause) {
      throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
    }
  }
  if (plan.http?.tls !== undefined) {
    try {
      await loadTlsServer(plan.http.tls);
    } catch (cause) {
      throw new CliError(cause instanceof Error ? cause.message : String(cause), { command: 'broker', cause });
    }
  }
}

function checkSummary(file: string, plan: BrokerPlan): string {
  const lines = [`${file}: OK`];
  for (const l of plan.listeners) {
    const a = plan.access.get(l.name!)!;
    const who = [
      a.passwordFile !== undefined ? `users from ${a.passwordFile}` : undefined,
      a.aclFile !== undefined ? `ACL ${a.aclFile}` : undefined,
      a.allowAnonymous ? 'anonymous allowed' : 'anonymous refused',
    ].filter((w) => w !== undefined);
    lines.push(`  ${l.kind} on ${urlHost(l.host ?? '127.0.0.1')}:${l.port} (${who.join(', ')})`);
  }
  const plain = colorFor('stdout', { NO_COLOR: '1' });
  for (const b of plan.bridges) lines.push(`  ${bridgeText(bridgeRecord(b), plain)}`);
  return `${lines.join('\n')}\n`;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string): boolean {
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}

/**
 * The broker's events as log records: one line per connect, disconnect, (un)subscribe, will and
 * client error; with sinks.publishes, per PUBLISH too (returned, to say at stop what it left out).
 */
function observe(broker: Broker, print: (record: BrokerLogRecord) => void, sinks: LogSinks): PublishLog | undefined {
  if (sinks.records.length === 0) return undefined;
  if (sinks.connections) broker.on('client', (client, sessionPresent) => {
    print({
      event: 'connect',
      clientId: client.clientId,
      protocolVersion: client.protocolVersion,
      username: client.username,
      remoteAddress: client.remoteAddress,
      listener: listenerLabel(client.transport?.listener),
      sessionPresent,
    });
  });
  if (sinks.connections) broker.on('disconnect', (client, reason) => {
    print({ event: 'disconnect', clientId: client.clientId, remoteAddress: client.remoteAddress, listener: listenerLabel(client.transport?.listener), reason });
  });
  if (sinks.subscriptions) broker.on('subscribe', (client, topicFilter, result) => {
    // A result of 0x80 or more is a refusal (SUBACK failure code), below it the granted QoS.
    print(
      result >= 0x80
        ? { event: 'subscribe', clientId: client.clientId, topicFilter, reasonCode: result, reason: reasonCodeName(result, 'suback') }
        : { event: 'subscribe', clientId: client.clientId, topicFilter, qos: result },
    );
  });
  if (sinks.subscriptions) broker.on('unsubscribe', (client, topicFilter) => {
    print({ event: 'unsubscribe', clientId: client.clientId, topicFilter });
  });
  if (sinks.connections) broker.on('will', (client, message) => {
    print({ event: 'will', clientId: client.clientId, topic: message.topic, qos: message.qos, retain: message.retain, payloadBytes: message.payload.length });
  });
  if (sinks.connections) broker.on('clientError', (client, error) => {
    print({ event: 'client-error', clientId: client?.clientId, remoteAddress: client?.remoteAddress, message: error.message });
  });
  if (!sinks.publishes) return undefined;
  const publishLog = new PublishLog(print, PUBLISH_LINES_PER_SECOND);
  broker.publishTrace = publishLog;
  return publishLog;
}

/** Why listening failed, as one line that says what to change. */
function listenError(cause: unknown, flags: BrokerFlags): CliError {
  const e = cause as NodeJS.ErrnoException & { port?: unknown; address?: unknown; listener?: { kind: string; host?: string; port: number } };
  const port = e.listener?.port ?? (typeof e.port === 'number' ? e.port : undefined);
  const host = e.listener?.host ?? (typeof e.address === 'string' ? e.address : '127.0.0.1');
  const what = e.listener !== undefined ? `the ${e.listener.kind} listener's ` : '';
  // From the command line, the flag that chose the port; from a file, its listener line.
  const portFlags = ['port', 'tls-port', 'ws-port', 'wss-port'] as const;
  const flag = portFlags.find((f) => flags[f] === port) ?? (flags.port === undefined && port === 1883 && flags['config-file'] === undefined ? 'port' : undefined);
  const choose = flag !== undefined ? `choose another with --${flag}` : 'choose another port';
  let message: string;
  switch (e.code) {
    case 'EADDRINUSE':
      message = `${what}port ${port} on ${host} is already in use; ${choose}`;
      break;
    case 'EACCES':
      message = `no permission to listen on port ${port} on ${host} (ports below 1024 need privileges); ${choose}`;
      break;
    case 'EADDRNOTAVAIL':
      message = `cannot listen on ${host}: that address is not on this machine; check --host or the listener's address`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `cannot resolve host '${host}'; check --host or the listener's address`;
      break;
    default:
      message = cause instanceof Error ? cause.message : String(cause);
  }
  return new CliError(message, { command: 'broker', cause });
}
