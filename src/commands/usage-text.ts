/**
 * yargs' complaints said in our words, one line each: "Not enough arguments following: q"
 * becomes "-q/--qos needs a value: 0, 1 or 2", "Unknown argument: qso" becomes
 * "unknown option --qso; did you mean --qos?". What a command's flags are called and which
 * values they take comes from the same spec as shell completion (completion/from-yargs.ts),
 * read only when there is an error to word.
 */
import { commandPaths, dashed, type CommandSpec, type FlagSpec } from './completion/spec.js';

export interface UsageContext {
  /** The command yargs entered, as words: [] for mqt itself, ['broker', 'kick']. */
  path: readonly string[];
  /** The command line as given (the words after `mqt`). */
  argv: readonly string[];
  /** The CLI's spec; called only when a message needs it. */
  spec: () => CommandSpec;
}

/** "a, b or c". */
export function orList(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** Optimal string alignment distance: Levenshtein plus swapping two neighbours ("qso" → "qos" is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `word`, when it is close enough to be a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(word.toLowerCase(), c.toLowerCase()) + (word === c ? 0 : word.toLowerCase() === c.toLowerCase() ? 0.5 : 0);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** The flag suggested for a mistyped one: a long flag for a long one, a short one only for a change of case (-Q → -q). */
export function suggestFlag(token: string, flags: readonly FlagSpec[]): string | undefined {
  const names = flags.flatMap((f) => f.names);
  if (/^-[^-]$/.test(token)) return names.find((n) => n.length === 2 && n !== token && n.toLowerCase() === token.toLowerCase());
  const long = names.filter((n) => n.startsWith('--'));
  const found = closest(token.replace(/^-+/, ''), long.map((n) => n.slice(2)));
  return found === undefined ? undefined : `--${found}`;
}

/** The command at `path` in the spec (the root when a word is not found). */
function commandAt(spec: CommandSpec, path: readonly string[]): CommandSpec {
  let command = spec;
  for (const word of path) command = command.subcommands.find((s) => s.name === word) ?? command;
  return command;
}

/** yargs lists an option also under its camelCase name ("password-file, passwordFile"): one each. */
function names(list: string): string[] {
  const all = list.split(/,\s*/).map((n) => n.trim()).filter((n) => n !== '');
  const kebab = new Set(all.filter((n) => n.includes('-')).map((n) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())));
  return [...new Set(all.filter((n) => !kebab.has(n)))];
}

/** How a flag is called in a message: every spelling, short first ("-q/--qos"), or as typed. */
function label(name: string, command: CommandSpec | undefined): string {
  const flag = command?.flags.find((f) => f.names.includes(dashed(name)));
  return flag === undefined ? dashed(name) : [...flag.names].reverse().join('/');
}

function findFlag(name: string, command: CommandSpec): FlagSpec | undefined {
  return command.flags.find((f) => f.names.includes(dashed(name)));
}

/** How the user typed an option yargs names without dashes: `--qso` or `-z`; undefined when it was a plain word. */
function typedAs(name: string, argv: readonly string[]): string | undefined {
  for (const word of argv) {
    if (word === '--') break;
    if (word === `--${name}` || word.startsWith(`--${name}=`)) return `--${name}`;
    if (word === `-${name}` || word.startsWith(`-${name}=`)) return `-${name}`;
  }
  const plain = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined).includes(name);
  if (plain) return undefined;
  return name.length === 1 ? `-${name}` : `--${name}`;
}

function command(ctx: UsageContext): CommandSpec {
  return commandAt(ctx.spec(), ctx.path);
}

/** The words of an invocation: `mqt broker kick <id>`. */
function invocation(ctx: UsageContext, spec: CommandSpec): string {
  const positionals = spec.usage.split(' ').slice(1).join(' ');
  return ['mqt', ...ctx.path, positionals].filter((w) => w !== '').join(' ');
}

/**
 * One yargs message in our words; any other message comes back as it is. Should reading the
 * spec fail (yargs' internals changed), the user still gets yargs' line rather than a crash.
 */
export function inOurWords(message: string, ctx: UsageContext): string {
  try {
    return translate(message, ctx);
  } catch {
    return message;
  }
}

