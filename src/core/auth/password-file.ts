/**
 * mosquitto_passwd's password file, read and written unchanged.
 *   user:$7$<iterations>$<base64 salt>$<base64 hash>  PBKDF2-HMAC-SHA512 (mosquitto_passwd default, 101 rounds)
 *   user:$6$<base64 salt>$<base64 hash>               SHA-512(password || salt) (mosquitto_passwd -H sha512)
 * Base64 is the standard alphabet with padding (as mosquitto writes it; checked against /usr/bin/mosquitto_passwd).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type HashType = 'sha512-pbkdf2' | 'sha512';

export interface PasswordEntry {
  readonly username: string;
  readonly type: HashType;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
  /** The hash field as read, so a file is written back byte for byte. */
  readonly field: string;
}

export class PasswordFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'PasswordFileError';
  }
}

const DEFAULT_ITERATIONS = 101;
const SALT_LENGTH = 12;

// A user that does not exist is checked against this, so the time taken does not tell whether the user exists.
const DUMMY: PasswordEntry = {
  username: '',
  type: 'sha512-pbkdf2',
  iterations: DEFAULT_ITERATIONS,
  salt: Buffer.alloc(SALT_LENGTH),
  hash: Buffer.alloc(64),
  field: '',
};

/** Parses the hash field; returns a reason string when it is not one mosquitto writes. */
export function parseHashField(username: string, field: string): PasswordEntry | string {
  const parts = field.split('$');
  if (parts[0] !== '') return 'the password is not hashed (run mqt passwd -U on the file)';
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = Number(parts[2]);
    if (!Number.isInteger(iterations) || iterations < 1) return `bad iteration count "${parts[2]}"`;
    const salt = Buffer.from(parts[3]!, 'base64');
    const hash = Buffer.from(parts[4]!, 'base64');
    if (salt.length === 0 || hash.length !== 64) return 'bad $7$ salt or hash';
    return { username, type: 'sha512-pbkdf2', iterations, salt, hash, field };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const salt = Buffer.from(parts[2]!, 'base64');
    const hash = Buffer.from(parts[3]!, 'base64');
    if (salt.length === 0 || hash.length !== 64) return 'bad $6$ salt or hash';
    return { username, type: 'sha512', iterations: 1, salt, hash, field };
  }
  return `unknown hash type "${field.slice(0, 3)}" (expected $6$ or $7$)`;
}

function digest(entry: PasswordEntry, password: Buffer | string): Buffer {
  if (entry.type === 'sha512-pbkdf2') return pbkdf2Sync(password, entry.salt, entry.iterations, 64, 'sha512');
  return createHash('sha512').update(password).update(entry.salt).digest();
}

/**
 * A reconnecting client sends the password it sent last time; the table remembers, per user, a
 * keyed tag of the last password that verified, and a CONNECT whose password has that tag is let
 * in without running PBKDF2 again (~3 µs instead of ~150 µs; mosquitto spends the full 101 rounds
 * every time). Only a password that verified is remembered, so a wrong guess always costs the full
 * hash; the tag is HMAC-SHA256 under a key drawn for this table, so the memory never holds the
 * password or an unkeyed hash of it. The table is rebuilt on every reload, which forgets them all,
 * and set()/delete() forget that user.
 */
class VerifiedTags {
  private readonly key = randomBytes(32);
  private readonly tags = new Map<string, Buffer>();

  tag(password: Buffer | string): Buffer {
    return createHmac('sha256', this.key).update(password).digest();
  }
  matches(username: string, tag: Buffer): boolean {
    const known = this.tags.get(username);
    return known !== undefined && timingSafeEqual(known, tag);
  }
  remember(username: string, tag: Buffer): void {
    this.tags.set(username, tag);
  }
  forget(username: string): void {
    this.tags.delete(username);
  }
}

export class PasswordTable {
  private readonly byName = new Map<string, PasswordEntry>();
  private readonly verified = new VerifiedTags();

  constructor(entries: Iterable<PasswordEntry> = []) {
    for (const e of entries) this.byName.set(e.username, e);
  }

  get size(): number {
    return this.byName.size;
  }
  has(username: string): boolean {
    return this.byName.has(username);
  }
  get(username: string): PasswordEntry | undefined {
    return this.byName.get(username);
  }
  entries(): PasswordEntry[] {
    return [...this.byName.values()];
  }
  /** Adds or replaces a user; a replaced user keeps its place in the file. */
  set(entry: PasswordEntry): void {
    this.byName.set(entry.username, entry);
    this.verified.forget(entry.username);
  }
  delete(username: string): boolean {
    this.verified.forget(username);
    return this.byName.delete(username);
  }

  /**
   * Constant time in the hash; an unknown user still costs one PBKDF2 so timing does not reveal it.
   * A `$7$` user's password that verified before is recognised by its tag (VerifiedTags).
   */
  verify(username: string, password: Buffer | undefined): boolean {
    const entry = this.byName.get(username);
    if (entry === undefined) {
      digest(DUMMY, password ?? '');
      return false;
    }
    if (password === undefined) {
      digest(entry, '');
      return false;
    }
    if (entry.type !== 'sha512-pbkdf2') return timingSafeEqual(digest(entry, password), entry.hash);
    const tag = this.verified.tag(password);
    if (this.verified.matches(username, tag)) return true;
    const ok = timingSafeEqual(digest(entry, password), entry.hash);
    if (ok) this.verified.remember(username, tag);
    return ok;
  }

  /** The file text, users in order, one `user:hash` a line. */
  format(): string {
    let out = '';
    for (const e of this.byName.values()) out += `${e.username}:${e.field}\n`;
    return out;
  }
}

/** Splits a file into lines as mosquitto reads them: trailing CR/whitespace dropped, blank and # lines skipped. */
export function* passwordFileLines(text: string): Generator<{ line: number; text: string }> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.replace(/\s+$/, '');
    if (t === '' || t.startsWith('#')) continue;
    yield { line: i + 1, text: t };
  }
}

export function parsePasswordFile(text: string, file: string): PasswordTable {
  const table = new PasswordTable();
  for (const { line, text: t } of passwordFileLines(text)) {
    const colon = t.indexOf(':');
    if (colon < 0) throw new PasswordFileError(file, line, 'no ":" between user name and password hash');
    const username = t.slice(0, colon);
    if (username === '') throw new PasswordFileError(file, line, 'empty user name');
    const parsed = parseHashField(username, t.slice(colon + 1));
    if (typeof parsed === 'string') throw new PasswordFileError(file, line, parsed);
    table.set(parsed);
  }
  return table;
}

export function readPasswordFile(path: string): PasswordTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read password file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parsePasswordFile(text, path);
}

export interface HashOptions {
  type?: HashType;
  iterations?: number;
  salt?: Buffer;
}

/** The hash field mosquitto_passwd would write for this password. */
export function hashPassword(password: string | Buffer, options: HashOptions = {}): string {
  const type = options.type ?? 'sha512-pbkdf2';
  const salt = options.salt ?? randomBytes(SALT_LENGTH);
  if (type === 'sha512') {
    const hash = createHash('sha512').update(password).update(salt).digest();
    return `$6$${salt.toString('base64')}$${hash.toString('base64')}`;
  }
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer, got ${iterations}`);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A table entry for a user with a fresh hash. */
export function makeEntry(username: string, password: string | Buffer, options?: HashOptions): PasswordEntry {
  const parsed = parseHashField(username, hashPassword(password, options));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}
