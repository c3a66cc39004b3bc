/**
 * `mqt passwd`: mosquitto_passwd's command line over src/core/auth/passwd.ts. Prompts without echo on a
 * terminal, reads password lines from a pipe, writes the file atomically (temp file + rename).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { HashOptions, HashType } from '../core/auth/password-file.js';
import { deleteUser, hashPlainFile, setUser, checkUsername } from '../core/auth/passwd.js';
import { CliError, UsageError } from './errors.js';

const USAGE = 'usage: mqt passwd [-H sha512|sha512-pbkdf2] [-I iterations] [-c | -D] passwordfile username | -b passwordfile username password | -U passwordfile';

function fail(message: string): never {
  throw new CliError(message, { command: 'passwd' });
}

function readExisting(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Temp file beside the target, then rename: a crash never leaves half a file. Keeps an existing file's mode; a new file is 0600. */
function writeAtomic(file: string, text: string): void {
  let mode = 0o600;
  try {
    mode = statSync(file).mode & 0o7777;
  } catch {
    // new file
  }
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    chmodSync(tmp, mode); // the umask may have narrowed it
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    fail(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** One line typed on the terminal, not echoed. */
function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    stdin.setRawMode(true); // before the prompt, so nothing typed after it is echoed
    process.stdout.write(prompt);
    stdin.resume();
    let value = '';
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stdout.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled', { command: 'passwd' }));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The first `n` lines of a piped stdin. */
async function readLines(n: number): Promise<string[]> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.split('\n').length > n) break;
  }
  return text.split('\n').slice(0, n).map((l) => l.replace(/\r$/, ''));
}

async function askPassword(): Promise<string> {
  let first: string;
  let second: string | undefined;
  if (process.stdin.isTTY) {
    first = await promptHidden('Password: ');
    second = await promptHidden('Reenter password: ');
  } else {
    [first = '', second] = await readLines(2);
  }
  if (second === undefined) fail('the password was not given twice on standard input');
  if (first !== second) fail('the passwords do not match; nothing was changed');
  if (first === '') fail('empty passwords are not allowed');
  return first;
}

function hashOptions(argv: Readonly<Record<string, unknown>>): HashOptions {
  const options: HashOptions = {};
  if (argv.H !== undefined) options.type = argv.H as HashType;
  if (argv.I !== undefined) {
    const n = argv.I as number;
    if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) fail(`-I wants a positive whole number of iterations, got ${String(argv.I)}`);
    if (options.type === 'sha512') fail('-I applies to sha512-pbkdf2 only');
    options.iterations = n;
  }
  return options;
}

export async function runPasswd(argv: Readonly<Record<string, unknown>>): Promise<void> {
  const args = ((argv.args as unknown[] | undefined) ?? []).map(String);
  const options = hashOptions(argv);
  const { b: batch, c: create, D: del, U: update } = argv as Record<string, boolean | undefined>;
  if ([create, del, update].filter(Boolean).length > 1) throw new UsageError('-c, -D and -U cannot be combined', 'passwd');
  try {
    if (update) {
      if (args.length !== 1 || batch) throw new UsageError(USAGE, 'passwd');
      const text = readExisting(args[0]!);
      if (text === undefined) fail(`${args[0]} does not exist`);
      writeAtomic(args[0]!, hashPlainFile(text, args[0]!, options));
      return;
    }
    if (args.length !== (batch ? 3 : 2) || (batch && del)) throw new UsageError(USAGE, 'passwd');
    const [file, username] = args as [string, string];
    checkUsername(username);
    if (del) {
      const text = readExisting(file);
      if (text === undefined) fail(`${file} does not exist`);
      writeAtomic(file, deleteUser(text, file, username));
      return;
    }
    const existing = create ? undefined : readExisting(file);
    if (!create && existing === undefined) fail(`${file} does not exist (use -c to create it)`);
    const password = batch ? args[2]! : await askPassword();
    writeAtomic(file, setUser(existing, file, username, password, options));
  } catch (err) {
    if (err instanceof CliError) throw err;
    fail((err as Error).message);
  }
}
