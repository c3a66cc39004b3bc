/**
 * The options of `mqt broker` as both of its parsers see them: yargs (broker.ts: help, usage
 * errors, every unusual command line) and the quick one (broker-argv.ts), which starts a
 * broker from a plain command line without loading yargs. One table of names, kinds, ranges,
 * checks and help texts, so the two cannot disagree on what a command line means, and a new
 * option is one row here.
 *
 * Nothing has a default in the table: a flag that was not given is undefined, so that with
 * `-c FILE` the file's setting stands unless the command line names it (broker-plan.ts
 * applies the defaults).
 */
import type { BrokerRunOptions } from './broker-run.js';
import { parseWorkers } from './broker-workers.js';

/** The largest MQTT packet: a 4-byte remaining length (268,435,455) plus the 5-byte fixed header. */
export const MAX_PACKET = 268_435_460;

export const DEFAULT_PORT = 1883;
/** PUBLISH lines a second at -v -v; beyond it they are counted, not printed (broker-publish-log.ts). */
export const PUBLISH_LINES_PER_SECOND = 100;
/** Loopback unless the user says otherwise. */
export const DEFAULT_HOST = '127.0.0.1';

export type OptionKind =
  /** A whole decimal number in [min, max]. */
  | 'integer'
  /** A byte count: a whole number, optionally with k, M or G (powers of 1024). */
  | 'bytes'
  /** Any non-empty text (a path, an address). */
  | 'text'
  /** One of `choices`. */
  | 'choice'
  /** `true` or `false`, spelled out (mosquitto's allow_anonymous). */
  | 'boolean'
  /** Given alone: on. */
  | 'switch'
  /** Repeatable; each occurrence adds one or more comma-separated values. */
  | 'list';

export interface BrokerOption {
  readonly kind: OptionKind;
  readonly group: 'Listeners:' | 'TLS:' | 'Access:' | 'Limits:' | 'Storage:' | 'Cluster:' | 'Admin over HTTP:' | 'Output:';
  readonly describe: string;
  readonly alias?: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** What happens when the flag is not given, for the help text. */
  readonly defaultDescription?: string;
  /** A switch that may be given again for more (`-v -v` or `-vv`): its value is how many times. */
  readonly counted?: true;
}

const port = (describe: string, defaultDescription?: string): BrokerOption & { kind: 'integer' } => ({
  kind: 'integer',
  group: 'Listeners:',
  min: 0,
  max: 65_535,
  describe,
  ...(defaultDescription !== undefined ? { defaultDescription } : {}),
});

