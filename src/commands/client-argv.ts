/**
 * The quick parser of `mqt pub` and `mqt sub`: a plain command line straight to the argv their
 * handler reads, without yargs. `mqt pub` runs once per message, often in a shell loop, and yargs
 * costs it a third of its start-up (building ~70 options, parsing, laying out help it never shows).
 *
 * There is no second definition of the flags here: the command's own yargs builder is run
 * against a recorder, which collects the option tables and positionals it declares (the same
 * objects yargs is given). From them this takes only the forms it can read exactly as yargs does:
 * `--name value`, `--name=value`, `-x value` for string options, `--name` / `-x` for switches,
 * positionals that are not flags, and `--debug`/`-d` (also before the command word). For anything
 * else it answers undefined and the whole CLI parses the line with yargs, which words every help
 * text and usage error: help and version, unknown or camel-cased flags, `--no-…`, grouped short
 * flags, `--`, a value that starts with '-', a switch followed by `true`/`false`, a repeated
 * switch, an option with `array`/`choices`/`nargs` or any other yargs feature, a coercer that
 * throws, too many positionals, and a builder that calls anything beyond options, positionals,
 * groups and examples. test/cli/fast-path.test.ts checks each line it takes against yargs, and
 * every flag of the tables in each spelling. What src/cli.ts sets for all commands (the global
 * --debug, below; a parserConfiguration or middleware, if one is ever added) is not seen by the
 * recorder: it must be mirrored here, and that test fails until it is.
 */
import type { CommandModule, Options, PositionalOptions } from 'yargs';
import pub from './pub.js';
import sub from './sub.js';

/** The CLI's global switch (src/cli.ts adds it with `.option('debug', DEBUG_OPTION)`). */
export const DEBUG_OPTION = {
  alias: 'd',
  type: 'boolean',
  global: true,
  describe: 'Show a stack trace when an unexpected error happens',
} as const satisfies Options;

/** The commands the quick parser takes, by their command word. */
export const QUICK_COMMANDS: Readonly<Record<string, CommandModule<object, never>>> = {
  pub: pub as unknown as CommandModule<object, never>,
  sub: sub as unknown as CommandModule<object, never>,
};

/** Option keys the quick parser understands; an option with any other key is read by yargs alone. */
const PLAIN_KEYS = new Set(['alias', 'type', 'requiresArg', 'coerce', 'describe', 'description', 'desc', 'defaultDescription', 'hidden', 'default', 'global']);

export interface Positional {
  name: string;
  variadic: boolean;
  default: unknown;
}

/** What a builder declared: options by name, positionals in order; undefined when it used more than that. */
export interface Declared {
  options: Map<string, Options>;
  positionals: Positional[];
}

/**
 * Runs a command's builder against a stand-in for yargs that records what it declares (with the
 * global --debug); undefined when the builder asks for more than options, positionals and help text.
 */
