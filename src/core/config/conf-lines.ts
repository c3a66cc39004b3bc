/**
 * Splitting mosquitto.conf into directive lines, as mosquitto 2.0 does (src/conf.c,
 * config__read_file_core), checked against mosquitto 2.0.11:
 * - a line whose first character is '#' is a comment; an empty line is skipped; a comment that
 *   does not start the line ("  # x") is refused by mosquitto ("Unknown configuration variable"),
 *   and by us;
 * - trailing CR/LF are dropped, so CRLF files read like LF ones;
 * - words are separated by spaces only: a tab is part of a word ("port<TAB>1883" is an unknown
 *   directive to mosquitto); leading and trailing spaces do not matter;
 * - a string value (a path, a cipher list) is the rest of the line with blanks trimmed at both
 *   ends, so it may contain spaces; '#' after a value is not a comment (except after listener).
 */

export interface ConfLine {
  line: number;
  name: string;
  /** The words after the directive's name. */
  args: string[];
  /** The rest of the line after the name, blanks (space, tab, ...) trimmed at both ends. */
  rest: string;
}

export type LineResult = { kind: 'directive'; value: ConfLine } | { kind: 'problem'; line: number; problem: string };

export function* confLines(text: string): Generator<LineResult> {
  const lines = text.split('\n');
  // A final newline leaves one empty string after it, which is not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!.replace(/[\r\n]+$/, '');
    if (raw === '' || raw.startsWith('#')) continue;
    const words = raw.split(' ').filter((w) => w !== '');
    if (words.length === 0) continue;
    const name = words[0]!;
    if (name.startsWith('#')) {
      yield { kind: 'problem', line, problem: 'a comment must start at the beginning of its line (mosquitto refuses "  # ..."); remove the blanks before #' };
      continue;
    }
    if (/[\t\v\f\r]/.test(name)) {
      yield { kind: 'problem', line, problem: `"${name.replace(/\t/g, '\\t')}": separate a directive from its value with spaces, not tabs (mosquitto reads a tab as part of the name)` };
      continue;
    }
    const rest = raw.slice(raw.indexOf(name) + name.length).replace(/^\s+|\s+$/g, '');
    yield { kind: 'directive', value: { line, name, args: words.slice(1), rest } };
  }
}
