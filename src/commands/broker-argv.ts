/**
 * The quick parser of `mqt broker`: a plain command line straight to the broker's options,
 * without yargs. yargs lays out the command's help text even when it only runs the command,
 * and a broker runs for weeks holding what that cost (`npm run bench:memory`).
 *
 * It takes only the forms people type to start a broker: `broker`, then `--name value`,
 * `--name=value`, `-p value` and the switches `--verbose`/`-v`, `--json` and `--debug`/`-d`
 * (the last also before `broker`), each at most once and with a valid value. For anything
 * else (help, version, a typo, a value out of range, a repeated or unusual form) it answers
 * undefined, and the whole CLI parses the line with yargs, which prints the help or the usage
 * error. test/cli/broker-argv.test.ts checks that each line it takes means the same to yargs.
 */
import { ALIASES, DEFAULT_HOST, DEFAULT_PORT, INTEGER_OPTIONS, checkPorts, host, integer, runOptions, type BrokerArgs, type IntegerOption } from './broker-options.js';
import type { BrokerRunOptions } from './broker-run.js';

type Switch = 'verbose' | 'json' | 'debug';

const SWITCHES = new Map<string, Switch>([
  ['--verbose', 'verbose'],
  [`-${ALIASES.verbose}`, 'verbose'],
  ['--json', 'json'],
  ['--debug', 'debug'],
  ['-d', 'debug'],
]);

const VALUED = new Map<string, IntegerOption | 'host'>([
  ['--host', 'host'],
  [`-${ALIASES.port}`, 'port'],
  ...Object.keys(INTEGER_OPTIONS).map((name) => [`--${name}`, name as IntegerOption] as const),
]);

/** The broker's options for `argv` (the words after `mqt`), or undefined when yargs should parse it. */
export function quickBrokerArgs(argv: readonly string[]): BrokerRunOptions | undefined {
  const args: BrokerArgs = {
    port: DEFAULT_PORT,
    host: DEFAULT_HOST,
    'ws-port': undefined,
    'max-inflight': undefined,
    'max-queued': undefined,
    'max-packet-size': undefined,
    'max-keepalive': undefined,
    verbose: false,
    json: false,
    debug: false,
  };
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
    const flag = SWITCHES.get(word);
    if (flag !== undefined) {
      if (seen.has(flag)) return undefined;
      seen.add(flag);
      args[flag] = true;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 2 ? word.slice(0, eq) : word;
    const value = eq > 2 ? word.slice(eq + 1) : argv[++i];
    const option = VALUED.get(name);
    // A value that looks like a flag is yargs' to judge ("not enough arguments").
    if (option === undefined || value === undefined || value.startsWith('-') || seen.has(option)) return undefined;
    seen.add(option);
    try {
      if (option === 'host') args.host = host(value);
      else args[option] = integer(option)(value);
    } catch {
      return undefined; // yargs words the usage error
    }
  }
  try {
    checkPorts(args.port, args['ws-port']);
  } catch {
    return undefined;
  }
  return runOptions(args);
}
