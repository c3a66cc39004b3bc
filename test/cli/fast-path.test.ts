import type { Options } from 'yargs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { declared, QUICK_COMMANDS, quickClientArgs } from '../../src/commands/client-argv.js';

// `mqt pub` and `mqt sub` start from a quick parser (no yargs, src/cli-fast.ts) when the command
// line is a plain one, and from yargs otherwise. The two must agree: every line the quick parser
// takes is parsed here by the whole CLI too, whose handler hands runPub()/runSub() the argv they
// read, and every line it does not take is left to yargs (help, errors, anything unusual).

const runPub = vi.hoisted(() => vi.fn<(argv: Record<string, unknown>) => Promise<void>>());
const runSub = vi.hoisted(() => vi.fn<(argv: Record<string, unknown>) => Promise<void>>());
vi.mock('../../src/commands/pub-run.js', () => ({ runPub }));
vi.mock('../../src/commands/sub-run.js', () => ({ runSub }));

beforeEach(() => {
  runPub.mockReset().mockResolvedValue(undefined);
  runSub.mockReset().mockResolvedValue(undefined);
});

/** What the whole CLI (yargs) hands the command's run function for `argv`; undefined when yargs refuses the line. */
async function yargsArgs(argv: readonly string[]): Promise<Record<string, unknown> | undefined> {
  try {
    await buildCli([...argv]).parseAsync();
  } catch {
    return undefined;
  }
  const calls = [...runPub.mock.calls, ...runSub.mock.calls];
  expect(calls).toHaveLength(1);
  return calls[0]![0];
}

/**
 * The quick answer holds the keys yargs sets for each option and positional (name, aliases,
 * camel-case), each with yargs' value; yargs' own `_` and `$0` and its kebab-cased spellings of
 * upper-case positionals (`T-o-p-i-c`) are left out, as no handler reads them.
 */
