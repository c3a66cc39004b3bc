/**
 * The work behind `mqt lwt-test`, loaded only when the command runs: read the flags, start
 * mqt's own broker when no broker is named (then it is a self-test), run the modes through
 * the library (core/client/lwt-test.ts), print each result as it comes, and fail with exit
 * code 1 when a mode failed. Returns, or throws a CliError; never exits the process.
 */
import { randomBytes } from 'node:crypto';
import { Chalk, type ChalkInstance } from 'chalk';
import { loadConfig } from '../core/client/config.js';
import { LwtError, runLwtTest, type LwtMode, type LwtModeResult } from '../core/client/lwt-test.js';
import type { ConnectionOptions } from '../core/client/types.js';
import type { Packet } from '../core/codec/types.js';
import { CliError, ExitCode } from './errors.js';
import { OptionError, readClient, str, type ArgvLike, type ClientSetup } from './options/index.js';
import { colorFor } from './render/color.js';
import { asCliError } from './render/failure.js';
import { banner, details, jsonLine, summary, tableHeader, tableRow, verdict } from './render/lwt-test-output.js';
import { startSpinner, type Spinner } from './render/spinner.js';
import { traceLine } from './render/trace.js';

const COMMAND = 'lwt-test';
const DEFAULT_TIMEOUT_S = 5;
const DEFAULT_KEEPALIVE_S = 2;

/** A broker this run started, and how to stop it. */
interface Builtin {
  connection: ConnectionOptions;
  close(): Promise<void>;
}

/**
 * Whether the user named a broker anywhere the connection group looks (flags, MQT_URL,
 * --profile, the config file's defaults); if not, mqt's own broker is tested.
 */
async function brokerNamed(argv: ArgvLike): Promise<boolean> {
  if (['host', 'port', 'url', 'profile'].some((flag) => argv[flag] !== undefined)) return true;
  if ((process.env.MQT_URL ?? '') !== '') return true;
  const config = await loadConfig();
  const d = config?.defaults;
  return d !== undefined && (d.host !== undefined || d.url !== undefined || d.port !== undefined);
}

/** mqt's broker in this process, on loopback ports the kernel picks (WebSocket with --ws). */
async function startBuiltin(connection: ConnectionOptions): Promise<Builtin> {
  if (connection.transport === 'mqtts' || connection.transport === 'wss') {
    throw new OptionError("the built-in broker has no TLS listener: name the broker to test with -h or -L, or drop the TLS options");
  }
  const { createBroker } = await import('../core/broker/index.js');
  const broker = createBroker();
  const ws = connection.transport === 'ws';
  let addresses;
  try {
    addresses = await broker.listen({ port: 0, host: '127.0.0.1', ...(ws ? { ws: { port: 0, path: connection.wsPath } } : {}) });
  } catch (err) {
    await broker.close();
    throw new CliError(`cannot start the built-in broker: ${(err as Error).message}`, { command: COMMAND, cause: err });
  }
  const address = addresses[ws ? 1 : 0]!;
  return { connection: { ...connection, host: '127.0.0.1', port: address.port }, close: () => broker.close() };
}

/**
 * Several brokers (-L a,b): the first that accepts a connection is the one tested, all of the
 * test on it. A broker going away during a test is what lwt-test observes, so it never moves
 * to another one then; only this choice at the start tries them in order.
 */
async function firstAnswering(connection: ConnectionOptions, setup: ClientSetup): Promise<ConnectionOptions> {
  const { connect } = await import('../core/client/connect.js');
  const { brokerUrl } = await import('../core/client/failover.js');
  const probe = await connect(
    { ...connection, clientId: `mqt-lwt-probe-${randomBytes(4).toString('hex')}`, clean: true, will: undefined, properties: undefined, reconnect: false },
    {
      needsMqtt5: setup.mqtt5,
      onFailover: (line) => {
        if (!setup.global.quiet) process.stderr.write(`mqt ${COMMAND}: ${line}\n`);
      },
    },
  );
  const chosen = connection.brokers!.find((b) => brokerUrl(b) === probe.broker) ?? connection.brokers![0]!;
  await probe.end();
  return { ...connection, ...chosen, brokers: undefined };
}

function where(c: ConnectionOptions): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return c.transport === 'mqtt' ? `${host}:${c.port}` : `${c.transport}://${host}:${c.port}${c.transport.startsWith('ws') ? c.wsPath : ''}`;
}

function rawTraceLine(direction: 'sent' | 'received', packet: Packet, clientId: string): string {
  const code = 'reasonCode' in packet && packet.reasonCode !== undefined ? ` (${packet.reasonCode})` : '';
  return `Client ${clientId} ${direction === 'sent' ? 'sending' : 'received'} ${packet.type.toUpperCase()}${code} [raw]`;
}

/**
 * An ora spinner that can go away for a line of output and come back with the next status.
 * Calls are queued, so a line and the spinner never overlap.
 */
