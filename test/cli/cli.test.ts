import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

// These tests run the built binary, as a user would. `npm test` builds first (pretest).
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

const COMMANDS = ['broker', 'pub', 'sub', 'bench', 'retain-clear', 'lwt-test', 'passwd'] as const;

/** A line of a stack trace as V8 prints it. */
const STACK_LINE = /^\s+at .+/m;

// The whole CLI is spawned here: every source must be built.
beforeAll(() => assertFreshBuild());

interface Row {
  argv: string[];
  code: number;
  stdout?: RegExp | string;
  stderr?: RegExp | string;
}

function check(result: { stdout: string; stderr: string; code: number | null; timedOut: boolean }, row: Row): void {
  expect(result.timedOut, 'mqt did not exit').toBe(false);
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(row.code);
  if (typeof row.stdout === 'string') expect(result.stdout).toBe(row.stdout);
  else if (row.stdout) expect(result.stdout).toMatch(row.stdout);
  if (typeof row.stderr === 'string') expect(result.stderr).toBe(row.stderr);
  else if (row.stderr) expect(result.stderr).toMatch(row.stderr);
  // Errors are one line (plus the usage hint), never a stack trace without --debug.
  expect(result.stderr).not.toMatch(STACK_LINE);
  if (row.code !== 0) expect(result.stdout, 'an error prints nothing on stdout').toBe('');
}

describe('mqt (top level)', () => {
  const rows: [name: string, row: Row][] = [
    ['--help lists the six commands', {
      argv: ['--help'],
      code: 0,
      stdout: new RegExp(['broker', 'pub \\[TOPIC\\] \\[MESSAGE\\]', 'sub \\[filters\\.\\.\\]', 'bench', 'retain-clear \\[filters\\.\\.\\]', 'lwt-test']
        .map((c) => `mqt ${c} `).join('[^]*')),
      stderr: '',
    }],
    ['--version prints the version from package.json', { argv: ['--version'], code: 0, stdout: `${pkg.version}\n`, stderr: '' }],
    // -h is the host and -v is verbose in the client commands, so neither is help or version.
    ['-h is not help', { argv: ['-h'], code: 1, stderr: /^mqt: .+\nUse 'mqt --help'\n$/ }],
    ['-v is not version', { argv: ['-v'], code: 1, stderr: /^mqt: .+\nUse 'mqt --help'\n$/ }],
    ['no command', { argv: [], code: 1, stderr: /^mqt: Missing command: choose one of broker, pub, sub, bench, retain-clear, lwt-test, passwd, completion\nUse 'mqt --help'\n$/ }],
    ['unknown command', { argv: ['frobnicate'], code: 1, stderr: /^mqt: unknown command 'frobnicate'\nUse 'mqt --help'\n$/ }],
    ['mistyped command gets a suggestion', { argv: ['pbu', 'x'], code: 1, stderr: /^mqt: unknown command 'pbu' \(did you mean 'pub'\?\)\nUse 'mqt --help'\n$/ }],
    ['unknown flag on a command (strict)', { argv: ['pub', 't', '--bogus'], code: 1, stderr: /^mqt pub: unknown option --bogus\nUse 'mqt pub --help'\n$/ }],
    ['unknown flag on a command without positionals (strict)', { argv: ['sub', '--bogus'], code: 1, stderr: /^mqt sub: unknown option --bogus\nUse 'mqt sub --help'\n$/ }],
    // yargs reads `--bogus sub` as --bogus=sub, so no command was given: the hint must not name sub.
    ['unknown flag swallowing the command word', { argv: ['--bogus', 'sub'], code: 1, stderr: /^mqt: .+\nUse 'mqt --help'\n$/ }],
    ['nothing to publish', { argv: ['pub'], code: 1, stderr: /^mqt pub: .+\nUse 'mqt pub --help'\n$/ }],
    ['value outside the choices', { argv: ['pub', 't', 'm', '--encoding', 'bogus'], code: 1, stderr: "mqt pub: --encoding must be utf8, hex or base64, not 'bogus'\nUse 'mqt pub --help'\n" }],
    ['a flag without its value', { argv: ['broker', '--password-file'], code: 1, stderr: "mqt broker: --password-file needs a value: a file name\nUse 'mqt broker --help'\n" }],
  ];

  it.each(rows)('%s', async (_name, row) => {
    check(await spawnMqt(row.argv), row);
  });
});

describe('the six subcommands', () => {
  // The README shows one example per subcommand; each must be a command line mqt accepts. Pointed
  // at a port where nothing listens, the client examples get as far as connecting and fail there
  // with one line; bench runs for real against the built-in broker.
  const examples: [example: string, argv: string[], expected: Row][] = [
    ['mqt pub heizung 21.5 -q 2 -r', ['pub', 'heizung', '21.5', '-q', '2', '-r'], { argv: [], code: 1, stderr: /^mqt pub: connection refused by 127\.0\.0\.1:\d+: .+\n$/ }],
    ["mqt sub 'eg/#'", ['sub', 'eg/#'], { argv: [], code: 1, stderr: /^mqt sub: connection refused by 127\.0\.0\.1:\d+: .+\n$/ }],
    // No terminal to confirm on: retain-clear refuses before connecting, as it must.
    ["mqt retain-clear 'eg/#'", ['retain-clear', 'eg/#'], { argv: [], code: 1, stderr: /^mqt retain-clear: nothing cleared: there is no terminal .+\n$/ }],
    ['mqt lwt-test --mode all', ['lwt-test', '--mode', 'all'], { argv: [], code: 1, stderr: /^mqt lwt-test: connection refused by 127\.0\.0\.1:\d+: .+\n$/ }],
  ];
  const readme = readFileSync(`${root}README.md`, 'utf8');

  it.each(examples)('%s is accepted and fails only at the missing broker', async (example, argv, expected) => {
    expect(readme, 'the README shows this example').toContain(example);
    const port = await freePort();
    check(await spawnMqt([...argv, '-h', '127.0.0.1', '-p', String(port)]), expected);
  });

  it('mqt bench --qos 1 --msgs 100000 (README) runs against the built-in broker with nothing lost', async () => {
    expect(readme).toContain('mqt bench --qos 1 --msgs 100000');
    const result = await spawnMqt(['bench', '--qos', '1', '--msgs', '100000', '--json'], { timeoutMs: 60_000 });
    check(result, { argv: [], code: 0 });
    const report = JSON.parse(result.stdout) as { ok: boolean; totals: object; correctness: object };
    expect(report).toMatchObject({ ok: true, totals: { published: 100_000, acknowledged: 100_000, delivered: 100_000 }, correctness: { lost: 0, duplicated: 0 } });
  }, 90_000);

  it.each(COMMANDS)('mqt %s --help shows its usage and exits 0', async (command) => {
    check(await spawnMqt([command, '--help']), { argv: [], code: 0, stdout: new RegExp(`^mqt ${command}\\b`), stderr: '' });
  });

  it('--debug adds no stack trace to an expected error', async () => {
    check(await spawnMqt(['--debug', 'sub']), { argv: [], code: 1, stderr: /^mqt sub: give at least one topic filter.+\nUse 'mqt sub --help'\n$/ });
  });
});
