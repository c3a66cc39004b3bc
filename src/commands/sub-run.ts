/**
 * `mqt sub`: mosquitto_sub's main() (client/sub_client.c) in our layers. Read and check every
 * flag before connecting, connect through core/client/connect.ts, subscribe (then -U), print
 * each message until -C, -W, -E, the end of a --retained-only burst, Ctrl-C or a lost
 * connection with --no-reconnect. Loaded only when the command runs (sub.ts imports it lazily).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Chalk } from 'chalk';
import type { IClientSubscribeOptions, IPublishPacket } from 'mqtt';
import { connect, type Connection } from '../core/client/connect.js';
import { compileFormat, FormatError, type CompiledFormat } from '../core/client/format.js';
import { messageFromPacket, type ReceivedMessage } from '../core/client/message.js';
import { fileReason } from '../core/client/payload.js';
import { mergeProperties, toMqttJsProperties } from '../core/client/properties.js';
import { skipReason, type MessageFilterOptions } from '../core/client/sub-filters.js';
import { reasonCodeName } from '../core/codec/constants.js';
import { MqttError } from '../core/codec/errors.js';
import { parseSubscriptionFilter, validateTopicFilter } from '../core/topic/validate.js';
import { CliError, UsageError } from './errors.js';
import { TIMEOUT_EXIT_CODE } from './exit-status.js';
import { list, num, readClient, type ArgvLike, type ClientSetup } from './options/index.js';
import { colorFor } from './render/color.js';
import { clientConnectHooks } from './render/connect-hooks.js';
import { asCliError } from './render/failure.js';
import { createSubOutput } from './render/sub-output.js';

const COMMAND = 'sub';
/** mosquitto_sub's exit status when -W expires (man mosquitto_sub, EXIT VALUES); the table is exit-status.ts. */
export { TIMEOUT_EXIT_CODE };
const DEFAULT_QUIET_MS = 500;

/** The sub-specific flags, checked. */
interface SubPlan {
  filters: string[];
  unsubscribe: string[];
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | undefined;
  messages: MessageFilterOptions;
  count: number | undefined;
  timeoutS: number | undefined;
  retainedOnly: boolean;
  quietMs: number;
  exitOnSubscribe: boolean;
  format: CompiledFormat | undefined;
  verbose: boolean;
  eol: boolean;
  pretty: boolean;
  raw: boolean;
  output: string | undefined;
  /** Flags given that need MQTT 5, for connect()'s needsMqtt5. */
  mqtt5: string[];
}

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

/** A filter as SUBSCRIBE/UNSUBSCRIBE would carry it, or a one-line usage error naming the rule. */
function checkFilter(filter: string): { shared: boolean } {
  try {
    return { shared: parseSubscriptionFilter(filter).shareGroup !== undefined };
  } catch (err) {
    if (err instanceof MqttError) throw usage(err.message);
    throw err;
  }
}

