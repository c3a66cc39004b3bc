/**
 * mosquitto_passwd's operations on a password file's text: set a user, delete a user, hash a plain-text file
 * (-U). Pure functions; reading, prompting and the atomic write are the caller's.
 */
import { type HashOptions, hashPassword, parseHashField, parsePasswordFile, passwordFileLines, PasswordTable, makeEntry } from './password-file.js';

export function checkUsername(username: string): void {
  if (username === '') throw new Error('the user name is empty');
  if (username.includes(':')) throw new Error(`user name "${username}" contains ':', which the file format cannot hold`);
}

/** Adds or replaces a user (order kept; a new user goes last). `text` undefined: a new file. */
export function setUser(text: string | undefined, file: string, username: string, password: string, options?: HashOptions): string {
  checkUsername(username);
  const table = text === undefined ? new PasswordTable() : parsePasswordFile(text, file);
  table.set(makeEntry(username, password, options));
  return table.format();
}

/** Removes a user; throws when the user is not in the file (mosquitto_passwd exits 1 too). */
export function deleteUser(text: string, file: string, username: string): string {
  const table = parsePasswordFile(text, file);
  if (!table.delete(username)) throw new Error(`user ${username} is not in ${file}`);
  return table.format();
}

/**
 * -U: every `user:plaintext` line becomes `user:hash`. A line already hashed is refused (mosquitto 2.0 would
 * hash the hash as if it were the password, locking the user out).
 */
export function hashPlainFile(text: string, file: string, options?: HashOptions): string {
  let out = '';
  for (const { line, text: t } of passwordFileLines(text)) {
    const colon = t.indexOf(':');
    if (colon < 0) throw new Error(`${file}:${line}: no ":" between user name and password`);
    const username = t.slice(0, colon);
    const password = t.slice(colon + 1);
    if (typeof parseHashField(username, password) !== 'string' || password.startsWith('$6$') || password.startsWith('$7$')) {
      throw new Error(`${file}:${line}: the password of ${username} is already hashed; nothing was changed`);
    }
    out += `${username}:${hashPassword(password, options)}\n`;
  }
  return out;
}
