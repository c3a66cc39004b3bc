/**
 * Every man page, as `npm run build` writes it (scripts/build-man.mjs): each command's page
 * holds every flag yargs parses for it (read from the real CLI in dist/, through
 * scripts/lib/man-cli.mjs, so a flag added anywhere is checked here without an edit), mqt(1)
 * every exit status of src/commands/exit-status.ts and every reason code the clients exit with,
 * the pages on disk are what the generator makes now, package.json ships exactly them, and each
 * renders with man -l and with groff -ww without a warning.
 *
 * Each check is a function that returns what is missing; each is also run on a page with one
 * entry taken out, to show it can fail.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import yargs, { type Argv } from 'yargs';
import { EXIT_COMMANDS, EXIT_STATUSES, exitStatusesOf, type CommandName } from '../../src/commands/exit-status.js';
import { CONNACK_RETURN_CODES_V3, REASON_CODES } from '../../src/core/codec/constants.js';
import { needPeers, peers } from '../helpers/peers.js';

const root = join(import.meta.dirname, '..', '..');
const manDir = join(root, 'man');

interface OptionSpec {
  key: string;
  aliases: string[];
  negatable: boolean;
}
interface CommandSpec {
  path: string[];
  usage: string;
  groups: { heading: string; options: OptionSpec[] }[];
}
interface ManCli {
  readCli(root: string): Promise<{ top: CommandSpec; commands: CommandSpec[] }>;
  inspectCli(buildCli: (argv: string[]) => Argv): Promise<{ top: CommandSpec; commands: CommandSpec[] }>;
  flagsOf(option: OptionSpec): string[];
}
interface ManRoff {
  optionGroups(groups: CommandSpec['groups']): string;
}
interface BuildMan {
  buildPages(): Promise<Record<string, string>>;
  templates(): string[];
}

const script = <T>(path: string): Promise<T> => import(new URL(`../../scripts/${path}`, import.meta.url).href) as Promise<T>;

/** How the pages write a flag: `\fB\-t\fR`, `\fB\-\-no\-color\fR`. */
const markup = (flag: string): string => `\\fB${flag.replace(/-/g, '\\-')}\\fR`;

/** The flags of `command` (every name a user can type) that `page` does not show as a flag. */
function missingFlags(page: string, command: CommandSpec, flagsOf: ManCli['flagsOf']): string[] {
  const flags = command.groups.flatMap((g) => g.options.flatMap(flagsOf));
  return [...new Set(flags)].filter((flag) => !page.includes(markup(flag)));
}

/** The codes of `rows` that `page` has no EXIT STATUS entry for; for the broker's ranges, each code with its name. */
function missingExitCodes(page: string, command: CommandName | undefined): string[] {
  const rows = command === undefined ? EXIT_STATUSES : exitStatusesOf(command);
  const text = page.replace(/\\-/g, '-');
  const missing: string[] = [];
  for (const row of rows) {
    if (typeof row.code === 'number') {
      if (!page.includes(`\n.B ${row.code}\n`)) missing.push(String(row.code));
    } else if (row.code === 'connack-v3') {
      CONNACK_RETURN_CODES_V3.forEach((name, code) => {
        if (code > 0 && !text.includes(`\n${code}\n${name}\n`)) missing.push(`${code} ${name}`);
      });
    } else {
      const packets = command === undefined ? Object.values(row.packets ?? {}).flat() : (row.packets?.[command] ?? []);
      for (const info of REASON_CODES) {
        if (info.code < 0x80 || !info.packets.some((p) => packets.includes(p))) continue;
        const term = `${info.code} (0x${info.code.toString(16).padStart(2, '0')})`;
        // A number several packets share is listed once, under the first name the table gives it.
        if (!text.includes(`\n${term}\n`)) missing.push(term);
      }
    }
  }
  return missing;
}

/** The page with every .TP entry whose tag line mentions `needle` taken out. */
function without(page: string, needle: string): string {
  return page.replace(/\.TP\n([^\n]*)\n/g, (entry, tag: string) => (tag.includes(needle) ? '.TP\nREMOVED\n' : entry));
}

const read = (page: string): string => readFileSync(join(manDir, page), 'utf8');

let cli: Awaited<ReturnType<ManCli['readCli']>>;
let manCli: ManCli;
let flagsOf: ManCli['flagsOf'];
let pageNames: string[];

beforeAll(async () => {
  manCli = await script<ManCli>('lib/man-cli.mjs');
  cli = await manCli.readCli(root);
  flagsOf = manCli.flagsOf;
  pageNames = (await script<BuildMan>('build-man.mjs')).templates();
});