function readPlan(argv: ArgvLike, urlTopic: string | undefined): SubPlan {
  const filters = [...list(argv, 'filters'), ...list(argv, 'topic')];
  if (urlTopic !== undefined && urlTopic !== '') filters.push(urlTopic);
  const unsubscribe = list(argv, 'unsubscribe');
  if (filters.length === 0 && unsubscribe.length === 0) throw usage("give at least one topic filter, e.g. mqt sub 'eg/#'");
  let shared = false;
  for (const f of [...filters, ...unsubscribe]) shared = checkFilter(f).shared || shared;
  const filterOut = list(argv, 'filter-out');
  for (const f of filterOut) {
    try {
      validateTopicFilter(f);
    } catch (err) {
      if (err instanceof MqttError) throw usage(`--filter-out: ${err.message}`);
      throw err;
    }
  }

  const noRetained = argv['no-retained'] === true || argv.retained === false;
  const retainedOnly = argv['retained-only'] === true;
  // mosquitto_sub: "Error: Combining '-R' and '--retained-only' makes no sense."
  if (noRetained && retainedOnly) throw usage("combining -R and --retained-only makes no sense: -R hides what --retained-only shows");
  const noLocal = argv['no-local'] === true || argv.local === false;
  // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error; say so before the broker does.
  if (noLocal && shared) throw usage('--no-local cannot be used with a shared subscription ($share/…) [MQTT-3.8.3-4]');
  const timeoutS = num(argv, 'timeout');
  if (timeoutS === 0) throw usage('--timeout must be more than 0 seconds');

  let format: CompiledFormat | undefined;
  if (argv.format !== undefined) {
    if (argv.json === true) throw usage('--format and --json cannot be combined: choose one output');
    try {
      format = compileFormat(String(argv.format));
    } catch (err) {
      if (err instanceof FormatError) throw usage(`--format: ${err.message}`);
      throw err;
    }
  }

  const mqtt5: string[] = [];
  if (noLocal) mqtt5.push('--no-local');
  if (argv['retain-as-published'] === true) mqtt5.push('--retain-as-published');
  if (argv['retain-handling'] !== undefined) mqtt5.push('--retain-handling');
  if (argv['sub-id'] !== undefined) mqtt5.push('--sub-id');

  return {
    filters,
    unsubscribe,
    qos: (num(argv, 'qos') ?? 0) as 0 | 1 | 2,
    noLocal,
    retainAsPublished: argv['retain-as-published'] === true,
    retainHandling: (num(argv, 'retain-handling') ?? 0) as 0 | 1 | 2,
    subscriptionId: num(argv, 'sub-id'),
    messages: { filterOut, noRetained },
    count: num(argv, 'count'),
    timeoutS,
    retainedOnly,
    quietMs: num(argv, 'quiet-ms') ?? DEFAULT_QUIET_MS,
    exitOnSubscribe: argv['exit-on-subscribe'] === true,
    format,
    verbose: argv.verbose === true,
    eol: argv.N !== true,
    pretty: argv.pretty === true,
    raw: argv.raw === true,
    output: argv.output === undefined ? undefined : String(argv.output),
    mqtt5,
  };
}

/** Where the messages go: stdout, or a file opened for appending before connecting. */
interface Sink {
  readonly terminal: boolean;
  write(bytes: Buffer): void;
  close(): void;
}

function openSink(path: string | undefined): Sink {
  if (path === undefined) {
    return { terminal: process.stdout.isTTY === true, write: (bytes) => void process.stdout.write(bytes), close: () => undefined };
  }
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (cause) {
    throw new CliError(`cannot open '${path}' for --output: ${fileReason(cause)}`, { command: COMMAND, cause });
  }
  // Synchronous appends: each message is in the file, whole and in order, before the next is read.
  return { terminal: false, write: (bytes) => void writeSync(fd, bytes), close: () => closeSync(fd) };
}

/**
 * Holds the messages MQTT.js emits before the session below is ready for them: a persistent
 * session's queued messages arrive right after CONNACK, before connect() has even resolved.
 * MQTT.js acknowledges them either way, so a message not caught here would be lost.
 */
class Inbox {
  private early: ReceivedMessage[] | undefined = [];
  private handler: ((message: ReceivedMessage) => void) | undefined;

  readonly listener = (topic: string, _payload: Buffer, packet: IPublishPacket): void => {
    const message = messageFromPacket(packet, undefined, topic);
    if (this.handler !== undefined) this.handler(message);
    else this.early?.push(message);
  };

  /** Hands over what came early, in order, then each message as it comes. */
  open(handler: (message: ReceivedMessage) => void): void {
    this.handler = handler;
    const early = this.early ?? [];
    this.early = undefined;
    for (const message of early) handler(message);
  }

  close(): void {
    this.handler = () => undefined;
  }
}

/** Why the command stopped. */
type Outcome =
  | { kind: 'done' }
  | { kind: 'timeout' }
  | { kind: 'lost'; reasonCode?: number | undefined }
  | { kind: 'failed'; error: unknown };

function note(setup: ClientSetup, line: string): void {
  if (!setup.global.quiet) process.stderr.write(`mqt sub: ${line}\n`);
}

/** Refused subscriptions as text, e.g. `'a/#' (0x87 Not authorized)`. */
function refusals(filters: readonly string[], granted: readonly number[]): string[] {
  const out: string[] = [];
  granted.forEach((code, i) => {
    if (code >= 0x80) out.push(`'${filters[i] ?? '?'}' (0x${code.toString(16)} ${reasonCodeName(code, 'suback')})`);
  });
  return out;
}

