/**
 * The verdict on one input. The parser may only return packets or throw MqttError with a
 * reason code of the error class (0x80 to 0xFF); anything else it throws is a crash. Beyond
 * that: chunking may not change the verdict, every packet it returns must re-encode and
 * parse back to itself, and where the spec fixes the outcome of a mutation, that outcome.
 * `check` returns the outcome's name for the counts, or throws a Failure saying what broke.
 */
import { isDeepStrictEqual } from 'node:util';
import { encode, MqttError, Parser, ReasonCode } from '../../../src/core/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../src/core/codec/index.js';
import type { FuzzInput } from './inputs.js';

export class Failure extends Error {
  constructor(
    readonly kind: 'exception' | 'reason-code' | 'chunking' | 're-encode' | 'expectation' | 'valid-stream' | 'slow',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Verdict {
  packets: Packet[];
  /** The version each packet was decoded with: a CONNECT switches the parser to its own. */
  versions: ProtocolVersion[];
  error: MqttError | undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function feed(parser: Parser, chunks: Buffer[]): Verdict {
  const out: Verdict = { packets: [], versions: [], error: undefined };
  try {
    for (const chunk of chunks) {
      let version = parser.protocolVersion;
      for (const p of parser.push(chunk)) {
        if (p.type === 'connect') version = p.protocolVersion;
        out.packets.push(p);
        out.versions.push(version);
      }
    }
  } catch (err) {
    if (!(err instanceof MqttError)) throw new Failure('exception', `parser threw ${describe(err)}`, { cause: err });
    const code = err.reasonCode;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0x80 || code > 0xff) {
      throw new Failure('reason-code', `MqttError with reason code ${String(code)}: ${err.message}`, { cause: err });
    }
    out.error = err;
  }
  return out;
}

export function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const at of cuts) {
    chunks.push(bytes.subarray(start, at));
    start = at;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function newParser(input: FuzzInput): Parser {
  return new Parser(input.maxPacketSize === undefined ? { protocolVersion: input.version } : { protocolVersion: input.version, maxPacketSize: input.maxPacketSize });
}

function checkReencode(v: Verdict): void {
  v.packets.forEach((p, i) => {
    const version = v.versions[i]!;
    let back: Packet[];
    try {
      back = new Parser({ protocolVersion: version }).push(encode(p, version));
    } catch (err) {
      throw new Failure('re-encode', `packet ${i} (${p.type}) accepted but does not re-encode and parse back: ${describe(err)}`, { cause: err });
    }
    if (!isDeepStrictEqual(back, [p])) throw new Failure('re-encode', `packet ${i} (${p.type}) re-encoded parses to something else`);
  });
}

function outcomeName(v: Verdict): string {
  if (v.error !== undefined) return `0x${v.error.reasonCode.toString(16)}`;
  return v.packets.length > 0 ? 'packets' : 'incomplete';
}

/**
 * `longLived` is the run's parser for valid streams of this version: one parser that sees
 * many inputs, as a connection does, so state left behind by one input would show.
 */
export function check(input: FuzzInput, longLived: Parser): string {
  const chunks = chunksOf(input.bytes, input.cuts);
  if (input.kind === 'valid-stream') {
    const v = feed(longLived, chunks);
    if (v.error !== undefined) {
      longLived.reset();
      throw new Failure('valid-stream', `valid packets refused: ${describe(v.error)}`);
    }
    if (!isDeepStrictEqual(v.packets, input.packets)) throw new Failure('valid-stream', 'valid packets came back different');
    if (longLived.buffered !== 0) throw new Failure('valid-stream', `parser holds ${longLived.buffered} bytes after whole packets`);
    return 'packets';
  }

  const whole = feed(newParser(input), [input.bytes]);
  const chunked = feed(newParser(input), chunks);
  if ((whole.error === undefined) !== (chunked.error === undefined)) {
    throw new Failure('chunking', `whole: ${whole.error ? describe(whole.error) : 'no error'}; chunked: ${chunked.error ? describe(chunked.error) : 'no error'}`);
  }
  if (whole.error !== undefined && chunked.error !== undefined && whole.error.reasonCode !== chunked.error.reasonCode) {
    // One difference is allowed: an oversize length still arriving is refused from its first
    // bytes (0x95), which, whole, turns out to be an over-long variable byte integer (0x81).
    const pair = [whole.error.reasonCode, chunked.error.reasonCode].sort((a, b) => a - b);
    if (input.maxPacketSize === undefined || pair[0] !== ReasonCode.MalformedPacket || pair[1] !== ReasonCode.PacketTooLarge) {
      throw new Failure('chunking', `whole: ${describe(whole.error)}; chunked: ${describe(chunked.error)}`);
    }
  }
  // The packets before an error may differ (an error can come sooner in one), so compare them only without one.
  if (whole.error === undefined && !isDeepStrictEqual(whole.packets, chunked.packets)) {
    throw new Failure('chunking', 'whole and chunked input give different packets');
  }
  checkReencode(whole);
  checkReencode(chunked);

  const expect = input.expect;
  if (expect === 'accept' && (whole.error !== undefined || whole.packets.length !== 1)) {
    throw new Failure('expectation', `expected one packet, got ${whole.error ? describe(whole.error) : `${whole.packets.length} packets`}`);
  }
  if (expect !== undefined && expect !== 'accept' && whole.error?.reasonCode !== expect.code) {
    throw new Failure('expectation', `expected MqttError 0x${expect.code.toString(16)}, got ${whole.error ? describe(whole.error) : `${whole.packets.length} packets`}`);
  }
  return outcomeName(whole);
}
