/**
 * The command line as yargs itself holds it, read from the built CLI (dist/cli.js): for each
 * command, the options yargs parses with, grouped under the headings `--help` shows, their
 * aliases, values, choices and defaults, and the command's subcommands. scripts/build-man.mjs
 * writes the OPTIONS sections from it and test/cli/man-pages.test.ts checks the pages with it,
 * so a flag added to any command (or to a shared group in src/commands/options/) is on its page
 * at the next build with no edit here.
 *
 * How: the real parser from buildCli(), given `<command> [subcommand] [placeholders]`, with one
 * global middleware. yargs runs a command's builder (the real one, the same the user gets) and
 * then the middleware, before validation and before any handler; the middleware copies what
 * the yargs instance then holds and throws, so nothing runs. getOptions() and getGroups() are
 * yargs' API; the descriptions and subcommands are read through getInternalMethods(), which
 * yargs exposes to its own helpers (checked: a missing piece is an error, not an empty page).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const STOP = Symbol('man-cli: stop before the handler');
const YARGS_STRING = '__yargsString__:';
const POSITIONALS = 'Positionals:';
const DEFAULT_GROUP = 'Options:';

/**
 * @typedef {object} OptionSpec
 * @property {string} key            the name yargs stores it under (`topic`, `N`, `H`)
 * @property {string[]} aliases      its other names (`t`)
 * @property {string} describe
 * @property {'none'|'required'|'optional'} value  whether it takes a value
 * @property {string[]|undefined} choices
 * @property {string|undefined} defaultText  as --help shows it ("[default: …]")
 * @property {boolean} negatable     a boolean whose help mentions --no-<key>
 *
 * @typedef {object} GroupSpec
 * @property {string} heading        without the colon: 'Connection', 'Options'
 * @property {OptionSpec[]} options
 *
 * @typedef {object} CommandSpec
 * @property {string[]} path         [] for mqt itself, ['broker', 'kick'] for a subcommand
 * @property {string} usage          the yargs command string ('pub [TOPIC] [MESSAGE]')
 * @property {string} describe
 * @property {{ key: string, describe: string }[]} positionals
 * @property {GroupSpec[]} groups    in --help order; positionals excluded
 * @property {string[]} subcommands  names, in order
 */

/** Every option name a user can type for a spec, with its dashes: `-t`, `--topic`, `--no-color`. */
export function flagsOf(option) {
  const names = [option.key, ...option.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
  if (option.negatable) names.push(`--no-${option.key}`);
  return names;
}

/** Reads the whole built CLI (dist/cli.js under root): mqt itself, each command, and each subcommand. */
export async function readCli(root) {
  const { buildCli } = await import(pathToFileURL(join(root, 'dist', 'cli.js')).href);
  return inspectCli(buildCli);
}

/** The same for any `buildCli(argv) → yargs` (a test gives it a made-up command). */
export async function inspectCli(buildCli) {
  const top = await inspect(buildCli, []);
  /** @type {CommandSpec[]} */
  const commands = [];
  const walk = async (spec) => {
    for (const [name, original] of spec.subcommandStrings) {
      const path = [...spec.path, name];
      // Required positionals (`kick <id>`) get a placeholder, or yargs would stop at "not enough arguments".
      const placeholders = [...original.matchAll(/<[^>]+>/g)].map(() => 'x');
      const child = await inspect(buildCli, [...path, ...placeholders], path, original);
      child.describe = spec.descriptionsOfSubcommands[name];
      commands.push(child);
      await walk(child);
    }
  };
  await walk(top);
  return { top: strip(top), commands: commands.map(strip) };
}

function strip({ subcommandStrings: _s, descriptionsOfSubcommands: _d, ...spec }) {
  return spec;
}

async function inspect(buildCli, argv, path = [], original = '') {
  let captured;
  const cli = buildCli(argv).middleware((_argv, y) => {
    captured = snapshot(y);
    throw STOP;
  }, true);
  try {
    await cli.parseAsync();
  } catch (err) {
    if (captured === undefined) throw new Error(`man-cli: 'mqt ${argv.join(' ')}' did not reach its builder: ${err?.message ?? err}`);
  }
  if (captured === undefined) throw new Error(`man-cli: 'mqt ${argv.join(' ')}' ran without the middleware`);
  return { path, usage: original, ...captured };
}

/** What one yargs instance holds after a builder ran: the pieces --help is made of. */
function snapshot(y) {
  const internal = y.getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  const commandInstance = internal?.getCommandInstance?.();
  if (usage?.getDescriptions === undefined || commandInstance?.getCommandHandlers === undefined) throw new Error('man-cli: this yargs has no getDescriptions/getCommandHandlers');
  const o = y.getOptions();
  const descriptions = usage.getDescriptions();
  const text = (key) => String(descriptions[key] ?? '').replace(YARGS_STRING, '');
  const hidden = new Set(o.hiddenOptions);
  // A key that is another key's alias is shown with that key, as --help does.
  const aliasOf = new Set(Object.values(o.alias).flat());
  const groups = y.getGroups();
  const grouped = new Set(Object.values(groups).flat());
  const positionalKeys = groups[POSITIONALS] ?? [];
  const option = (key) => {
    const isBoolean = o.boolean.includes(key) || o.count.includes(key);
    // requiresArg is stored as narg NaN.
    const requiresValue = key in o.narg || o.choices[key] !== undefined || o.number.includes(key) || !o.string.includes(key);
    const describe = text(key);
    return {
      key,
      aliases: o.alias[key] ?? [],
      describe,
      value: isBoolean ? 'none' : requiresValue ? 'required' : 'optional',
      choices: o.choices[key],
      defaultText: defaultText(o.default[key], o.defaultDescription[key]),
      negatable: isBoolean && describe.includes(`--no-${key}`),
    };
  };
  const shown = (key) => !hidden.has(key) && !aliasOf.has(key);
  const ordered = Object.entries(groups).filter(([heading]) => heading !== POSITIONALS);
  const ungrouped = [...new Set([...Object.keys(descriptions), ...Object.keys(o.default)])].filter((k) => !grouped.has(k) && k !== '_' && !positionalKeys.includes(k));
  ordered.push([DEFAULT_GROUP, ungrouped]);
  const handlers = commandInstance.getCommandHandlers();
  return {
    describe: '',
    positionals: positionalKeys.map((key) => ({ key, describe: text(key) })),
    groups: ordered
      .map(([heading, keys]) => ({ heading: heading.replace(/:$/, ''), options: keys.filter(shown).map(option) }))
      .filter((g) => g.options.length > 0),
    subcommands: Object.keys(handlers),
    subcommandStrings: Object.entries(handlers).map(([name, h]) => [name, h.original]),
    descriptionsOfSubcommands: Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, String(h.description ?? '')])),
  };
}

/** yargs' own "[default: …]" text: the defaultDescription, else the value (none for false, [] and undefined). */
function defaultText(value, description) {
  if (description !== undefined && description !== '') return String(description);
  if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
