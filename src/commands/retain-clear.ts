import type { Argv, CommandModule, Options } from 'yargs';
import { addGroup, integer, seconds, text, withClientOptions } from './options/index.js';

/**
 * How retain-clear finds and narrows the retained messages. -t and -T as in mosquitto_sub
 * (whose --remove-retained honours -T); --quiet-ms as in `mqt sub --retained-only`.
 */
export const findOptions = {
  topic: { alias: 't', type: 'string', requiresArg: true, describe: 'Topic filter to clear under (repeatable; same as the positional filters)' },
  exclude: { alias: 'T', type: 'string', requiresArg: true, describe: 'Leave the topics matching this filter alone (repeatable)' },
  match: { requiresArg: true, coerce: text('match'), describe: 'Clear only the topics this regular expression matches (JavaScript syntax)' },
  'quiet-ms': {
    requiresArg: true,
    coerce: integer('quiet-ms', 1, 3_600_000),
    defaultDescription: '500',
    describe: 'The retained messages are all in after this many ms without one',
  },
  timeout: {
    alias: 'W',
    requiresArg: true,
    coerce: seconds('timeout'),
    defaultDescription: '30',
    describe: 'Stop looking after this many seconds even if retained messages keep arriving',
  },
} as const satisfies Record<string, Options>;

export const clearOptions = {
  'dry-run': { type: 'boolean', describe: 'List what would be cleared, and clear nothing' },
  yes: { alias: 'y', type: 'boolean', describe: 'Clear without asking (needed when there is no terminal to ask on)' },
} as const satisfies Record<string, Options>;

export interface RetainClearArgs {
  filters: string[];
}

const retainClear: CommandModule<object, RetainClearArgs> = {
  command: 'retain-clear [filters..]',
  describe: 'Find and delete the retained messages under topic filters',
  builder: (yargs: Argv) => {
    let y = yargs.positional('filters', {
      type: 'string',
      array: true,
      default: [],
      describe: "Topic filters whose retained messages to clear ('+' and '#' wildcards allowed)",
    }) as Argv;
    y = addGroup(y, 'Find:', findOptions);
    y = addGroup(y, 'Clear:', clearOptions);
    return withClientOptions(y)
      .example("$0 retain-clear 'eg/#'", "Clear every retained message under 'eg/', after asking")
      .example("$0 retain-clear --dry-run 'eg/#'", 'List them and clear nothing')
      .example("$0 retain-clear -y 'eg/#' -T 'eg/keep/#'", "Clear without asking, leaving 'eg/keep/' alone")
      .example("$0 retain-clear -y '#' --match '^test-'", "Clear the retained messages whose topic starts with 'test-'")
      .example("$0 retain-clear --dry-run --json 'eg/#' > backup.json", 'Save them, payloads included, as one JSON object') as unknown as Argv<RetainClearArgs>;
  },
  handler: async (argv) => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { runRetainClear } = await import('./retain-clear-run.js');
    await runRetainClear(argv as unknown as Readonly<Record<string, unknown>>);
  },
};

export default retainClear;
