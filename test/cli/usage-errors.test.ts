/**
 * Usage errors as a user meets them: the built CLI, each command given a missing value, an
 * invalid choice, an unknown or mistyped flag, a missing or extra positional. Each is one line
 * in our words (then the `Use 'mqt … --help'` hint) and exit code 1, never yargs' own text.
 */
import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../src/commands/completion/spec.js';
import { closest, editDistance, inOurWords, orList, suggestFlag } from '../../src/commands/usage-text.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

/** yargs' phrasings that must never reach the user. */
const YARGS_PHRASES = [/Not enough arguments/, /Not enough non-option/, /Too many non-option/, /Missing required argument/, /Invalid values:/, /Unknown arguments?:/, /mutually exclusive/, /Did you mean/, /Argument: /, /[a-z][A-Z][a-z]+(,|$)/];

const CASES: Array<[name: string, argv: string[], firstLine: string]> = [
  // The issue's own.
  ['pub: -q not a number', ['pub', '-t', 'a', '-m', 'x', '-q', 'abc'], "mqt pub: -q/--qos must be 0, 1 or 2, not 'abc'"],
  ['pub: -q with no value', ['pub', '-t', 'a', '-m', 'x', '-q'], 'mqt pub: -q/--qos needs a value: 0, 1 or 2'],
  ['pub: nothing at all', ['pub'], 'mqt pub: no topic: give it as the first argument, with -t, or in the URL (-L mqtt://host/topic)'],
  ['broker: --password-file with no value', ['broker', '--password-file'], 'mqt broker: --password-file needs a value: a file name'],
  // Missing values.
  ['sub: -F with no value', ['sub', 'a', '-F'], 'mqt sub: -F/--format needs a value'],
  ['lwt-test: --mode with no value', ['lwt-test', '--mode'], 'mqt lwt-test: --mode needs a value: kill, keepalive, graceful, disconnect-with-will, takeover or all'],
  ['bench: --qos with no value', ['bench', '--qos'], 'mqt bench: -q/--qos needs a value: 0, 1 or 2'],
  ['broker: -c with no value', ['broker', '-c'], 'mqt broker: -c/--config-file needs a value: a file name'],
  ['broker clients: --http-port with no value', ['broker', 'clients', '--http-port'], 'mqt broker clients: --http-port needs a value'],
  ['retain-clear: -t with no value', ['retain-clear', '-t'], 'mqt retain-clear: -t/--topic needs a value'],
  ['passwd: -H with no value', ['passwd', '-H'], 'mqt passwd: -H needs a value: sha512 or sha512-pbkdf2'],
  // Invalid choices and values.
  ['sub: -V unknown', ['sub', 'a', '-V', 'x'], "mqt sub: --protocol-version: unknown protocol version 'x'; use 3.1, 3.1.1, 5, mqttv31, mqttv311, mqttv5"],
  ['pub: --encoding unknown', ['pub', 't', 'm', '--encoding', 'rot13'], "mqt pub: --encoding must be utf8, hex or base64, not 'rot13'"],
  ['passwd: -H unknown', ['passwd', '-H', 'md5', 'f', 'u'], "mqt passwd: -H must be sha512 or sha512-pbkdf2, not 'md5'"],
  ['broker: --tls-version unknown', ['broker', '--tls-version', 'ssl3'], "mqt broker: --tls-version must be one of tlsv1.3, tlsv1.2, tlsv1.1, got 'ssl3'"],
  ['bench: an unknown scenario', ['bench', 'fanin'], "mqt bench: --scenario must be one of pub, fan-in, fan-out, conn, got 'fanin'"],
  ['completion: an unknown shell', ['completion', 'tcsh'], "mqt completion: <shell> must be bash, zsh or fish, not 'tcsh'"],
  ['sub: --will-qos out of range', ['sub', 'a', '--will-topic', 'w', '--will-qos', '3'], "mqt sub: --will-qos must be 0, 1 or 2, not '3'"],
  // Unknown and mistyped flags.
  ['pub: a mistyped long flag', ['pub', '-t', 'a', '-m', 'x', '--qso', '1'], 'mqt pub: unknown option --qso; did you mean --qos?'],
  ['pub: a short flag in the wrong case', ['pub', 'a', 'x', '-Q', '1'], 'mqt pub: unknown option -Q; did you mean -q?'],
  ['sub: a mistyped flag', ['sub', 'a', '--retained-onyl'], 'mqt sub: unknown option --retained-onyl; did you mean --retained-only?'],
  ['bench: a mistyped flag', ['bench', '--duraton', '5'], 'mqt bench: unknown option --duraton; did you mean --duration?'],
  ['broker: a mistyped flag', ['broker', '--max-inflihgt', '5'], 'mqt broker: unknown option --max-inflihgt; did you mean --max-inflight?'],
  ['broker kick: a mistyped flag', ['broker', 'kick', 'x', '--http-prot', '1'], 'mqt broker kick: unknown option --http-prot; did you mean --http-port?'],
  ['lwt-test: an unknown flag', ['lwt-test', '--frobnicate'], 'mqt lwt-test: unknown option --frobnicate'],
  ["sub: a flag of pub's", ['sub', 'a', '--repeat', '2'], 'mqt sub: unknown option --repeat; mqt pub takes it, not mqt sub'],
  ['retain-clear: a mistyped switch', ['retain-clear', 'a', '--dry-rn'], 'mqt retain-clear: unknown option --dry-rn; did you mean --dry-run?'],
  ['mqt itself: no command', ['--quiet'], 'mqt: Missing command: choose one of broker, pub, sub, bench, retain-clear, lwt-test, passwd, completion'],
  // Commands and positionals.
  ['a mistyped command', ['pbu', 'x'], "mqt: unknown command 'pbu' (did you mean 'pub'?)"],
  ['a mistyped broker subcommand', ['broker', 'clinets'], "mqt broker: unknown command 'clinets' (did you mean 'clients'?)"],
  ['broker kick without its id', ['broker', 'kick'], 'mqt broker kick: missing <id>: mqt broker kick <id>'],
  ['completion without a shell', ['completion'], 'mqt completion: missing <shell>: mqt completion <shell>'],
  ['pub: one word too many', ['pub', 't', 'hello', 'world'], "mqt pub: unexpected argument 'world': mqt pub [TOPIC] [MESSAGE] takes no more (quote a value that has spaces)"],
  ['bench: two scenarios', ['bench', 'pub', 'conn'], "mqt bench: unexpected argument 'conn': mqt bench [scenario] takes no more (quote a value that has spaces)"],
];

