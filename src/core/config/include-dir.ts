/**
 * include_dir as mosquitto 2.0 reads it: the entries of the directory whose name ends in ".conf"
 * (case matters: "x.CONF" is skipped; hidden files are read), each joined as "DIR/NAME", in the
 * order of mosquitto's comparator: character by character, case-insensitively first (by upper
 * case), then upper case before lower case ("A.conf" < "a.conf" < "ab.conf" < "B.conf" < "_z.conf").
 * Checked against mosquitto 2.0.11, which loads them in exactly this order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ConfReader } from './conf-types.js';

/** mosquitto's include_dir order (its scmp_p): upper-cased characters first, then exact ones. */
export function compareIncludeNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    const byUpper = upper(ca) - upper(cb);
    if (byUpper !== 0) return byUpper;
    if (ca !== cb) return ca - cb;
  }
  return a.length - b.length;
}

/** C's toupper in the C locale: ASCII letters only. */
function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

/** The paths mosquitto reads for `include_dir dir`, in its order. */
export function includeFiles(dir: string, names: readonly string[]): string[] {
  const sep = dir.endsWith('/') ? '' : '/';
  return names.filter((n) => n.endsWith('.conf')).sort(compareIncludeNames).map((n) => `${dir}${sep}${n}`);
}

/** The reader readMosquittoConf uses: the file system, paths relative to the working directory (as mosquitto). */
export const fsConfReader: ConfReader = {
  listDir: (dir) => readdirSync(dir),
  readFile: (path) => readConfText(path),
};

/**
 * A file's text, refused when it is not UTF-8 (mosquitto refuses malformed UTF-8 in values;
 * decoding it leniently would turn a path into one with U+FFFD in it).
 */
export function readConfText(path: string): string {
  const bytes = readFileSync(path);
  const strict = new TextDecoder('utf-8', { fatal: true });
  try {
    return strict.decode(bytes);
  } catch {
    // Find the line, for the message: decode line by line (a newline byte never sits inside a UTF-8 sequence).
    let line = 1;
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, from);
      const end = nl === -1 ? bytes.length : nl;
      try {
        strict.decode(bytes.subarray(from, end));
      } catch {
        break;
      }
      if (nl === -1) break;
      line++;
      from = nl + 1;
    }
    throw Object.assign(new Error('not valid UTF-8; save the file as UTF-8'), { code: 'EUTF8', line });
  }
}