class Status {
  private spinner: Spinner | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: { quiet: boolean; color: boolean }) {}

  show(text: string): void {
    this.queue = this.queue.then(async () => {
      if (this.spinner === undefined) this.spinner = await startSpinner(text, this.options);
      else this.spinner.text(text);
    });
  }

  between(write: () => void): void {
    this.queue = this.queue.then(() => {
      this.spinner?.stop();
      this.spinner = undefined;
      write();
    });
  }

  async stop(): Promise<void> {
    this.between(() => undefined);
    await this.queue;
  }
}

export async function runLwtTestCommand(argv: ArgvLike): Promise<void> {
  const modes = (argv.mode as LwtMode[] | undefined) ?? ['kill'];
  const userTopic = str(argv, 'will-topic');
  const userPayload = str(argv, 'will-payload');
  // The will group wants a topic before it takes --will-qos and friends; ours has a default.
  const setup: ClientSetup = await readClient({ ...argv, 'will-topic': userTopic ?? 'mqt/lwt-test/default' }, { command: COMMAND, packets: [], reconnect: false });
  const will = setup.connection.will!;
  const fixedId = argv.id !== undefined || argv['id-prefix'] !== undefined;
  const keepalive = (argv.keepalive as number | undefined) ?? DEFAULT_KEEPALIVE_S;
  const timeoutMs = Math.round(((argv.timeout as number | undefined) ?? DEFAULT_TIMEOUT_S) * 1000);

  let connection = setup.connection;
  // --will-delay without -x: a session that ends with the connection would cut the delay short
  // (5.0 section 3.1.3.2.2), so the victim keeps its session exactly as long as the delay.
  const delay = will.properties?.willDelayInterval;
  if (delay !== undefined && delay > 0 && connection.properties?.sessionExpiryInterval === undefined) {
    connection = { ...connection, properties: { ...connection.properties, sessionExpiryInterval: delay } };
  }

  let builtin: Builtin | undefined;
  try {
    if (!(await brokerNamed(argv))) {
      builtin = await startBuiltin(connection);
      connection = builtin.connection;
    } else if (connection.brokers !== undefined && connection.brokers.length > 1) {
      connection = await firstAnswering(connection, setup);
    }
  } catch (err) {
    throw asCliError(err, COMMAND);
  }

  const { quiet, json, debug } = setup.global;
  const human = !json && !quiet;
  const out: ChalkInstance = setup.global.color ? colorFor('stdout') : new Chalk({ level: 0 });
  const target = builtin !== undefined ? `${where(connection)} (mqt's built-in broker)` : where(connection);
  const status = new Status({ quiet: quiet || json, color: setup.global.color });
  status.show(`connecting to ${target}`);
  const results: LwtModeResult[] = [];
  let stdoutOpen = true;
  process.stdout.on('error', () => {
    stdoutOpen = false;
  });
  // The spinner (stderr) is stopped for each row (stdout): on one terminal they share a line.
  const print = (text: string): void => status.between(() => {
    if (stdoutOpen) process.stdout.write(text);
  });
  try {
    await runLwtTest(
      {
        connection,
        will: { ...will, topic: userTopic, payload: will.payload },
        defaultPayload: userPayload === undefined,
        modes,
        clientId: fixedId ? connection.clientId : undefined,
        keepalive,
        timeoutMs,
        needsMqtt5: setup.mqtt5,
      },
      {
        onConnected: (version) => {
          if (human) print(`${banner(target, version, out)}\n\n${tableHeader(out)}\n`);
        },
        onMode: (mode, what) => status.show(`${mode}: ${what}`),
        onResult: (result) => {
          results.push(result);
          if (json) print(jsonLine(result));
          else if (human) print(`${tableRow(result, out)}\n`);
        },
        onFallback: (why) => {
          if (!quiet) process.stderr.write(`mqt ${COMMAND}: ${why}; using MQTT 3.1.1\n`);
        },
        onPacket: debug ? (direction, packet) => process.stderr.write(`${traceLine(direction, packet, 'watcher')}\n`) : undefined,
        onRawPacket: debug ? (direction, packet) => process.stderr.write(`${rawTraceLine(direction, packet, 'victim')}\n`) : undefined,
      },
    );
  } catch (err) {
    if (err instanceof LwtError) throw new CliError(err.message, { command: COMMAND, cause: err });
    throw asCliError(err, COMMAND);
  } finally {
    await status.stop();
    await builtin?.close();
  }

  if (human && stdoutOpen) {
    const lines = details(results, out);
    process.stdout.write(`${lines.length > 0 ? `\n${lines.join('\n')}\n` : ''}\n${summary(results, out)}\n`);
  }
  const failed = results.filter((r) => verdict(r) === 'fail');
  if (failed.length > 0) {
    const first = failed[0]!;
    const reason = first.problems[0] ?? 'failed';
    const run = results.filter((r) => verdict(r) !== 'skip').length;
    const message = failed.length === 1 ? `${first.mode} failed: ${reason}` : `${failed.length} of ${run} modes failed: ${failed.map((r) => r.mode).join(', ')} (${first.mode}: ${reason})`;
    throw new CliError(message, { command: COMMAND, exitCode: ExitCode.Failure });
  }
}
