/**
 * The completion spec read out of the CLI's own yargs definitions: the command tree yargs
 * holds, and for each command the options its builder declares (run on a throwaway yargs
 * instance, as yargs itself does when it enters the command). So a flag, a subcommand or a
 * `choices` list added to any builder completes with no edit here; values that only a coerce
 * knows come from values.ts.
 *
 * This reaches into yargs' internal methods (getCommandInstance, getUsageInstance), as
 * options/index.ts does; test/cli/completion.test.ts fails if they stop answering.
 */
import yargs, { type Argv } from 'yargs';
import { dashed, shortDescription, type CommandSpec, type FlagSpec, type ValueSpec } from './spec.js';
import { valueFor } from './values.js';

interface Positional {
  cmd: string[];
  variadic: boolean;
}

interface CommandHandler {
  original: string;
  description: string | false | undefined;
  builder: unknown;
  demanded: Positional[];
  optional: Positional[];
}

interface YargsOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  count: string[];
  choices: Record<string, unknown[]>;
  hiddenOptions: string[];
  narg: Record<string, number>;
}

interface Internals {
  getOptions(): YargsOptions;
  getInternalMethods(): {
    getCommandInstance(): { getCommandHandlers(): Record<string, CommandHandler> };
    getUsageInstance(): { getDescriptions(): Record<string, string | undefined> };
  };
}

/** yargs' own options table (not in its type definitions). */
function optionsOf(y: Argv): YargsOptions {
  return (y as unknown as Internals).getOptions();
}

function internals(y: Argv): ReturnType<Internals['getInternalMethods']> {
  const methods = (y as unknown as Partial<Internals>).getInternalMethods?.();
  if (methods === undefined) throw new Error('this version of yargs hides the definitions completion reads');
  return methods;
}

/** The parts of a command that yargs' getOptions holds, plus the descriptions its usage keeps. */
function flagsOf(y: Argv, path: string, positionals: ReadonlySet<string>, inherited: readonly FlagSpec[]): FlagSpec[] {
  const options = optionsOf(y);
  const descriptions = internals(y).getUsageInstance().getDescriptions();
  const aliasOf = new Set(Object.values(options.alias).flat());
  const hidden = new Set(options.hiddenOptions);
  const switches = new Set([...options.boolean, ...options.count]);
  const flags: FlagSpec[] = [];
  const taken = new Set(inherited.flatMap((f) => f.names));
  for (const key of Object.keys(options.key)) {
    // yargs' own version flag belongs to `mqt` alone; aliases are spellings of their key.
    // A positional shares its key with a flag of the same name (bench's [scenario] and
    // --scenario); only the flag has requiresArg (yargs' narg).
    const positionalOnly = positionals.has(key) && options.narg[key] === undefined;
    if (aliasOf.has(key) || hidden.has(key) || positionalOnly || (key === 'version' && path !== '')) continue;
    const names = [key, ...(options.alias[key] ?? [])].map(dashed).sort((a, b) => b.length - a.length);
    if (names.some((n) => taken.has(n))) continue;
    const describe = shortDescription(descriptions[key] ?? '');
    const value: ValueSpec | undefined = switches.has(key) ? undefined : valueFor(path, key, options.choices[key]?.map(String));
    flags.push({ names, describe, value });
    // yargs reads --no-X as X = false; offered where the help text says so (--no-color, --no-reconnect).
    if (value === undefined && describe.includes(`--no-${key}`)) flags.push({ names: [`--no-${key}`], describe, value: undefined });
  }
  return [...flags, ...inherited];
}

/** A command's builder run on a fresh yargs, as yargs does when it enters the command. */
function built(handler: CommandHandler): Argv {
  const fresh = yargs([]).locale('en');
  const { builder } = handler;
  if (typeof builder === 'function') return ((builder as (y: Argv) => Argv | undefined)(fresh) ?? fresh) as Argv;
  if (builder !== null && typeof builder === 'object') return fresh.options(builder as Record<string, object>);
  return fresh;
}

function commandSpec(name: string, describe: string, y: Argv, path: string, handler: CommandHandler | undefined, inherited: readonly FlagSpec[]): CommandSpec {
  const positionalList = handler === undefined ? [] : [...handler.demanded, ...handler.optional];
  const positionalNames = new Set(positionalList.flatMap((p) => p.cmd));
  const flags = flagsOf(y, path, positionalNames, inherited);
  const choices = optionsOf(y).choices;
  const positionals = positionalList.map((p) => valueFor(path, p.cmd[0]!, choices[p.cmd[0]!]?.map(String)));
  const handlers = internals(y).getCommandInstance().getCommandHandlers();
  // Flags every command takes (mqt's global --debug and yargs' --help) come from the root down.
  const passedOn = flags.filter((f) => f.names.includes('--help') || f.names.includes('--debug'));
  const subcommands = Object.entries(handlers)
    .filter(([, h]) => h.description !== false) // hidden commands stay hidden
    .map(([sub, h]) => commandSpec(sub, shortDescription(h.description || ''), built(h), path === '' ? sub : `${path} ${sub}`, h, passedOn));
  return {
    name,
    describe,
    usage: handler?.original ?? '',
    flags,
    positionals,
    positionalNames: positionalList.map((p) => p.cmd[0]!),
    variadic: positionalList.at(-1)?.variadic ?? false,
    subcommands,
  };
}

/** The spec of the whole CLI from its root yargs instance (src/cli.ts buildCli). */
export function specFromYargs(root: Argv, name = 'mqt', describe = ''): CommandSpec {
  return commandSpec(name, describe, root, '', undefined, []);
}
