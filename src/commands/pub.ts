import type { Argv, CommandModule, Options } from 'yargs';
import { addGroup, integer, messagePropertyOptions, payloadOptions, seconds, withClientOptions } from './options/index.js';

/** pub's own flags; the shared groups come from options/. */
export const publishOptions = {
  topic: { alias: 't', type: 'string', requiresArg: true, describe: 'Topic to publish to (repeatable: publish to each)' },
  qos: { alias: 'q', type: 'string', requiresArg: true, coerce: integer('qos', 0, 2), defaultDescription: '0', describe: 'Quality of service' },
  retain: { alias: 'r', type: 'boolean', default: false, describe: 'Ask the broker to retain the message' },
  repeat: { type: 'string', requiresArg: true, coerce: integer('repeat', 1, 1_000_000_000), describe: 'Publish the message this many times' },
  'repeat-delay': { type: 'string', requiresArg: true, coerce: seconds('repeat-delay'), describe: 'Seconds to wait between repeats (fractions allowed)' },
  'max-buffered': {
    type: 'string',
    requiresArg: true,
    coerce: integer('max-buffered', 1, 10_000_000),
    defaultDescription: '10000',
    describe: 'With -l: lines kept, in order, while reconnecting; when that many wait, standard input is not read until they are sent (nothing is dropped)',
  },
} as const satisfies Record<string, Options>;

/** MQTT 5 properties of the PUBLISH: the shared message ones, plus the topic alias. */
export const publishPropertyOptions: Record<string, Options> = {
  ...messagePropertyOptions(''),
  'topic-alias': { type: 'string', requiresArg: true, coerce: integer('topic-alias', 1, 65_535), describe: 'MQTT 5: send the topic once, then this alias instead (with --repeat)' },
};

/** What yargs hands the handler; pub-run reads the rest through the option groups. */
export interface PubArgs {
  /** The positionals. Upper case because -t/--topic and -m/--message are keys of their own: with one key, yargs would let a positional silently replace the flag's value. */
  TOPIC: string | undefined;
  MESSAGE: string | undefined;
  [flag: string]: unknown;
}

const pub: CommandModule<object, PubArgs> = {
  command: 'pub [TOPIC] [MESSAGE]',
  describe: 'Publish a message to a topic, like mosquitto_pub',
  builder: (yargs: Argv) => {
    const y = yargs
      .positional('TOPIC', { type: 'string', describe: 'Topic name to publish to (no wildcards); or use -t' })
      .positional('MESSAGE', { type: 'string', describe: 'Payload to send; or use -m, -f, -s, -l, -n, --size' });
    let withGroups = addGroup(y, 'Publish:', publishOptions);
    withGroups = addGroup(withGroups, 'Payload:', payloadOptions);
    withGroups = addGroup(withGroups, 'MQTT 5 message:', publishPropertyOptions);
    return withClientOptions(withGroups)
      .example('$0 pub heizung 21.5 -q 2 -r', "Publish '21.5' to 'heizung' at QoS 2, retained")
      .example('$0 pub -t a -t b -m on', "Publish 'on' to both a and b")
      .example("tail -f log | $0 pub logs -l -q 1", 'Publish each line as a message over one connection')
      .example("$0 pub -l --line-topic $'\\t' < readings.tsv", 'Each line is <topic><TAB><payload>')
      .example('$0 pub -L mqtts://me@broker.example/eg/t -P -m hi', 'Connect with TLS, ask for the password') as unknown as Argv<PubArgs>;
  },
  handler: async (argv) => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { runPub } = await import('./pub-run.js');
    await runPub(argv);
  },
};

export default pub;
