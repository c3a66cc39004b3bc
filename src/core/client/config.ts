/**
 * Connection settings from four places, strongest first: command-line flags, the environment
 * (MQT_URL, MQT_USERNAME, MQT_PASSWORD), a named profile and the defaults of
 * `$XDG_CONFIG_HOME/mqt/config.json` (`~/.config/mqt/config.json` without XDG_CONFIG_HOME):
 *
 *   { "defaults": { "host": "broker.lan", "username": "me" },
 *     "profiles": { "home": { "url": "mqtts://me@home.example:8883", "cafile": "home-ca.pem" } } }
 *
 * Keys are the long flag names. A URL in a layer is expanded into host, port, user and so on
 * of that layer, and the layer's own keys win over it; a stronger layer wins key by key.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_PORTS, DEFAULT_WS_PATH, type ProtocolLevel, type TlsVersion, type Transport } from './types.js';

/** One layer of settings, by the flag's long name turned camelCase. */
export interface ConnectionSettings {
  url?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  ws?: boolean | undefined;
  wsPath?: string | undefined;
  tls?: boolean | undefined;
  id?: string | undefined;
  idPrefix?: string | undefined;
  keepalive?: number | undefined;
  protocolVersion?: ProtocolLevel | undefined;
  username?: string | undefined;
  password?: string | undefined;
  passwordFile?: string | undefined;
  passwordEnv?: string | undefined;
  cafile?: string | undefined;
  capath?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecure?: boolean | undefined;
  tlsVersion?: TlsVersion | undefined;
  alpn?: string[] | undefined;
  reconnect?: boolean | undefined;
}
type Key = keyof ConnectionSettings;

/** A config file, URL or setting that cannot be used; the message names where and why. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

// ---- values ----------------------------------------------------------------------------

/** `-V` values: ours and mosquitto's (mqttv31, mqttv311, mqttv5), and MQTTX's 5.0. */
const PROTOCOL_VERSIONS: Record<string, ProtocolLevel> = {
  '3.1': 3, mqttv31: 3, '31': 3, '3': 3,
  '3.1.1': 4, mqttv311: 4, '311': 4, '4': 4,
  '5': 5, '5.0': 5, mqttv5: 5, mqttv50: 5,
};
export const PROTOCOL_VERSION_NAMES = ['3.1', '3.1.1', '5', 'mqttv31', 'mqttv311', 'mqttv5'] as const;

export function parseProtocolVersion(value: unknown): ProtocolLevel {
  const level = PROTOCOL_VERSIONS[String(value).toLowerCase()];
  if (level === undefined) throw new ConfigError(`unknown protocol version '${String(value)}'; use ${PROTOCOL_VERSION_NAMES.join(', ')}`);
  return level;
}

const TLS_VERSIONS: Record<string, TlsVersion> = {
  'tlsv1.1': 'TLSv1.1', '1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2', '1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3', '1.3': 'TLSv1.3',
};

export function parseTlsVersion(value: unknown): TlsVersion {
  const version = TLS_VERSIONS[String(value).toLowerCase()];
  if (version === undefined) throw new ConfigError(`unknown TLS version '${String(value)}'; use tlsv1.2 or tlsv1.3 (tlsv1.1 if the broker is old)`);
  return version;
}

export function parsePort(value: unknown): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65_535) throw new ConfigError(`a port is a whole number from 1 to 65535, got '${text}'`);
  return n;
}

// ---- URLs ----------------------------------------------------------------------------------

const SCHEMES: Record<string, Transport> = { mqtt: 'mqtt', tcp: 'mqtt', mqtts: 'mqtts', ssl: 'mqtts', tls: 'mqtts', ws: 'ws', wss: 'wss' };

/**
 * Parsed by hand rather than with WHATWG URL, which would take a `#` in the path for a
 * fragment: mosquitto's -L reads `mqtt://host/topic/#`, with the path as the topic.
 */
const URL_SHAPE = /^([a-z]+):\/\/(?:([^@/]*)@)?(\[[^\]/]+\]|[^:/[\]]+)(?::([^/]*))?(\/.*)?$/i;

export interface ParsedUrl {
  transport: Transport;
  host: string;
  port?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** The path as given, e.g. '/mqtt' for WebSocket; undefined when the URL has none. */
  path?: string | undefined;
}

