/**
 * The work behind `mqt pub`, loaded only when the command runs. Every check that needs no
 * broker comes first (topics, payload source, flag combinations, reading the payload), so bad
 * input fails before a connection is made. Then: connect, publish with a bounded number in
 * flight, wait until every QoS 1/2 message is acknowledged, report, disconnect. Returns, or
 * throws a CliError; never exits the process.
 */
import { isUtf8 } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChalkInstance } from 'chalk';
import { connect, type Connection } from '../core/client/connect.js';
import { decodePayload, loadPayload, readLines, splitLineTopic, PayloadError } from '../core/client/payload.js';
import { mergeProperties, toMqttJsProperties } from '../core/client/properties.js';
import { reasonCodeName } from '../core/codec/constants.js';
import type { Properties, QoS } from '../core/codec/types.js';
import { validateTopicName } from '../core/topic/validate.js';
import { CliError, ExitCode } from './errors.js';
import { givenMessageFlags, list, OptionError, readClient, readMessageProperties, readPayload, readProperties, str, type ArgvLike, type ClientSetup, type PayloadGroup } from './options/index.js';
import { clientConnectHooks } from './render/connect-hooks.js';
import { asCliError } from './render/failure.js';
import { confirmation, failureText, jsonRecord, type PublishResult } from './render/publish-report.js';
import { startSpinner, type Spinner } from './render/spinner.js';

const COMMAND = 'pub';

/** Messages in flight at once unless the broker allows fewer (Receive Maximum, 5.0 section 3.2.2.3.3). */
const MAX_IN_FLIGHT = 256;

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
  const payload = readPayload(argv, positionalMessage);
  const lineTopic = payload.source.kind === 'lines' && payload.source.topicSeparator !== undefined;
  if (lineTopic && topics.length > 0) throw new OptionError('--line-topic takes the topic from each line: drop the topic argument and -t');
  for (const t of topics) checkTopic(t, topics.length > 1 || flagTopics.length > 0 ? '-t: ' : '');

  const repeat = (argv.repeat as number | undefined) ?? 1;
  const repeatDelay = argv['repeat-delay'] as number | undefined;
  if (payload.source.kind === 'lines' && (argv.repeat !== undefined || repeatDelay !== undefined)) throw new OptionError('--repeat and --repeat-delay work with one message, not with -l');
  if (repeatDelay !== undefined && argv.repeat === undefined) throw new OptionError('--repeat-delay needs --repeat N');

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
      if (setup.urlTopic === undefined) throw new OptionError('no topic: give it as the first argument, with -t, or in the URL (-L mqtt://host/topic)');
      checkTopic(setup.urlTopic, '-L: ');
      plan.topics = [setup.urlTopic];
    }
    publishProps = mergeProperties('publish', plan.properties, setup.properties.publish);
    if (setup.connection.protocolVersion !== 5 && plan.mqtt5.length > 0) {
      throw new OptionError(`${plan.mqtt5.join(', ')} ${plan.mqtt5.length === 1 ? 'needs' : 'need'} MQTT 5, but -V asks for ${setup.connection.protocolVersion === 4 ? '3.1.1' : '3.1'}`);
    }
    // Read the payload before connecting: an unreadable file must not cost a connection.
    if (plan.payload.source.kind !== 'lines') {
      payload = await loadPayload(plan.payload.source, plan.payload.encoding, process.stdin);
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
    });
  } catch (err) {
    spinner.stop();
    throw asCliError(err, COMMAND);
  }

  const run = new PublishRun(conn, plan, setup, publishProps, spinner);
  let results: PublishResult[];
  try {
    checkBrokerLimits(conn, plan);
    results = await (payload !== undefined ? run.publishMessage(payload) : run.publishLines());
  } catch (err) {
    spinner.stop();
    await conn.destroy();
    throw asCliError(err, COMMAND);
  }
  await conn.end(setup.properties.disconnect);

  const failures = results.filter((r) => !r.ok);
  const human = process.stderr.isTTY === true && !setup.global.quiet;
  spinner.stop(human && results.length > 0 ? confirmation(results, await chalkFor(setup)) : undefined);
  if (failures.length === 0) return;
  const first = failures[0]!;
  const exitCode = first.reasonCode !== undefined && first.reasonCode >= 0x80 ? first.reasonCode : ExitCode.Failure;
  if (results.length === 1) throw new CliError(failureText(first), { command: COMMAND, exitCode });
  throw new CliError(`${failures.length} of ${results.length} messages failed (first: ${failureText(first)})`, { command: COMMAND, exitCode });
}

