/**
 * The quick parser of `mqt broker`: a plain command line straight to the broker's options,
 * without yargs. yargs lays out the command's help text even when it only runs the command,
 * and a broker runs for weeks holding what that cost (`npm run bench:memory`).
 *
 * It takes only the forms people type to start a broker: `broker`, then `--name value`,
 * `--name=value`, `-p value`, `-c value` and the switches (`--verbose`/`-v`, `--json`,
 * `--check`, `--require-certificate`, `--use-identity-as-username`, `--debug`/`-d`, the last
 * also before `broker`), each at most once (list options such as --allow-from as often as
 * wanted; -v too, counted, also as `-vv`) and with a valid value. For anything else (help,
 * version, a typo, a value out of range, a repeated or unusual form) it answers undefined, and
 * the whole CLI parses the line with yargs, which prints the help or the usage error.
 * test/cli/broker-argv.test.ts checks that each line it takes means the same to yargs.
 */
import { BROKER_OPTIONS, checkFlags, listValues, noFlags, parseValue, runOptions, type BrokerArgs, type BrokerOption, type BrokerOptionName } from './broker-options.js';
import type { BrokerRunOptions } from './broker-run.js';

/** Every spelling the quick parser knows, to its option ('debug' is the CLI's own global switch). */
const NAMES = new Map<string, BrokerOptionName | 'debug'>([
  ['--debug', 'debug'],
  ['-d', 'debug'],
]);
for (const [name, o] of Object.entries(BROKER_OPTIONS) as Array<[BrokerOptionName, BrokerOption]>) {
  NAMES.set(`--${name}`, name);
  if (o.alias !== undefined) NAMES.set(`-${o.alias}`, name);
}

/** The broker's options for `argv` (the words after `mqt`), or undefined when yargs should parse it. */
export function quickBrokerArgs(argv: readonly string[]): BrokerRunOptions | undefined {
  const args: BrokerArgs = { ...noFlags(), debug: false };
  const set = args as unknown as Record<string, unknown>;
  const seen = new Set<string>();
  let i = 0;
  while (argv[i] === '--debug' || argv[i] === '-d') {
    if (seen.has('debug')) return undefined;
    seen.add('debug');
    args.debug = true;
    i++;
  }
  if (argv[i] !== 'broker') return undefined;
  for (i++; i < argv.length; i++) {
    const word = argv[i]!;
    // `-vv`: -v twice (a counted switch), as yargs reads it.
    if (/^-vv+$/.test(word)) {
      set.verbose = (set.verbose as number) + word.length - 1;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = NAMES.get(eq > 2 ? word.slice(0, eq) : word);
    if (name === undefined) return undefined;
    const kind = name === 'debug' ? 'switch' : BROKER_OPTIONS[name].kind;
    if (kind === 'switch') {
      // `--verbose=true` and a repeated switch are yargs' to judge; -v counts (-v -v: 2).
      if (eq > 2) return undefined;
      if (name === 'verbose') {
        set.verbose = (set.verbose as number) + 1;
        continue;
      }
      if (seen.has(name)) return undefined;
      seen.add(name);
      set[name] = true;
      continue;
    }
    const option = name as BrokerOptionName;
    const value = eq > 2 ? word.slice(eq + 1) : argv[++i];
    // A value that looks like a flag is yargs' to judge ("not enough arguments").
    if (value === undefined || value.startsWith('-')) return undefined;
    try {
      if (kind === 'list') {
        set[option] = [...((set[option] as string[] | undefined) ?? []), ...listValues(option, value)];
        continue;
      }
      if (seen.has(option)) return undefined;
      seen.add(option);
      set[option] = parseValue(option, value);
    } catch {
      return undefined; // yargs words the usage error
    }
  }
  try {
    checkFlags(args);
  } catch {
    return undefined;
  }
  return runOptions(args);
}
