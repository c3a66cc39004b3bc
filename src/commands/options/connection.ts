/**
 * Where and how to connect: broker address, client id, protocol version, session and
 * credentials (mosquitto's client_shared.c flags). Flags carry no yargs defaults, so read()
 * can tell "given" from "not given" and apply flag > env > profile > config defaults.
 */
import { readFile } from 'node:fs/promises';
import type { Options } from 'yargs';
import { ConfigError, PROTOCOL_VERSION_NAMES, envSettings, loadConfig, mergeSettings, parsePort, parseProtocolVersion, parseUrl, pickProfile, type ConnectionSettings, type ResolvedSettings } from '../../core/client/config.js';
import { fileReason } from '../../core/client/payload.js';
import { DEFAULT_PORTS, DEFAULT_WS_PATH, type BrokerAddress, type ProtocolLevel, type Transport } from '../../core/client/types.js';
import { integer, OptionError, parsed, str, bool, num, text, type ArgvLike } from './values.js';

/** Session expiry "never" (5.0 section 3.1.2.11.2): what mosquitto's -x -1 and ∞ mean. */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

export const connectionOptions = {
  host: {
    alias: 'h',
    type: 'string',
    requiresArg: true,
    coerce: several('host', parseHostEntry),
    defaultDescription: 'localhost',
    describe: 'Broker host name or address; several (-h a,b or -h a -h b, each may be host:port) are tried in order, as with -L',
  },
  port: { alias: 'p', type: 'string', requiresArg: true, coerce: parsed('port', parsePort), defaultDescription: '1883; 8883 with TLS; 80/443 with --ws', describe: 'Broker port' },
  url: {
    alias: 'L',
    type: 'string',
    requiresArg: true,
    coerce: several('url', checkUrl),
    describe:
      'Broker URL: mqtt[s]|ws[s]://[user[:password]@]host[:port][/path] (for mqtt[s], the path is the topic, as in mosquitto). ' +
      'Several (-L a,b or -L a -L b) are tried in order at connect, and pub and sub move to the next when the one in use goes away ' +
      '(lwt-test never does: a broker going away during a test is what it observes); MQT_URL and a profile\'s url take such a list too',
  },
  ws: { type: 'boolean', describe: 'Connect over WebSocket (wss with TLS)' },
  'ws-path': { type: 'string', requiresArg: true, coerce: text('ws-path'), defaultDescription: '/mqtt', describe: 'Request path for WebSocket' },
  id: { alias: 'i', type: 'string', requiresArg: true, coerce: text('id', { allowEmpty: true }), describe: 'Client id (default: mqt-<command>- and random hex)' },
  'id-prefix': { alias: 'I', type: 'string', requiresArg: true, coerce: text('id-prefix'), describe: 'Client id prefix; random hex is appended' },
  keepalive: { alias: 'k', type: 'string', requiresArg: true, coerce: integer('keepalive', 0, 65_535), defaultDescription: '60', describe: 'Keep-alive interval in seconds (0 turns it off)' },
  'protocol-version': {
    alias: 'V',
    type: 'string',
    requiresArg: true,
    coerce: parsed('protocol-version', parseProtocolVersion),
    defaultDescription: '5, falling back to 3.1.1',
    describe: `MQTT version: ${PROTOCOL_VERSION_NAMES.join(', ')}`,
  },
  'disable-clean-session': { alias: 'c', type: 'boolean', describe: 'Keep the session on the broker after disconnecting (needs -i)' },
  'session-expiry': {
    alias: 'x',
    type: 'string',
    requiresArg: true,
    coerce: parsed('session-expiry', parseSessionExpiry),
    defaultDescription: '0; never with -c',
    describe: 'MQTT 5 session expiry in seconds after disconnecting; -1 or ∞ for never',
  },
  username: { alias: 'u', type: 'string', requiresArg: true, coerce: text('username', { allowEmpty: true }), describe: 'User name (or MQT_USERNAME)' },
  password: { alias: 'P', type: 'string', describe: 'Password (or MQT_PASSWORD); -P alone asks for it on a terminal' },
  'password-env': { type: 'string', requiresArg: true, coerce: text('password-env'), describe: 'Read the password from this environment variable' },
  'password-file': { type: 'string', requiresArg: true, coerce: text('password-file'), describe: 'Read the password from the first line of this file' },
  profile: { type: 'string', requiresArg: true, coerce: text('profile'), describe: 'Use this profile of ~/.config/mqt/config.json' },
  reconnect: { type: 'boolean', describe: 'Reconnect when the connection is lost (--no-reconnect to exit instead)' },
} as const satisfies Record<string, Options>;