/** Refuses up front what the broker announced it will not take (5.0 CONNACK properties). */
function checkBrokerLimits(conn: Connection, plan: Plan): void {
  const props = conn.connack.properties;
  if (props === undefined) return;
  if (props.maximumQoS !== undefined && plan.qos > props.maximumQoS) {
    throw new CliError(`the broker accepts QoS ${props.maximumQoS} at most (Maximum QoS in its CONNACK): use -q ${props.maximumQoS}`, { command: COMMAND });
  }
  if (props.retainAvailable === false && plan.retain) throw new CliError('the broker does not keep retained messages (Retain Available 0 in its CONNACK): drop -r', { command: COMMAND });
  if (plan.topicAlias !== undefined && plan.topicAlias > (props.topicAliasMaximum ?? 0)) {
    throw new CliError(`the broker allows topic aliases up to ${props.topicAliasMaximum ?? 0} (Topic Alias Maximum in its CONNACK): --topic-alias ${plan.topicAlias} is too high`, { command: COMMAND });
  }
}

/** The error of a message still unacknowledged when the connection was lost for good. */
const NOT_ACKNOWLEDGED = 'not acknowledged: the connection was lost';

interface Ack {
  code: number;
  reasonString: string | undefined;
}

/** One publishing session over a connection: the window, the acknowledgements, the results. */
class PublishRun {
  private readonly results: PublishResult[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly acks = new Map<number, Ack>();
  private readonly window: number;
  /** Set when the connection is gone for good; everything still waiting fails with it. */
  private lost: Error | undefined;
  private readonly lostSignal: Promise<void>;
  private signalLost: () => void = () => undefined;
  /** Connections made so far: a topic alias must be sent with its topic again on each. */
  private connects = 1;
  private aliasSentOn = 0;
  private stdoutOpen = true;
  /** Messages sent and not yet recorded. */
  private pending = 0;

  constructor(
    private readonly conn: Connection,
    private readonly plan: Plan,
    private readonly setup: ClientSetup,
    private readonly properties: Properties | undefined,
    private readonly spinner: Spinner,
  ) {
    this.window = Math.max(1, Math.min(MAX_IN_FLIGHT, conn.connack.properties?.receiveMaximum ?? MAX_IN_FLIGHT));
    this.lostSignal = new Promise((resolve) => {
      this.signalLost = resolve;
    });
    const client = conn.client;
    client.on('packetreceive', (packet) => {
      if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && packet.messageId !== undefined) {
        this.acks.set(packet.messageId, { code: packet.reasonCode ?? 0, reasonString: packet.properties?.reasonString });
      }
    });
    let disconnectReason = '';
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      disconnectReason = `: ${reasonCodeName(code, 'disconnect')} (0x${code.toString(16).padStart(2, '0')})`;
    });
    client.on('offline', () => {
      if (client.disconnecting) return;
      if (setup.connection.reconnect) {
        note(setup, `lost the connection to ${setup.connection.host}:${setup.connection.port}${disconnectReason}; reconnecting`);
        spinner.text('reconnecting');
      }
    });
    client.on('connect', () => {
      this.connects++;
      spinner.text('publishing');
    });
    client.on('close', () => {
      if (client.disconnecting || setup.connection.reconnect || this.lost !== undefined) return;
      this.lost = new Error(`lost the connection to ${setup.connection.host}:${setup.connection.port}${disconnectReason}`);
      this.signalLost();
    });
    process.stdout.on('error', () => {
      this.stdoutOpen = false;
    });
  }

  async publishMessage(payload: Buffer): Promise<PublishResult[]> {
    this.spinner.text('publishing');
    for (let round = 0; round < this.plan.repeat; round++) {
      if (round > 0 && this.plan.repeatDelayMs > 0) await Promise.race([sleep(this.plan.repeatDelayMs), this.lostSignal]);
      for (const topic of this.plan.topics) {
        if (!(await this.send(topic, payload, undefined))) return this.finish();
      }
    }
    return this.finish();
  }

  async publishLines(): Promise<PublishResult[]> {
    const source = this.plan.payload.source;
    const separator = source.kind === 'lines' ? source.topicSeparator : undefined;
    this.spinner.text('publishing lines from standard input');
    let lineNo = 0;
    const lines = readLines(process.stdin);
    for (;;) {
      // A connection lost for good must not wait for the next line of a quiet stdin to be noticed.
      const next = await Promise.race([lines.next(), this.lostSignal]);
      if (next === undefined || next.done === true) break;
      const line = next.value;
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
        if (this.properties?.payloadFormatIndicator === 1 && !isUtf8(payload)) throw new PayloadError('not valid UTF-8, but --payload-format-indicator says it is');
      } catch (err) {
        this.fail({ topic: topics[0] ?? '', line: lineNo, error: (err as Error).message });
        continue;
      }
      for (const topic of topics) {
        if (!(await this.send(topic, payload, lineNo))) return this.finish();
      }
    }
    return this.finish();
  }

  /** Waits for a free slot, then publishes. False once the connection is lost for good. */
  private async send(topic: string, payload: Buffer, line: number | undefined): Promise<boolean> {
    while (this.inFlight.size >= this.window && this.lost === undefined) await Promise.race([...this.inFlight, this.lostSignal]);
    if (this.lost !== undefined) return false;
    this.pending++;
    const done = this.publishOne(topic, payload, line).then((result) => this.record(result));
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return true;
  }

  private publishOne(topic: string, payload: Buffer, line: number | undefined): Promise<PublishResult> {
    const { qos, retain, topicAlias } = this.plan;
    let wireTopic = topic;
    let properties = this.properties;
    if (topicAlias !== undefined) {
      properties = { ...properties, topicAlias };
      // [MQTT-3.3.2-12] the alias stands for the topic once set on this connection; a new connection starts empty.
      if (this.aliasSentOn === this.connects) wireTopic = '';
      else this.aliasSentOn = this.connects;
    }
    const base = { topic, qos, retain, bytes: payload.length, line };
    return new Promise<PublishResult>((resolve) => {
      const options = { qos, retain, ...(properties !== undefined ? { properties: toMqttJsProperties(properties) } : {}) };
      this.conn.client.publish(wireTopic, payload, options, (err, packet) => {
        const messageId = qos > 0 ? (packet as { messageId?: number } | undefined)?.messageId : undefined;
        if (err) {
          const code = (err as { code?: unknown }).code;
          // A PUBACK/PUBREC reason code ≥ 0x80 (MQTT.js's ErrorWithReasonCode), or a local failure.
          if (typeof code === 'number') {
            const reasonString = (packet as { properties?: { reasonString?: string } } | undefined)?.properties?.reasonString;
            return resolve({ ...base, messageId, reasonCode: code, reasonString, ok: false });
          }
          // MQTT.js fails what is in flight when the connection closes for good: counted in the final error.
          if (!this.conn.client.connected) return resolve({ ...base, messageId, ok: false, error: NOT_ACKNOWLEDGED });
          return resolve({ ...base, messageId, ok: false, error: err.message });
        }
        const ack = messageId !== undefined ? this.acks.get(messageId) : undefined;
        if (messageId !== undefined) this.acks.delete(messageId);
        resolve({ ...base, messageId, reasonCode: ack?.code ?? 0, reasonString: ack?.reasonString, ok: true });
      });
    });
  }

  private fail(r: { topic: string; line?: number; error: string }): void {
    this.record({ topic: r.topic, qos: this.plan.qos, retain: this.plan.retain, bytes: 0, line: r.line, ok: false, error: r.error });
  }

  private record(result: PublishResult): void {
    this.results.push(result);
    if (this.setup.global.json && this.stdoutOpen) process.stdout.write(jsonRecord(result));
    this.pending--;
    // With several messages each failure gets its line as it happens; a single one is the final
    // error, and so are messages lost with the connection.
    if (!result.ok && result.error !== NOT_ACKNOWLEDGED && (this.plan.payload.source.kind === 'lines' || this.plan.repeat * this.plan.topics.length > 1)) {
      process.stderr.write(`mqt pub: ${failureText(result)}\n`);
    }
  }

  /** Waits until every message is acknowledged, or the connection is lost for good. */
  private async finish(): Promise<PublishResult[]> {
    if (this.inFlight.size > 0) this.spinner.text(`waiting for ${this.inFlight.size} acknowledgement${this.inFlight.size === 1 ? '' : 's'}`);
    while (this.inFlight.size > 0 && this.lost === undefined) await Promise.race([...this.inFlight, this.lostSignal]);
    if (this.lost !== undefined) {
      const waiting = this.pending + this.results.filter((r) => r.error === NOT_ACKNOWLEDGED).length;
      throw new CliError(`${this.lost.message}${waiting > 0 ? `; ${waiting} message${waiting === 1 ? ' was' : 's were'} not acknowledged` : ''}`, { command: COMMAND });
    }
    return this.results;
  }
}
