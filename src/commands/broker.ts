import type { Argv, CommandModule } from 'yargs';

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
const MAX_PACKET = 268_435_460;

/**
 * A yargs coerce for a whole decimal number in [min, max]. It sees the text as typed where
 * yargs left it a string ('abc', '1.5'), so the message can quote it; a throw here becomes
 * a one-line usage error through the CLI's fail handler.
 */
function integer(flag: string, min: number, max: number): (value: unknown) => number {
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

const broker: CommandModule<object, BrokerArgs> = {
  command: 'broker',
  describe: 'Run an MQTT broker (MQTT 3.1, 3.1.1 and 5.0) in the foreground, like mosquitto',
  builder: (yargs: Argv) =>
    yargs
      // No `type: 'number'`: yargs would turn 'abc' into NaN before the coerce could quote it.
      .option('port', {
        alias: 'p',
        requiresArg: true,
        default: 1883,
        coerce: integer('port', 0, 65_535),
        describe: 'TCP port for MQTT (0 picks a free port)',
      })
      .option('host', {
        type: 'string',
        requiresArg: true,
        default: '127.0.0.1',
        coerce: (value: unknown): string => {
          if (Array.isArray(value)) throw new Error('--host was given more than once');
          if (typeof value !== 'string' || value.trim() === '') throw new Error('--host needs an address or a host name');
          return value;
        },
        describe: 'Address to listen on; loopback unless you say otherwise (0.0.0.0 or :: for every interface)',
      })
      .option('ws-port', {
        requiresArg: true,
        coerce: integer('ws-port', 0, 65_535),
        describe: 'Also serve MQTT over WebSocket on this port (path /mqtt, subprotocol mqtt)',
      })
      .option('max-inflight', {
        requiresArg: true,
        coerce: integer('max-inflight', 1, 65_535),
        defaultDescription: '100',
        describe: 'Outgoing QoS 1 and 2 messages unacknowledged per client',
      })
      .option('max-queued', {
        requiresArg: true,
        coerce: integer('max-queued', 1, 100_000_000),
        defaultDescription: '1000',
        describe: 'Messages queued per session while its client is away or busy; newer ones are dropped',
      })
      .option('max-packet-size', {
        requiresArg: true,
        coerce: integer('max-packet-size', 1, MAX_PACKET),
        defaultDescription: String(MAX_PACKET),
        describe: 'Largest packet accepted from a client, in bytes',
      })
      .option('max-keepalive', {
        requiresArg: true,
        coerce: integer('max-keepalive', 1, 65_535),
        defaultDescription: '65535',
        describe: 'Longest keep-alive a client may ask for, in seconds (MQTT 5 clients are told the limit)',
      })
      .option('verbose', {
        alias: 'v',
        type: 'boolean',
        default: false,
        describe: 'Print a line per connect, disconnect (with the reason), subscribe and will',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print the log as one JSON object per line (with a time, the event and its fields)',
      })
      .check((argv) => {
        const port = argv.port as number;
        const wsPort = argv['ws-port'] as number | undefined;
        if (wsPort !== undefined && wsPort !== 0 && wsPort === port) throw new Error('--ws-port must differ from --port');
        return true;
      })
      .example('$0 broker --port 1883', 'Listen for MQTT on port 1883')
      .example('$0 broker -p 1883 --ws-port 9001 -v', 'Also serve WebSocket clients, and log who connects and subscribes')
      .example('$0 broker --host 0.0.0.0', 'Listen on every interface (anyone who can reach the machine may connect)'),
  handler: async (argv) => {
    // Lazy: the broker core loads only when this command runs, so `mqt --help` stays fast.
    const { runBroker } = await import('./broker-run.js');
    await runBroker({
      port: argv.port,
      host: argv.host,
      wsPort: argv['ws-port'],
      maxInflight: argv['max-inflight'],
      maxQueued: argv['max-queued'],
      maxPacketSize: argv['max-packet-size'],
      maxKeepalive: argv['max-keepalive'],
      verbose: argv.verbose,
      json: argv.json,
      debug: argv.debug === true,
    });
  },
};

export default broker;