/** The page a command is documented on: its own, or its parent's for a subcommand (mqt broker kick). */
const pageOf = (command: CommandSpec): string => `mqt-${command.path[0]}.1`;

describe('man pages: options', () => {
  it('reads the real CLI: every command, and the flags of a shared group', () => {
    const names = cli.commands.filter((c) => c.path.length === 1).map((c) => c.path[0]);
    expect(names).toEqual(expect.arrayContaining(['broker', 'pub', 'sub', 'bench', 'retain-clear', 'lwt-test', 'passwd']));
    const sub = cli.commands.find((c) => c.path.join(' ') === 'sub')!;
    expect(sub.groups.flatMap((g) => g.options.flatMap(flagsOf))).toEqual(expect.arrayContaining(['-h', '--host', '-N', '--no-color', '--will-topic']));
    expect(cli.commands.map((c) => c.path.join(' '))).toEqual(expect.arrayContaining(['broker clients', 'broker kick']));
  });

  it('every command has a page, and every flag of it (long names, aliases, --no- forms) is on that page', () => {
    for (const command of cli.commands) {
      expect(pageNames, command.path.join(' ')).toContain(pageOf(command));
      expect(missingFlags(read(pageOf(command)), command, flagsOf), `mqt ${command.path.join(' ')}`).toEqual([]);
    }
  });

  it('the options of every command are on mqt(1)', () => {
    expect(missingFlags(read('mqt.1'), cli.top, flagsOf)).toEqual([]);
  });

  it('finds a flag taken out of a page', () => {
    const pub = cli.commands.find((c) => c.path.join(' ') === 'pub')!;
    const page = read('mqt-pub.1');
    expect(missingFlags(without(page, markup('--repeat-delay')), pub, flagsOf)).toEqual(['--repeat-delay']);
    expect(missingFlags(without(page, markup('-q')), pub, flagsOf)).toEqual(['--qos', '-q']);
  });

  it('groups the options as --help does, with a value name for those that take one', () => {
    const page = read('mqt-pub.1');
    const headings = [...page.matchAll(/^\.SS (.+)$/gm)].map((m) => m[1]);
    // pub's own groups first, the shared ones after, the options of every command last (as --help).
    expect(headings.slice(0, 2)).toEqual(['Publish', 'Payload']);
    expect(headings).toEqual(expect.arrayContaining(['MQTT 5 message', 'Connection', 'TLS', 'Will', 'MQTT 5 properties', 'Output']));
    expect(headings.at(-1)).toBe('General options');
    expect(page).toContain(`${markup('-q')}, ${markup('--qos')} \\fIQOS\\fR\n`);
    expect(page).toContain(`${markup('-P')}, ${markup('--password')} [\\fIPASSWORD\\fR]\n`);
    expect(page).toContain(`${markup('--encoding')} \\fIutf8|hex|base64\\fR\n`);
    expect(read('mqt-sub.1')).toContain(`${markup('--color')}, ${markup('--no-color')}\n`);
  });

  it('a flag added to a command is read and written with no edit to the generator', async () => {
    // A made-up CLI, built as src/cli.ts builds the real one: a command whose builder adds a group.
    const buildCli = (argv: string[]): Argv =>
      yargs(argv)
        .command({
          command: 'demo',
          describe: 'A command of a test',
          builder: (y: Argv) => y.options({ 'brand-new': { alias: 'B', type: 'string', requiresArg: true, describe: 'A flag added today' } }).group(['brand-new'], 'Demo:'),
          handler: () => {
            throw new Error('the handler must not run');
          },
        })
        .exitProcess(false);
    const demo = (await manCli.inspectCli(buildCli)).commands.find((c) => c.path.join(' ') === 'demo')!;
    expect(demo.groups.map((g) => g.heading)).toEqual(['Demo', 'Options']);
    const page = (await script<ManRoff>('lib/man-roff.mjs')).optionGroups(demo.groups);
    expect(page).toContain(`.SS Demo\n.TP\n${markup('-B')}, ${markup('--brand-new')} \\fIBRAND_NEW\\fR\nA flag added today.`);
    expect(missingFlags(page, demo, flagsOf)).toEqual([]);
  });

  it('lists every command on mqt(1)', () => {
    const page = read('mqt.1');
    for (const command of cli.commands.filter((c) => c.path.length === 1)) expect(page).toContain(`.BR mqt\\-${command.path.join('-').replace(/-/g, '\\-')} (1).`);
  });
});

