#!/usr/bin/env node
/**
 * Writes man/<page> for every man/src/<page>.in (run by `npm run build`, after tsc): the prose
 * is the template's; each marker line is replaced by what the CLI itself holds (dist/):
 *
 *   @OPTIONS@              the command's options, a .SS per --help group (mqt-<command>.1)
 *   @SUBCOMMAND_OPTIONS@   the options of its subcommands (mqt broker clients, kick) not shown above
 *   @COMMANDS@             mqt(1): every command, its synopsis and description
 *   @COMMON_OPTIONS@       mqt(1): the options every command takes (--debug, --help, --version)
 *   @CONFIG_KEYS@          mqt(1): the keys of ~/.config/mqt/config.json (src/core/client/config.ts)
 *   @EXIT_STATUS@          the rows of src/commands/exit-status.ts for the command (mqt(1): all),
 *                          the broker's reason codes listed from the codec's table
 *   @VERSION@ @DATE@       in the .TH line
 *
 * The options come from the real parser (scripts/lib/man-cli.mjs reads yargs after each
 * command's builder ran), so a flag added to a command or a shared group is on its page at the
 * next build, and test/cli/man-pages.test.ts fails if one is missing. A command without a page
 * fails the build.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readCli } from './lib/man-cli.mjs';
import { commandList, exitStatusSection, optionGroups, roff } from './lib/man-roff.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (file) => import(pathToFileURL(join(root, 'dist', file)).href);

/** Headings of --help as the pages call them (under .SH OPTIONS, a bare "Options" says nothing). */
const RENAME = { Options: 'General options' };

/** The pages to write, as build-man makes them: every template, by file name. */
export function templates() {
  return readdirSync(join(root, 'man', 'src')).filter((f) => f.endsWith('.in')).map((f) => f.slice(0, -3)).sort();
}

/** The command a page documents: mqt-retain-clear.1 → ['retain-clear']; mqt.1 → []; mqt-topics.7 → undefined. */
function commandOfPage(page, cli) {
  const m = /^mqt(?:-(.+))?\.1$/.exec(page);
  if (m === null) return undefined;
  if (m[1] === undefined) return cli.top;
  return cli.commands.find((c) => c.path.join('-') === m[1]);
}

export async function buildPages() {
  const cli = await readCli(root);
  const { EXIT_STATUSES, EXIT_COMMANDS } = await load('commands/exit-status.js');
  const codec = await load('core/codec/constants.js');
  const { CONFIG_KEYS: configKeys } = await load('core/client/config.js');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const pages = templates();
  const topLevel = cli.commands.filter((c) => c.path.length === 1);
  for (const c of topLevel) {
    if (!pages.includes(`mqt-${c.path[0]}.1`)) throw new Error(`mqt ${c.path[0]} has no man page: write man/src/mqt-${c.path[0]}.1.in`);
  }
  const common = new Set(cli.top.groups.flatMap((g) => g.options.map((o) => o.key)));
  const out = {};
  for (const page of pages) {
    const command = commandOfPage(page, cli);
    if (page.endsWith('.1') && command === undefined) throw new Error(`man/src/${page}.in: no command ${page} documents`);
    const name = command?.path[0];
    const subcommands = command === undefined ? [] : cli.commands.filter((c) => c.path.length === command.path.length + 1 && c.path.slice(0, -1).join() === command.path.join());
    const makers = {
      '@OPTIONS@': () => optionGroups(command.groups, { rename: RENAME }),
      '@SUBCOMMAND_OPTIONS@': () => subcommandOptions(subcommands, common),
      '@COMMANDS@': () => commandList(topLevel),
      '@COMMON_OPTIONS@': () => optionGroups(cli.top.groups, { rename: { Options: 'Options of every command' } }),
      '@EXIT_STATUS@': () => {
        if (name !== undefined && !EXIT_COMMANDS.includes(name)) throw new Error(`mqt ${name} is not in src/commands/exit-status.ts: add it to the rows it exits with`);
        return exitStatusSection(EXIT_STATUSES, codec, name, EXIT_COMMANDS);
      },
      '@CONFIG_KEYS@': () => configKeys.map((k, i) => `.BR ${roff(k)} ${i === configKeys.length - 1 ? '.' : ','}`).join('\n'),
    };
    let text = readFileSync(join(root, 'man', 'src', `${page}.in`), 'utf8');
    for (const [marker, make] of Object.entries(makers)) {
      if (!text.includes(`\n${marker}\n`)) continue;
      if (command === undefined && marker !== '@COMMANDS@') throw new Error(`man/src/${page}.in: ${marker} on a page of no command`);
      text = text.replace(`\n${marker}\n`, `\n${make()}\n`);
    }
    const left = /^@[A-Z_]+@$/m.exec(text);
    if (left !== null) throw new Error(`man/src/${page}.in: unknown marker ${left[0]}`);
    // The date of the release, not of the build: pages built from one version read the same.
    out[page] = text.replace('@DATE@', '').replace('@VERSION@', version);
  }
  return out;
}

/**
 * The options of the subcommands (mqt broker clients, kick) that the page has not shown
 * already, a .SS per group with the subcommands that take it: "Credentials (clients, kick)".
 */
function subcommandOptions(subcommands, common) {
  const groups = new Map();
  for (const sub of subcommands) {
    for (const g of sub.groups) {
      const options = g.options.filter((o) => !common.has(o.key));
      if (options.length === 0) continue;
      const entry = groups.get(g.heading) ?? { heading: g.heading, options: [], keys: new Set(), who: [] };
      for (const o of options) {
        if (entry.keys.has(o.key)) continue;
        entry.keys.add(o.key);
        entry.options.push(o);
      }
      entry.who.push(sub.path.at(-1));
      groups.set(g.heading, entry);
    }
  }
  return [...groups.values()].map((g) => optionGroups([g], { suffix: ` (${g.who.join(', ')})` })).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pages = await buildPages();
  mkdirSync(join(root, 'man'), { recursive: true });
  for (const [page, text] of Object.entries(pages)) writeFileSync(join(root, 'man', page), text);
}