export function parseUrl(url: string): ParsedUrl {
  const m = URL_SHAPE.exec(url.trim());
  if (m === null) throw new ConfigError(`'${url}' is not a broker URL like mqtt://host:1883, mqtts://user@host, ws://host:8080/mqtt`);
  const [, scheme = '', userinfo, rawHost = '', rawPort, path] = m;
  const transport = SCHEMES[scheme.toLowerCase()];
  if (transport === undefined) throw new ConfigError(`unknown URL scheme '${scheme}' in '${url}'; use mqtt, mqtts, ws or wss`);
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), url);
    if (colon !== -1) password = decode(userinfo.slice(colon + 1), url);
  }
  return {
    transport,
    host: rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost,
    port: rawPort === undefined || rawPort === '' ? undefined : parsePort(rawPort),
    username: username === '' ? undefined : username,
    password,
    path: path === undefined || path === '' ? undefined : path,
  };
}

function decode(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`bad percent-encoding in the user part of '${url}'`);
  }
}

// ---- the file ----------------------------------------------------------------------------

type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'mqt', 'config.json');
}

export interface ConfigFile {
  path: string;
  defaults: ConnectionSettings;
  profiles: Record<string, ConnectionSettings>;
}

type Kind = 'string' | 'boolean' | 'port' | 'integer' | 'protocol' | 'tls-version' | 'strings' | 'file';
/** The keys a config file may hold: the long flag names, and how to read each. */
const FILE_KEYS: Record<string, [Key, Kind]> = {
  url: ['url', 'string'],
  host: ['host', 'string'],
  port: ['port', 'port'],
  ws: ['ws', 'boolean'],
  'ws-path': ['wsPath', 'string'],
  tls: ['tls', 'boolean'],
  id: ['id', 'string'],
  'id-prefix': ['idPrefix', 'string'],
  keepalive: ['keepalive', 'integer'],
  'protocol-version': ['protocolVersion', 'protocol'],
  username: ['username', 'string'],
  password: ['password', 'string'],
  'password-file': ['passwordFile', 'file'],
  'password-env': ['passwordEnv', 'string'],
  cafile: ['cafile', 'file'],
  capath: ['capath', 'file'],
  cert: ['cert', 'file'],
  key: ['key', 'file'],
  insecure: ['insecure', 'boolean'],
  'tls-version': ['tlsVersion', 'tls-version'],
  alpn: ['alpn', 'strings'],
  reconnect: ['reconnect', 'boolean'],
};
export const CONFIG_KEYS: readonly string[] = Object.keys(FILE_KEYS);

function readSection(value: unknown, where: string, dir: string): ConnectionSettings {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where} must be an object`);
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(value)) {
    const entry = FILE_KEYS[name];
    if (entry === undefined) throw new ConfigError(`${where}: unknown setting '${name}'; known: ${CONFIG_KEYS.join(', ')}`);
    const [key, kind] = entry;
    const bad = (what: string): ConfigError => new ConfigError(`${where}: '${name}' must be ${what}, got ${JSON.stringify(raw)}`);
    try {
      switch (kind) {
        case 'string':
          if (typeof raw !== 'string') throw bad('a string');
          out[key] = raw;
          break;
        case 'file':
          if (typeof raw !== 'string') throw bad('a file name');
          // Relative to the config file, so a profile and its certificates can live together.
          out[key] = isAbsolute(raw) ? raw : resolve(dir, raw);
          break;
        case 'boolean':
          if (typeof raw !== 'boolean') throw bad('true or false');
          out[key] = raw;
          break;
        case 'integer':
          if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) throw bad('a whole number');
          out[key] = raw;
          break;
        case 'port':
          out[key] = parsePort(raw);
          break;
        case 'protocol':
          out[key] = parseProtocolVersion(raw);
          break;
        case 'tls-version':
          out[key] = parseTlsVersion(raw);
          break;
        case 'strings':
          if (!Array.isArray(raw) || !raw.every((s) => typeof s === 'string')) throw bad('a list of strings');
          out[key] = raw;
          break;
      }
    } catch (err) {
      if (err instanceof ConfigError && !err.message.startsWith(where)) throw new ConfigError(`${where}: '${name}': ${err.message}`);
      throw err;
    }
  }
  return out as ConnectionSettings;
}

/** Reads the config file; undefined when there is none (which is normal). */
export async function loadConfig(env: Env = process.env): Promise<ConfigFile | undefined> {
  const path = configPath(env);
  let text: string;
  try {
    // Sync: a few hundred bytes read once, and node:fs/promises would cost every start ~1.5 ms to load.
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${path} must hold a JSON object with "defaults" and "profiles"`);
  const { defaults, profiles, ...rest } = json as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((k) => k !== '$schema');
  if (unknown.length > 0) throw new ConfigError(`${path}: unknown key '${unknown[0]}'; the file holds "defaults" and "profiles"`);
  const dir = dirname(path);
  const result: ConfigFile = { path, defaults: readSection(defaults, `${path}: defaults`, dir), profiles: {} };
  if (profiles !== undefined) {
    if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) throw new ConfigError(`${path}: "profiles" must be an object of named profiles`);
    for (const [name, section] of Object.entries(profiles)) result.profiles[name] = readSection(section, `${path}: profile '${name}'`, dir);
  }
  return result;
}

