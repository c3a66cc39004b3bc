import type { Argv, CommandModule } from 'yargs';

export interface BrokerArgs {
  port: number;
}

const broker: CommandModule<object, BrokerArgs> = {
  command: 'broker',
  describe: 'Run an MQTT broker (MQTT 3.1, 3.1.1 and 5.0) in the foreground, like mosquitto',
  builder: (yargs: Argv) =>
    yargs
      .option('port', {
        alias: 'p',
        type: 'number',
        default: 1883,
        describe: 'TCP port to listen on (0 picks a free port)',
      })
      .example('$0 broker --port 1883', 'Listen for MQTT on port 1883'),
  handler: async () => {
    // Lazy: the broker core loads only when this command runs, so `mqt --help` stays fast.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('broker');
  },
};

export default broker;
