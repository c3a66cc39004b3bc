/**
 * The work behind `mqt broker`, loaded only when the command runs: start the core broker,
 * print what it does, and stop it cleanly on SIGINT or SIGTERM. Returns when the broker has
 * stopped; throws a CliError when it cannot start. Never exits the process (main() does).
 */
import { isIPv4 } from 'node:net';
import { reasonCodeName } from '../core/codec/constants.js';
import { createBroker, type Broker, type LogLevel } from '../core/broker/index.js';
import { capYoungGeneration } from './broker-heap.js';
import { CliError } from './errors.js';
import { colorFor } from './render/color.js';
import { jsonLine, oneLine, textLine, urlHost, type BrokerLogRecord, type ListenerRecord } from './render/broker-log.js';

export interface BrokerRunOptions {
  port: number;
  host: string;
  wsPort: number | undefined;
  maxInflight: number | undefined;
  maxQueued: number | undefined;
  maxPacketSize: number | undefined;
  maxKeepalive: number | undefined;
  verbose: boolean;
  json: boolean;
  debug: boolean;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The path MQTT over WebSocket is conventionally served on; the listener accepts any path. */
const WS_PATH = '/mqtt';

export async function runBroker(options: BrokerRunOptions): Promise<void> {
  const out = colorFor('stdout');
  const err = colorFor('stderr');

  // `mqt broker -v | head` must not crash the broker when the reader goes away: stop logging instead.
  let stdoutOpen = true;
  const onStdoutError = (): void => {
    stdoutOpen = false;
  };
  process.stdout.on('error', onStdoutError);
  const print = (record: BrokerLogRecord): void => {
    if (!stdoutOpen) return;
    const now = new Date();
    process.stdout.write(options.json ? jsonLine(now, record) : textLine(now, record, out));
  };

  // A broker runs for weeks: what V8's young generation grows to while clients connect it keeps.
  const uncapYoungGeneration = capYoungGeneration();
  const broker = createBroker({
    maxInflight: options.maxInflight,
    maxQueued: options.maxQueued,
    maxPacketSize: options.maxPacketSize,
    maxKeepalive: options.maxKeepalive,
    log: (level: LogLevel, message: string) => {
      // Errors and warnings always; the broker's chatter only when asked for.
      if (level === 'debug' || (level === 'info' && !options.verbose)) return;
      const tag = level === 'error' ? err.red('error') : level === 'warn' ? err.yellow('warning') : level;
      process.stderr.write(`mqt broker: ${tag}: ${options.debug ? message : oneLine(message)}\n`);
    },
  });
  if (options.verbose) observe(broker, print);

  // Listen for the stop signals first, so one that arrives during start-up still stops cleanly.
  // `once`: a second Ctrl-C while closing gets Node's default, an immediate exit.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);

  try {
    let addresses;
    try {
      addresses = await broker.listen({ port: options.port, host: options.host, ...(options.wsPort !== undefined ? { ws: options.wsPort } : {}) });
    } catch (cause) {
      await broker.close();
      throw listenError(cause, options);
    }
    const listeners: ListenerRecord[] = addresses.map((a, i) => {
      const transport = i === 0 ? 'mqtt' : 'ws';
      const url = `${transport}://${urlHost(a.address)}:${a.port}${transport === 'ws' ? WS_PATH : ''}`;
      return { transport, url, address: a.address, port: a.port };
    });

    // Like mosquitto 2: beyond loopback with anonymous access deserves a warning (there is no auth yet).
    const exposed = [...new Set(listeners.map((l) => l.address).filter((a) => !isLoopback(a)))];
    if (exposed.length > 0) {
      process.stderr.write(
        `mqt broker: ${err.yellow('warning')}: listening on ${exposed.join(' and ')} beyond loopback with anonymous access; ` +
          'anyone who can reach this machine can connect, publish and subscribe\n',
      );
    }
    print({ event: 'listening', listeners });

    const signal = await stopped;
    await broker.close();
    print({ event: 'stopped', signal });
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    process.stdout.off('error', onStdoutError);
    uncapYoungGeneration();
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string): boolean {
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** The broker's events as log records: one line per connect, disconnect, (un)subscribe, will and client error. */
function observe(broker: Broker, print: (record: BrokerLogRecord) => void): void {
  broker.on('client', (client, sessionPresent) => {
    print({
      event: 'connect',
      clientId: client.clientId,
      protocolVersion: client.protocolVersion,
      username: client.username,
      remoteAddress: client.remoteAddress,
      sessionPresent,
    });
  });
  broker.on('disconnect', (client, reason) => {
    print({ event: 'disconnect', clientId: client.clientId, remoteAddress: client.remoteAddress, reason });
  });
  broker.on('subscribe', (client, topicFilter, result) => {
    // A result of 0x80 or more is a refusal (SUBACK failure code), below it the granted QoS.
    print(
      result >= 0x80
        ? { event: 'subscribe', clientId: client.clientId, topicFilter, reasonCode: result, reason: reasonCodeName(result, 'suback') }
        : { event: 'subscribe', clientId: client.clientId, topicFilter, qos: result },
    );
  });
  broker.on('unsubscribe', (client, topicFilter) => {
    print({ event: 'unsubscribe', clientId: client.clientId, topicFilter });
  });
  broker.on('will', (client, message) => {
    print({ event: 'will', clientId: client.clientId, topic: message.topic, qos: message.qos, retain: message.retain, payloadBytes: message.payload.length });
  });
  broker.on('clientError', (client, error) => {
    print({ event: 'client-error', clientId: client?.clientId, remoteAddress: client?.remoteAddress, message: error.message });
  });
}

/** Why listening failed, as one line that says what to change. */
function listenError(cause: unknown, options: BrokerRunOptions): CliError {
  const e = cause as NodeJS.ErrnoException & { port?: unknown };
  const port = typeof e.port === 'number' ? e.port : options.port;
  // The WebSocket listener starts second; its port is the one that failed when the error names it.
  const flag = options.wsPort !== undefined && port === options.wsPort && port !== options.port ? '--ws-port' : '--port';
  const host = options.host;
  let message: string;
  switch (e.code) {
    case 'EADDRINUSE':
      message = `port ${port} on ${host} is already in use; choose another with ${flag}`;
      break;
    case 'EACCES':
      message = `no permission to listen on port ${port} on ${host} (ports below 1024 need privileges); choose another with ${flag}`;
      break;
    case 'EADDRNOTAVAIL':
      message = `cannot listen on ${host}: that address is not on this machine; check --host`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `cannot resolve host '${host}'; check --host`;
      break;
    default:
      message = `cannot listen on ${urlHost(host)}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
  return new CliError(message, { command: 'broker', cause });
}