export function declared(module: CommandModule<object, never>): Declared | undefined {
  const spec = typeof module.command === 'string' ? module.command : undefined;
  if (spec === undefined || typeof module.builder !== 'function') return undefined;
  const options = new Map<string, Options>([['debug', DEBUG_OPTION]]);
  const positionalOptions = new Map<string, PositionalOptions>();
  let unusual = false;
  const recorder: object = new Proxy(
    {},
    {
      get(_target, method) {
        switch (method) {
          case 'option':
            return (name: string, o: Options) => (options.set(name, o), recorder);
          case 'options':
            return (table: Record<string, Options>) => {
              for (const [name, o] of Object.entries(table)) options.set(name, o);
              return recorder;
            };
          case 'positional':
            return (name: string, o: PositionalOptions) => (positionalOptions.set(name, o), recorder);
          case 'group':
          case 'example':
          case 'usage':
          case 'epilogue':
            return () => recorder; // help text only
          case 'getInternalMethods': // yargs internals options/index.ts reaches for help caching, guarded there
          case 'then':
            return undefined;
          default:
            unusual = true; // .check(), .conflicts(), .middleware()…: yargs' to apply
            return () => recorder;
        }
      },
    },
  );
  try {
    module.builder(recorder as never);
  } catch {
    return undefined;
  }
  if (unusual) return undefined;
  // `pub [TOPIC] [MESSAGE]`, `sub [filters..]`: optional positionals only, a variadic one last.
  const positionals: Positional[] = [];
  for (const word of spec.split(' ').slice(1)) {
    const m = /^\[(\w+)(\.\.)?\]$/.exec(word);
    if (m === null || positionals.at(-1)?.variadic) return undefined;
    const o = positionalOptions.get(m[1]!) ?? {};
    // Anything but the type, the array of a variadic one, a default and help text is yargs' alone.
    const { type, array, default: dflt, describe: _help, ...rest } = o;
    if (type !== 'string' || Object.keys(rest).length > 0 || (array === true) !== (m[2] !== undefined)) return undefined;
    positionals.push({ name: m[1]!, variadic: m[2] !== undefined, default: dflt });
  }
  for (const name of positionalOptions.keys()) if (!positionals.some((p) => p.name === name)) return undefined;
  return { options, positionals };
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const aliasesOf = (o: Options): string[] => (o.alias === undefined ? [] : Array.isArray(o.alias) ? (o.alias as string[]) : [o.alias as string]);

/** Every key yargs sets for an option: its name, its aliases and the camel-case of each. */
function keysOf(name: string, o: Options): string[] {
  const keys = new Set<string>();
  for (const k of [name, ...aliasesOf(o)]) {
    keys.add(k);
    if (k.includes('-')) keys.add(camel(k));
  }
  return [...keys];
}

/**
 * The argv yargs would hand `mqt <command>`'s handler for `argv` (the words after `mqt`), or
 * undefined when yargs should parse the line. The answer holds each option given (under its name,
 * aliases and their camel-case, as yargs sets them), the defaults, and the positionals; not yargs'
 * `_` and `$0`, which no handler reads.
 */
export function quickClientArgs(argv: readonly string[]): { command: string; args: Record<string, unknown> } | undefined {
  let i = 0;
  let debugBefore = 0;
  while (argv[i] === '--debug' || argv[i] === '-d') {
    debugBefore++;
    i++;
  }
  const command = argv[i];
  if (command === undefined || !Object.hasOwn(QUICK_COMMANDS, command)) return undefined;
  const decl = declared(QUICK_COMMANDS[command]!);
  if (decl === undefined) return undefined;

  const byFlag = new Map<string, string>();
  for (const [name, o] of decl.options) {
    // A default yargs would also coerce, or set for an option read by yargs alone: not ours to copy.
    if (o.default !== undefined && (o.coerce !== undefined || Object.keys(o).some((k) => !PLAIN_KEYS.has(k)))) return undefined;
    for (const key of [name, ...aliasesOf(o)]) byFlag.set(key.length === 1 ? `-${key}` : `--${key}`, name);
  }
  const given = new Map<string, unknown[]>();
  if (debugBefore > 0) given.set('debug', Array.from({ length: debugBefore }, () => true));
  const words: string[] = [];
  for (i++; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-')) {
      words.push(word);
      continue;
    }
    // `--name=value`, `--name`, `-x`; not `-`, `--`, `-xyz`, `--no-…` (negation is yargs').
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const flag = eq > 2 ? word.slice(0, eq) : word;
    if (!(flag.startsWith('--') ? flag.length > 2 && !flag.startsWith('--no-') : flag.length === 2)) return undefined;
    const name = byFlag.get(flag);
    if (name === undefined) return undefined;
    const o = decl.options.get(name)!;
    if (Object.keys(o).some((k) => !PLAIN_KEYS.has(k))) return undefined;
    const values = given.get(name) ?? [];
    given.set(name, values);
    if (o.type === 'boolean') {
      // `--retain true` and `--retain=false` are yargs' (it reads the word as the switch's value).
      const next = argv[i + 1];
      if (eq > 2 || next === 'true' || next === 'false') return undefined;
      values.push(true);
      continue;
    }
    if (o.type !== 'string') return undefined;
    const value = eq > 2 ? word.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq <= 2 && value.startsWith('-'))) return undefined; // yargs: "needs a value", or a flag
    values.push(value);
  }

  const args: Record<string, unknown> = {};
  const set = (name: string, o: Options, value: unknown): void => {
    for (const key of keysOf(name, o)) args[key] = value;
  };
  for (const [name, o] of decl.options) {
    const values = given.get(name);
    if (values === undefined) {
      if (o.default !== undefined) set(name, o, o.default);
      continue;
    }
    // A repeated switch is yargs' to judge; a repeated string is an array, as yargs makes it.
    if (o.type === 'boolean' && values.length > 1) return undefined;
    let value: unknown = values.length === 1 ? values[0] : values;
    if (o.coerce !== undefined) {
      try {
        value = o.coerce(value);
      } catch {
        return undefined; // yargs words the usage error
      }
    }
    set(name, o, value);
  }
  let w = 0;
  for (const p of decl.positionals) {
    if (p.variadic && w < words.length) {
      args[p.name] = words.slice(w);
      w = words.length;
    } else if (p.variadic && p.default === undefined) {
      return undefined; // what yargs makes of no words without a default is its own
    } else if (!p.variadic && w < words.length) {
      args[p.name] = words[w++];
    } else if (p.default !== undefined) {
      args[p.name] = p.default;
    }
  }
  if (w < words.length) return undefined; // strict: yargs says "Unknown argument"
  return { command, args };
}