describe('usage errors, one line in our words', () => {
  assertFreshBuild(['cli.ts', 'commands/usage-text.ts', 'commands/options/values.ts']);

  it.each(CASES)('%s', async (_name, argv, firstLine) => {
    const r = await spawnMqt(argv, { timeoutMs: 15_000 });
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(firstLine);
    expect(lines[1]).toMatch(/^Use 'mqt( [a-z-]+)* --help'$/);
    expect(lines.slice(2).join('')).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    for (const phrase of YARGS_PHRASES) expect(lines[0]).not.toMatch(phrase);
  });
});

describe('the wording, in-process', () => {
  const demo: CommandSpec = {
    name: 'demo',
    describe: '',
    usage: 'demo <id>',
    positionals: [{ kind: 'any' }],
    positionalNames: ['id'],
    variadic: false,
    subcommands: [],
    flags: [
      { names: ['--qos', '-q'], describe: '', value: { kind: 'words', words: ['0', '1', '2'] } },
      { names: ['--password-file'], describe: '', value: { kind: 'file' } },
      { names: ['--retain', '-r'], describe: '', value: undefined },
    ],
  };
  const root: CommandSpec = { ...demo, name: 'mqt', usage: '', positionals: [], positionalNames: [], subcommands: [demo] };
  const words = (message: string, argv: string[] = ['demo']): string => inOurWords(message, { path: ['demo'], argv, spec: () => root });

  it('measures typos with swapped neighbours as one edit', () => {
    expect(editDistance('qso', 'qos')).toBe(1);
    expect(editDistance('retian', 'retain')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closest('qso', ['qos', 'quiet'])).toBe('qos');
    expect(closest('frobnicate', ['qos', 'quiet'])).toBeUndefined();
    expect(orList(['a'])).toBe('a');
    expect(orList(['a', 'b', 'c'])).toBe('a, b or c');
  });

  it('suggests long flags for long ones, and short ones only for a change of case', () => {
    expect(suggestFlag('--qso', demo.flags)).toBe('--qos');
    expect(suggestFlag('-Q', demo.flags)).toBe('-q');
    expect(suggestFlag('-z', demo.flags)).toBeUndefined();
  });

  it("words yargs' messages with one name per flag", () => {
    expect(words('Not enough arguments following: password-file, passwordFile')).toBe('--password-file needs a value: a file name');
    expect(words('Not enough arguments following: q')).toBe('-q/--qos needs a value: 0, 1 or 2');
    expect(words('Invalid values:\n  Argument: qos, Given: "7", Choices: "0", "1", "2"')).toBe("-q/--qos must be 0, 1 or 2, not '7'");
    expect(words('Unknown arguments: qso-x, qsoX', ['demo', '--qso-x'])).toBe('unknown option --qso-x');
    expect(words('Unknown argument: extra', ['demo', 'a', 'extra'])).toBe("unexpected argument 'extra': mqt demo <id> takes no more (quote a value that has spaces)");
    expect(words('Not enough non-option arguments: got 0, need at least 1')).toBe('missing <id>: mqt demo <id>');
    expect(words('Missing required argument: qos')).toBe('-q/--qos is required');
    expect(words('Arguments qos and retain are mutually exclusive')).toBe('-q/--qos and -r/--retain cannot be used together: choose one');
    expect(words("--qos must be 0, 1 or 2, not 'x'")).toBe("-q/--qos must be 0, 1 or 2, not 'x'");
    expect(words('something else entirely')).toBe('something else entirely');
  });
});
