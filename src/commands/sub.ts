import type { Argv, CommandModule, Options } from 'yargs';
import { addGroup, integer, seconds, text, withClientOptions } from './options/index.js';

/**
 * The flags only `mqt sub` has: mosquitto_sub's names where it has them (-t -q -T -U -C -W -R
 * -E -v -F -N), MQTTX's MQTT 5 subscription options, and ours (--retained-only ending by
 * itself, --json, --output, --raw).
 *
 * yargs reads `--no-X` as X = false, so the negative flags are declared twice: `no-local` and
 * `no-retained` for --help and the short alias, and a hidden `local` / `retained` that
 * `--no-local` / `--no-retained` actually set. -N has no long name for the same reason
 * (`--no-eol` would be eol = false).
 */
export const subscribeOptions = {
  topic: { alias: 't', type: 'string', requiresArg: true, describe: 'Topic filter to subscribe to (repeatable; same as the positional filters)' },
  qos: { alias: 'q', type: 'string', requiresArg: true, coerce: integer('qos', 0, 2), defaultDescription: '0', describe: 'Maximum QoS to subscribe with' },
  'filter-out': { alias: 'T', type: 'string', requiresArg: true, describe: 'Do not print topics matching this filter (repeatable)' },
  unsubscribe: { alias: 'U', type: 'string', requiresArg: true, describe: 'Unsubscribe from this filter once connected, e.g. to end a persistent (-c) subscription (repeatable)' },
  'exit-on-subscribe': { alias: 'E', type: 'boolean', describe: 'Exit once the broker has acknowledged the subscriptions' },
  'no-local': { type: 'boolean', describe: 'MQTT 5: do not receive what this client publishes' },
  local: { type: 'boolean', hidden: true },
  'retain-as-published': { type: 'boolean', describe: 'MQTT 5: keep the retain flag as the publisher set it' },
  'retain-handling': {
    type: 'string', requiresArg: true,
    coerce: integer('retain-handling', 0, 2),
    defaultDescription: '0',
    describe: 'MQTT 5: 0 send retained messages on subscribe, 1 only for a new subscription, 2 never',
  },
  'sub-id': { type: 'string', requiresArg: true, coerce: integer('sub-id', 1, 268_435_455), describe: 'MQTT 5: subscription identifier to tag the subscriptions with (%S shows it)' },
} as const satisfies Record<string, Options>;

export const stopOptions = {
  count: { alias: 'C', type: 'string', requiresArg: true, coerce: integer('count', 1, 2_147_483_647), describe: 'Exit after printing this many messages' },
  timeout: { alias: 'W', type: 'string', requiresArg: true, coerce: seconds('timeout'), describe: 'Exit with code 27 when this many seconds have passed since connecting' },
  'no-retained': { alias: 'R', type: 'boolean', describe: 'Do not print retained (stale) messages' },
  retained: { type: 'boolean', hidden: true },
  'retained-only': { type: 'boolean', describe: 'Print only the retained messages and exit when their burst is over' },
  'quiet-ms': {
    type: 'string', requiresArg: true,
    coerce: integer('quiet-ms', 1, 3_600_000),
    defaultDescription: '500',
    describe: 'With --retained-only: the burst is over after this many ms without a retained message',
  },
} as const satisfies Record<string, Options>;

export const subOutputOptions = {
  verbose: { alias: 'v', type: 'boolean', describe: "Print 'topic payload' (in a pipe; a terminal always shows the topic)" },
  format: { alias: 'F', type: 'string', requiresArg: true, coerce: text('format', { allowEmpty: true }), describe: "Output format, mosquitto's: %t topic, %p payload, %x hex, %j JSON… (see mqt-sub(1))" },
  N: { type: 'boolean', describe: 'Do not add a newline after each message' },
  pretty: { type: 'boolean', describe: 'Indent JSON payloads (and -F %j/%J objects)' },
  raw: { type: 'boolean', describe: 'Print binary payloads to a terminal as they are instead of as hex' },
  output: { type: 'string', requiresArg: true, coerce: text('output'), describe: 'Append the messages to this file instead of printing them' },
} as const satisfies Record<string, Options>;

export interface SubArgs {
  filters: string[];
}

const sub: CommandModule<object, SubArgs> = {
  command: 'sub [filters..]',
  describe: 'Subscribe to topic filters and print messages, like mosquitto_sub',
  builder: (yargs: Argv) => {
    let y = yargs.positional('filters', {
      type: 'string',
      array: true,
      default: [],
      describe: "Topic filters to subscribe to ('+' and '#' wildcards allowed)",
    }) as Argv;
    y = addGroup(y, 'Subscribe:', subscribeOptions);
    y = addGroup(y, 'Stop:', stopOptions);
    y = addGroup(y, 'Messages:', subOutputOptions);
    return withClientOptions(y)
      .example("$0 sub 'eg/#'", "Print every message under 'eg/'")
      .example("$0 sub -v -C 3 'eg/#'", "Print 'topic payload' for three messages, then exit")
      .example("$0 sub -F '%I %t %p' sensors/+/temp", 'Time stamp, topic and payload on each line')
      .example("$0 sub --retained-only 'home/#'", 'List the retained messages under home/ and exit')
      .example("$0 sub --json 'eg/#' | jq .payload", 'One JSON object per message, for programs') as unknown as Argv<SubArgs>;
  },
  handler: async (argv) => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { runSub } = await import('./sub-run.js');
    await runSub(argv as unknown as Readonly<Record<string, unknown>>);
  },
};

export default sub;
