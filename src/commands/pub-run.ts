/**
 * The work behind `mqt pub`, loaded only when the command runs. Every check that needs no
 * broker comes first (topics, payload source, flag combinations, reading the payload), so bad
 * input fails before a connection is made. Then: connect, publish with a bounded number in
 * flight, wait until every QoS 1/2 message is acknowledged, report, disconnect. Returns, or
 * throws a CliError; never exits the process.
 */
import { isUtf8 } from 'node:buffer';
import { stat } from 'node:fs/promises';
import { addAbortSignal } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChalkInstance } from 'chalk';
import type { IClientPublishOptions } from 'mqtt';
import { connect, type Connection, type MqttClient } from '../core/client/connect.js';
import { decodePayload, loadPayload, readLines, splitLineTopic, PayloadError } from '../core/client/payload.js';
import { mergeProperties, toMqttJsProperties } from '../core/client/properties.js';
import { brokerLimitError, mqttLimitError, publishPacketSize } from '../core/client/packet-limits.js';
import { DEFAULT_WINDOW, Publisher, PublishError, type SettledMessage } from '../core/client/publisher.js';
import { OfflineBuffer } from '../core/client/failover-buffer.js';
import { ReasonCode, reasonCodeName } from '../core/codec/constants.js';
import type { Properties, QoS } from '../core/codec/types.js';
import { validateTopicName } from '../core/topic/validate.js';
import { CliError, ExitCode } from './errors.js';
import { givenMessageFlags, list, OptionError, readClient, readMessageProperties, readPayload, readProperties, str, type ArgvLike, type ClientSetup, type PayloadGroup } from './options/index.js';
import { clientConnectHooks } from './render/connect-hooks.js';
import { asCliError } from './render/failure.js';
import { confirmation, failureText, jsonRecord, PublishTally, type PublishResult } from './render/publish-report.js';
import { startSpinner, type Spinner } from './render/spinner.js';

const COMMAND = 'pub';

/** process.stdin, made only once -s reads it: making the stream costs a one-shot pub some 5 ms. */
const STDIN_WHEN_READ: AsyncIterable<Buffer | string> = { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() };

interface Plan {
  topics: string[];
  payload: PayloadGroup;
  qos: QoS;
  retain: boolean;
  repeat: number;
  repeatDelayMs: number;
  topicAlias: number | undefined;
  /** PUBLISH properties from the dedicated flags; -D publish is merged in later. */
  properties: Properties | undefined;
  /** pub's own flags that need MQTT 5. */
  mqtt5: string[];
  /** --max-buffered: lines kept while reconnecting (-l); undefined: the default. */
  maxBuffered: number | undefined;
}

function checkTopic(topic: string, flag: string): void {
  try {
    // [MQTT-3.3.2-2] the Topic Name in a PUBLISH must not contain wildcards.
    validateTopicName(topic);
  } catch (err) {
    throw new OptionError(`${flag}${(err as Error).message}`);
  }
}

