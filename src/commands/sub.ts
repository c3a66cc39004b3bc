import type { Argv, CommandModule } from 'yargs';

export interface SubArgs {
  filters: string[];
  qos: number;
}

const sub: CommandModule<object, SubArgs> = {
  command: 'sub [filters..]',
  describe: 'Subscribe to topic filters and print the messages, like mosquitto_sub',
  builder: (yargs: Argv) =>
    yargs
      .positional('filters', {
        type: 'string',
        array: true,
        default: [],
        describe: "Topic filters to subscribe to ('+' and '#' wildcards allowed)",
      })
      .option('qos', { alias: 'q', type: 'number', choices: [0, 1, 2], default: 0, describe: 'Maximum QoS to subscribe with' })
      .example("$0 sub 'eg/#'", "Print every message under 'eg/'"),
  handler: async () => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('sub');
  },
};

export default sub;
