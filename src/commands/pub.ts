import type { Argv, CommandModule } from 'yargs';

export interface PubArgs {
  topic: string;
  message: string | undefined;
  qos: number;
  retain: boolean;
}

const pub: CommandModule<object, PubArgs> = {
  command: 'pub <topic> [message]',
  describe: 'Publish a message to a topic, like mosquitto_pub',
  builder: (yargs: Argv) =>
    yargs
      .positional('topic', { type: 'string', demandOption: true, describe: 'Topic name to publish to (no wildcards)' })
      .positional('message', { type: 'string', describe: 'Payload to send (empty when omitted)' })
      .option('qos', { alias: 'q', type: 'number', choices: [0, 1, 2], default: 0, describe: 'Quality of service' })
      .option('retain', { alias: 'r', type: 'boolean', default: false, describe: 'Ask the broker to retain the message' })
      .example('$0 pub heizung 21.5 -q 2 -r', "Publish '21.5' to 'heizung' at QoS 2, retained"),
  handler: async () => {
    // Lazy: the client stack (MQTT.js) loads only when this command runs.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('pub');
  },
};

export default pub;
