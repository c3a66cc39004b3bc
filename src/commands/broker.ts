import type { Argv, CommandModule, Options } from 'yargs';
import { clients, kick } from './broker-admin.js';
import { BROKER_OPTIONS, checkFlags, coerceFor, runOptions, type BrokerArgs, type BrokerOption, type BrokerOptionName } from './broker-options.js';

export type { BrokerArgs } from './broker-options.js';

/** The yargs form of one row of the option table. */
function yargsOption(name: BrokerOptionName, o: BrokerOption): Options {
  // Not global: `mqt broker clients` and `kick` (subcommands) have options of their own.
  const base: Options = { group: o.group, describe: o.describe, global: false };
  if (o.alias !== undefined) base.alias = o.alias;
  if (o.defaultDescription !== undefined) base.defaultDescription = o.defaultDescription;
  if (o.choices !== undefined) base.choices = [...o.choices];
  // A counted switch (-v -v, -vv) is yargs' 'count', as the quick parser counts it.
  if (o.kind === 'switch') return { ...base, type: o.counted === true ? 'count' : 'boolean' };
  // No `type: 'number'`: yargs would turn 'abc' into NaN before the coerce could quote it.
  // A list is a string given again and again (yargs makes the array), never greedy `type: 'array'`.
  return { ...base, type: 'string', requiresArg: true, coerce: coerceFor(name) };
}

const broker: CommandModule<object, BrokerArgs> = {
  command: 'broker',
  describe: 'Run an MQTT 3.1/3.1.1/5.0 broker in the foreground, like mosquitto',
  builder: (yargs: Argv) => {
    let y = yargs;
    for (const [name, o] of Object.entries(BROKER_OPTIONS) as Array<[BrokerOptionName, BrokerOption]>) y = y.option(name, yargsOption(name, o));
    // The admin API's command-line face: `mqt broker clients`, `mqt broker kick ID` (broker-admin.ts).
    y = y.command(clients).command(kick);
    return (y as unknown as Argv<BrokerArgs>)
      .check((argv) => {
        checkFlags(argv);
        return true;
      }, false) // the broker's own: not the subcommands'
      .example('$0 broker --port 1883', 'Listen for MQTT on port 1883')
      .example('$0 broker -c /etc/mosquitto/mosquitto.conf', 'Run with the listeners, users and ACLs of a mosquitto configuration')
      .example('$0 broker --host 0.0.0.0 --tls-port 8883 --cert server.crt --key server.key --password-file passwd', 'TLS only, for users in a mosquitto_passwd file')
      .example('$0 broker -p 1883 --ws-port 9001 -v', 'Also serve WebSocket clients, and log who connects and subscribes')
      .example('$0 broker --http-port 8080 --admin-token-file token', 'Also serve /metrics, the admin API (/api/v1/) and the web dashboard on http://127.0.0.1:8080/');
  },
  handler: async (argv) => {
    // Lazy: the broker core loads only when this command runs, so `mqt --help` stays fast.
    const { runBroker } = await import('./broker-run.js');
    await runBroker(runOptions(argv));
  },
};

export default broker;
