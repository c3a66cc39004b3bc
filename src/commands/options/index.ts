/**
 * Option groups shared by the client commands (pub, sub, retain-clear, lwt-test): mosquitto's
 * client_shared.c done by composition, not by a pub_or_sub switch.
 *
 * HOW A COMMAND USES THEM
 *
 * 1. Each group is a plain `{ [flag]: yargs Options }` object plus a `read…(argv)` that returns
 *    a typed value: connectionOptions/readConnection, tlsOptions/readTls, willOptions/readWill,
 *    propertyOptions/readProperties (-D), globalOptions/readGlobal (--quiet --json --no-color),
 *    payloadOptions/readPayload (pub only), messagePropertyOptions(prefix)/readMessageProperties
 *    (MQTT 5 message properties: '' for a PUBLISH, 'will-' for the will).
 *
 * 2. The builder adds the groups it uses, each under a help heading; yargs' `.strict()` (set in
 *    cli.ts) then rejects any flag of a group the command did not add:
 *
 *      builder: (yargs) => withClientOptions(yargs.positional(…).option('qos', …))
 *                            .options(myOwnFlags)
 *
 *    withClientOptions adds connection, TLS, will, -D and output; addGroup(yargs, 'Heading:',
 *    group) adds any single group (pub adds payloadOptions that way). Groups carry no yargs
 *    `default`s: read() must tell "not given" from "given", so the config file and environment
 *    can fill in (precedence flag > env > profile > config defaults). Use `defaultDescription`
 *    to show a default in --help.
 *
 * 3. The handler lazy-imports its run module, which calls readClient(argv, { command, packets,
 *    reconnect }) once. It returns ClientSetup: `connection` (ConnectionOptions, ready for
 *    connect() from src/core/client/connect.ts, with the will, -D connect/-D will, -x and the
 *    password already folded in), `properties` (the -D properties of the other packets, e.g.
 *    properties.subscribe), `global`, `mqtt5` (flags that need MQTT 5: pass them with your own
 *    as `needsMqtt5` to connect() so a broker refusing 5 is an error instead of a fall back that
 *    drops them) and `urlTopic` (the topic of `-L mqtt://host/topic`). `packets` lists the
 *    packets the command sends; `-D` for any other packet is a usage error.
 *
 * 4. Errors: coercers throw inside yargs and become `mqt <cmd>: …` + `Use 'mqt <cmd> --help'`
 *    through cli.ts. read…() functions throw OptionError (and core's ConfigError, PayloadError,
 *    ConnectError); readClient already converts; elsewhere wrap with asCliError(err, command)
 *    from ../render/failure.js, which maps OptionError to a UsageError, ConnectError to a
 *    CliError whose exit code is the CONNACK reason code, and the rest to one-line CliErrors.
 *
 * 5. Shared output in ../render/: traceLine (mosquitto's -d wording, "Client <id> sending
 *    PUBLISH (…)": give it to connect() as onPacket when global.debug), startSpinner (ora on a
 *    terminal's stderr only, never with CI or --quiet; stop(line) leaves one final line),
 *    promptPassword (used by readClient for a bare -P). withClientOptions also switches off
 *    yargs' eager help rendering (skipHelpCache below), worth ~100 ms of every run.
 */
import { isatty } from 'node:tty';
import type { Argv, Options } from 'yargs';
import { mergeProperties, type PacketProperties, type PropertyPacket } from '../../core/client/properties.js';
import type { ConnectionOptions } from '../../core/client/types.js';
import { readConnection, connectionOptions, type ReadConnectionContext } from './connection.js';
import { globalOptions, readGlobal, type GlobalGroup } from './global.js';
import { givenPropertyPackets, propertyOptions, readProperties } from './properties.js';
import { readTls, tlsOptions } from './tls.js';
import { OptionError, type ArgvLike } from './values.js';
import { readWill, willOptions } from './will.js';

export { connectionOptions, readConnection, parseSessionExpiry, SESSION_NEVER_EXPIRES } from './connection.js';
export type { ConnectionGroup, ReadConnectionContext } from './connection.js';
export { tlsOptions, readTls } from './tls.js';
export { willOptions, readWill } from './will.js';
export { propertyOptions, readProperties } from './properties.js';
export { globalOptions, readGlobal } from './global.js';
export type { GlobalGroup } from './global.js';
export { payloadOptions, readPayload } from './payload.js';
export type { PayloadGroup } from './payload.js';
export { messagePropertyOptions, readMessageProperties, givenMessageFlags, messageFlags } from './message.js';
export { OptionError, integer, seconds, text, parsed, keyValue, list, str, num, bool } from './values.js';
export type { ArgvLike } from './values.js';

/** Adds one group's flags under a heading of `--help`. */
export function addGroup(yargs: Argv, heading: string, options: Record<string, Options>): Argv {
  return yargs.options(options).group(Object.keys(options), heading);
}

