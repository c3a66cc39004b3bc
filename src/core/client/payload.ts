/**
 * Where a published payload comes from: the command line, a file, standard input (whole or
 * line by line), nothing at all, or random bytes; and how given text becomes bytes
 * (`--encoding hex|base64`). No flags here: the CLI's payload option group builds a
 * PayloadSource and calls these.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { MAX_VARINT } from '../codec/constants.js';

export type PayloadEncoding = 'utf8' | 'hex' | 'base64';
export const PAYLOAD_ENCODINGS: readonly PayloadEncoding[] = ['utf8', 'hex', 'base64'];

/** Largest payload that fits a PUBLISH at all: the remaining length minus a 1-byte topic's fields. */
export const MAX_PAYLOAD = MAX_VARINT - 4;

export type PayloadSource =
  | { kind: 'message'; text: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' }
  /** One message per line; with `topicSeparator` each line is `topic<sep>payload`. */
  | { kind: 'lines'; topicSeparator?: string | undefined }
  | { kind: 'null' }
  | { kind: 'random'; size: number };

/** Input that cannot become a payload: an unreadable file, bad hex or base64. */
export class PayloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PayloadError';
  }
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
// Standard and URL-safe alphabets, padding optional.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const WHITESPACE = /\s+/g;

/**
 * Text (or bytes read as text) as payload bytes. utf8 keeps bytes as they are; hex and base64
 * ignore whitespace, so a dump wrapped over lines decodes, and refuse anything else rather
 * than dropping it silently (Buffer.from would).
 */
export function decodePayload(input: string | Buffer, encoding: PayloadEncoding): Buffer {
  if (encoding === 'utf8') return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const text = (typeof input === 'string' ? input : input.toString('latin1')).replace(WHITESPACE, '');
  if (encoding === 'hex') {
    if (!HEX.test(text)) {
      const bad = /[^0-9a-fA-F]/.exec(text);
      throw new PayloadError(bad ? `not hex: '${bad[0]}' is not a hex digit` : 'not hex: an odd number of digits');
    }
    return Buffer.from(text, 'hex');
  }
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) throw new PayloadError('not base64: unexpected characters or length');
  return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
}

export function randomPayload(size: number): Buffer {
  return randomBytes(size);
}

/** All of a stream, e.g. standard input for `-s`. */
export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The payload of a one-shot source (everything but `lines`). `stdin` is passed in so tests
 * need no process.
 */
export async function loadPayload(source: Exclude<PayloadSource, { kind: 'lines' }>, encoding: PayloadEncoding, stdin: AsyncIterable<Buffer | string>): Promise<Buffer> {
  switch (source.kind) {
    case 'message':
      return decodePayload(source.text, encoding);
    case 'file': {
      let data: Buffer;
      try {
        data = await readFile(source.path);
      } catch (cause) {
        throw new PayloadError(`cannot read '${source.path}': ${fileReason(cause)}`, { cause });
      }
      return decodePayload(data, encoding);
    }
    case 'stdin':
      return decodePayload(await readAll(stdin), encoding);
    case 'null':
      return Buffer.alloc(0);
    case 'random':
      return randomPayload(source.size);
  }
}

/** What went wrong with a file, in words rather than an errno name. */
export function fileReason(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}

/**
 * The lines of a stream as byte buffers, without their `\n` (or `\r\n`). Bytes, not strings:
 * a line may hold any payload, and decoding would mangle what is not UTF-8. A last line
 * without a newline still counts; an empty input has no lines.
 */
export async function* readLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pending: Buffer | undefined;
  for await (const raw of stream) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
      const line = pending === undefined ? piece : Buffer.concat([pending, piece]);
      pending = undefined;
      yield stripCR(line);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // Copy: the stream may reuse its buffer for the next chunk.
      pending = pending === undefined ? Buffer.from(rest) : Buffer.concat([pending, rest]);
    }
  }
  if (pending !== undefined && pending.length > 0) yield stripCR(pending);
}

function stripCR(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}

/**
 * Splits a `--line-topic` line into topic and payload at the first separator (mosquitto
 * issue 3060): topics never contain the separator, payloads may. Undefined when there is none.
 */
export function splitLineTopic(line: Buffer, separator: string): { topic: string; payload: Buffer } | undefined {
  const sep = Buffer.from(separator, 'utf8');
  const at = line.indexOf(sep);
  if (at === -1) return undefined;
  return { topic: line.subarray(0, at).toString('utf8'), payload: line.subarray(at + sep.length) };
}
