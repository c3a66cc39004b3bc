/**
 * What a completion script knows about mqt, as plain data: the command tree, each command's
 * flags (long and short, whether they take a value, and which values), and what its
 * positional arguments complete to. The shell generators (bash.ts, zsh.ts, fish.ts) are pure
 * functions of this; from-yargs.ts reads it out of the CLI's own yargs definitions.
 */

/** What a flag's value or a positional argument completes to. */
export type ValueSpec =
  /** Nothing we can list (a topic, a number): the shell offers nothing. */
  | { kind: 'any' }
  /** `open`: examples of what works, not every value there is (-F's formats). */
  | { kind: 'words'; words: readonly string[]; open?: boolean }
  | { kind: 'file' }
  | { kind: 'dir' };

export interface FlagSpec {
  /** Every spelling with its dashes, long ones first: ['--qos', '-q']. */
  names: readonly string[];
  describe: string;
  /** undefined: a switch, which takes no value. */
  value: ValueSpec | undefined;
}

export interface CommandSpec {
  name: string;
  describe: string;
  flags: readonly FlagSpec[];
  /** yargs' command string: `kick <id>`, `pub [TOPIC] [MESSAGE]` ('' for the root). */
  usage: string;
  /** What the positional arguments complete to, in order; the last one repeats when `variadic`. */
  positionals: readonly ValueSpec[];
  /** Their names, in the same order. */
  positionalNames: readonly string[];
  variadic: boolean;
  subcommands: readonly CommandSpec[];
}

/** The root: `mqt` itself, whose subcommands are the commands. */
export type CompletionSpec = CommandSpec;

/** The shells `mqt completion` writes a script for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** A flag name with its dashes: one letter is a short flag (`-q`), anything longer a long one. */
export function dashed(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** The text of a description on one line, cut to what fits beside a completion. */
export function shortDescription(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/** Every command under `spec` with its path of names (['broker', 'clients']), depth first, the root as []. */
export function commandPaths(spec: CommandSpec, path: readonly string[] = []): Array<{ path: readonly string[]; command: CommandSpec }> {
  return [{ path, command: spec }, ...spec.subcommands.flatMap((sub) => commandPaths(sub, [...path, sub.name]))];
}