/** The groups every client command has, in the order --help shows them. */
export const CLIENT_GROUPS: readonly [heading: string, options: Record<string, Options>][] = [
  ['Connection:', connectionOptions],
  ['TLS:', tlsOptions],
  ['Will:', willOptions],
  ['MQTT 5 properties:', propertyOptions],
  ['Output:', globalOptions],
];

export function withClientOptions(yargs: Argv): Argv {
  let y = yargs;
  for (const [heading, options] of CLIENT_GROUPS) y = addGroup(y, heading, options);
  skipHelpCache(y);
  return y;
}

type UsageInternals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } | undefined } };

/**
 * yargs renders a command's whole help text as soon as it has started the handler, in case
 * the handler asks for it (command.js handleValidationAndGetResult → usage.cacheHelpMessage).
 * With the ~70 flags of a client command that costs 50–150 ms of CPU on every run, before the
 * handler's first `await` resumes: measured as a quarter of `mqt pub`'s start-up. No client
 * command shows help from its handler (--help is rendered afresh), so the cache is turned
 * off. This reaches into yargs internals; if they change, the guard makes it a no-op.
 */
function skipHelpCache(yargs: Argv): void {
  const usage = (yargs as unknown as UsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

export interface ReadClientContext {
  /** The subcommand, for the default client id (mqt-<command>-…) and error prefixes. */
  command: string;
  /** Packets the command sends, for -D (connect, will and disconnect are always allowed). */
  packets: readonly PropertyPacket[];
  /** Whether to reconnect when the user says neither --reconnect nor --no-reconnect. */
  reconnect: boolean;
  env?: ReadConnectionContext['env'];
  /** Password prompt; the default asks on the terminal when stdin and stderr are one. */
  prompt?: ReadConnectionContext['prompt'];
}

export interface ClientSetup {
  connection: ConnectionOptions;
  /** -D properties of the packets other than connect and will (which are in `connection`). */
  properties: PacketProperties;
  global: GlobalGroup;
  /** Flags given that need MQTT 5, for connect()'s `needsMqtt5`. */
  mqtt5: string[];
  /** The path of an mqtt(s):// URL (`-L mqtt://host/topic`), mosquitto's way to give the topic. */
  urlTopic: string | undefined;
}

async function terminalPrompt(message: string): Promise<string> {
  const { promptPassword } = await import('../render/prompt.js');
  return promptPassword(message);
}

async function read(argv: ArgvLike, ctx: ReadClientContext): Promise<ClientSetup> {
  const global = readGlobal(argv, ctx.env as NodeJS.ProcessEnv | undefined);
  const packets = [...new Set<PropertyPacket>(['connect', 'will', ...ctx.packets, 'disconnect'])];
  const properties = readProperties(argv, ctx.command, packets);
  const { will, mqtt5: willMqtt5 } = readWill(argv);
  if (properties.will !== undefined && will === undefined) throw new OptionError('-D will needs --will-topic');
  // isatty(0) is process.stdin.isTTY without making the stdin stream (~5 ms of every start).
  const prompt = ctx.prompt ?? (isatty(0) && process.stderr.isTTY ? terminalPrompt : undefined);
  const conn = await readConnection(argv, { command: ctx.command, env: ctx.env, prompt });
  const mqtt5 = [...conn.mqtt5, ...willMqtt5, ...givenPropertyPackets(properties)];
  if (conn.protocolVersion !== 5 && mqtt5.length > 0) {
    throw new OptionError(`${mqtt5.join(', ')} ${mqtt5.length === 1 ? 'needs' : 'need'} MQTT 5, but -V asks for ${conn.protocolVersion === 4 ? '3.1.1' : '3.1'}`);
  }
  const s = conn.settings;
  const connection: ConnectionOptions = {
    transport: s.transport,
    host: s.host,
    port: s.port,
    wsPath: s.wsPath,
    clientId: conn.clientId,
    keepalive: conn.keepalive,
    protocolVersion: conn.protocolVersion,
    fallback: conn.fallback,
    clean: conn.clean,
    username: conn.username,
    password: conn.password,
    will: will === undefined ? undefined : { ...will, properties: mergeProperties('will', will.properties, properties.will) },
    properties: mergeProperties('connect', conn.sessionExpiry === undefined ? undefined : { sessionExpiryInterval: conn.sessionExpiry }, properties.connect),
    tls: readTls(s),
    reconnect: conn.reconnect ?? ctx.reconnect,
    brokers: conn.brokers.length > 1 ? conn.brokers : undefined,
  };
  const { connect: _c, will: _w, ...rest } = properties;
  return { connection, properties: rest, global, mqtt5, urlTopic: s.urlTopic };
}

/** Reads every shared group of a client command; any failure is already a CliError/UsageError for `command`. */
export async function readClient(argv: ArgvLike, ctx: ReadClientContext): Promise<ClientSetup> {
  try {
    return await read(argv, ctx);
  } catch (err) {
    // Loaded on failure only: `mqt --help` imports this module and should not pay for it.
    const { asCliError } = await import('../render/failure.js');
    throw asCliError(err, ctx.command);
  }
}
