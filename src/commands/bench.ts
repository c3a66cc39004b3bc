import type { Argv, CommandModule } from 'yargs';

export interface BenchArgs {
  qos: number;
  msgs: number;
}

const bench: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Measure a broker: message rate and latency percentiles for publishers and subscribers',
  builder: (yargs: Argv) =>
    yargs
      .option('qos', { alias: 'q', type: 'number', choices: [0, 1, 2], default: 0, describe: 'QoS of the published messages' })
      .option('msgs', { type: 'number', default: 100_000, describe: 'Messages to publish in total' })
      .example('$0 bench --qos 1 --msgs 100000', 'Send 100,000 QoS 1 messages and report rate and latency'),
  handler: async () => {
    // Lazy: the bench engine loads only when this command runs.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('bench');
  },
};

export default bench;