function translate(message: string, ctx: UsageContext): string {
  const missingValue = /^Not enough arguments following: (.+)$/.exec(message);
  if (missingValue !== null) {
    const name = names(missingValue[1]!)[0]!;
    const spec = command(ctx);
    const flag = findFlag(name, spec);
    const value = flag?.value;
    const hint = value?.kind === 'words' && value.open !== true && value.words.length <= 8 ? `: ${orList(value.words)}` : value?.kind === 'file' ? ': a file name' : value?.kind === 'dir' ? ': a directory' : '';
    return `${label(name, spec)} needs a value${hint}`;
  }

  const invalid = /^Invalid values:\s*Argument: (\S+), Given: (.+), Choices: (.+)$/s.exec(message);
  if (invalid !== null) {
    const unquote = (s: string): string => s.trim().replace(/^"(.*)"$/, '$1');
    const choices = invalid[3]!.split(', ').map(unquote);
    const given = unquote(invalid[2]!);
    const spec = command(ctx);
    const positional = spec.positionalNames.includes(invalid[1]!);
    return `${positional ? `<${invalid[1]}>` : label(invalid[1]!, spec)} must be ${orList(choices)}, not '${given}'`;
  }

  const unknown = /^Unknown arguments?: (.+)$/s.exec(message);
  if (unknown !== null) {
    const spec = command(ctx);
    const name = names(unknown[1]!)[0]!;
    const token = typedAs(name, ctx.argv);
    if (token === undefined) {
      if (spec.subcommands.length > 0 && spec.positionalNames.length === 0) {
        const near = closest(name, spec.subcommands.map((s) => s.name));
        return `unknown command '${name}'${near !== undefined ? ` (did you mean '${near}'?)` : `: choose ${orList(spec.subcommands.map((s) => s.name))}`}`;
      }
      return `unexpected argument '${name}': ${invocation(ctx, spec)} takes no more (quote a value that has spaces)`;
    }
    const suggestion = suggestFlag(token, spec.flags);
    if (suggestion !== undefined) return `unknown option ${token}; did you mean ${suggestion}?`;
    // A flag of another command (--repeat given to sub): say whose it is.
    const owners = commandPaths(ctx.spec()).filter(({ path, command: c }) => path.length > 0 && c.flags.some((f) => f.names.includes(token)));
    const owner = owners.length > 0 && owners.length <= 2 ? owners.map(({ path }) => `mqt ${path.join(' ')}`) : [];
    return `unknown option ${token}${owner.length > 0 ? `; ${orList(owner)} ${owner.length === 1 ? 'takes' : 'take'} it, not ${['mqt', ...ctx.path].join(' ')}` : ''}`;
  }

  const didYouMean = /^Did you mean (.+)\?$/.exec(message);
  if (didYouMean !== null) {
    const spec = command(ctx);
    const word = firstPositional(ctx, spec);
    return `unknown command${word !== undefined ? ` '${word}'` : ''} (did you mean '${didYouMean[1]}'?)`;
  }

  const tooFew = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(message);
  if (tooFew !== null) {
    const spec = command(ctx);
    const missing = spec.positionalNames.slice(Number(tooFew[1]), Number(tooFew[2]));
    const what = missing.length > 0 ? missing.map((n) => `<${n}>`).join(' ') : 'an argument';
    return `missing ${what}: ${invocation(ctx, spec)}`;
  }

  const tooMany = /^Too many non-option arguments: got (\d+), maximum of (\d+)$/.exec(message);
  if (tooMany !== null) {
    const spec = command(ctx);
    return `too many arguments: ${invocation(ctx, spec)} takes ${tooMany[2]} (quote a value that has spaces)`;
  }

  const required = /^Missing required arguments?: (.+)$/.exec(message);
  if (required !== null) {
    const spec = command(ctx);
    const list = names(required[1]!).map((n) => label(n, spec));
    return `${orList(list).replace(/ or /, ' and ')} ${list.length === 1 ? 'is' : 'are'} required`;
  }

  const exclusive = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(message);
  if (exclusive !== null) {
    const spec = command(ctx);
    return `${label(exclusive[1]!, spec)} and ${label(exclusive[2]!, spec)} cannot be used together: choose one`;
  }

  // A coercer's "--qos must be 0, 1 or 2, not 'x'" names the flag as above, short spelling too
  // (its other messages keep the long name alone, as the tests of every command quote them).
  const leading = /^--([a-z0-9][a-z0-9-]*)(?= must be [^,]+(, [^,]+)* or [^,]+, not ')/.exec(message);
  if (leading !== null) {
    const spec = command(ctx);
    if (findFlag(leading[1]!, spec) !== undefined) return label(leading[1]!, spec) + message.slice(leading[0].length);
  }
  return message;
}

/** The first word after the command path that is not an option: what yargs took for a subcommand. */
function firstPositional(ctx: UsageContext, spec: CommandSpec): string | undefined {
  let depth = 0;
  for (let i = 0; i < ctx.argv.length; i++) {
    const word = ctx.argv[i]!;
    if (word.startsWith('-')) {
      const flag = spec.flags.find((f) => f.names.includes(word));
      if (flag?.value !== undefined) i++;
      continue;
    }
    if (depth < ctx.path.length && word === ctx.path[depth]) {
      depth++;
      continue;
    }
    return word;
  }
  return undefined;
}