/** Everything about the command line pub itself owns; throws OptionError. */
function readPlan(argv: ArgvLike): Plan {
  const flagTopics = list(argv, 'topic');
  let positionalTopic = str(argv, 'TOPIC');
  let positionalMessage = str(argv, 'MESSAGE');
  // With -t the topic is given, so a single argument is the message: `mqt pub -t a/b hello`.
  if (flagTopics.length > 0 && positionalTopic !== undefined) {
    if (positionalMessage !== undefined) throw new OptionError(`with -t, give only the message as an argument (got '${positionalTopic}' and '${positionalMessage}')`);
    positionalMessage = positionalTopic;
    positionalTopic = undefined;
  }
  const topics = flagTopics.length > 0 ? flagTopics : positionalTopic !== undefined ? [positionalTopic] : [];
  // The first thing missing is the first thing said: `mqt pub` alone lacks a topic before a payload.
  if (topics.length === 0 && argv.url === undefined && argv['line-topic'] === undefined) {
    throw new OptionError(NO_TOPIC);
  }
  const payload = readPayload(argv, positionalMessage);
  const lineTopic = payload.source.kind === 'lines' && payload.source.topicSeparator !== undefined;
  if (lineTopic && topics.length > 0) throw new OptionError('--line-topic takes the topic from each line: drop the topic argument and -t');
  for (const t of topics) checkTopic(t, topics.length > 1 || flagTopics.length > 0 ? '-t: ' : '');

  const repeat = (argv.repeat as number | undefined) ?? 1;
  const repeatDelay = argv['repeat-delay'] as number | undefined;
  if (payload.source.kind === 'lines' && (argv.repeat !== undefined || repeatDelay !== undefined)) throw new OptionError('--repeat and --repeat-delay work with one message, not with -l');
  if (repeatDelay !== undefined && argv.repeat === undefined) throw new OptionError('--repeat-delay needs --repeat N');
  const maxBuffered = argv['max-buffered'] as number | undefined;
  if (maxBuffered !== undefined && payload.source.kind !== 'lines') throw new OptionError('--max-buffered bounds what -l keeps while reconnecting: use it with -l');

  const topicAlias = argv['topic-alias'] as number | undefined;
  if (topicAlias !== undefined && (topics.length > 1 || lineTopic)) throw new OptionError('--topic-alias names one topic: use it with a single topic');

  const properties = readMessageProperties(argv, '');
  const mqtt5 = [...givenMessageFlags(argv, ''), ...(topicAlias !== undefined ? ['--topic-alias'] : [])];
  return {
    topics,
    payload,
    qos: ((argv.qos as number | undefined) ?? 0) as QoS,
    retain: argv.retain === true,
    repeat,
    repeatDelayMs: Math.round((repeatDelay ?? 0) * 1000),
    topicAlias,
    properties,
    mqtt5,
    maxBuffered,
  };
}

/** chalk, loaded only when a person at a terminal will see colour. */
async function chalkFor(setup: ClientSetup): Promise<ChalkInstance> {
  const { colorFor } = await import('./render/color.js');
  if (setup.global.color) return colorFor('stderr');
  const { Chalk } = await import('chalk');
  return new Chalk({ level: 0 });
}

/** Prints to stderr unless --quiet; a closed stderr is not worth crashing for. */
function note(setup: ClientSetup, text: string): void {
  if (!setup.global.quiet) process.stderr.write(`mqt pub: ${text}\n`);
}

const NO_TOPIC = 'no topic: give it as the first argument, with -t, or in the URL (-L mqtt://host/topic)';

