import type { Argv, CommandModule } from 'yargs';
import { ALIASES, DEFAULT_HOST, DEFAULT_PORT, MAX_PACKET, checkPorts, host, integer, runOptions, type BrokerArgs } from './broker-options.js';

export type { BrokerArgs } from './broker-options.js';

const broker: CommandModule<object, BrokerArgs> = {
  command: 'broker',
  describe: 'Run an MQTT broker (MQTT 3.1, 3.1.1 and 5.0) in the foreground, like mosquitto',
  builder: (yargs: Argv) =>
    yargs
      // No `type: 'number'`: yargs would turn 'abc' into NaN before the coerce could quote it.
      .option('port', {
        alias: ALIASES.port,
        requiresArg: true,
        default: DEFAULT_PORT,
        coerce: integer('port'),
        describe: 'TCP port for MQTT (0 picks a free port)',
      })
      .option('host', {
        type: 'string',
        requiresArg: true,
        default: DEFAULT_HOST,
        coerce: host,
        describe: 'Address to listen on; loopback unless you say otherwise (0.0.0.0 or :: for every interface)',
      })
      .option('ws-port', {
        requiresArg: true,
        coerce: integer('ws-port'),
        describe: 'Also serve MQTT over WebSocket on this port (path /mqtt, subprotocol mqtt)',
      })
      .option('max-inflight', {
        requiresArg: true,
        coerce: integer('max-inflight'),
        defaultDescription: '100',
        describe: 'Outgoing QoS 1 and 2 messages unacknowledged per client',
      })
      .option('max-queued', {
        requiresArg: true,
        coerce: integer('max-queued'),
        defaultDescription: '1000',
        describe: 'Messages queued per session while its client is away or busy; newer ones are dropped',
      })
      .option('max-packet-size', {
        requiresArg: true,
        coerce: integer('max-packet-size'),
        defaultDescription: String(MAX_PACKET),
        describe: 'Largest packet accepted from a client, in bytes',
      })
      .option('max-keepalive', {
        requiresArg: true,
        coerce: integer('max-keepalive'),
        defaultDescription: '65535',
        describe: 'Longest keep-alive a client may ask for, in seconds (MQTT 5 clients are told the limit)',
      })
      .option('verbose', {
        alias: ALIASES.verbose,
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
        checkPorts(argv.port as number, argv['ws-port'] as number | undefined);
        return true;
      })
      .example('$0 broker --port 1883', 'Listen for MQTT on port 1883')
      .example('$0 broker -p 1883 --ws-port 9001 -v', 'Also serve WebSocket clients, and log who connects and subscribes')
      .example('$0 broker --host 0.0.0.0', 'Listen on every interface (anyone who can reach the machine may connect)'),
  handler: async (argv) => {
    // Lazy: the broker core loads only when this command runs, so `mqt --help` stays fast.
    const { runBroker } = await import('./broker-run.js');
    await runBroker(runOptions(argv));
  },
};

export default broker;
