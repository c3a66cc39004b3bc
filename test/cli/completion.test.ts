/**
 * `mqt completion bash|zsh|fish`: each script is loaded into the real shell and asked to
 * complete, as a user's TAB would. bash: the completion function is called with COMP_WORDS set
 * (what readline hands it). fish: `complete -C`. zsh: an interactive zsh in a pseudo-terminal
 * (zsh/zpty) gets the line and a TAB, with compadd wrapped to print the matches.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completionScript, specFromYargs } from '../../src/commands/completion/index.js';
import { needPeers, peers } from '../helpers/peers.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

const dir = mkdtempSync(join(tmpdir(), 'mqt-completion-'));
const scripts: Record<string, string> = {};

beforeAll(async () => {
  assertFreshBuild(['cli.ts', ...['index', 'spec', 'values', 'from-yargs', 'bash', 'zsh', 'fish'].map((f) => `commands/completion/${f}.ts`)]);
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await spawnMqt(['completion', shell]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    scripts[shell] = join(dir, shell === 'zsh' ? '_mqt' : `mqt.${shell}`);
    writeFileSync(scripts[shell]!, r.stdout);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** COMPREPLY for the words of a command line, the last one being the word under the cursor. */
function bashComplete(...words: string[]): string[] {
  const body = [
    'source "$1"; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
    '_mqt',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', body, 'bash', scripts.bash!, ...words], { encoding: 'utf8', cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('mqt completion bash', () => {
  it('completes command names', () => {
    expect(bashComplete('mqt', 'p')).toEqual(['pub', 'passwd']);
    expect(bashComplete('mqt', '')).toEqual(expect.arrayContaining(['broker', 'pub', 'sub', 'bench', 'retain-clear', 'lwt-test', 'passwd', 'completion']));
  });

  it('completes the flags of the command given, long and short', () => {
    expect(bashComplete('mqt', 'pub', '--q')).toEqual(['--qos', '--quiet']);
    expect(bashComplete('mqt', 'sub', '-')).toEqual(expect.arrayContaining(['-F', '-q', '--format', '--retained-only', '--help']));
    // A flag of another command is not offered.
    expect(bashComplete('mqt', 'sub', '--')).not.toContain('--repeat');
  });

  it('completes the values of -q, -V, --mode, -F and the shells', () => {
    expect(bashComplete('mqt', 'pub', '-q', '')).toEqual(['0', '1', '2']);
    expect(bashComplete('mqt', 'pub', '-t', 'a', '--qos', '')).toEqual(['0', '1', '2']);
    expect(bashComplete('mqt', 'sub', '-V', '3')).toEqual(['3.1', '3.1.1']);
    expect(bashComplete('mqt', 'lwt-test', '--mode', '')).toEqual(['kill', 'keepalive', 'graceful', 'disconnect-with-will', 'takeover', 'all']);
    // Formats with a blank come escaped, ready for the command line.
    expect(bashComplete('mqt', 'sub', '-F', '')).toEqual(expect.arrayContaining(['%t\\ %p', '%j']));
    expect(bashComplete('mqt', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete('mqt', 'broker', '--tls-version', '')).toEqual(['tlsv1.3', 'tlsv1.2', 'tlsv1.1']);
  });

  it('completes bench scenarios as its first argument, and its flags after a dash', () => {
    expect(bashComplete('mqt', 'bench', '')).toEqual(['pub', 'fan-in', 'fan-out', 'conn']);
    expect(bashComplete('mqt', 'bench', '--scenario', 'f')).toEqual(['fan-in', 'fan-out']);
    expect(bashComplete('mqt', 'bench', '--r')).toEqual(expect.arrayContaining(['--rate', '--rounds', '--retain']));
  });

  it('takes --name=value, as bash splits it at the =', () => {
    // Cursor right after '=': bash's current word is '=' itself, which the reply keeps.
    expect(bashComplete('mqt', 'lwt-test', '--mode', '=')).toEqual(expect.arrayContaining(['=kill', '=all']));
    expect(bashComplete('mqt', 'lwt-test', '--mode', '=', 'k')).toEqual(['kill', 'keepalive']);
  });

  it('skips the values of flags when finding the command and subcommand', () => {
    // 1883 after -L mqtt://host: is a value, not a positional; -q 1 too.
    expect(bashComplete('mqt', 'pub', '-L', 'mqtt', ':', '//h', ':', '1883', '-q', '1', '-V', '')).toContain('3.1.1');
    expect(bashComplete('mqt', 'broker', '')).toEqual(['clients', 'kick']);
    expect(bashComplete('mqt', 'broker', 'clients', '--http-p')).toEqual(['--http-port']);
    expect(bashComplete('mqt', '-d', 'broker', 'k')).toEqual(['kick']);
  });

  it('completes file names for the options that take a file', () => {
    writeFileSync(join(dir, 'ca-bundle.pem'), '');
    expect(bashComplete('mqt', 'pub', '--cafile', 'ca-')).toEqual(['ca-bundle.pem']);
    expect(bashComplete('mqt', 'pub', '-f', 'ca-')).toEqual(['ca-bundle.pem']);
    expect(bashComplete('mqt', 'broker', '--password-file', 'ca-')).toEqual(['ca-bundle.pem']);
    expect(bashComplete('mqt', 'passwd', '-c', 'ca-')).toEqual(['ca-bundle.pem']);
    // A topic is no file name.
    expect(bashComplete('mqt', 'pub', '-t', 'ca-')).toEqual([]);
  });
});

describe('the scripts come from the option definitions', () => {
  it('a new flag, choice list and subcommand complete with no change to the generator', () => {
    const cli = yargs([]).command('demo', 'A demo', (y) =>
      y
        .option('report-file', { type: 'string', describe: 'A new file flag' })
        .option('colour', { alias: 'C', choices: ['red', 'green'], describe: 'A new choice' })
        .command('inner', 'A subcommand', (z) => z.option('deep', { type: 'boolean' })),
    );
    const spec = specFromYargs(cli, 'mqt');
    const bash = completionScript('bash', spec);
    expect(bash).toContain("'demo --report-file') _mqt_kind=file");
    expect(bash).toContain("'demo --colour'|'demo -C') _mqt_kind=words; _mqt_words=('red' 'green')");
    expect(bash).toContain("'demo') _mqt_words=('inner')");
    expect(bash).toContain("'demo inner') _mqt_words=('--deep'");
    expect(completionScript('fish', spec)).toContain("-l 'colour' -s 'C' -x -a 'red green'");
    expect(completionScript('zsh', spec)).toContain("'*--colour=[A new choice]:colour:(red green)'");
  });
});

describe('mqt completion, usage', () => {
  it('needs a shell it knows', async () => {
    const r = await spawnMqt(['completion', 'tcsh']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe("mqt completion: <shell> must be bash, zsh or fish, not 'tcsh'");
    const none = await spawnMqt(['completion']);
    expect(none.code).toBe(1);
    expect(none.stderr.split('\n')[0]).toBe('mqt completion: missing <shell>: mqt completion <shell>');
  });
});

const fish = needPeers('fish');
describe.skipIf(fish.skip)('mqt completion fish', () => {
  beforeEach(fish.check);

  /** What fish offers for a command line (the words only, not the descriptions). */
  function fishComplete(line: string): string[] {
    const r = spawnSync(peers().fish!, ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', scripts.fish!, line], { encoding: 'utf8', cwd: dir });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0]!);
  }

  it('completes commands, flags and values', () => {
    expect(fishComplete('mqt p').sort()).toEqual(['passwd', 'pub']);
    expect(fishComplete('mqt pub -q ')).toEqual(['0', '1', '2']);
    expect(fishComplete('mqt pub --q').sort()).toEqual(['--qos', '--quiet']);
    expect(fishComplete('mqt lwt-test --mode ').sort()).toEqual(['all', 'disconnect-with-will', 'graceful', 'keepalive', 'kill', 'takeover']);
    expect(fishComplete('mqt bench ').sort()).toEqual(['conn', 'fan-in', 'fan-out', 'pub']);
    expect(fishComplete('mqt sub -F ')).toContain('%t %p');
    expect(fishComplete('mqt completion ').sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(fishComplete('mqt broker ').sort()).toEqual(['clients', 'kick']);
    expect(fishComplete('mqt broker clients --http-p')).toEqual(['--http-port']);
    // -q's value is skipped: still pub's flags.
    expect(fishComplete('mqt pub -q 1 --re')).toEqual(expect.arrayContaining(['--retain', '--repeat']));
    writeFileSync(join(dir, 'ca-fish.pem'), '');
    expect(fishComplete('mqt pub --cafile ca-f')).toEqual(['ca-fish.pem']);
  });
});

const zsh = needPeers('zsh');
describe.skipIf(zsh.skip)('mqt completion zsh', () => {
  beforeEach(zsh.check);

  it('loads under compinit and registers _mqt', () => {
    const r = spawnSync(peers().zsh!, ['-f', '-c', 'autoload -U compinit; compinit -u -D; source $1; print -r -- ${_comps[mqt]}; whence -w _mqt__pub _mqt__broker__clients', 'zsh', scripts.zsh!], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('_mqt\n_mqt__pub: function\n_mqt__broker__clients: function\n');
  });

  /**
   * The matches zsh finds for `line` + TAB: an interactive zsh in zsh/zpty, with compadd
   * wrapped to print each match between <m> and </m>, then a marker line to know it is done.
   */
  function zshComplete(line: string): string[] {
    const driver = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1="<p""s1>" RPS1=""; autoload -U compinit; compinit -u -D; source ${scripts.zsh}'
zpty -w z 'compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi; local -a h; builtin compadd -A h "$@"; local m; for m in $h; do print -r -- "<m>$m</m>"; done; }'
zpty -w z 'print -r -- "<rea""dy>"'
zpty -r -m z out '*<ready>*' || exit 2
# The prompt: zle is reading the terminal now (typed before, the TAB would reach no completion).
zpty -r -m z out '*<ps1>*' || exit 2
zpty -w -n z "$1"$'\\t'
zpty -w -n z $'\\C-u print -r -- "<do""ne>"\\n'
buf=''
deadline=$((SECONDS + 15))
while [[ $buf != *'<done>'* ]] && (( SECONDS < deadline )); do zpty -r -t z out && buf+=$out || sleep 0.05; done
zpty -d z
print -r -- "$buf"
`;
    const r = spawnSync(peers().zsh!, ['-f', '-c', driver, 'zsh', line], { encoding: 'utf8', cwd: dir, timeout: 30_000 });
    expect(r.stdout, r.stdout).toContain('<done>');
    if (process.env.MQT_DEBUG_ZSH) console.log(JSON.stringify(r.stdout));
    return [...new Set([...r.stdout.matchAll(/<m>(.*?)<\/m>/g)].map((m) => m[1]!))];
  }

  it('completes commands, flags and values in a real zsh', () => {
    expect(zshComplete('mqt p').sort()).toEqual(['passwd', 'pub']);
    expect(zshComplete('mqt pub -q ')).toEqual(['0', '1', '2']);
    expect(zshComplete('mqt lwt-test --mode ').sort()).toEqual(['all', 'disconnect-with-will', 'graceful', 'keepalive', 'kill', 'takeover']);
    expect(zshComplete('mqt broker clients --http-p')).toEqual(['--http-port']);
  });
});