export async function runPub(argv: ArgvLike): Promise<void> {
  let plan: Plan;
  try {
    // -D first: it swallows the words after it, and its error says so; a missing payload would not.
    readProperties(argv, COMMAND, ['connect', 'will', 'publish', 'disconnect']);
    plan = readPlan(argv);
  } catch (err) {
    throw asCliError(err, COMMAND);
  }
  const setup = await readClient(argv, { command: COMMAND, packets: ['publish'], reconnect: plan.payload.source.kind === 'lines' });

  let publishProps: Properties | undefined;
  let payload: Buffer | undefined;
  try {
    if (plan.topics.length === 0 && !(plan.payload.source.kind === 'lines' && plan.payload.source.topicSeparator !== undefined)) {
      if (setup.urlTopic === undefined) throw new OptionError(NO_TOPIC);
      checkTopic(setup.urlTopic, '-L: ');
      plan.topics = [setup.urlTopic];
    }
    publishProps = mergeProperties('publish', plan.properties, setup.properties.publish);
    if (setup.connection.protocolVersion !== 5 && plan.mqtt5.length > 0) {
      throw new OptionError(`${plan.mqtt5.join(', ')} ${plan.mqtt5.length === 1 ? 'needs' : 'need'} MQTT 5, but -V asks for ${setup.connection.protocolVersion === 4 ? '3.1.1' : '3.1'}`);
    }
    // Read the payload before connecting: an unreadable file must not cost a connection.
    if (plan.payload.source.kind !== 'lines') {
      // What cannot fit any MQTT message is refused before it is read (a 270 MB file) or sent.
      await checkMqttLimit(plan, setup, publishProps);
      payload = await loadPayload(plan.payload.source, plan.payload.encoding, STDIN_WHEN_READ);
      checkMqttLimit(plan, setup, publishProps, payload);
      // 5.0 section 3.3.2.3.2: indicator 1 says the payload is UTF-8; do not send one that lies.
      if (publishProps?.payloadFormatIndicator === 1 && !isUtf8(payload)) throw new OptionError('--payload-format-indicator says UTF-8, but the payload is not valid UTF-8');
    }
  } catch (err) {
    throw asCliError(err, COMMAND);
  }

  const spinner = await startSpinner(`connecting to ${setup.connection.host}:${setup.connection.port}`, { quiet: setup.global.quiet, color: setup.global.color });
  let conn: Connection;
  try {
    conn = await connect(setup.connection, {
      needsMqtt5: [...setup.mqtt5, ...plan.mqtt5],
      ...clientConnectHooks(setup, (line) => note(setup, line)),
      onFailover: (line) => note(setup, line),
    });
  } catch (err) {
    spinner.stop();
    throw asCliError(err, COMMAND);
  }

  const run = new PublishRun(conn, plan, setup, publishProps, spinner);
  let results: PublishTally;
  try {
    checkBrokerLimits(conn, plan);
    results = await (payload !== undefined ? run.publishMessage(payload) : run.publishLines());
  } catch (err) {
    spinner.stop();
    run.detach();
    await conn.destroy();
    throw asCliError(err, COMMAND);
  }
  run.detach();
  await conn.end(setup.properties.disconnect);

  const human = process.stderr.isTTY === true && !setup.global.quiet;
  spinner.stop(human && results.total > 0 ? confirmation(results, await chalkFor(setup)) : undefined);
  const first = results.firstFailure;
  if (first === undefined) return;
  const exitCode = first.reasonCode !== undefined && first.reasonCode >= 0x80 ? first.reasonCode : ExitCode.Failure;
  if (results.total === 1) throw new CliError(failureText(first), { command: COMMAND, exitCode });
  throw new CliError(`${results.failed} of ${results.total} messages failed (first: ${failureText(first)})`, { command: COMMAND, exitCode });
}

/**
 * MQTT's own limit (a Remaining Length of 268,435,455 bytes), checked before connecting: with
 * `payload`, its exact size; without, what is known before reading it (a file's size, --size).
 * Async only for the file's stat.
 */
function checkMqttLimit(plan: Plan, setup: ClientSetup, properties: Properties | undefined, payload?: Buffer): Promise<void> | void {
  const source = plan.payload.source;
  const check = (what: string, length: number): void => {
    for (const topic of plan.topics) {
      const error = mqttLimitError(what, length, { topic, qos: plan.qos, protocolVersion: setup.connection.protocolVersion, properties: aliasedProperties(properties, plan.topicAlias) });
      if (error !== undefined) throw new CliError(error, { command: COMMAND });
    }
  };
  const name = source.kind === 'file' ? `'${source.path}'` : source.kind === 'random' ? `--size ${source.size}` : source.kind === 'stdin' ? 'standard input' : 'the message';
  if (payload !== undefined) return check(name, payload.length);
  if (source.kind === 'random') return check(name, source.size);
  if (source.kind !== 'file') return;
  return stat(source.path).then(
    // --encoding hex/base64 shrinks what is read: then the decoded size is the one checked.
    (s) => (s.isFile() && plan.payload.encoding === 'utf8' ? check(name, s.size) : undefined),
    // Not readable: loadPayload says why in its own words.
    () => undefined,
  );
}

