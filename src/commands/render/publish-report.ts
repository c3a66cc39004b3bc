/**
 * What `mqt pub` says about what it published: a JSON record per message for --json, a line
 * per refused message, and one confirmation line for a person at a terminal. Pure functions.
 */
import type { ChalkInstance } from 'chalk';
import { reasonCodeName, ReasonCode } from '../../core/codec/constants.js';

export interface PublishResult {
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  bytes: number;
  /** Packet identifier, for QoS 1 and 2. */
  messageId?: number | undefined;
  /**
   * From PUBACK / PUBREC in MQTT 5; 0 when the broker said nothing else (and always for QoS 0
   * and 3.1.1). Undefined when the message was never sent (`error`).
   */
  reasonCode?: number | undefined;
  /** The broker's reason string (5.0), if it gave one. */
  reasonString?: string | undefined;
  /** For -l: the line of standard input the message came from (1-based). */
  line?: number | undefined;
  /** Failed: refused by the broker (reasonCode ≥ 0x80), or not sent at all (`error`). */
  ok: boolean;
  error?: string | undefined;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A topic or broker text shown inside a line: control characters escaped, so a newline or a
 * terminal escape in what a broker or user sent cannot forge lines or repaint the screen.
 */
export function safe(text: string): string {
  return text.replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

/** One JSON object per line: the fields scripts need, in a fixed order. */
export function jsonRecord(r: PublishResult): string {
  const record: Record<string, unknown> = { topic: r.topic, qos: r.qos, retain: r.retain, bytes: r.bytes };
  if (r.messageId !== undefined) record.messageId = r.messageId;
  if (r.line !== undefined) record.line = r.line;
  record.ok = r.ok;
  if (r.reasonCode !== undefined) {
    record.reasonCode = r.reasonCode;
    record.reason = reasonCodeName(r.reasonCode, 'puback');
  }
  if (r.reasonString !== undefined) record.reasonString = r.reasonString;
  if (r.error !== undefined) record.error = r.error;
  return `${JSON.stringify(record)}\n`;
}

/** Why one message failed, without the `mqt pub:` prefix. */
export function failureText(r: PublishResult): string {
  const line = r.line !== undefined ? `line ${r.line}: ` : '';
  const topic = r.topic === '' ? '' : `'${safe(r.topic)}'`;
  if (r.error !== undefined || r.reasonCode === undefined) return `${line}${topic ? `${topic}: ` : ''}${r.error ?? 'not sent'}`;
  return `${line}${topic || 'message'} refused by the broker: ${reasonCodeName(r.reasonCode, 'puback')} (${hex(r.reasonCode)})${r.reasonString !== undefined ? `: ${safe(r.reasonString)}` : ''}`;
}

/** Distinct topics a tally tells apart; past it, the confirmation says "more than" (a -l --line-topic stream may name millions). */
export const TOPICS_COUNTED = 10_000;

/**
 * What the confirmation line and the exit code need of a run, as counts: a -l stream of a
 * million messages must not keep a million results.
 */
export class PublishTally {
  /** Messages recorded, failures included. */
  total = 0;
  ok = 0;
  /** Acknowledged with 0x10 No matching subscribers. */
  noSubscribers = 0;
  retained = false;
  readonly qos = new Set<0 | 1 | 2>();
  /** Distinct topics of the messages that went through, up to TOPICS_COUNTED. */
  readonly topics = new Set<string>();
  /** The first failure, whose reason code becomes the exit code. */
  firstFailure: PublishResult | undefined;

  get failed(): number {
    return this.total - this.ok;
  }

  add(r: PublishResult): void {
    this.total++;
    if (!r.ok) {
      this.firstFailure ??= r;
      return;
    }
    this.ok++;
    if (this.topics.size < TOPICS_COUNTED) this.topics.add(r.topic);
    this.qos.add(r.qos);
    if (r.retain) this.retained = true;
    if (r.reasonCode === ReasonCode.NoMatchingSubscribers) this.noSubscribers++;
  }
}

/** A tally of `results`. */
export function tally(results: Iterable<PublishResult>): PublishTally {
  const t = new PublishTally();
  for (const r of results) t.add(r);
  return t;
}

/** The line a person sees once everything is acknowledged, e.g. `published 1 message to heizung (QoS 2, retained)`. */
export function confirmation(t: PublishTally, c: ChalkInstance): string {
  const topics = [...t.topics];
  const shown = topics.length <= 3 ? topics.map((x) => c.bold(safe(x))).join(', ') : `${topics.length >= TOPICS_COUNTED ? 'more than ' : ''}${topics.length} topics`;
  const qos = [...t.qos].sort();
  const details = [`QoS ${qos.join('/')}`];
  if (t.retained) details.push('retained');
  // 0x10 is information, not failure: the broker took the message, nobody was listening.
  if (t.noSubscribers > 0) details.push(t.noSubscribers === t.ok ? 'no subscribers' : `${t.noSubscribers} without subscribers`);
  const count = `${t.ok} message${t.ok === 1 ? '' : 's'}`;
  return `${c.green('✔')} published ${count}${topics.length > 0 ? ` to ${shown}` : ''} (${details.join(', ')})${t.failed > 0 ? c.red(`, ${t.failed} failed`) : ''}`;
}
