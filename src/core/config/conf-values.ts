/**
 * Value parsers for mosquitto.conf lines. Each returns the value or a problem sentence (the
 * caller adds file:line). Stricter than mosquitto where mosquitto is silently lenient: it reads
 * integers with atoi ("12abc" is 12, "abc" is 0), we refuse them; the ranges are mosquitto's.
 */
import { isIP } from 'node:net';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/** A whole number in [min, max]. */
export function parseInteger(name: string, word: string, min: number, max: number): Parsed<number> {
  if (!/^[-+]?\d+$/.test(word)) return bad(`${name} takes a whole number, not "${word}"`);
  const n = Number(word);
  // A minimum of -2^31 means "any negative value is mosquitto's unlimited": only the maximum is worth saying.
  if (n < min || n > max) return bad(min === -(2 ** 31) ? `${name} must be at most ${max}, not ${word}` : `${name} must be between ${min} and ${max}, not ${word}`);
  return ok(n);
}

/** true|false, and 1|0 as mosquitto also reads them. */
export function parseBoolean(name: string, word: string): Parsed<boolean> {
  if (word === 'true' || word === '1') return ok(true);
  if (word === 'false' || word === '0') return ok(false);
  return bad(`${name} takes true or false, not "${word}"`);
}

export function parseEnum<T extends string>(name: string, word: string, values: readonly T[]): Parsed<T> {
  if ((values as readonly string[]).includes(word)) return ok(word as T);
  return bad(`${name} takes ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}, not "${word}"`);
}

/** An IPv4 or IPv6 address, optionally /prefix; returned as written. */
export function parseCidr(name: string, word: string): Parsed<string> {
  const slash = word.indexOf('/');
  const address = slash === -1 ? word : word.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return bad(`${name} takes an IP address or address/prefix (e.g. 10.0.0.0/8 or fd00::/8), not "${word}"`);
  if (slash !== -1) {
    const bits = word.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^\d+$/.test(bits) || Number(bits) > max) return bad(`${name}: the prefix of "${word}" must be 0 to ${max}`);
  }
  return ok(word);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, K: 1024, m: 1024 ** 2, M: 1024 ** 2, g: 1024 ** 3, G: 1024 ** 3 };

/**
 * Bytes: a whole number with an optional k, M or G (powers of 1024; either case). mosquitto's
 * memory_limit takes plain bytes only; the suffix is ours, a plain number reads the same.
 */
export function parseBytes(name: string, word: string): Parsed<number> {
  const m = /^(\d+)([kKmMgG]?)$/.exec(word);
  if (!m) return bad(`${name} takes a number of bytes, optionally with k, M or G (e.g. 512M), not "${word}"`);
  const n = Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isSafeInteger(n)) return bad(`${name} is too large: ${word}`);
  return ok(n);
}