/** The PUBLISH properties as sent: --topic-alias is added to each message (PublishRun). */
function aliasedProperties(properties: Properties | undefined, topicAlias: number | undefined): Properties | undefined {
  return topicAlias === undefined ? properties : { ...properties, topicAlias };
}

/** Refuses up front what the broker announced it will not take (5.0 CONNACK properties). */
function checkBrokerLimits(conn: Connection, plan: Plan): void {
  // A 5.0 CONNACK without properties still means Topic Alias Maximum 0 [MQTT-3.2.2-17].
  const props = conn.connack.properties ?? {};
  if (props.maximumQoS !== undefined && plan.qos > props.maximumQoS) {
    throw new CliError(`the broker accepts QoS ${props.maximumQoS} at most (Maximum QoS in its CONNACK): use -q ${props.maximumQoS}`, { command: COMMAND });
  }
  if (props.retainAvailable === false && plan.retain) throw new CliError('the broker does not keep retained messages (Retain Available 0 in its CONNACK): drop -r', { command: COMMAND });
  if (plan.topicAlias !== undefined && plan.topicAlias > (props.topicAliasMaximum ?? 0)) {
    throw new CliError(`the broker allows topic aliases up to ${props.topicAliasMaximum ?? 0} (Topic Alias Maximum in its CONNACK): --topic-alias ${plan.topicAlias} is too high`, { command: COMMAND });
  }
}

/** How long the broker may take to answer the PINGREQ behind QoS 0 messages (Publisher.confirm). */
const CONFIRM_TIMEOUT_MS = 2000;

/** The error of a message still unacknowledged when the connection was lost. */
const NOT_ACKNOWLEDGED = 'not acknowledged: the connection was lost';
/** The error of a QoS 0 message the connection was lost before it was written. */
const NOT_SENT = 'not sent: the connection was lost';

/** What pub attaches to each message it hands the publisher: the part of its result known up front. */
type Sent = Pick<PublishResult, 'topic' | 'qos' | 'retain' | 'bytes' | 'line'>;

/**
 * One publishing session over a connection: the lines or repeats, topic aliases, and what is
 * reported of each message. The window, the acknowledgements and a lost connection are the
 * Publisher's (core/client/publisher.ts). Keeps counts, never a list of every message.
 */
class PublishRun {
  private readonly tally = new PublishTally();
  private readonly publisher: Publisher<Sent>;
  /** Aborted when the publisher stops: ends a wait for the next line or the next repeat. */
  private readonly stopped = new AbortController();
  /** MQTT.js publish options, made once: the same for every message (MQTT.js copies them). */
  private readonly publishOptions: IClientPublishOptions;
  /** Connections made so far: a topic alias must be sent with its topic again on each. */
  private connects = 1;
  private aliasSentOn = 0;
  private stdoutOpen = true;
  /** ': Server shutting down (0x8b)' from the broker's last DISCONNECT, for the reconnect note. */
  private disconnectReason = '';
  private readonly client: MqttClient;
  /** --payload-format-indicator: every payload must be UTF-8 (5.0 section 3.3.2.3.2). */
  private readonly utf8Only: boolean;
  /** The broker's Maximum Packet Size (5.0 CONNACK), from the newest CONNACK; undefined: MQTT's own limit only. */
  private maxPacketSize: number | undefined;
  /** The PUBLISH properties as sent (our codec's form), to measure each message with. */
  private readonly wireProperties: Properties | undefined;
  private readonly protocolVersion: Connection['protocolVersion'];
  /** Several brokers: connect.ts tells of each move (lost, trying, connected), not onOffline. */
  private readonly failover: boolean;
  /** -l: what is read while reconnecting waits here (core/client/failover-buffer.ts). */
  private lines: OfflineBuffer<{ topic: string; payload: Buffer; line: number }> | undefined;
  /**
   * The Receive Maximum of the broker connected now: after a move to another broker it may be
   * lower than the one the publisher's window was sized for (mosquitto's default is 20).
   */
  private receiveMaximum: number;
  /** The -l buffer waiting for a message to settle, when only the current broker's limit holds it. */
  private settleWaiter: (() => void) | undefined;

