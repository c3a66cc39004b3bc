/**
 * How `mqt sub` turns a received message into bytes, without colour (render/sub-output.ts adds
 * that on a terminal):
 * - compileFormat / renderFormat: mosquitto_sub's -F engine (client/sub_client_output.c), the
 *   same specifiers, flags, widths, escapes and time sequences, the same validation messages.
 * - formatDefault: mosquitto's payload-only and -v (`topic payload`) output.
 * - viewPayload: what a payload looks like on a terminal (hex when binary, --pretty JSON).
 *
 * The format is parsed once, when the command starts, and invalid formats are rejected
 * there, as mosquitto_sub does before connecting.
 */
import type { ReceivedMessage } from './message.js';
import { isPrintableUtf8 } from './message.js';
import { mosquittoJson } from './json-output.js';
import { isoLocal, nanosText, strftimeChar, unixWithNanos } from './time-format.js';

export type { ReceivedMessage } from './message.js';

/** A -F format mosquitto would refuse; the message says which sequence and why. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** The % conversions mosquitto_sub 2.0 accepts. */
const SPECIFIERS = new Set(['A', 'C', 'D', 'E', 'F', 'I', 'j', 'J', 'l', 'm', 'P', 'p', 'q', 'R', 'r', 'S', 't', 'U', 'x', 'X']);

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  '0': '\0',
  a: '\x07',
  e: '\x1b',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

interface TextOp {
  kind: 'text';
  text: string;
}

interface FieldOp {
  kind: 'field';
  spec: string;
  /** '-' flag: align left, pad with blanks on the right. */
  left: boolean;
  /** '0' flag: pad numbers (and payloads) with zeros; ignored with '-' except for absent properties, as mosquitto. */
  zero: boolean;
  /** Minimum width; 0 when not given. */
  width: number;
  /** Maximum width of text fields (%C %I %R %t); -1 when not given. */
  precision: number;
}

interface TimeOp {
  kind: 'time';
  /** The strftime conversion after '@', or 'N' for nanoseconds. */
  char: string;
}

type Op = TextOp | FieldOp | TimeOp;

