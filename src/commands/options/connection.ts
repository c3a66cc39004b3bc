/**
 * Where and how to connect: broker address, client id, protocol version, session and
 * credentials (mosquitto's client_shared.c flags). Flags carry no yargs defaults, so read()
 * can tell "given" from "not given" and apply flag > env > profile > config defaults.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Options } from 'yargs';
import { ConfigError, PROTOCOL_VERSION_NAMES, envSettings, loadConfig, mergeSettings, parsePort, parseProtocolVersion, parseUrl, pickProfile, type ConnectionSettings, type ResolvedSettings } from '../../core/client/config.js';
import { fileReason } from '../../core/client/payload.js';
import type { ProtocolLevel } from '../../core/client/types.js';
import { integer, OptionError, parsed, str, bool, num, text, type ArgvLike } from './values.js';

/** Session expiry "never" (5.0 section 3.1.2.11.2): what mosquitto's -x -1 and ∞ mean. */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

export const connectionOptions = {
  host: { alias: 'h', type: 'string', requiresArg: true, coerce: text('host'), defaultDescription: 'localhost', describe: 'Broker host name or address' },
  port: { alias: 'p', type: 'string', requiresArg: true, coerce: parsed('port', parsePort), defaultDescription: '1883; 8883 with TLS; 80/443 with --ws', describe: 'Broker port' },
  url: { alias: 'L', type: 'string', requiresArg: true, coerce: parsed('url', checkUrl), describe: 'Broker URL: mqtt[s]|ws[s]://[user[:password]@]host[:port][/path] (for mqtt[s], the path is the topic, as in mosquitto)' },
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
  return {
    url: str(argv, 'url'),
    host: str(argv, 'host'),
    port: num(argv, 'port'),
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
}

/** The layers, weakest first: config defaults, --profile, environment, flags. */
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

  const settings = mergeSettings(await layers(argv, env));
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
  // Random, so two runs never take over each other's connection.
  const clientId = fixedId ?? `${settings.idPrefix ?? `mqt-${ctx.command}-`}${randomBytes(4).toString('hex')}`;
  // A random id would start a fresh session every time, which defeats -c (mosquitto refuses it too).
  if (!clean && fixedId === undefined) throw new OptionError('-c/--disable-clean-session needs a fixed client id: add -i <id>');
  // [MQTT-3.1.3-8] with 3.1.1 an empty client id needs clean session; 3.1 allows none at all.
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
  };
}