/** The profile named by --profile, with a message listing the ones there are when it is missing. */
export function pickProfile(config: ConfigFile | undefined, name: string, env: Env = process.env): ConnectionSettings {
  if (config === undefined) throw new ConfigError(`no profile '${name}': ${configPath(env)} does not exist`);
  const profile = config.profiles[name];
  if (profile !== undefined) return profile;
  const known = Object.keys(config.profiles);
  throw new ConfigError(`no profile '${name}' in ${config.path}${known.length > 0 ? `; it has ${known.join(', ')}` : '; it has no "profiles"'}`);
}

/** The environment's layer: MQT_URL, MQT_USERNAME, MQT_PASSWORD (empty counts as unset). */
export function envSettings(env: Env = process.env): ConnectionSettings {
  const value = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  return { url: value('MQT_URL'), username: value('MQT_USERNAME'), password: value('MQT_PASSWORD') };
}

// ---- merging ---------------------------------------------------------------------------

/** A layer with its URL spread into the keys it implies; the layer's own keys win. */
export function expandUrl(layer: ConnectionSettings): ConnectionSettings & { urlPath?: string | undefined } {
  if (layer.url === undefined) return layer;
  const u = parseUrl(layer.url);
  const fromUrl: ConnectionSettings & { urlPath?: string | undefined } = {
    host: u.host,
    port: u.port,
    ws: u.transport === 'ws' || u.transport === 'wss',
    tls: u.transport === 'mqtts' || u.transport === 'wss',
    username: u.username,
    password: u.password,
    urlPath: u.path,
  };
  return { ...fromUrl, ...definedOnly(layer) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const PASSWORD_KEYS = ['password', 'passwordFile', 'passwordEnv'] as const;

export interface ResolvedSettings extends Omit<ConnectionSettings, 'url' | 'ws' | 'tls'> {
  transport: Transport;
  host: string;
  port: number;
  wsPath: string;
  /** The path of an mqtt(s):// URL without its leading '/': mosquitto's `-L …/topic`. */
  urlTopic?: string | undefined;
}

/**
 * Merges layers weakest first (defaults, profile, environment, flags), then fills in what no
 * layer said: TLS when any TLS setting is present (a CA file means TLS, as in mosquitto),
 * the transport's own port, the WebSocket path.
 */
export function mergeSettings(layers: readonly ConnectionSettings[]): ResolvedSettings {
  let merged: ConnectionSettings & { urlPath?: string | undefined } = {};
  for (const layer of layers) {
    const own = definedOnly(expandUrl(layer));
    // The password sources replace one another as a unit: a -P on the command line must not
    // lose to a profile's password-file just because that is another key.
    if (PASSWORD_KEYS.some((k) => own[k] !== undefined)) for (const k of PASSWORD_KEYS) delete merged[k];
    merged = { ...merged, ...own };
  }
  const { url: _url, ws, tls, urlPath, ...rest } = merged;
  const secure =
    tls === true ||
    [rest.cafile, rest.capath, rest.cert, rest.key, rest.tlsVersion, rest.alpn].some((v) => v !== undefined) ||
    rest.insecure === true;
  const transport: Transport = ws === true ? (secure ? 'wss' : 'ws') : secure ? 'mqtts' : 'mqtt';
  const isWs = transport === 'ws' || transport === 'wss';
  return {
    ...rest,
    transport,
    host: rest.host ?? 'localhost',
    port: rest.port ?? DEFAULT_PORTS[transport],
    wsPath: rest.wsPath ?? (isWs && urlPath !== undefined ? urlPath : DEFAULT_WS_PATH),
    urlTopic: !isWs && urlPath !== undefined && urlPath.length > 1 ? urlPath.slice(1) : undefined,
  };
}