  constructor(
    conn: Connection,
    private readonly plan: Plan,
    private readonly setup: ClientSetup,
    properties: Properties | undefined,
    private readonly spinner: Spinner,
  ) {
    this.utf8Only = properties?.payloadFormatIndicator === 1;
    this.maxPacketSize = conn.connack.properties?.maximumPacketSize;
    this.receiveMaximum = conn.connack.properties?.receiveMaximum ?? Number.MAX_SAFE_INTEGER;
    this.protocolVersion = conn.protocolVersion;
    this.wireProperties = aliasedProperties(properties, plan.topicAlias);
    const mqttProperties = properties !== undefined ? (toMqttJsProperties(properties) as IClientPublishOptions['properties']) : undefined;
    this.publishOptions = { qos: plan.qos, retain: plan.retain };
    // --topic-alias is for one topic, so every message carries the same alias.
    const withAlias = plan.topicAlias !== undefined ? { ...mqttProperties, topicAlias: plan.topicAlias } : mqttProperties;
    if (withAlias !== undefined) this.publishOptions.properties = withAlias;
    this.publisher = new Publisher<Sent>(conn, {
      // At most DEFAULT_WINDOW in flight, fewer when the broker's Receive Maximum says so.
      window: DEFAULT_WINDOW,
      // pub reports every refused message and goes on; the first one's code is the exit code.
      continueOnRefusal: true,
      onSettled: (m) => this.settled(m),
      onStop: (reason) => {
        this.lines?.stop(reason);
        this.stopped.abort(reason);
      },
    });
    this.failover = conn.failover;
    this.client = conn.client;
    this.client.on('disconnect', this.onDisconnect);
    this.client.on('offline', this.onOffline);
    this.client.on('connect', this.onConnect);
    process.stdout.on('error', this.onStdoutError);
  }

  private readonly onDisconnect = (packet: { reasonCode?: number | undefined }): void => {
    const code = packet.reasonCode ?? 0;
    this.disconnectReason = `: ${reasonCodeName(code, 'disconnect')} (0x${code.toString(16).padStart(2, '0')})`;
  };
  private readonly onOffline = (): void => {
    if (this.client.disconnecting) return;
    const { connection } = this.setup;
    if (connection.reconnect) {
      if (!this.failover) note(this.setup, `lost the connection to ${connection.host}:${connection.port}${this.disconnectReason}; reconnecting`);
      this.spinner.text('reconnecting');
    }
  };
  private readonly onConnect = (connack: { properties?: { maximumPacketSize?: number | undefined } | undefined }): void => {
    this.connects++;
    // Another broker (or the same one restarted) may announce another limit.
    this.maxPacketSize = connack.properties?.maximumPacketSize;
    this.receiveMaximum = (connack.properties as { receiveMaximum?: number } | undefined)?.receiveMaximum ?? Number.MAX_SAFE_INTEGER;
    this.spinner.text('publishing');
  };
  private readonly onStdoutError = (): void => {
    this.stdoutOpen = false;
  };

  /** Takes the run's listeners off the client and stdout. */
  detach(): void {
    this.publisher.detach();
    this.lines?.detach();
    this.client.off('disconnect', this.onDisconnect);
    this.client.off('offline', this.onOffline);
    this.client.off('connect', this.onConnect);
    process.stdout.off('error', this.onStdoutError);
  }