function subscribe(conn: Connection, plan: SubPlan, setup: ClientSetup): Promise<void> {
  const v5 = conn.protocolVersion === 5;
  const options: IClientSubscribeOptions = { qos: plan.qos };
  if (v5) {
    options.nl = plan.noLocal;
    options.rap = plan.retainAsPublished;
    options.rh = plan.retainHandling;
    const props = mergeProperties('subscribe', setup.properties.subscribe, plan.subscriptionId === undefined ? undefined : { subscriptionIdentifiers: [plan.subscriptionId] });
    const mqttProps = toMqttJsProperties(props);
    if (mqttProps !== undefined) options.properties = mqttProps as IClientSubscribeOptions['properties'];
  }
  // MQTT.js keys subscriptions by filter: a filter given twice is subscribed once.
  const filters = [...new Set(plan.filters)];
  return new Promise<void>((resolve, reject) => {
    conn.client.subscribe(filters, options, (err, _granted, packet) => {
      const suback = packet as { granted: number[] } | undefined;
      if (suback === undefined) return reject(err ?? new Error('no SUBACK'));
      const refused = refusals(filters, suback.granted);
      if (refused.length === filters.length) {
        return reject(new CliError(`the broker refused every subscription: ${refused.join(', ')}`, { command: COMMAND }));
      }
      if (refused.length > 0) note(setup, `the broker refused ${refused.join(', ')}`);
      resolve();
    });
  });
}

