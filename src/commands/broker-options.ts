/**
 * The options of `mqt broker` as both of its parsers see them: yargs (broker.ts: help, usage
 * errors, every unusual command line) and the quick one (broker-argv.ts), which starts a
 * broker from a plain command line without loading yargs. One table of names, ranges, checks
 * and defaults, so the two cannot disagree on what a command line means.
 */
import type { BrokerRunOptions } from './broker-run.js';

/** The parsed command line, as yargs hands it to the handler. */
export interface BrokerArgs {
  port: number;
  host: string;
  'ws-port': number | undefined;
  'max-inflight': number | undefined;
  'max-queued': number | undefined;
  'max-packet-size': number | undefined;
  'max-keepalive': number | undefined;
  verbose: boolean;
  json: boolean;
  debug?: boolean;
}

/** The largest MQTT packet: a 4-byte remaining length (268,435,455) plus the 5-byte fixed header. */
export const MAX_PACKET = 268_435_460;

export const DEFAULT_PORT = 1883;
/** Loopback unless the user says otherwise. */
export const DEFAULT_HOST = '127.0.0.1';

/** The options that take a whole number, and its range. */
export const INTEGER_OPTIONS = {
  port: { min: 0, max: 65_535 },
  'ws-port': { min: 0, max: 65_535 },
  'max-inflight': { min: 1, max: 65_535 },
  'max-queued': { min: 1, max: 100_000_000 },
  'max-packet-size': { min: 1, max: MAX_PACKET },
  'max-keepalive': { min: 1, max: 65_535 },
} as const;

export type IntegerOption = keyof typeof INTEGER_OPTIONS;

/** One-letter aliases (-d for --debug is the CLI's own, global to every command). */
export const ALIASES = { port: 'p', verbose: 'v' } as const;

/**
 * A yargs coerce for a whole decimal number in the option's range. It sees the text as typed
 * where yargs left it a string ('abc', '1.5'), so the message can quote it; a throw here
 * becomes a one-line usage error through the CLI's fail handler.
 */
export function integer(flag: IntegerOption): (value: unknown) => number {
  const { min, max } = INTEGER_OPTIONS[flag];
  return (value: unknown): number => {
    if (Array.isArray(value)) throw new Error(`--${flag} was given more than once`);
    const text = String(value);
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      throw new Error(`--${flag} must be a whole number from ${min} to ${max}, got '${text}'`);
    }
    return n;
  };
}

/** The coerce of --host. */
export function host(value: unknown): string {
  if (Array.isArray(value)) throw new Error('--host was given more than once');
  if (typeof value !== 'string' || value.trim() === '') throw new Error('--host needs an address or a host name');
  return value;
}

/** The check across options; throws what yargs prints as the usage error. */
export function checkPorts(port: number, wsPort: number | undefined): void {
  if (wsPort !== undefined && wsPort !== 0 && wsPort === port) throw new Error('--ws-port must differ from --port');
}

/** What runBroker() is given for a parsed command line. */
export function runOptions(args: BrokerArgs): BrokerRunOptions {
  return {
    port: args.port,
    host: args.host,
    wsPort: args['ws-port'],
    maxInflight: args['max-inflight'],
    maxQueued: args['max-queued'],
    maxPacketSize: args['max-packet-size'],
    maxKeepalive: args['max-keepalive'],
    verbose: args.verbose,
    json: args.json,
    debug: args.debug === true,
  };
}