function expectSame(quick: Record<string, unknown>, full: Record<string, unknown>, command: string): void {
  const decl = declared(QUICK_COMMANDS[command]!)!;
  const meaningful = new Set<string>(decl.positionals.map((p) => p.name));
  for (const [name, o] of decl.options) {
    for (const key of [name, ...(o.alias === undefined ? [] : [o.alias].flat())]) {
      meaningful.add(key);
      meaningful.add(key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
    }
  }
  const expected = Object.fromEntries(Object.entries(full).filter(([k]) => meaningful.has(k)));
  expect(quick).toEqual(expected);
}

async function expectAgreement(argv: readonly string[]): Promise<void> {
  const quick = quickClientArgs(argv);
  expect(quick, `quick parser takes ${argv.join(' ')}`).toBeDefined();
  const full = await yargsArgs(argv);
  expect(full, `yargs takes ${argv.join(' ')}`).toBeDefined();
  expectSame(quick!.args, full!, quick!.command);
}

describe('quickClientArgs', () => {
  const plain: string[][] = [
    // The lines of `npm run bench:startup`.
    ['pub', '-h', '127.0.0.1', '-p', '1883', 'bench/startup', '21.5'],
    ['pub', '-h', '127.0.0.1', '-p', '1883', 'bench/startup', '21.5', '-q', '1'],
    ['sub', '-h', '127.0.0.1', '-p', '1883', '-E', 'bench/#'],
    ['pub'],
    ['sub'],
    ['pub', 'heizung', '21.5', '-q', '2', '-r'],
    ['pub', '-t', 'a', '-t', 'b', '-m', 'on'],
    ['pub', '-t', 'a/b', 'hello'],
    ['pub', '--topic=a/b', '--message=', '--qos=0'],
    ['pub', '-m', '', 't'],
    ['pub', 't', ''],
    ['pub', '--message=-5', 't'],
    ['pub', 't', '-m', 'true'],
    ['pub', 't', 'false'],
    ['pub', 'a b', 'x=y', '-i', '0123'],
    ['pub', 'eg/t', '007', '--retain', '--repeat', '3', '--repeat-delay', '0.5'],
    ['pub', '-L', 'mqtt://localhost:1884/eg/t', '-m', 'hi'],
    ['pub', '-n', '-r', 'eg/t', '-V', '5', '-i', 'me', '-k', '30'],
    ['pub', '-f', 'payload.bin', 'eg/t', '--quiet', '--json'],
    ['pub', '-s', 'eg/t', '-u', 'me', '-P', 'secret'],
    ['pub', '-l', 'logs', '-q', '1', '--will-topic', 'w', '--will-payload', 'gone'],
    ['-d', 'pub', 't', 'm'],
    ['--debug', 'sub', 't'],
    ['pub', 't', 'm', '-d'],
    ['sub', 'eg/#'],
    ['sub', 'a', 'b', 'c/+/d', '-v', '-C', '3'],
    ['sub', '-t', 'a', '-t', 'b', 'c'],
    ['sub', '-F', '%t %p', '-W', '1.5', '-R', 'eg/#'],
    ['sub', '-F', '', 'x'],
    ['sub', '--retained-only', '--quiet-ms', '100', 'home/#'],
    ['sub', '-N', '--pretty', '--raw', '-q', '2', '-T', 'eg/skip', 'eg/#'],
    ['sub', '-c', '-i', 'keep', '-U', 'old/#', 'new/#'],
  ];

  it.each(plain.map((argv) => [argv.join(' '), argv] as const))('takes `mqt %s` as the whole CLI does', async (_line, argv) => {
    await expectAgreement(argv);
  });

  // Every flag of the option tables, in each spelling: whatever the quick parser takes, yargs
  // takes the same way. A flag another change adds is covered without a new line here.
  const SAMPLES = ['1', 'x', 'a=b', 'mqtt://localhost', 'tlsv1.2', '0.5'];
  for (const command of Object.keys(QUICK_COMMANDS)) {
    const decl = declared(QUICK_COMMANDS[command]!)!;
    const lines: string[][] = [];
    for (const [name, o] of decl.options) {
      const names = [name, ...(o.alias === undefined ? [] : [o.alias].flat())].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
      if (o.type === 'boolean') {
        for (const flag of names) lines.push([command, flag, 'eg/t']);
        continue;
      }
      const value = SAMPLES.find((v) => accepts(o, v)) ?? 'x';
      for (const flag of names) lines.push([command, flag, value, 'eg/t'], ...(flag.startsWith('--') ? [[command, `${flag}=${value}`, 'eg/t']] : []));
    }
    it(`agrees with yargs on every flag of mqt ${command} (${lines.length} lines)`, async () => {
      let taken = 0;
      for (const argv of lines) {
        runPub.mockClear();
        runSub.mockClear();
        const quick = quickClientArgs(argv);
        if (quick === undefined) continue;
        taken++;
        const full = await yargsArgs(argv);
        expect(full, `yargs takes ${argv.join(' ')}`).toBeDefined();
        expectSame(quick.args, full!, command);
      }
      // Most flags are plain: a parser that declined everything would agree with nothing.
      expect(taken).toBeGreaterThan(lines.length / 2);
    });
  }

  const declined: string[][] = [
    ['--help'],
    ['--version'],
    ['pub', '--help'],
    ['sub', '--help'],
    ['pub', '--version'],
    ['broker'],
    ['bench'],
    ['pbu', 't'],
    ['pub', '-q', '5', 't', 'm'],
    ['pub', '--qos', 'x', 't'],
    ['pub', '-q', '1', '-q', '2', 't'],
    ['pub', '--bogus', 't'],
    ['pub', '--repeatDelay', '1', 't'],
    ['pub', 't', 'm', 'extra'],
    ['pub', '-t'],
    ['pub', '-t', '-m', 'x'],
    ['pub', '-m', '-5', 't'],
    ['pub', '-rn', 't'],
    ['pub', '-p1883', 't'],
    ['pub', '-', 't'],
    ['pub', '--', 't', 'm'],
    ['pub', '--retain', 'true', 't'],
    ['pub', '--retain=false', 't'],
    ['pub', '-r', '-r', 't'],
    ['pub', '--no-color', 't', 'm'],
    ['pub', '-D', 'publish', 'user-property', 'a', 'b', 't'],
    ['pub', '--encoding', 'hex', 't', '00'],
    ['sub', '--no-local', 't'],
    ['sub', '-E', '-E', 't'],
    ['sub', '-h'],
    ['-d', '-x', 'pub', 't'],
    ['-v', 'sub', 't'],
  ];

  it.each(declined.map((argv) => [argv.join(' '), argv] as const))('leaves `mqt %s` to yargs', (_line, argv) => {
    expect(quickClientArgs(argv)).toBeUndefined();
  });

  it('has nothing to check for the lines yargs refuses: each declined usage error is one of yargs', async () => {
    // A sample: the fast path must not have taken a line whose error would then be worded by the handler.
    for (const argv of [['pub', '-q', '5', 't'], ['pub', 't', 'm', 'extra'], ['pub', '-t'], ['sub', '-C', '0', 'x']]) {
      expect(quickClientArgs(argv)).toBeUndefined();
      expect(await yargsArgs(argv)).toBeUndefined();
    }
  });

  it('takes a builder only when it declares no more than options, positionals and help text', () => {
    const odd = { command: 'odd [x]', describe: '', builder: (y: never) => (y as { check(f: () => boolean): unknown }).check(() => true), handler: () => undefined };
    expect(declared(odd as never)).toBeUndefined();
    const plainOne = { command: 'plain [x]', describe: '', builder: (y: never) => (y as { positional(n: string, o: object): unknown }).positional('x', { type: 'string' }), handler: () => undefined };
    expect(declared(plainOne as never)?.positionals).toEqual([{ name: 'x', variadic: false, default: undefined }]);
  });
});

/** Whether an option's coercer (if any) takes `value`. */
function accepts(o: Options, value: string): boolean {
  if (o.coerce === undefined) return true;
  try {
    o.coerce(value);
    return true;
  } catch {
    return false;
  }
}
