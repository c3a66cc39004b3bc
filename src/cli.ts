import { readFileSync } from 'node:fs';
import yargs, { type Argv, type CommandBuilder, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import bench from './commands/bench.js';
import broker from './commands/broker.js';
import { BROKER_SUBCOMMANDS } from './commands/broker-admin.js';
import { DEBUG_OPTION } from './commands/client-argv.js';
import { completionCommand, specFromYargs } from './commands/completion/index.js';
import { UsageError } from './commands/errors.js';
import lwtTest from './commands/lwt-test.js';
import passwd from './commands/passwd.js';
import pub from './commands/pub.js';
import retainClear from './commands/retain-clear.js';
import sub from './commands/sub.js';
import { inOurWords } from './commands/usage-text.js';
import { exitWithError } from './exit.js';

export { describeError } from './exit.js';

/** A command's name: the first word of its yargs `command` string (`'pub <topic> [message]'` → `pub`). */
function commandName(module: { command?: string | readonly string[] | undefined }): string {
  const spec = typeof module.command === 'string' ? module.command : module.command?.[0];
  const name = spec?.split(' ')[0];
  if (!name) throw new Error('a command module has no command string');
  return name;
}

/**
 * `mqt completion`: reads the whole CLI (a fresh buildCli) to write its script. Made once here
 * and passed buildCli, as the command cannot import this module back.
 */
const completion = completionCommand(() => buildCli([]));

/** Subcommand names, in the order `mqt --help` lists them. */
export const COMMAND_NAMES: readonly string[] = [broker, pub, sub, bench, retainClear, lwtTest, passwd, completion].map(commandName);

const HELP_WIDTH = 100;

/**
 * The version comes from the package.json that ships beside dist/ (and src/ in tests),
 * read at run time so a release bump needs no code change.
 */
function readVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error("package.json has no 'version'");
  return version;
}

/** The first word that is not a flag: the command the user meant to type. */
function firstWord(argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Turns yargs' complaint into our UsageError. `command` is the subcommand yargs entered
 * (undefined at the top level). At the top level, yargs' `.recommendCommands()` reports
 * "Did you mean pub?" and strict mode "Unknown argument: pbu"; both become
 * "unknown command 'pbu'", keeping the suggestion when there is one.
 */
function usageError(message: string, command: string | undefined, argv: readonly string[]): UsageError {
  if (command === undefined) {
    const suggestion = /^Did you mean (.+)\?$/.exec(message)?.[1];
    const word = firstWord(argv);
    if (word !== undefined && (suggestion !== undefined || message.startsWith('Unknown argument'))) {
      return new UsageError(`unknown command '${word}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`);
    }
  }
  const path = subcommandOf(command, argv);
  // The spec (every command's flags, as completion reads them) is built only now, for the wording.
  const context = { path: path === undefined ? [] : path.split(' '), argv, spec: () => specFromYargs(buildCli([])) };
  return new UsageError(inOurWords(message, context), path);
}

/** `broker clients` for `mqt broker clients --bogus`: the word after `broker`, when it is one of its subcommands. */
function subcommandOf(command: string | undefined, argv: readonly string[]): string | undefined {
  if (command !== 'broker') return command;
  const next = argv[argv.indexOf('broker') + 1];
  return next !== undefined && BROKER_SUBCOMMANDS.includes(next) ? `broker ${next}` : command;
}

/**
 * Records which subcommand yargs entered: yargs runs a command's builder only for the
 * command it dispatches to, before validating its options, so the name is known by the
 * time .fail() needs it for the `mqt <command>:` prefix and the help hint.
 */
function tracked<U>(module: CommandModule<object, U>, onEnter: (name: string) => void): CommandModule<object, U> {
  const name = commandName(module);
  const { builder } = module;
  if (typeof builder !== 'function') throw new Error(`command ${name}: the builder must be a function`);
  return {
    ...module,
    // The union cast only re-states the builder's own type, which TS cannot carry through the wrapper.
    builder: ((yargs: Argv) => {
      onEnter(name);
      return builder(yargs);
    }) as CommandBuilder<object, U>,
  };
}

/**
 * Builds the whole command line parser without running it. Nothing here exits the
 * process: parse errors and handler errors reject `parseAsync()` (see main()).
 */
export function buildCli(argv: string[]): Argv {
  let entered: string | undefined;
  const enter = (name: string): void => {
    entered = name;
  };
  return yargs(argv)
    .scriptName('mqt')
    .usage('$0 <command> [options]\n\nOne MQTT toolkit: a broker, pub, sub, a benchmark, retained-message cleanup and Will checks.')
    .locale('en') // messages are matched below and in tests; keep them out of the user's locale
    .command(tracked(broker, enter))
    .command(tracked(pub, enter))
    .command(tracked(sub, enter))
    .command(tracked(bench, enter))
    .command(tracked(retainClear, enter))
    .command(tracked(lwtTest, enter))
    .command(tracked(passwd, enter))
    .command(tracked(completion, enter))
    // One definition with the quick parser of pub and sub (bin/mqt.js tries it first).
    .option('debug', DEBUG_OPTION)
    // Help is --help only: -h is the host in the client subcommands (mosquitto's flag).
    .help('help', 'Show help')
    // No -v alias: -v is verbose in the client subcommands.
    .version('version', 'Show the version number', readVersion())
    .demandCommand(1, `Missing command: choose one of ${COMMAND_NAMES.join(', ')}`)
    .recommendCommands()
    .strict()
    .wrap(Math.min(HELP_WIDTH, process.stdout.columns ?? HELP_WIDTH))
    .exitProcess(false)
    .example('$0 broker -v', 'Run a broker on 127.0.0.1:1883, logging who connects')
    .example("$0 sub -v 'eg/#' & $0 pub eg/hello world", 'Subscribe in the background, then publish to it')
    .example('$0 bench', 'Measure the built-in broker')
    .epilogue("Run 'mqt <command> --help' for the options of a command.")
    .fail((message: string | null | undefined, err: Error | undefined) => {
      // Validation failures come as a message; errors thrown by handlers come as err
      // (and also reject parseAsync, which is where main() sees them).
      if (message) throw usageError(message, entered, argv);
      throw err ?? new UsageError('invalid command line');
    });
}

/**
 * The program: parse, run the chosen command, and on failure print one line and exit
 * with its code (src/exit.ts). On success it returns and lets the event loop drain, so a
 * command's pending output is never cut off.
 */
export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    exitWithError(err, argv);
  }
}
