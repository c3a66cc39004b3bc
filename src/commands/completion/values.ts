/**
 * What the value of a flag (or a positional argument) completes to, by its name. yargs'
 * `choices` are read by from-yargs.ts on their own; this covers the flags whose values a
 * coerce checks (so yargs cannot list them), each from the list the coerce checks against, and
 * the flags that take a file or a directory, by a naming rule, so a new `--foo-file` or
 * `--report` completes file names without an edit here.
 */
import { PROTOCOL_VERSION_NAMES } from '../../core/client/config.js';
import { SCENARIOS, TOPIC_MODES } from '../bench.js';
import { MODE_CHOICES } from '../lwt-test.js';
import { SHELLS, type ValueSpec } from './spec.js';

const QOS = ['0', '1', '2'] as const;

/**
 * `mqt sub -F`: sub has no named presets, so these are the formats people reach for
 * (mosquitto's syntax, see mqt-sub(1)); each works as it is.
 */
const FORMATS = ['%t %p', '%I %t %p', '%t %x', '%j', '%J', '%t %l %p'] as const;

/** Value lists by option name; `command name` keys win over plain names. */
const WORDS: Record<string, readonly string[]> = {
  qos: QOS,
  'will-qos': QOS,
  'retain-handling': QOS,
  'protocol-version': PROTOCOL_VERSION_NAMES,
  // bench's load clients speak 3.1.1 and 5 only (bench-run.ts refuses 3.1).
  'bench protocol-version': PROTOCOL_VERSION_NAMES.filter((v) => !['3.1', 'mqttv31'].includes(v)),
  // The client commands' --tls-version (the broker's has yargs choices of its own).
  'tls-version': ['tlsv1.2', 'tlsv1.3', 'tlsv1.1'],
  mode: MODE_CHOICES,
  scenario: SCENARIOS,
  'topic-mode': TOPIC_MODES,
  'allow-anonymous': ['true', 'false'],
  'sub format': FORMATS,
  shell: SHELLS,
};

/** Lists of examples, not of every value (a usage error does not list them as the choices). */
const OPEN = new Set(['sub format']);

/** Names of options that take a path: `--cafile`, `--cert`, `--key`, `-f/--file`, `--password-file`, `--config-file`, `--output`, `--report`… */
const FILE_NAME = /(^|-)(file|cafile|cert|key|output|report)$/;
/** Names of options that take a directory: `--capath`, `--persistence`. */
const DIR_NAME = /(^|-)(capath|persistence|dir)$/;

/** Positionals that name files: mosquitto_passwd's `passwordfile username [password]` starts with one. */
const FILE_POSITIONALS = new Set(['passwd args']);

/**
 * What the value of option `name` (its first, long spelling, without dashes) of `command`
 * completes to; `choices` are yargs' own list when the option has one.
 */
export function valueFor(command: string, name: string, choices: readonly string[] | undefined): ValueSpec {
  if (choices !== undefined && choices.length > 0) return { kind: 'words', words: choices.map(String) };
  const words = WORDS[`${command} ${name}`] ?? WORDS[name];
  if (words !== undefined && words.length > 0) return { kind: 'words', words, ...(OPEN.has(`${command} ${name}`) ? { open: true } : {}) };
  if (FILE_POSITIONALS.has(`${command} ${name}`) || FILE_NAME.test(name)) return { kind: 'file' };
  if (DIR_NAME.test(name)) return { kind: 'dir' };
  return { kind: 'any' };
}
