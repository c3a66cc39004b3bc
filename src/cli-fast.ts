/**
 * `mqt pub` and `mqt sub` without yargs (dist/cli-client.bundle.cjs): bin/mqt.js runs this first
 * when the command word is `pub` or `sub`. A plain command line (commands/client-argv.ts, read
 * from the commands' own option tables) goes straight to the command's handler; any other answers
 * false, and the launcher hands it to the whole CLI (src/cli.ts), so help, version and every usage
 * error are yargs', word for word. The bundle holds neither yargs nor the other commands: a
 * one-shot `mqt pub` reads and compiles half as much.
 */
import { QUICK_COMMANDS, quickClientArgs } from './commands/client-argv.js';
import { exitWithError } from './exit.js';

/** Runs `mqt pub`/`mqt sub` for `argv` (the words after `mqt`); false when yargs should parse the line. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<boolean> {
  let quick: ReturnType<typeof quickClientArgs>;
  try {
    quick = quickClientArgs(argv);
  } catch {
    return false; // a fault of the quick parser must never cost the command: yargs reads the line
  }
  if (quick === undefined) return false;
  try {
    // The command's own handler, as yargs would call it: it loads the command's run module.
    await QUICK_COMMANDS[quick.command]!.handler(quick.args as never);
  } catch (err) {
    exitWithError(err, argv);
  }
  return true;
}