/** A parsed -F format: literal text and conversions, ready to render many messages. */
export interface CompiledFormat {
  readonly source: string;
  readonly ops: readonly Op[];
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parses a -F format. Throws FormatError for what mosquitto_sub rejects at start-up: an
 * unknown `%` conversion or `\` escape, and a format ending inside a sequence.
 *
 * `%[-][0][width][.precision]<conversion>`; `@<c>` is strftime's `%<c>` (`@@` is '@', `@N`
 * nanoseconds); `\\ \0 \a \e \n \r \t \v` are escapes.
 */
export function compileFormat(format: string): CompiledFormat {
  const ops: Op[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') ops.push({ kind: 'text', text });
    text = '';
  };
  const len = format.length;
  let i = 0;
  while (i < len) {
    const c = format[i]!;
    if (c === '%') {
      i++;
      let left = false;
      let zero = false;
      let width = 0;
      let precision = -1;
      if (format[i] === '-') {
        left = true;
        i++;
      }
      if (format[i] === '0') {
        zero = true;
        i++;
      }
      while (isDigit(format[i])) width = width * 10 + Number(format[i++]);
      if (format[i] === '.') {
        i++;
        precision = 0;
        while (isDigit(format[i])) precision = precision * 10 + Number(format[i++]);
      }
      if (i >= len) throw new FormatError('incomplete format specifier at the end of the format');
      const spec = String.fromCodePoint(format.codePointAt(i)!);
      i += spec.length;
      if (spec === '%') {
        text += '%';
      } else if (SPECIFIERS.has(spec)) {
        flush();
        ops.push({ kind: 'field', spec, left, zero, width, precision });
      } else {
        throw new FormatError(`invalid format specifier '%${spec}'`);
      }
    } else if (c === '@') {
      i++;
      if (i >= len) throw new FormatError('incomplete format specifier at the end of the format');
      const char = String.fromCodePoint(format.codePointAt(i)!);
      i += char.length;
      if (char === '@') {
        text += '@';
      } else {
        flush();
        ops.push({ kind: 'time', char });
      }
    } else if (c === '\\') {
      i++;
      if (i >= len) throw new FormatError('incomplete escape specifier at the end of the format');
      const char = String.fromCodePoint(format.codePointAt(i)!);
      i += char.length;
      const escaped = ESCAPES[char];
      if (escaped === undefined) throw new FormatError(`invalid escape specifier '\\${char}'`);
      text += escaped;
    } else {
      text += c;
      i++;
    }
  }
  flush();
  return { source: format, ops };
}

export interface RenderOptions {
  /** End with a newline (false with -N). */
  eol: boolean;
  /**
   * Show payloads and correlation data that are not printable UTF-8 as lowercase hex. On for a
   * terminal without --raw, so binary bytes never reach it raw.
   */
  binaryAsHex: boolean;
  /** Indent the %j and %J objects (mosquitto's --pretty). */
  pretty: boolean;
}

export interface Rendered {
  output: Buffer;
  /** Problems with this one message (mosquitto prints them on stderr and goes on). */
  warnings: readonly string[];
}

const NO_WARNINGS: readonly string[] = Object.freeze([]);

/** mosquitto's formatted_print_int. */
function formatInt(value: number, op: FieldOp): string {
  const s = String(value);
  if (op.width === 0) return s;
  if (op.left) return s.padEnd(op.width, ' ');
  return s.padStart(op.width, op.zero ? '0' : ' ');
}

/**
 * mosquitto's formatted_print_str: printf's %-*.*s. Widths count characters (code points)
 * where C counts bytes, so non-ASCII topics line up and are never cut inside a character.
 */
function formatStr(value: string, op: FieldOp): string {
  let s = value;
  if (op.precision >= 0) {
    const chars = Array.from(s);
    if (chars.length > op.precision) s = chars.slice(0, op.precision).join('');
  }
  if (op.width === 0) return s;
  const length = Array.from(s).length;
  if (length >= op.width) return s;
  return op.left ? s + ' '.repeat(op.width - length) : ' '.repeat(op.width - length) + s;
}

/** An absent property with a width: `width` pad characters (mosquitto's formatted_print_blank). */
function blank(pad: string, width: number): string {
  return pad.repeat(width);
}

/**
 * mosquitto's write_payload for %p (hex 0), %x (1) and %X (2). A width is both minimum and
 * maximum, as in mosquitto: a longer payload is cut to the width. Two mosquitto bugs are not
 * copied: it halves the byte count for hex even when nothing is cut (`%7x` of "abc" prints
 * only "61"), and `%-p` without a width pads with as many blanks as the payload is long.
 */
function formatPayload(bytes: Buffer, hex: 0 | 1 | 2, op: FieldOp): string | Buffer {
  let shown = bytes;
  let shownWidth = hex === 0 ? bytes.length : bytes.length * 2;
  if (op.width > 0 && shownWidth > op.width) {
    shown = bytes.subarray(0, hex === 0 ? op.width : Math.floor(op.width / 2));
    shownWidth = hex === 0 ? shown.length : shown.length * 2;
  }
  const body = hex === 0 ? shown : hex === 1 ? shown.toString('hex') : shown.toString('hex').toUpperCase();
  const padLength = op.width > shownWidth ? op.width - shownWidth : 0;
  if (padLength === 0) return body;
  const pad = op.left ? ' '.repeat(padLength) : (op.zero ? '0' : ' ').repeat(padLength);
  const parts = op.left ? [body, pad] : [pad, body];
  return typeof body === 'string' ? parts.join('') : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** Bytes that may be binary (payload, correlation data), as they are or as hex on a terminal. */
function binaryField(bytes: Buffer, op: FieldOp, options: RenderOptions): string | Buffer {
  const asHex = options.binaryAsHex && !isPrintableUtf8(bytes);
  return formatPayload(bytes, asHex ? 1 : 0, op);
}

function renderField(op: FieldOp, message: ReceivedMessage, options: RenderOptions, warnings: string[]): string | Buffer {
  const props = message.properties;
  const pad = op.zero ? '0' : ' ';
  switch (op.spec) {
    case 't': return formatStr(message.topic, op);
    case 'p': return binaryField(message.payload, op, options);
    case 'x': return formatPayload(message.payload, 1, op);
    case 'X': return formatPayload(message.payload, 2, op);
    case 'l': return formatInt(message.payload.length, op);
    case 'q': return String(message.qos);
    case 'r': return message.retain ? '1' : '0';
    case 'm': return formatInt(message.messageId, op);
    case 'I': return formatStr(isoLocal(message.received), op);
    case 'U': return unixWithNanos(message.received);
    case 'j': return mosquittoJson(message, true, options.pretty) ?? '';
    case 'J': {
      const json = mosquittoJson(message, false, options.pretty);
      if (json === undefined) {
        warnings.push(`payload is not valid JSON on topic ${message.topic}`);
        return '';
      }
      return json;
    }
    case 'A': return props?.topicAlias !== undefined ? formatInt(props.topicAlias, op) : blank(pad, op.width);
    case 'E': return props?.messageExpiryInterval !== undefined ? formatInt(props.messageExpiryInterval, op) : blank(pad, op.width);
    case 'F': return props?.payloadFormatIndicator !== undefined ? formatInt(props.payloadFormatIndicator, op) : blank(pad, op.width);
    // mosquitto reads the first Subscription Identifier; a message matching several subscriptions carries more.
    case 'S': {
      const id = props?.subscriptionIdentifiers?.[0];
      return id !== undefined ? formatInt(id, op) : blank(pad, op.width);
    }
    case 'C': return props?.contentType !== undefined ? formatStr(props.contentType, op) : blank(' ', op.width);
    // mosquitto prints nothing at all for an absent response topic, whatever the width.
    case 'R': return props?.responseTopic !== undefined ? formatStr(props.responseTopic, op) : '';
    // Correlation data and user properties take no width, as in mosquitto.
    case 'D': return props?.correlationData !== undefined ? binaryField(props.correlationData, { ...op, width: 0 }, options) : '';
    case 'P': return (props?.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(' ');
    default: return '';
  }
}

function toBuffer(parts: readonly (string | Buffer)[]): Buffer {
  let allStrings = true;
  for (const p of parts) if (typeof p !== 'string') allStrings = false;
  if (allStrings) return Buffer.from(parts.join(''), 'utf8');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

/** Renders one message with a compiled -F format. */
export function renderFormat(format: CompiledFormat, message: ReceivedMessage, options: RenderOptions): Rendered {
  const parts: (string | Buffer)[] = [];
  const warnings: string[] = [];
  for (const op of format.ops) {
    if (op.kind === 'text') parts.push(op.text);
    else if (op.kind === 'time') parts.push(op.char === 'N' ? nanosText(message.received) : strftimeChar(op.char, message.received));
    else parts.push(renderField(op, message, options, warnings));
  }
  if (options.eol) parts.push('\n');
  return { output: toBuffer(parts), warnings: warnings.length > 0 ? warnings : NO_WARNINGS };
}

/** What a payload looks like in human output. */
export type PayloadView =
  /** Printable UTF-8 text, as received. */
  | { kind: 'text'; text: string }
  /** A JSON object or array, re-indented for --pretty. */
  | { kind: 'json'; text: string }
  /** Bytes that must not reach a terminal raw, in lowercase hex. */
  | { kind: 'hex'; text: string }
  /** The bytes unchanged (pipes and files, or --raw). */
  | { kind: 'raw'; bytes: Buffer };

export interface ViewOptions {
  binaryAsHex: boolean;
  pretty: boolean;
}

/** A JSON object or array, pretty-printed, or undefined when the payload is not one. */
function prettyJson(payload: Buffer): string | undefined {
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x09 || payload[i] === 0x0a || payload[i] === 0x0d)) i++;
  // Only objects and arrays: re-printing a bare number or string would change it ("1.50" → 1.5) for no gain.
  if (payload[i] !== 0x7b && payload[i] !== 0x5b) return undefined;
  try {
    return JSON.stringify(JSON.parse(payload.toString('utf8')), null, 2);
  } catch {
    return undefined;
  }
}

/** How human output shows a payload: pretty JSON when asked, hex for binary on a terminal, else as is. */
export function viewPayload(payload: Buffer, options: ViewOptions): PayloadView {
  if (options.pretty) {
    const text = prettyJson(payload);
    if (text !== undefined) return { kind: 'json', text };
  }
  if (!options.binaryAsHex) return { kind: 'raw', bytes: payload };
  if (isPrintableUtf8(payload)) return { kind: 'text', text: payload.toString('utf8') };
  return { kind: 'hex', text: payload.toString('hex') };
}

export interface DefaultOptions extends ViewOptions {
  /** -v: `topic payload`. */
  verbose: boolean;
  eol: boolean;
}

/**
 * mosquitto_sub's output without -F: the payload, or with -v `topic payload`. As in mosquitto,
 * an empty payload prints nothing at all, and with -v `topic (null)` (nothing with -N).
 */
export function formatDefault(message: ReceivedMessage, options: DefaultOptions): Buffer {
  if (message.payload.length === 0) {
    return options.verbose && options.eol ? Buffer.from(`${message.topic} (null)\n`, 'utf8') : Buffer.alloc(0);
  }
  const view = viewPayload(message.payload, options);
  const parts: (string | Buffer)[] = [];
  if (options.verbose) parts.push(`${message.topic} `);
  parts.push(view.kind === 'raw' ? view.bytes : view.text);
  if (options.eol) parts.push('\n');
  return toBuffer(parts);
}