/** Every option of `mqt broker`, in help order. */
export const BROKER_OPTIONS = {
  'config-file': { kind: 'text', group: 'Listeners:', alias: 'c', describe: "Read this mosquitto.conf (listeners, TLS, users, ACLs, limits); flags override what it says" },
  check: { kind: 'switch', group: 'Listeners:', describe: 'Check the configuration (with -c: the file and every file it names) and exit without starting' },
  port: { ...port('TCP port for MQTT (0 picks a free port)', '1883, unless only --tls-port/--wss-port are given'), alias: 'p' },
  host: { kind: 'text', group: 'Listeners:', describe: 'Address to listen on; loopback unless you say otherwise (0.0.0.0 or :: for every interface)', defaultDescription: DEFAULT_HOST },
  'tls-port': port('Also serve MQTT over TLS on this port (needs --cert and --key)'),
  'ws-port': port('Also serve MQTT over WebSocket on this port (path /mqtt, subprotocol mqtt)'),
  'wss-port': port('Also serve MQTT over secure WebSocket on this port (needs --cert and --key)'),
  cert: { kind: 'text', group: 'TLS:', describe: "The server's certificate (PEM) for --tls-port and --wss-port" },
  key: { kind: 'text', group: 'TLS:', describe: "The server certificate's private key (PEM, not encrypted)" },
  cafile: { kind: 'text', group: 'TLS:', describe: 'CA certificates (PEM) that client certificates must be signed by' },
  capath: { kind: 'text', group: 'TLS:', describe: 'A directory of CA certificates (PEM), like --cafile' },
  'require-certificate': { kind: 'switch', group: 'TLS:', describe: 'Refuse TLS clients without a certificate signed by --cafile/--capath' },
  'use-identity-as-username': { kind: 'switch', group: 'TLS:', describe: "A TLS client's certificate CN becomes its user name (no password asked)" },
  'tls-version': { kind: 'choice', group: 'TLS:', choices: ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'], describe: 'The oldest TLS version accepted', defaultDescription: 'tlsv1.2' },
  'password-file': { kind: 'text', group: 'Access:', describe: "Users and passwords, in mosquitto_passwd's format (see mqt passwd); SIGHUP re-reads it" },
  'acl-file': { kind: 'text', group: 'Access:', describe: "Who may publish and subscribe to what, in mosquitto's ACL format; SIGHUP re-reads it" },
  'allow-anonymous': { kind: 'boolean', group: 'Access:', describe: 'Whether clients without a user name may connect', defaultDescription: 'false with --password-file, else true' },
  'allow-from': { kind: 'list', group: 'Access:', describe: 'Accept connections only from these addresses (CIDR, IPv4 or IPv6; repeatable)' },
  'deny-from': { kind: 'list', group: 'Access:', describe: 'Refuse connections from these addresses (CIDR; repeatable), even if allowed' },
  'max-connections': { kind: 'integer', group: 'Limits:', min: 1, max: 10_000_000, describe: 'Open connections at once; more are closed as they arrive', defaultDescription: 'no limit' },
  'max-inflight': { kind: 'integer', group: 'Limits:', min: 1, max: 65_535, describe: 'Outgoing QoS 1 and 2 messages unacknowledged per client', defaultDescription: '100' },
  'max-queued': { kind: 'integer', group: 'Limits:', min: 1, max: 100_000_000, describe: 'Messages queued per session while its client is away or busy; newer ones are dropped', defaultDescription: '1000' },
  'max-queue-memory': { kind: 'bytes', group: 'Limits:', min: 1, max: 2 ** 50, describe: 'Bytes held in all queues together (e.g. 512M); past it QoS 0 goes first, then the oldest of the longest offline queues', defaultDescription: 'no limit' },
  'max-packet-size': { kind: 'integer', group: 'Limits:', min: 1, max: MAX_PACKET, describe: 'Largest packet accepted from a client, in bytes', defaultDescription: String(MAX_PACKET) },
  'max-keepalive': { kind: 'integer', group: 'Limits:', min: 1, max: 65_535, describe: 'Longest keep-alive a client may ask for, in seconds (MQTT 5 clients are told the limit)', defaultDescription: '65535' },
  'max-subscriptions': { kind: 'integer', group: 'Limits:', min: 1, max: 10_000_000, describe: 'Subscriptions per client', defaultDescription: 'no limit' },
  'max-topic-levels': { kind: 'integer', group: 'Limits:', min: 1, max: 65_535, describe: 'Levels in a topic name or filter', defaultDescription: 'no limit' },
  persistence: { kind: 'text', group: 'Storage:', describe: 'Keep retained messages and persistent sessions in this directory (created if missing): nothing is acknowledged before it is on disk, and a restart, even after kill -9, delivers it', defaultDescription: 'in memory only' },
  cluster: { kind: 'text', group: 'Cluster:', describe: 'Run as one node of a cluster whose nodes share routing, retained messages and sessions through this Redis server (redis://HOST[:PORT][/DB] or rediss://…)', defaultDescription: 'a broker on its own' },
  'node-id': { kind: 'text', group: 'Cluster:', describe: "This node's name in the cluster, unique among its nodes; a node restarted with the same name takes back the sessions it held", defaultDescription: '<hostname>-<pid>' },
  workers: { kind: 'text', group: 'Cluster:', describe: 'Run N broker processes sharing the listening ports, one per core with auto (1 to 64); nodes of the --cluster given, or of one on a redis-server of their own', defaultDescription: '1' },
  'sys-interval': { kind: 'integer', group: 'Output:', min: 0, max: 65_535, describe: 'Publish the $SYS/broker/... tree (retained, as mosquitto) every N seconds; 0 turns it off', defaultDescription: '10' },
  'http-port': { ...port('Serve /metrics (Prometheus), the admin API (/api/v1/) and the web dashboard (/) over HTTP on this port (0 picks a free port)'), group: 'Admin over HTTP:' },
  'http-host': { kind: 'text', group: 'Admin over HTTP:', describe: 'Address for --http-port; loopback unless you say otherwise', defaultDescription: DEFAULT_HOST },
  'http-cert': { kind: 'text', group: 'Admin over HTTP:', describe: "Serve --http-port over HTTPS with this certificate (PEM); --cert/--key are not reused, so the MQTT and admin certificates can differ" },
  'http-key': { kind: 'text', group: 'Admin over HTTP:', describe: "The --http-cert certificate's private key (PEM, not encrypted)" },
  'admin-token-file': { kind: 'text', group: 'Admin over HTTP:', describe: 'The admin API token (Authorization: Bearer): the first line of this file; or set MQT_ADMIN_TOKEN' },
  'admin-user': { kind: 'list', group: 'Admin over HTTP:', describe: 'A user of --password-file who may use the admin API with HTTP Basic (repeatable)' },
  'metrics-public': { kind: 'switch', group: 'Admin over HTTP:', describe: 'Serve /metrics without credentials (Prometheus scrapers often have no token); the API still needs them' },
  verbose: {
    kind: 'switch',
    group: 'Output:',
    alias: 'v',
    counted: true,
    describe: `Print a line per connect, disconnect (with the reason and the listener), subscribe and will; given twice (-v -v or -vv), also one per PUBLISH received and sent, as mosquitto's log_type all, at most ${PUBLISH_LINES_PER_SECOND} a second (then a count of the lines left out)`,
  },
  json: { kind: 'switch', group: 'Output:', describe: 'Print the log as one JSON object per line (with a time, the event and its fields)' },
} as const satisfies Record<string, BrokerOption>;

export type BrokerOptionName = keyof typeof BROKER_OPTIONS;

type ValueOf<O extends BrokerOption> = O['kind'] extends 'integer' | 'bytes'
  ? number
  : O['kind'] extends 'switch'
    ? boolean
    : O['kind'] extends 'boolean'
      ? boolean
      : O['kind'] extends 'list'
        ? string[]
        : string;

/** The flags as given: undefined when not on the command line (false for switches not given). */
export type BrokerFlags = {
  -readonly [K in BrokerOptionName]: K extends 'verbose' ? number : K extends 'check' | 'json' ? boolean : ValueOf<(typeof BROKER_OPTIONS)[K]> | undefined;
};

/** The parsed command line, as yargs hands it to the handler. */
export type BrokerArgs = BrokerFlags & { debug?: boolean };

/** A flag's value from its text, or an error in our words; the same for both parsers. */
export function parseValue(name: BrokerOptionName, text: string): number | string | boolean {
  const o: BrokerOption = BROKER_OPTIONS[name];
  switch (o.kind) {
    case 'integer': {
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < o.min! || n > o.max!) throw new Error(`--${name} must be a whole number from ${o.min} to ${o.max}, got '${text}'`);
      return n;
    }
    case 'bytes': {
      const m = /^(\d+)([kmg]?)b?$/i.exec(text);
      const n = m === null ? NaN : Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
      if (!Number.isSafeInteger(n) || n < o.min! || n > o.max!) throw new Error(`--${name} must be a number of bytes such as 1048576, 512k, 64M or 2G, got '${text}'`);
      return n;
    }
    case 'choice':
      if (!o.choices!.includes(text)) throw new Error(`--${name} must be one of ${o.choices!.join(', ')}, got '${text}'`);
      return text;
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`--${name} must be true or false, got '${text}'`);
      return text === 'true';
    case 'text':
    case 'list':
      if (text.trim() === '') throw new Error(name === 'host' ? '--host needs an address or a host name' : `--${name} needs a value`);
      return text;
    case 'switch':
      throw new Error(`--${name} takes no value`);
  }
}