  async publishMessage(payload: Buffer): Promise<PublishTally> {
    this.spinner.text('publishing');
    try {
      for (let round = 0; round < this.plan.repeat; round++) {
        if (round > 0 && this.plan.repeatDelayMs > 0) await sleep(this.plan.repeatDelayMs, undefined, { signal: this.stopped.signal });
        for (const topic of this.plan.topics) await this.send(topic, payload, undefined);
      }
    } catch (err) {
      if (this.publisher.stopError === undefined) throw err;
    }
    return this.finish();
  }

  async publishLines(): Promise<PublishTally> {
    const source = this.plan.payload.source;
    const separator = source.kind === 'lines' ? source.topicSeparator : undefined;
    this.spinner.text('publishing lines from standard input');
    // A connection lost for good must not wait for the next line of a quiet stdin to be noticed:
    // the stop ends the read (one listener for the run, not a race per line).
    addAbortSignal(this.stopped.signal, process.stdin);
    const maxBuffered = this.plan.maxBuffered;
    const lines = new OfflineBuffer<{ topic: string; payload: Buffer; line: number }>({
      client: this.client,
      hasRoom: () => this.publisher.inFlight < Math.min(this.publisher.window, this.receiveMaximum),
      ready: () => (this.publisher.inFlight >= this.publisher.window ? this.publisher.ready() : new Promise<void>((resolve) => (this.settleWaiter = resolve))),
      send: (m) => this.dispatch(m.topic, m.payload, m.line),
      maxBuffered,
      // Held back, not dropped: said with -d only, a pipe's writer just waits.
      onFull: (kept) => {
        if (this.setup.global.debug) note(this.setup, `${kept} lines kept while reconnecting (--max-buffered ${lines.maxBuffered}): standard input is not read until they are sent`);
      },
    });
    this.lines = lines;
    let lineNo = 0;
    try {
      for await (const line of readLines(process.stdin)) {
        lineNo++;
        let topics = this.plan.topics;
        let raw = line;
        if (separator !== undefined) {
          if (line.length === 0) continue;
          const split = splitLineTopic(line, separator);
          if (split === undefined) {
            this.fail({ topic: '', line: lineNo, error: `no ${JSON.stringify(separator)} between topic and payload` });
            continue;
          }
          try {
            validateTopicName(split.topic);
          } catch (err) {
            this.fail({ topic: split.topic, line: lineNo, error: (err as Error).message });
            continue;
          }
          topics = [split.topic];
          raw = split.payload;
        }
        let payload: Buffer;
        try {
          payload = decodePayload(raw, this.plan.payload.encoding);
          if (this.utf8Only && !isUtf8(payload)) throw new PayloadError('not valid UTF-8, but --payload-format-indicator says it is');
        } catch (err) {
          this.fail({ topic: topics[0] ?? '', line: lineNo, error: (err as Error).message });
          continue;
        }
        for (const topic of topics) {
          const wait = lines.offer({ topic, payload, line: lineNo });
          if (wait !== undefined) await wait;
        }
      }
    } catch (err) {
      // The publisher stopped (the read was aborted, or a wait for room rejected): finish says why.
      if (this.publisher.stopError === undefined) throw err;
    }
    return this.finish();
  }

  /** Waits for room in the window, then publishes; rejects once the publisher has stopped. */
  private async send(topic: string, payload: Buffer, line: number | undefined): Promise<void> {
    await this.publisher.ready();
    this.dispatch(topic, payload, line);
  }

