/**
 * What `mqt retain-clear` shows: the listing of what it found (a trimmed table on a terminal,
 * every topic on its own line in a pipe), the confirmation question, the final summary, and
 * the one JSON object of --json. Pure functions of the results, except askToClear(), the
 * inquirer prompt (on stderr, so stdout stays the data).
 */
import { isUtf8 } from 'node:buffer';
import type { ChalkInstance } from 'chalk';
import { reasonCodeName } from '../../core/codec/constants.js';
import type { RefusedFilter, RefusedPublish, RetainedMessage } from '../../core/client/retain-clear.js';
import { printable } from './broker-log.js';

/** Rows of the terminal listing before "… and N more". */
export const LIST_LIMIT = 20;
/** Topics shown by name in a one-line error before "…". */
const NAMED_LIMIT = 3;

/** 1284 → "1,284": counts are read by people here. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? '' : 's'}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** 3725 → "1h 2m", 59 → "59s": how long until the broker drops an expiring message. */
export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** The filters as a phrase: "eg/#", "a/# and b/#", "a/#, b/# and c/#". */
export function filterPhrase(filters: readonly string[]): string {
  const shown = filters.map(printable);
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]!}`;
}

export interface FoundSummary {
  filters: readonly string[];
  selected: number;
  excluded: number;
  unmatched: number;
}

/** "1,284 retained messages under eg/# (3 excluded by --exclude)". */
export function foundLine(f: FoundSummary): string {
  const notes: string[] = [];
  if (f.excluded > 0) notes.push(`${count(f.excluded)} excluded by --exclude`);
  if (f.unmatched > 0) notes.push(`${count(f.unmatched)} not matching --match`);
  const head = `${f.selected === 0 ? 'no' : count(f.selected)} retained message${f.selected === 1 ? '' : 's'} under ${filterPhrase(f.filters)}`;
  return `${head}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/** The warning when the hard timeout, not a quiet period, ended a discovery. */
export function timeoutNote(timeoutS: number, phase: 'looking' | 'verifying'): string {
  return phase === 'looking'
    ? `retained messages were still arriving after --timeout ${timeoutS} s; there may be more than listed (raise --timeout)`
    : `retained messages were still arriving after --timeout ${timeoutS} s while verifying; the count may be short (raise --timeout)`;
}

/**
 * The listing on stdout. On a terminal: a header and a table of topic, size and expiry,
 * trimmed to `limit` rows with "… and N more". In a pipe: every topic on its own line, plain,
 * so `--dry-run | wc -l` counts them and `| xargs` can use them.
 */
export function listing(messages: readonly RetainedMessage[], summary: FoundSummary, options: { terminal: boolean; chalk: ChalkInstance; limit?: number }): string {
  if (!options.terminal) return messages.map((m) => `${m.topic}\n`).join('');
  const c = options.chalk;
  const limit = options.limit ?? LIST_LIMIT;
  // Show all when only one more would be hidden: "… and 1 more" takes a row too.
  const shown = messages.length <= limit + 1 ? messages : messages.slice(0, limit);
  let out = `${c.bold(foundLine(summary))}${messages.length > 0 ? ':' : ''}\n`;
  const topics = shown.map((m) => printable(m.topic));
  const width = Math.min(60, Math.max(0, ...topics.map((t) => t.length)));
  const sizes = shown.map((m) => formatBytes(m.bytes));
  const sizeWidth = Math.max(0, ...sizes.map((s) => s.length));
  shown.forEach((m, i) => {
    const topic = topics[i]!;
    const expiry = m.expiresInS !== undefined ? `  ${c.dim(`expires in ${formatDuration(m.expiresInS)}`)}` : '';
    out += `  ${c.cyan(topic)}${' '.repeat(Math.max(1, width - topic.length + 2))}${c.dim(sizes[i]!.padStart(sizeWidth))}${expiry}\n`;
  });
  if (shown.length < messages.length) out += `  ${c.dim(`… and ${count(messages.length - shown.length)} more`)}\n`;
  return out;
}

/** The confirmation question (inquirer adds "(y/N)"): "Clear 1,284 retained messages under eg/#?". */
export function question(selected: number, filters: readonly string[]): string {
  return `Clear ${plural(selected, 'retained message')} under ${filterPhrase(filters)}?`;
}