function unsubscribe(conn: Connection, plan: SubPlan, setup: ClientSetup): Promise<void> {
  const props = toMqttJsProperties(setup.properties.unsubscribe);
  return new Promise<void>((resolve, reject) => {
    conn.client.unsubscribe(plan.unsubscribe, props === undefined ? {} : { properties: props }, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Subscribes and prints until something ends the run. Resolves with why; never rejects.
 * Every timer and listener it adds is removed before it resolves, except the one for stdout
 * errors (see finish).
 */
function session(conn: Connection, inbox: Inbox, plan: SubPlan, setup: ClientSetup, sink: Sink): Promise<Outcome> {
  const { client } = conn;
  const chalk = setup.global.color && sink.terminal ? colorFor('stdout') : new Chalk({ level: 0 });
  const render = createSubOutput({ ...plan, json: setup.global.json, terminal: sink.terminal, chalk });
  return new Promise<Outcome>((resolve) => {
    let finished = false;
    let printed = 0;
    let subscribed = false;
    let quietTimer: NodeJS.Timeout | undefined;
    let disconnectCode: number | undefined;
    const timeoutTimer = plan.timeoutS === undefined ? undefined : setTimeout(() => finish({ kind: 'timeout' }), plan.timeoutS * 1000);

    const restartQuiet = (): void => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => finish({ kind: 'done' }), plan.quietMs);
    };
    const onMessage = (message: ReceivedMessage): void => {
      if (finished) return;
      if (plan.retainedOnly) {
        // mosquitto ends --retained-only at the first live message; it is not printed.
        if (!message.retain) return finish({ kind: 'done' });
        if (subscribed) restartQuiet();
      }
      if (skipReason(message, plan.messages) !== undefined) return;
      const { output, warnings } = render(message);
      try {
        sink.write(output);
      } catch (error) {
        return finish({ kind: 'failed', error: new CliError(`cannot write to '${plan.output}': ${fileReason(error)}`, { command: COMMAND, cause: error }) });
      }
      for (const w of warnings) note(setup, w);
      printed++;
      // Let MQTT.js send the PUBACK/PUBCOMP it sends right after this event before we disconnect.
      if (plan.count !== undefined && printed >= plan.count) setImmediate(() => finish({ kind: 'done' }));
    };
    const onSignal = (): void => finish({ kind: 'done' });
    const onStdoutError = (err: NodeJS.ErrnoException): void => {
      // The reader went away (`mqt sub … | head -1`): stop quietly, as a killed-by-SIGPIPE tool would.
      finish(err.code === 'EPIPE' ? { kind: 'done' } : { kind: 'failed', error: err });
    };
    const onDisconnectPacket = (packet: { reasonCode?: number }): void => {
      disconnectCode = packet.reasonCode;
    };
    // MQTT.js says 'close' for every lost connection and 'offline' only when it will reconnect.
    const onClose = (): void => {
      if (!setup.connection.reconnect) finish({ kind: 'lost', reasonCode: disconnectCode });
    };
    // With several brokers connect.ts tells of each move itself (lost, trying, connected).
    const onOffline = (): void => {
      if (!finished && !conn.failover) note(setup, 'connection lost; reconnecting (--no-reconnect to exit instead)');
    };
    const onReconnected = (): void => {
      if (!finished && !conn.failover) note(setup, 'reconnected');
    };

    function finish(outcome: Outcome): void {
      if (finished) return;
      finished = true;
      clearTimeout(timeoutTimer);
      clearTimeout(quietTimer);
      inbox.close();
      client.off('offline', onOffline);
      client.off('close', onClose);
      client.off('connect', onReconnected);
      client.off('disconnect', onDisconnectPacket);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // The stdout error listener stays: writes already made may still report EPIPE, and an
      // 'error' event without a listener would crash with a stack trace.
      resolve(outcome);
    }

    inbox.open(onMessage);
    client.on('offline', onOffline);
    client.on('close', onClose);
    client.on('connect', onReconnected);
    client.on('disconnect', onDisconnectPacket);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.stdout.on('error', onStdoutError);

    (async () => {
      if (plan.filters.length > 0) await subscribe(conn, plan, setup);
      // mosquitto_sub subscribes first, then unsubscribes (-U): a -U filter also given to -t ends unsubscribed.
      if (plan.unsubscribe.length > 0) await unsubscribe(conn, plan, setup);
      subscribed = true;
      if (plan.exitOnSubscribe) return finish({ kind: 'done' });
      // MQTT has no "end of retained messages": the burst is over after a quiet period.
      if (plan.retainedOnly) restartQuiet();
    })().catch((error: unknown) => finish({ kind: 'failed', error }));
  });
}

export async function runSub(argv: ArgvLike): Promise<void> {
  const setup = await readClient(argv, { command: COMMAND, packets: ['subscribe', 'unsubscribe', 'disconnect'], reconnect: true });
  const plan = readPlan(argv, setup.urlTopic);
  if (setup.connection.protocolVersion !== 5 && plan.mqtt5.length > 0) {
    throw usage(`${plan.mqtt5.join(', ')} ${plan.mqtt5.length === 1 ? 'needs' : 'need'} MQTT 5, but -V asks for an older version`);
  }
  const sink = openSink(plan.output);
  const inbox = new Inbox();
  let conn: Connection;
  try {
    conn = await connect(setup.connection, {
      onClient: (client) => void client.on('message', inbox.listener),
      needsMqtt5: [...setup.mqtt5, ...plan.mqtt5],
      ...clientConnectHooks(setup, (line) => note(setup, line)),
      onFailover: (line) => note(setup, line),
    });
  } catch (err) {
    sink.close();
    throw asCliError(err, COMMAND);
  }

  const outcome = await session(conn, inbox, plan, setup, sink);
  if (conn.client.connected) {
    await conn.end();
  } else {
    // Between connections (broker gone, MQTT.js waiting to reconnect) there is nothing to say
    // DISCONNECT to, and Connection.end/destroy return early, leaving MQTT.js's reconnect timer
    // to keep the process alive. Turning reconnecting off first matters: with manualConnect,
    // end() re-arms it when the socket of an attempt in progress closes.
    conn.client.options.reconnectPeriod = 0;
    await new Promise<void>((resolve) => void conn.client.end(true, () => resolve()));
  }
  sink.close();

  switch (outcome.kind) {
    case 'done':
      return;
    case 'timeout':
      throw new CliError(`timed out after ${plan.timeoutS} s`, { command: COMMAND, exitCode: TIMEOUT_EXIT_CODE });
    case 'lost': {
      const code = outcome.reasonCode;
      const where = conn.failover ? conn.broker : `${setup.connection.host}:${setup.connection.port}`;
      const why = code !== undefined && code >= 0x80 ? `${where} disconnected us: 0x${code.toString(16)} ${reasonCodeName(code, 'disconnect')}` : `the connection to ${where} was lost`;
      // Exit 1 whatever the reason code: codes above 128 read as "killed by a signal" to a shell.
      throw new CliError(`${why}; not reconnecting (--no-reconnect)`, { command: COMMAND });
    }
    case 'failed':
      throw asCliError(outcome.error, COMMAND);
  }
}
