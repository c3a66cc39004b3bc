/**
 * What lwt-test expects of each mode and how it judges what it saw: pure functions over the
 * measurements runLwtTest() takes (lwt-test.ts), so the verdicts are tested without a broker.
 */
import type { IPublishPacket } from 'mqtt';
import { ReasonCode } from '../codec/constants.js';
import type { Properties, QoS, Will } from '../codec/types.js';
import { toMqttJsProperties } from './properties.js';
import type { ProtocolLevel } from './types.js';

export const LWT_MODES = ['kill', 'keepalive', 'graceful', 'disconnect-with-will', 'takeover'] as const;
export type LwtMode = (typeof LWT_MODES)[number];

/** What the spec says must happen: a will, none, either (3.1.1 takeover), or the mode does not apply. */
export type LwtExpectation = 'will' | 'no will' | 'either' | 'skipped';
export type LwtObservation = 'will' | 'no will' | 'skipped';

/**
 * How long past due + --timeout a will is still watched for, so that a late one is reported
 * as late, by how much, rather than as missing. Longer for keepalive: brokers check
 * keep-alives on a timer of their own (mosquitto 2.0.11 here: up to about 5 s after 1.5 ×
 * keep-alive), which a short --timeout does not allow for, and the line should say so.
 */
export const KEEPALIVE_SLACK_MS = 10_000;
/** The same for the other modes, whose wills are due at a moment the broker knows exactly. */
export const LATE_WATCH_MS = 1000;
/** Brokers keep will delays and keep-alives in whole seconds, so a will may come up to 1 s early. */
export const EARLY_SLACK_MS = 1000;

/** How long after due + timeout a mode's will is still watched for (see KEEPALIVE_SLACK_MS). */
export function lateWatchMs(mode: LwtMode): number {
  return mode === 'keepalive' ? KEEPALIVE_SLACK_MS : LATE_WATCH_MS;
}

/** What arrived against what was asked for. */
export interface WillMatch {
  payload: boolean;
  qos: boolean;
  retain: boolean;
  /** MQTT 5 will properties forwarded unchanged; undefined when the will had none to forward. */
  properties: boolean | undefined;
}

export interface LwtModeResult {
  mode: LwtMode;
  protocolVersion: ProtocolLevel;
  topic: string;
  clientId: string;
  expected: LwtExpectation;
  observed: LwtObservation;
  pass: boolean;
  /** From the victim's end (keepalive: its last packet) to the will's arrival, ms. */
  latencyMs: number | undefined;
  /** When the will was due after the victim's end, ms (delay, 1.5 × keep-alive). */
  dueMs: number | undefined;
  /** The will delay in force (5.0), seconds: the smaller of Will Delay and Session Expiry. */
  willDelay: number | undefined;
  /** Wills that arrived in the window (more than 1 is a duplicate). */
  count: number;
  match: WillMatch | undefined;
  /** --will-retain: a new subscriber got the will as a retained message; then it was cleared. */
  retained: { present: boolean; cleared: boolean } | undefined;
  /** takeover: the broker closed the first connection, and the DISCONNECT reason code it sent first (5.0). */
  takeover: { closed: boolean; reasonCode: number | undefined } | undefined;
  /** Why the mode failed; empty when it passed. */
  problems: string[];
  /** Worth knowing, not a failure. */
  notes: string[];
}

export interface Arrival {
  at: number;
  packet: IPublishPacket;
}

/** Everything one mode measured, for judge(). */
export interface ModeObservation {
  mode: LwtMode;
  protocolVersion: ProtocolLevel;
  expected: LwtExpectation;
  will: Will;
  /** QoS the broker granted the watcher: the will arrives at the smaller of the two. */
  grantedQos: QoS;
  dueMs: number;
  /**
   * --timeout: how late past dueMs a will may come and pass; for 'no will', how long past
   * dueMs none may come.
   */
  timeoutMs: number;
  /** How long after the victim's end the watcher watched (due + timeout, plus lateWatchMs when a will must come). */
  deadlineMs: number;
  willDelay: number | undefined;
  /** Wills that arrived, as ms after the victim's end, with what they carried. */
  arrivals: { latencyMs: number; payload: Buffer; qos: QoS; retain: boolean; properties: Record<string, unknown> | undefined }[];
  retained: { present: boolean; cleared: boolean } | undefined;
  takeover: { closed: boolean; reasonCode: number | undefined } | undefined;
}

