/**
 * `--help` of mqt and of every command: a one-line description, the options in groups, and
 * examples, each of which parses: every example is run through the command's own yargs
 * definition (the handler stubbed), so a renamed flag or a value out of range in an example
 * fails here.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { describe, expect, it } from 'vitest';
import bench from '../../src/commands/bench.js';
import broker from '../../src/commands/broker.js';
import { clients, kick } from '../../src/commands/broker-admin.js';
import { DEBUG_OPTION } from '../../src/commands/client-argv.js';
import { completionCommand } from '../../src/commands/completion/index.js';
import lwtTest from '../../src/commands/lwt-test.js';
import passwd from '../../src/commands/passwd.js';
import pub from '../../src/commands/pub.js';
import retainClear from '../../src/commands/retain-clear.js';
import sub from '../../src/commands/sub.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

type Module = CommandModule<object, never>;
const completion = completionCommand(() => yargs([])) as unknown as Module;
const COMMANDS: Record<string, Module> = Object.fromEntries(
  [broker, pub, sub, bench, retainClear, lwtTest, passwd, completion].map((m) => [String((m as Module).command).split(' ')[0], m as unknown as Module]),
);
const BROKER_SUBCOMMANDS: Record<string, Module> = { clients: clients as unknown as Module, kick: kick as unknown as Module };

const HELPS: string[][] = [[], ...Object.keys(COMMANDS).map((c) => [c]), ['broker', 'clients'], ['broker', 'kick']];

/** The lines of a help section ("Examples:") up to the next blank line. */
function section(help: string, heading: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('--help', () => {
  assertFreshBuild(['cli.ts', 'commands/pub.ts', 'commands/sub.ts', 'commands/bench.ts', 'commands/broker.ts', 'commands/broker-admin.ts', 'commands/passwd.ts', 'commands/lwt-test.ts', 'commands/retain-clear.ts']);

  it.each(HELPS.map((words) => [words.join(' ') || 'mqt', words]))('%s: one-line description, groups, examples', async (_name, words) => {
    const r = await spawnMqt([...(words as string[]), '--help']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    // Usage line, blank, the description on one line, blank.
    expect(lines[0]).toMatch(/^mqt/);
    expect(lines[1]).toBe('');
    expect(lines[2]!.length).toBeGreaterThan(10);
    expect(lines[3]).toBe('');
    const headings = lines.filter((l) => /^[A-Z][A-Za-z0-9 ]*:$/.test(l));
    expect(headings).toContain('Examples:');
    const own = headings.filter((h) => !['Commands:', 'Positionals:', 'Options:', 'Examples:'].includes(h));
    // Commands with flags of their own show them under headings (completion has none).
    if (words.length > 0 && words[0] !== 'completion') expect(own.length, headings.join(' ')).toBeGreaterThan(0);
    const examples = section(r.stdout, 'Examples:').filter((l) => /^ {2}\S/.test(l));
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it('lists every command on one line each in mqt --help', async () => {
    const r = await spawnMqt(['--help']);
    const commands = section(r.stdout, 'Commands:');
    expect(commands.map((l) => /^ {2}mqt ([a-z-]+)/.exec(l)?.[1]).filter(Boolean)).toEqual(Object.keys(COMMANDS));
    // No description wraps onto a second line.
    expect(commands.every((l) => l.startsWith('  mqt '))).toBe(true);
  });
});

/** The command lines of an example: each `$0 …` up to a shell operator, as words. */
function invocations(example: string): string[][] {
  const out: string[][] = [];
  for (const part of example.split('$0').slice(1)) {
    const words: string[] = [];
    let word = '';
    let has = false;
    let i = 0;
    const flush = (): void => {
      if (has) words.push(word);
      word = '';
      has = false;
    };
    for (; i < part.length; i++) {
      const c = part[i]!;
      if (c === "'") {
        const end = part.indexOf("'", i + 1);
        word += part.slice(i + 1, end);
        has = true;
        i = end;
      } else if (c === '$' && part[i + 1] === "'") {
        const end = part.indexOf("'", i + 2);
        word += part.slice(i + 2, end).replace(/\\t/g, '\t');
        has = true;
        i = end;
      } else if (c === '"') {
        const end = part.indexOf('"', i + 1);
        word += part.slice(i + 1, end);
        has = true;
        i = end;
      } else if (/\s/.test(c)) flush();
      else if ('|&<>)'.includes(c)) break;
      else {
        word += c;
        has = true;
      }
    }
    flush();
    out.push(words);
  }
  return out;
}

/** Examples as a builder declares them (.example calls), recorded on a fresh yargs. */
function examplesOf(module: Module): string[] {
  const y = yargs([]);
  const examples: string[] = [];
  const example = y.example.bind(y);
  (y as unknown as { example: (cmd: string, d: string) => Argv }).example = (cmd: string, d: string) => {
    examples.push(cmd);
    return example(cmd, d);
  };
  (module.builder as (y: Argv) => Argv)(y);
  return examples;
}

/** Parses `words` with the command's own definition, its handler (and its subcommands') stubbed out. */
async function parses(words: string[]): Promise<void> {
  const noop = (): void => {};
  const stub = (m: Module): Module => ({ ...m, handler: noop });
  let y = yargs(words).locale('en').option('debug', DEBUG_OPTION).strict().exitProcess(false);
  if (words[0] === 'broker' && BROKER_SUBCOMMANDS[words[1] ?? ''] !== undefined) {
    y = y.command('broker', 'broker', (b: Argv) => b.command(stub(BROKER_SUBCOMMANDS.clients!)).command(stub(BROKER_SUBCOMMANDS.kick!)));
  } else {
    const module = COMMANDS[words[0]!];
    if (module === undefined) throw new Error(`no command ${words[0]}`);
    // broker's builder adds its real subcommands; an example never names them here.
    y = y.command(stub(module));
  }
  await y
    .fail((message, err) => {
      throw err ?? new Error(message);
    })
    .parseAsync();
}

describe('every example parses', () => {
  const all: Array<[string, string[]]> = [];
  for (const [name, module] of [...Object.entries(COMMANDS), ...Object.entries(BROKER_SUBCOMMANDS).map(([n, m]) => [`broker ${n}`, m] as const)]) {
    const examples = examplesOf(module as Module);
    it(`${name} has two or more examples`, () => expect(examples.length).toBeGreaterThanOrEqual(2));
    for (const example of examples) for (const words of invocations(example)) all.push([`${name}: ${example}`, words]);
  }
  // mqt --help's own.
  for (const example of ["$0 broker -v", "$0 sub -v 'eg/#' & $0 pub eg/hello world", '$0 bench']) for (const words of invocations(example)) all.push([`mqt: ${example}`, words]);

  it.each(all)('%s', async (_name, words) => {
    await expect(parses(words)).resolves.toBeUndefined();
  });
});