/** Asks on the terminal; stderr, so stdout stays the listing. Ctrl-C counts as no. */
export async function askToClear(message: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  try {
    return await confirm({ message, default: false }, { output: process.stderr });
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError') return false;
    throw err;
  }
}

export interface ClearSummary {
  selected: number;
  stillRetained: readonly RetainedMessage[];
  refused: readonly RefusedPublish[];
  appeared: number;
}

function refusalPhrase(refused: readonly RefusedPublish[]): string {
  const codes = [...new Set(refused.map((r) => r.reasonCode))].map((code) => `${reasonCodeName(code, 'puback')} (0x${code.toString(16).padStart(2, '0')})`);
  return `${count(refused.length)} refused by the broker: ${codes.join(', ')}`;
}

function named(messages: readonly RetainedMessage[]): string {
  const names = messages.slice(0, NAMED_LIMIT).map((m) => `'${printable(m.topic)}'`);
  return `${names.join(', ')}${messages.length > NAMED_LIMIT ? ', …' : ''}`;
}

/** "cleared 1,284, still retained 0", with what went wrong when something did. One line. */
export function summaryLine(s: ClearSummary): string {
  const still = s.stillRetained.length;
  let line = `cleared ${count(s.selected - still)}, still retained ${count(still)}`;
  if (still > 0) line += ` (${named(s.stillRetained)})`;
  if (s.refused.length > 0) line += `; ${refusalPhrase(s.refused)}`;
  if (s.appeared > 0) line += `; ${plural(s.appeared, 'new retained message')} appeared meanwhile, not cleared`;
  return line;
}

export interface JsonReport {
  filters: readonly string[];
  /** Distinct retained topics under the filters. */
  found: number;
  excluded: number;
  unmatched: number;
  /** The messages to clear (all of them, untrimmed). */
  messages: readonly RetainedMessage[];
  /** Non-retained messages seen while looking, ignored. */
  ignored: number;
  timedOut: boolean;
  refusedFilters: readonly RefusedFilter[];
  dryRun: boolean;
  /** Present once clearing ran. */
  clear?: ClearSummary | undefined;
}

function messageRecord(m: RetainedMessage): Record<string, unknown> {
  const record: Record<string, unknown> = { topic: m.topic, bytes: m.bytes, qos: m.qos };
  if (m.payload !== undefined) {
    const utf8 = isUtf8(m.payload);
    record.payload = m.payload.toString(utf8 ? 'utf8' : 'base64');
    if (!utf8) record.encoding = 'base64';
  }
  if (m.expiresInS !== undefined) record.expiresIn = m.expiresInS;
  return record;
}

/**
 * The one JSON object of --json, with a trailing newline:
 * `{"filters","found","selected","excluded","unmatched","ignored","timedOut","refusedFilters",
 * "dryRun","messages":[{"topic","bytes","qos","payload","encoding"?,"expiresIn"?}],
 * "cleared"?,"stillRetained"?,"stillRetainedTopics"?,"refused"?,"appeared"?}`.
 * The clearing fields are present once clearing ran; `payload` is UTF-8 text, or base64 with
 * `"encoding":"base64"`; `expiresIn` is in seconds (MQTT 5 message expiry).
 */
export function jsonReport(r: JsonReport): string {
  const out: Record<string, unknown> = {
    filters: r.filters,
    found: r.found,
    selected: r.messages.length,
    excluded: r.excluded,
    unmatched: r.unmatched,
    ignored: r.ignored,
    timedOut: r.timedOut,
    refusedFilters: r.refusedFilters.map((f) => ({ filter: f.filter, reasonCode: f.reasonCode, reason: reasonCodeName(f.reasonCode, 'suback') })),
    dryRun: r.dryRun,
    messages: r.messages.map(messageRecord),
  };
  if (r.clear !== undefined) {
    const c = r.clear;
    out.cleared = c.selected - c.stillRetained.length;
    out.stillRetained = c.stillRetained.length;
    out.stillRetainedTopics = c.stillRetained.map((m) => m.topic);
    out.refused = c.refused.map((p) => ({ topic: p.topic, reasonCode: p.reasonCode, reason: reasonCodeName(p.reasonCode, 'puback') }));
    out.appeared = c.appeared;
  }
  return `${JSON.stringify(out)}\n`;
}