/** A URL on the command line is checked while parsing, so a bad one is a usage error. */
function checkUrl(value: string): string {
  parseUrl(value);
  return value;
}

/**
 * A yargs coerce for -h and -L: repeated or comma-separated, several brokers to try in order.
 * One value stays a string (as before); several are a string[].
 */
function several(flag: string, check: (item: string) => unknown): (value: unknown) => string | string[] {
  return (value: unknown): string | string[] => {
    const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim());
    if (items.some((v) => v === '')) throw new Error(items.length > 1 ? `--${flag}: an empty entry in the list (two commas, or one at an end)` : `--${flag} needs a value`);
    for (const item of items) {
      try {
        check(item);
      } catch (err) {
        throw new Error(`--${flag}: ${(err as Error).message}`);
      }
    }
    return items.length === 1 ? items[0]! : items;
  };
}

/** One -h entry: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (more than one ':'). */
export function parseHostEntry(entry: string): { host: string; port: number | undefined } {
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracket !== null) return { host: bracket[1]!, port: bracket[2] === undefined ? undefined : parsePort(bracket[2]) };
  const colon = entry.indexOf(':');
  if (colon === -1 || colon !== entry.lastIndexOf(':')) return { host: entry, port: undefined };
  return { host: entry.slice(0, colon), port: parsePort(entry.slice(colon + 1)) };
}