/** The expectation of a mode under a protocol version (see the top of this file). */
export function expectationOf(mode: LwtMode, protocolVersion: ProtocolLevel): LwtExpectation {
  if (mode === 'graceful') return 'no will';
  if (mode === 'disconnect-with-will') return protocolVersion === 5 ? 'will' : 'skipped';
  if (mode === 'takeover') return protocolVersion === 5 ? 'will' : 'either';
  return 'will';
}

export const seconds = (ms: number): string => `${Math.round(ms / 10) / 100} s`;

/** The will properties a broker forwards with the message; the delay is the broker's and the expiry counts down. */
function forwardedProperties(props: Properties | undefined): Record<string, unknown> | undefined {
  if (props === undefined) return undefined;
  const { willDelayInterval: _d, messageExpiryInterval: _e, ...rest } = props;
  return toMqttJsProperties(rest);
}

function sameUserProperties(a: unknown, b: unknown): boolean {
  const flat = (u: unknown): string[] =>
    Object.entries((u ?? {}) as Record<string, string | string[]>)
      .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => JSON.stringify([k, x])))
      .sort();
  return JSON.stringify(flat(a)) === JSON.stringify(flat(b));
}

/** The forwarded properties as asked (5.0 section 3.3.2.3: forwarded unaltered); expiry no higher than sent. */
export function propertiesMatch(will: Will, received: Record<string, unknown> | undefined): boolean | undefined {
  const sent = forwardedProperties(will.properties);
  const expiry = will.properties?.messageExpiryInterval;
  if (sent === undefined && expiry === undefined) return undefined;
  const got = received ?? {};
  for (const [name, value] of Object.entries(sent ?? {})) {
    if (name === 'userProperties') {
      if (!sameUserProperties(value, got.userProperties)) return false;
    } else if (Buffer.isBuffer(value)) {
      if (!Buffer.isBuffer(got[name]) || !value.equals(got[name])) return false;
    } else if (got[name] !== value) {
      return false;
    }
  }
  if (expiry !== undefined) {
    const left = got.messageExpiryInterval;
    if (typeof left !== 'number' || left > expiry) return false;
  }
  return true;
}

/** When the will was due, in words: "1.5 × keep-alive (3 s)", "the will delay (2 s)", "the victim's end". */
function dueName(o: ModeObservation): string {
  if (o.mode === 'keepalive') return `1.5 × keep-alive${(o.willDelay ?? 0) > 0 ? ' and the will delay' : ''} (${seconds(o.dueMs)})`;
  if (o.dueMs > 0) return `the will delay (${seconds(o.dueMs)})`;
  return "the victim's end";
}