  /** Publishes one message now (the window has room): the broker's size limit, the topic alias. */
  private dispatch(topic: string, payload: Buffer, line: number | undefined): void {
    const { qos, retain, topicAlias } = this.plan;
    if (this.maxPacketSize !== undefined) {
      // 5.0 section 3.2.2.3.6: the broker disconnects (0x95) on a packet above its maximum, losing
      // it and whatever follows; such a message is not sent, and counts as failed with that code.
      const size = publishPacketSize({ topic, qos, protocolVersion: this.protocolVersion, properties: this.wireProperties }, payload.length);
      const error = brokerLimitError(size, this.maxPacketSize);
      if (error !== undefined) return this.fail({ topic, line, error, reasonCode: ReasonCode.PacketTooLarge, bytes: payload.length });
    }
    let wireTopic = topic;
    if (topicAlias !== undefined) {
      // [MQTT-3.3.2-12] the alias stands for the topic once set on this connection; a new connection starts empty.
      if (this.aliasSentOn === this.connects) wireTopic = '';
      else this.aliasSentOn = this.connects;
    }
    this.publisher.publish(wireTopic, payload, this.publishOptions, { topic, qos, retain, bytes: payload.length, line });
  }

  private settled(m: SettledMessage<Sent>): void {
    if (this.settleWaiter !== undefined) {
      const wake = this.settleWaiter;
      this.settleWaiter = undefined;
      wake();
    }
    const { topic, qos, retain, bytes, line } = m.tag;
    // Written out rather than spread from the tag: a spread costs microseconds a message here.
    const result: PublishResult = { topic, qos, retain, bytes, line, messageId: m.messageId, ok: m.status === 'acknowledged' };
    switch (m.status) {
      case 'acknowledged':
        result.reasonCode = m.reasonCode ?? 0;
        result.reasonString = m.reasonString;
        break;
      case 'refused':
        // A PUBACK/PUBREC reason code ≥ 0x80.
        result.reasonCode = m.reasonCode;
        result.reasonString = m.reasonString;
        break;
      case 'lost':
        // Counted in the final error when the connection is gone for good.
        result.error = qos === 0 ? NOT_SENT : NOT_ACKNOWLEDGED;
        break;
      case 'failed':
        result.error = m.error?.message ?? 'not sent';
        break;
    }
    this.record(result);
  }

  private fail(r: { topic: string; line?: number | undefined; error: string; reasonCode?: number; bytes?: number }): void {
    this.record({ topic: r.topic, qos: this.plan.qos, retain: this.plan.retain, bytes: r.bytes ?? 0, line: r.line, ok: false, error: r.error, reasonCode: r.reasonCode });
  }

  private record(result: PublishResult): void {
    this.tally.add(result);
    if (this.setup.global.json && this.stdoutOpen) process.stdout.write(jsonRecord(result));
    // With several messages each failure gets its line as it happens; a single one is the final
    // error, and so are messages lost with the connection.
    if (!result.ok && result.error !== NOT_ACKNOWLEDGED && result.error !== NOT_SENT && (this.plan.payload.source.kind === 'lines' || this.plan.repeat * this.plan.topics.length > 1)) {
      process.stderr.write(`mqt pub: ${failureText(result)}\n`);
    }
  }

  /** Waits until every message is acknowledged, or the connection is lost for good. */
  private async finish(): Promise<PublishTally> {
    const waiting = this.publisher.inFlight;
    if (waiting > 0) this.spinner.text(`waiting for ${waiting} acknowledgement${waiting === 1 ? '' : 's'}`);
    try {
      // -l: the lines kept while reconnecting are handed over once a broker is up again.
      if (this.lines !== undefined && this.lines.size > 0) {
        this.spinner.text(`waiting for a broker to send ${this.lines.size} kept line${this.lines.size === 1 ? '' : 's'}`);
        await this.lines.flushed();
      }
      await this.publisher.drain();
      // A written QoS 0 message may still be refused by a broker that closes the connection for it.
      if (this.plan.qos === 0 && this.publisher.sent > 0) await this.publisher.confirm(CONFIRM_TIMEOUT_MS);
    } catch (err) {
      // 'lost the connection to host:port: reason; N messages were not acknowledged': the whole
      // story in one line, no stack of a cause to show even with --debug.
      if (err instanceof PublishError) throw new CliError(err.message, { command: COMMAND });
      throw err;
    }
    return this.tally;
  }
}