/** Splits one occurrence of a list flag: `--allow-from 10.0.0.0/8,192.168.0.0/16`. */
export function listValues(name: BrokerOptionName, text: string): string[] {
  const values = text.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new Error(`--${name} needs addresses or CIDR ranges separated by commas, got '${text}'`);
  return values;
}

/**
 * A yargs coerce for an option: it sees the text as typed (yargs leaves it a string), so the
 * message can quote it; a throw here becomes a one-line usage error through the CLI's fail
 * handler.
 */
export function coerceFor(name: BrokerOptionName): (value: unknown) => unknown {
  const kind = BROKER_OPTIONS[name].kind;
  return (value: unknown): unknown => {
    if (kind === 'list') return (Array.isArray(value) ? value : [value]).flatMap((v) => listValues(name, String(v)));
    if (Array.isArray(value)) throw new Error(`--${name} was given more than once`);
    return parseValue(name, String(value));
  };
}

/** The checks across options; throws what yargs prints as the usage error. */
export function checkFlags(f: BrokerFlags): void {
  const ports: Array<[string, number | undefined]> = [
    ['--port', f.port],
    ['--tls-port', f['tls-port']],
    ['--ws-port', f['ws-port']],
    ['--wss-port', f['wss-port']],
    ['--http-port', f['http-port']],
  ];
  const tcpPort = f.port ?? (f['tls-port'] === undefined && f['wss-port'] === undefined ? DEFAULT_PORT : undefined);
  ports[0]![1] = tcpPort;
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      const [a, pa] = ports[i]!;
      const [b, pb] = ports[j]!;
      if (pa !== undefined && pa !== 0 && pa === pb) throw new Error(`${b} must differ from ${a}`);
    }
  }
  const secure = f['tls-port'] !== undefined || f['wss-port'] !== undefined;
  if (secure && f['config-file'] === undefined && (f.cert === undefined || f.key === undefined)) {
    throw new Error(`${f['tls-port'] !== undefined ? '--tls-port' : '--wss-port'} needs --cert and --key (the server's certificate and its private key)`);
  }
  if ((f['http-cert'] === undefined) !== (f['http-key'] === undefined)) throw new Error(f['http-cert'] === undefined ? '--http-key needs --http-cert' : '--http-cert needs --http-key');
  if ((f.cert === undefined) !== (f.key === undefined)) throw new Error(f.cert === undefined ? '--key needs --cert' : '--cert needs --key');
  if (f.check && f['config-file'] === undefined) throw new Error('--check needs -c FILE: the configuration file to check');
  if (f.workers !== undefined) parseWorkers(f.workers);
  if (f['node-id'] !== undefined && f.cluster === undefined && f['config-file'] === undefined) throw new Error('--node-id needs --cluster redis://HOST:PORT: it names this node in a cluster');
}

/** What runBroker() is given for a parsed command line. */
export function runOptions(args: BrokerArgs): BrokerRunOptions {
  const { debug, ...flags } = args;
  const only = {} as BrokerFlags;
  for (const name of Object.keys(BROKER_OPTIONS) as BrokerOptionName[]) (only as Record<string, unknown>)[name] = flags[name];
  only.check = flags.check === true;
  // How many times -v was given (yargs counts; a boolean from an older caller is once).
  const verbose = flags.verbose as number | boolean | undefined;
  only.verbose = typeof verbose === 'number' ? verbose : verbose === true ? 1 : 0;
  only.json = flags.json === true;
  return { flags: only, debug: debug === true };
}

/** Flags for a broker started with nothing said (tests, and the quick parser's start). */
export function noFlags(): BrokerFlags {
  const f = {} as Record<string, unknown>;
  for (const name of Object.keys(BROKER_OPTIONS)) f[name] = undefined;
  f.check = f.json = false;
  f.verbose = 0;
  return f as BrokerFlags;
}
