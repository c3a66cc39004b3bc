import type { Argv, CommandModule } from 'yargs';

export interface RetainClearArgs {
  filters: string[];
}

const retainClear: CommandModule<object, RetainClearArgs> = {
  command: 'retain-clear [filters..]',
  describe: 'Find the retained messages under topic filters and delete them from the broker',
  builder: (yargs: Argv) =>
    yargs
      .positional('filters', {
        type: 'string',
        array: true,
        default: [],
        describe: 'Topic filters whose retained messages to clear',
      })
      .example("$0 retain-clear 'eg/#'", "Clear every retained message under 'eg/'"),
  handler: async () => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('retain-clear');
  },
};

export default retainClear;
