/**
 * `mqt broker` on its own (dist/cli-broker.bundle.cjs): bin/mqt.js runs it when the command
 * word is `broker`, so a broker that runs for weeks holds neither the client commands' code
 * (MQTT.js, inquirer, ora) nor yargs and what yargs built to lay out the help text. It starts
 * the broker from a plain command line (commands/broker-argv.ts) and answers false for any
 * other, which the launcher then hands to the whole CLI (src/cli.ts): help, version and usage
 * errors are yargs', word for word.
 */
import { quickBrokerArgs } from './commands/broker-argv.js';
import { exitWithError } from './exit.js';

/** Runs the broker for `argv` (the words after `mqt`) until it stops; false when yargs should parse the line. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<boolean> {
  const options = quickBrokerArgs(argv);
  if (options === undefined) return false;
  try {
    // Loaded only now: a line handed on to the whole CLI does not pay for the broker twice.
    const { runBroker } = await import('./commands/broker-run.js');
    await runBroker(options);
  } catch (err) {
    exitWithError(err, argv);
  }
  return true;
}
