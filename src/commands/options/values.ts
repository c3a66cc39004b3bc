/**
 * Small pieces every option group uses: the error a group's read() throws, yargs coercers that
 * quote what the user typed, and readers for the parsed argv. A coercer's throw becomes a
 * one-line usage error through the CLI's fail handler; a read()'s OptionError becomes one
 * through asCliError (index.ts).
 */

/** A flag value or combination that cannot work; the message names the flag and the fix. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** The parsed command line as a group reads it. */
export type ArgvLike = Readonly<Record<string, unknown>>;

function single(flag: string, value: unknown): string {
  if (Array.isArray(value)) throw new Error(`--${flag} was given more than once`);
  return String(value);
}

/** "0, 1 or 2" for the whole numbers from min to max. */
function listed(min: number, max: number): string {
  const all = Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
  return all.length === 1 ? all[0]! : `${all.slice(0, -1).join(', ')} or ${all.at(-1)}`;
}

/**
 * A yargs coerce for a whole number in [min, max]. Used without `type: 'number'`, which would
 * turn 'abc' into NaN before the message could quote it.
 */
export function integer(flag: string, min: number, max: number): (value: unknown) => number {
  return (value: unknown): number => {
    const text = single(flag, value);
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      // A handful of values (QoS, retain handling) reads better listed: "must be 0, 1 or 2".
      if (max - min <= 3) throw new Error(`--${flag} must be ${listed(min, max)}, not '${text}'`);
      throw new Error(`--${flag} must be a whole number from ${min} to ${max}, got '${text}'`);
    }
    return n;
  };
}

/** A yargs coerce for a duration in seconds that may have a fraction (`--repeat-delay 0.5`). */
export function seconds(flag: string, max = 86_400): (value: unknown) => number {
  return (value: unknown): number => {
    const text = single(flag, value);
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || n > max) throw new Error(`--${flag} must be a number of seconds from 0 to ${max}, got '${text}'`);
    return n;
  };
}

/** A yargs coerce that refuses a repeated single-valued flag and an empty value. */
export function text(flag: string, { allowEmpty = false } = {}): (value: unknown) => string {
  return (value: unknown): string => {
    const s = single(flag, value);
    if (!allowEmpty && s === '') throw new Error(`--${flag} needs a value`);
    return s;
  };
}

/** A yargs coerce wrapping a parser that throws (ConfigError and the like) so the message names the flag. */
export function parsed<T>(flag: string, parse: (value: string) => T): (value: unknown) => T {
  return (value: unknown): T => {
    const s = single(flag, value);
    try {
      return parse(s);
    } catch (err) {
      throw new Error(`--${flag}: ${(err as Error).message}`);
    }
  };
}

/** `k=v` of --user-property and friends; the value may itself hold '='. */
export function keyValue(flag: string, value: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0) throw new OptionError(`--${flag} takes key=value, got '${value}'`);
  return [value.slice(0, at), value.slice(at + 1)];
}

export function str(argv: ArgvLike, key: string): string | undefined {
  const v = argv[key];
  return v === undefined ? undefined : String(v);
}

export function num(argv: ArgvLike, key: string): number | undefined {
  const v = argv[key];
  return typeof v === 'number' ? v : undefined;
}

export function bool(argv: ArgvLike, key: string): boolean | undefined {
  const v = argv[key];
  return typeof v === 'boolean' ? v : undefined;
}

/** A repeatable flag as a list (yargs gives a string for one, an array for several). */
export function list(argv: ArgvLike, key: string): string[] {
  const v = argv[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