/** Decides a mode from what was observed. Pure, so every verdict can be tested without a broker. */
export function judge(o: ModeObservation): Omit<LwtModeResult, 'topic' | 'clientId'> {
  const problems: string[] = [];
  const notes: string[] = [];
  const v5 = o.protocolVersion === 5;
  const base = { mode: o.mode, protocolVersion: o.protocolVersion, expected: o.expected, willDelay: o.willDelay, retained: o.retained, takeover: o.takeover };
  if (o.expected === 'skipped') {
    notes.push('skipped: it needs MQTT 5 (DISCONNECT has no reason code before 5.0)');
    return { ...base, observed: 'skipped', pass: true, latencyMs: undefined, dueMs: undefined, count: 0, match: undefined, problems, notes };
  }
  const first = o.arrivals[0];
  const observed: LwtObservation = first === undefined ? 'no will' : 'will';
  let match: WillMatch | undefined;
  if (first !== undefined) {
    const expectedQos = Math.min(o.will.qos, o.grantedQos) as QoS;
    // 3.1.1 [MQTT-3.3.1-9]: retain is 0 on a message sent to an established subscription; 5.0
    // [MQTT-3.3.1-13]: with Retain As Published (the watcher asks for it) it is the will's flag.
    const expectedRetain = v5 ? o.will.retain : false;
    match = {
      payload: first.payload.equals(o.will.payload),
      qos: first.qos === expectedQos,
      retain: first.retain === expectedRetain,
      properties: v5 ? propertiesMatch(o.will, first.properties) : undefined,
    };
    if (!match.payload) problems.push(`the payload differs: ${first.payload.length} bytes arrived, ${o.will.payload.length} were set`);
    if (!match.qos) problems.push(`the will arrived at QoS ${first.qos}, expected ${expectedQos} (will QoS ${o.will.qos}, subscription granted ${o.grantedQos})`);
    if (!match.retain) problems.push(`the retain flag arrived as ${first.retain ? 1 : 0}, expected ${expectedRetain ? 1 : 0}${v5 ? ' (Retain As Published [MQTT-3.3.1-13])' : ' (3.1.1 [MQTT-3.3.1-9])'}`);
    if (match.properties === false) problems.push('the will properties did not arrive as set (5.0 section 3.3.2.3)');
    if (o.arrivals.length > 1 && o.will.qos === 2) problems.push(`the QoS 2 will arrived ${o.arrivals.length} times`);
    else if (o.arrivals.length > 1) notes.push(`the will arrived ${o.arrivals.length} times`);
  }
  const latencyMs = first?.latencyMs;
  if (o.expected === 'will') {
    if (first === undefined) {
      const why =
        o.mode === 'takeover' && (o.willDelay ?? 0) > 0
          ? ' (the second connection\'s Clean Start ends the first session, and a will waits for its delay only while its session lives: 5.0 section 3.1.3.2.2)'
          : '';
      // What was allowed, not how long was watched: a will after the allowed time fails all the same.
      problems.push(`no will within ${seconds(o.dueMs + o.timeoutMs)} of the victim's end${o.mode === 'keepalive' ? ' going silent' : ''}${why}`);
    } else if (latencyMs! < o.dueMs - EARLY_SLACK_MS && o.mode !== 'takeover') {
      const why = o.mode === 'keepalive' ? '1.5 × keep-alive' : 'the will delay';
      problems.push(`the will came ${seconds(latencyMs!)} after the victim's end, before ${why} (${seconds(o.dueMs)})`);
    } else if (latencyMs! > o.dueMs + o.timeoutMs) {
      // --timeout is how late a will may be: later fails, saying by how much.
      const late = latencyMs! - o.dueMs;
      const hint = o.mode === 'keepalive' ? ' (brokers check keep-alives on a timer: a longer --timeout allows for it)' : '';
      problems.push(`the will came ${seconds(late)} after ${dueName(o)}, ${seconds(late - o.timeoutMs)} later than --timeout ${seconds(o.timeoutMs)} allows${hint}`);
    } else if (o.mode === 'keepalive' && latencyMs! > o.dueMs + EARLY_SLACK_MS) {
      notes.push(`the broker noticed the silence ${seconds(latencyMs! - o.dueMs)} after 1.5 × keep-alive (brokers check keep-alives on a timer)`);
    }
  } else if (o.expected === 'no will' && first !== undefined) {
    problems.push(`a will arrived ${seconds(latencyMs!)} after a normal DISCONNECT, which must discard it [MQTT-3.14.4-3]`);
  } else if (o.expected === 'either') {
    notes.push(`MQTT ${o.protocolVersion === 3 ? '3.1' : '3.1.1'} leaves the will on takeover to the broker; this one ${first === undefined ? 'does not publish it' : 'publishes it'}`);
  }
  if (o.takeover !== undefined) {
    if (!o.takeover.closed) problems.push(`the broker did not close the first connection when the second connected (${v5 ? '[MQTT-3.1.4-3]' : '[MQTT-3.1.4-2]'})`);
    else if (v5 && o.takeover.reasonCode !== ReasonCode.SessionTakenOver) {
      notes.push(o.takeover.reasonCode === undefined ? 'the first connection was closed without DISCONNECT 0x8E (Session taken over)' : `the first connection got DISCONNECT 0x${o.takeover.reasonCode.toString(16)} rather than 0x8E`);
    }
  }
  if (o.retained !== undefined && first !== undefined) {
    // An empty retained message deletes the topic's retained message instead of being kept
    // (3.1.1 [MQTT-3.3.1-10], 5.0 [MQTT-3.3.1-6]): an empty retained will must leave nothing.
    const empty = o.will.payload.length === 0;
    if (empty && o.retained.present) problems.push('the empty retained will was kept; an empty retained message must delete the retained one instead');
    else if (empty) notes.push('an empty retained will deletes the retained message rather than being kept, and none was left');
    else if (!o.retained.present) problems.push('a new subscriber did not get the will as a retained message');
    if (!o.retained.cleared) problems.push('clearing the retained will failed');
  }
  return { ...base, observed, pass: problems.length === 0, latencyMs, dueMs: o.dueMs, count: o.arrivals.length, match, problems, notes };
}