/** A -h or -L value as the list it stands for. */
function entries(argv: ArgvLike, key: string): string[] {
  const v = argv[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/** mosquitto's -x: seconds, or -1 / ∞ / never for a session that does not expire. */
export function parseSessionExpiry(value: string): number {
  if (['-1', '∞', 'inf', 'infinity', 'never'].includes(value.toLowerCase())) return SESSION_NEVER_EXPIRES;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > SESSION_NEVER_EXPIRES) throw new ConfigError(`seconds from 0 to ${SESSION_NEVER_EXPIRES}, or -1 for never; got '${value}'`);
  return n;
}

/** The flags' layer of settings (the TLS flags are read here too: a profile may hold both). */
export function flagSettings(argv: ArgvLike): ConnectionSettings {
  const alpn = argv.alpn;
  // With several brokers, the first is the one the settings describe (brokerList adds the rest).
  const firstHost = entries(argv, 'host')[0];
  const hostEntry = firstHost === undefined ? undefined : parseHostEntry(firstHost);
  return {
    url: entries(argv, 'url')[0],
    host: hostEntry?.host,
    port: hostEntry?.port ?? num(argv, 'port'),
    ws: bool(argv, 'ws'),
    wsPath: str(argv, 'ws-path'),
    tls: bool(argv, 'tls'),
    id: str(argv, 'id'),
    idPrefix: str(argv, 'id-prefix'),
    keepalive: num(argv, 'keepalive'),
    protocolVersion: argv['protocol-version'] as ProtocolLevel | undefined,
    username: str(argv, 'username'),
    // -P alone is '' here: read() turns it into a prompt.
    password: str(argv, 'password'),
    passwordEnv: str(argv, 'password-env'),
    passwordFile: str(argv, 'password-file'),
    cafile: str(argv, 'cafile'),
    capath: str(argv, 'capath'),
    cert: str(argv, 'cert'),
    key: str(argv, 'key'),
    insecure: argv.insecure === true ? true : undefined,
    tlsVersion: argv['tls-version'] as ConnectionSettings['tlsVersion'],
    alpn: alpn === undefined ? undefined : (Array.isArray(alpn) ? alpn : [alpn]).map(String),
    reconnect: bool(argv, 'reconnect'),
  };
}

export interface ReadConnectionContext {
  command: string;
  env?: Record<string, string | undefined> | undefined;
  /** Asks for a password on the terminal; undefined when there is no terminal to ask on. */
  prompt?: ((message: string) => Promise<string>) | undefined;
}

export interface ConnectionGroup {
  settings: ResolvedSettings;
  protocolVersion: ProtocolLevel;
  /** The user did not choose a version: 5 with a fall back to 3.1.1. */
  fallback: boolean;
  clientId: string;
  clean: boolean;
  keepalive: number;
  /** CONNECT's session expiry (5.0), when there is one to send. */
  sessionExpiry: number | undefined;
  username: string | undefined;
  password: Buffer | undefined;
  /** undefined: the command's own default. */
  reconnect: boolean | undefined;
  /** Flags whose meaning needs MQTT 5, for the fall-back decision and -V 3.1.1 checks. */
  mqtt5: string[];
  /** Every broker to try, in order (-L a,b or -h a,b); the first is the one `settings` names. */
  brokers: BrokerAddress[];
}

const isWs = (t: Transport): boolean => t === 'ws' || t === 'wss';
const isSecure = (t: Transport): boolean => t === 'mqtts' || t === 'wss';
function transportOf(ws: boolean, secure: boolean): Transport {
  return ws ? (secure ? 'wss' : 'ws') : secure ? 'mqtts' : 'mqtt';
}

/**
 * The brokers of -L a,b (or -h a,b) after the first. Each URL keeps its own scheme, host, port
 * and WebSocket path; what the flags changed about the first (--ws, TLS because of --cafile)
 * they change about each. One set of credentials and one URL topic serve all of them.
 */
function brokerList(argv: ArgvLike, s: ResolvedSettings, settingsList: readonly string[]): BrokerAddress[] {
  const first: BrokerAddress = { transport: s.transport, host: s.host, port: s.port, wsPath: s.wsPath };
  const hosts = entries(argv, 'host');
  const flagUrls = entries(argv, 'url');
  // A list in MQT_URL or a profile's url counts as -L a,b when no flag names a broker.
  const urls = flagUrls.length === 0 && hosts.length === 0 && settingsList.length > 1 ? [...settingsList] : flagUrls;
  if (urls.length > 1) {
    const head = parseUrl(urls[0]!);
    const forceWs = isWs(s.transport) && !isWs(head.transport);
    const forceTls = isSecure(s.transport) && !isSecure(head.transport);
    const wsPathFlag = str(argv, 'ws-path');
    return [
      first,
      ...urls.slice(1).map((url): BrokerAddress => {
        const u = parseUrl(url);
        if ((u.username !== undefined && u.username !== s.username) || (u.password !== undefined && u.password !== s.password)) {
          throw new OptionError(`-L: '${url}' has its own user name or password; every broker of the list gets the same ones: give them once (in the first URL, or with -u/-P)`);
        }
        const transport = transportOf(isWs(u.transport) || forceWs, isSecure(u.transport) || forceTls);
        if (!isWs(transport) && u.path !== undefined && u.path !== head.path) {
          throw new OptionError(`-L: '${url}' names another topic than the first URL; give the topic once (in the first URL, or with -t)`);
        }
        return { transport, host: u.host, port: u.port ?? DEFAULT_PORTS[transport], wsPath: isWs(transport) ? (wsPathFlag ?? u.path ?? DEFAULT_WS_PATH) : s.wsPath };
      }),
    ];
  }
  if (hosts.length > 1) {
    const portFlag = num(argv, 'port');
    const headPort = parseHostEntry(hosts[0]!).port;
    // The port every entry without its own gets: -p (or the profile's), else the transport's.
    const shared = headPort === undefined ? s.port : (portFlag ?? DEFAULT_PORTS[s.transport]);
    return [
      first,
      ...hosts.slice(1).map((entry): BrokerAddress => {
        const h = parseHostEntry(entry);
        return { transport: s.transport, host: h.host, port: h.port ?? shared, wsPath: s.wsPath };
      }),
    ];
  }
  return [first];
}

/** The layers, weakest first: config defaults, --profile, environment, flags. */
/**
 * A comma list in MQT_URL, a profile's or the defaults' url (`mqtt://a,mqtt://b`): each layer keeps
 * its first URL, and the list of the strongest layer that names a broker (url or host) is returned,
 * so a stronger -h or url replaces it as it would replace a single URL.
 */
export function splitUrlLists(list: ConnectionSettings[]): string[] {
  let urls: string[] = [];
  for (const [i, layer] of list.entries()) {
    if (layer.url !== undefined && layer.url.includes(',')) {
      const items = layer.url.split(',').map((v) => v.trim());
      if (items.some((v) => v === '')) throw new OptionError(`'${layer.url}': an empty entry in the list of broker URLs (two commas, or one at an end)`);
      for (const item of items) parseUrl(item);
      list[i] = { ...layer, url: items[0] };
      urls = items;
    } else if (layer.url !== undefined || layer.host !== undefined) {
      urls = [];
    }
  }
  return urls;
}

async function layers(argv: ArgvLike, env: Record<string, string | undefined>): Promise<ConnectionSettings[]> {
  const config = await loadConfig(env);
  const profileName = str(argv, 'profile');
  const profile = profileName === undefined ? {} : pickProfile(config, profileName, env);
  return [config?.defaults ?? {}, profile, envSettings(env), flagSettings(argv)];
}

async function readPassword(s: ResolvedSettings, ctx: ReadConnectionContext, env: Record<string, string | undefined>): Promise<string | undefined> {
  if (s.passwordEnv !== undefined) {
    const value = env[s.passwordEnv];
    if (value === undefined) throw new OptionError(`--password-env: the environment variable ${s.passwordEnv} is not set`);
    return value;
  }
  if (s.passwordFile !== undefined) {
    let content: string;
    try {
      content = await readFile(s.passwordFile, 'utf8');
    } catch (err) {
      throw new OptionError(`--password-file: cannot read '${s.passwordFile}': ${fileReason(err)}`);
    }
    // The first line, so a file written by `echo secret > f` works.
    return content.split(/\r?\n/)[0] ?? '';
  }
  if (s.password === '') {
    if (ctx.prompt === undefined) throw new OptionError('-P needs a password, and there is no terminal to ask on: give it, or use --password-env VAR or --password-file FILE');
    return ctx.prompt(`Password${s.username !== undefined ? ` for ${s.username}` : ''}:`);
  }
  return s.password;
}

/** Reads the connection group: merges the layers, checks combinations, resolves the password. */
export async function readConnection(argv: ArgvLike, ctx: ReadConnectionContext): Promise<ConnectionGroup> {
  const env = ctx.env ?? process.env;
  const flags = flagSettings(argv);
  // Within the command line, one password source at a time; across layers the strongest one wins.
  const given = [flags.password !== undefined && '-P', flags.passwordEnv !== undefined && '--password-env', flags.passwordFile !== undefined && '--password-file'].filter(Boolean);
  if (given.length > 1) throw new OptionError(`${given.join(' and ')} both give the password: use one`);
  if (flags.url !== undefined && (flags.host !== undefined || flags.port !== undefined)) {
    throw new OptionError('-L/--url already names the host and port: drop -h/-p, or put the port in the URL');
  }
  if (argv.port !== undefined) {
    const withPort = entries(argv, 'host').find((h) => parseHostEntry(h).port !== undefined);
    if (withPort !== undefined) throw new OptionError(`-h '${withPort}' names its port and so does -p: give the port one way`);
  }

  const settingLayers = await layers(argv, env);
  const settingsList = splitUrlLists(settingLayers);
  const settings = mergeSettings(settingLayers);
  const explicitVersion = settings.protocolVersion;
  const protocolVersion: ProtocolLevel = explicitVersion ?? 5;
  const clean = argv['disable-clean-session'] !== true;
  const sessionFlag = argv['session-expiry'] as number | undefined;
  const mqtt5: string[] = [];
  if (sessionFlag !== undefined) mqtt5.push('-x/--session-expiry');
  if (mqtt5.length > 0 && protocolVersion !== 5) throw new OptionError(`${mqtt5.join(', ')} needs MQTT 5, but -V asks for ${protocolVersion === 4 ? '3.1.1' : '3.1'}`);

  const idFlag = str(argv, 'id');
  const prefixFlag = str(argv, 'id-prefix');
  if (idFlag !== undefined && prefixFlag !== undefined) throw new OptionError('-i and -I both set the client id: use one');
  // -I on the command line beats an id from the profile; otherwise the strongest id wins.
  const fixedId = prefixFlag !== undefined ? undefined : settings.id;
  // Random, so two runs never take over each other's connection. 32 bits of Math.random (seeded
  // per process from the OS): node:crypto alone would cost a one-shot pub ~4 ms of loading.
  const clientId = fixedId ?? `${settings.idPrefix ?? `mqt-${ctx.command}-`}${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')}`;
  // A random id would start a fresh session every time, which defeats -c (mosquitto refuses it too).
  if (!clean && fixedId === undefined) throw new OptionError('-c/--disable-clean-session needs a fixed client id: add -i <id>');
  // 3.1.1 [MQTT-3.1.3-7]: an empty client id needs clean session (a broker refuses it, [MQTT-3.1.3-8]); 3.1 allows none at all.
  if (clientId === '' && (!clean || protocolVersion === 3)) throw new OptionError('an empty client id (-i \'\') needs a clean session and MQTT 3.1.1 or 5');

  const username = settings.username;
  const password = await readPassword(settings, ctx, env);
  // [MQTT-3.1.2-22] 3.1.1 allows a password only with a user name.
  if (password !== undefined && username === undefined && protocolVersion !== 5) throw new OptionError('a password needs a user name (-u) before MQTT 5');

  // mosquitto's -c without -x in 5.0: the session lives until the client cleans it.
  const sessionExpiry = sessionFlag ?? (!clean && protocolVersion === 5 ? SESSION_NEVER_EXPIRES : undefined);
  return {
    settings,
    protocolVersion,
    fallback: explicitVersion === undefined,
    clientId,
    clean,
    keepalive: settings.keepalive ?? 60,
    sessionExpiry,
    username,
    password: password === undefined ? undefined : Buffer.from(password, 'utf8'),
    reconnect: settings.reconnect,
    mqtt5,
    brokers: brokerList(argv, settings, settingsList),
  };
}