describe('man pages: exit status', () => {
  it('mqt(1) has every code of the table, and the broker codes the clients exit with', () => {
    const page = read('mqt.1');
    expect(missingExitCodes(page, undefined)).toEqual([]);
    // The table is not empty of what the commands use (sub's -W, bench's broken guarantee).
    expect(page).toContain('\n.B 27\n');
    expect(page).toContain('\n.B 3\n');
    expect(page.replace(/\\-/g, '-')).toContain('\n135 (0x87)\nNot authorized\n');
  });

  it('each command page has the codes that command exits with', () => {
    for (const name of EXIT_COMMANDS) {
      if (!pageNames.includes(`mqt-${name}.1`)) continue;
      expect(missingExitCodes(read(`mqt-${name}.1`), name), name).toEqual([]);
    }
    // and not another command's own code
    expect(read('mqt-pub.1')).not.toContain('\n.B 27\n');
  });

  it('finds a code taken out', () => {
    const page = read('mqt.1');
    expect(missingExitCodes(page.replace('\n.B 27\n', '\n.B 28\n'), undefined)).toEqual(['27']);
    expect(missingExitCodes(page.replace('\n135 (0x87)\n', '\n'), undefined)).toEqual(['135 (0x87)']);
  });
});

describe('man pages: built and shipped', () => {
  it('the pages on disk are what the generator writes from the current CLI', async () => {
    const pages = await (await script<BuildMan>('build-man.mjs')).buildPages();
    expect(Object.keys(pages).sort()).toEqual([...pageNames].sort());
    for (const [page, text] of Object.entries(pages)) expect(read(page), `man/${page} is stale: run npm run build`).toBe(text);
  });

  it('package.json "man" lists exactly the generated pages, and "files" ships them', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
    expect([...pkg.man].sort()).toEqual(pageNames.map((p) => `./man/${p}`).sort());
    const generated = readdirSync(manDir).filter((f) => /\.\d$/.test(f));
    expect(generated.sort()).toEqual([...pageNames].sort());
    for (const section of new Set(pageNames.map((p) => p.slice(-1)))) expect(pkg.files).toContain(`man/*.${section}`);
  });
});

const env = { ...process.env, LC_ALL: 'C.UTF-8', MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat', MAN_KEEP_FORMATTING: '' };

describe('man pages: rendered', () => {
  const groff = needPeers('groff');
  describe.skipIf(groff.skip)('by groff', () => {
    beforeEach(groff.check);
    it('every page renders with no warning (groff -ww -z)', () => {
      for (const page of pageNames) {
        const r = spawnSync(peers().groff!, ['-ww', '-man', '-Tutf8', '-z', join(manDir, page)], { encoding: 'utf8', env });
        expect(r.status, page).toBe(0);
        expect(r.stderr, page).toBe('');
      }
    });
  });

  const man = needPeers('man');
  describe.skipIf(man.skip)('by man -l', () => {
    beforeEach(man.check);
    it('every page reads as a page: NAME, its name line, and the sections it should have', () => {
      for (const page of pageNames) {
        const r = spawnSync(peers().man!, ['-l', '-P', 'cat', join(manDir, page)], { encoding: 'utf8', env });
        expect(r.status, page).toBe(0);
        expect(r.stderr, page).toBe('');
        const text = r.stdout.replace(/.\x08/g, '');
        const name = page.replace(/\.\d$/, '');
        expect(text, page).toContain('\nNAME\n');
        expect(text, page).toMatch(new RegExp(`\\n {7}${name.replace(/-/g, '\\-')} +- +\\S`));
        if (page.endsWith('.1')) for (const heading of ['SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'SEE ALSO']) expect(text, `${page} ${heading}`).toContain(`\n${heading}\n`);
      }
    });

    it('mqt(1) shows the environment, files, completion and examples', () => {
      const r = spawnSync(peers().man!, ['-l', '-P', 'cat', join(manDir, 'mqt.1')], { encoding: 'utf8', env });
      const text = r.stdout.replace(/.\x08/g, '');
      for (const heading of ['COMMANDS', 'OPTIONS', 'SHELL COMPLETION', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES']) expect(text).toContain(`\n${heading}\n`);
      for (const word of ['MQT_URL', 'MQT_USERNAME', 'MQT_PASSWORD', 'MQT_ADMIN_TOKEN', 'NO_COLOR', '~/.config/mqt/config.json', 'source <(mqt completion bash)']) expect(text).toContain(word);
    });
  });
});
