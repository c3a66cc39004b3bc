/**
 * Seeded random-bytes fuzzing of the Parser, for each protocol version, with and without a
 * maximum packet size. Whatever the bytes, the parser may only return packets or throw
 * MqttError: never another exception, never a hang. Its verdict may not depend on how the
 * input is chunked, and every packet it returns must re-encode and parse back to itself.
 *
 * A synchronous endless loop cannot be interrupted from inside the process, so the bound here is
 * the vitest timeout on each property plus a per-input time check that catches runaway (e.g.
 * quadratic) work long before it looks like a hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, MqttError, Parser, ReasonCode } from '../../../src/core/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../src/core/codec/index.js';
import { arbBytes, arbPacket } from '../../helpers/arbitraries.js';
import { varint } from '../../fuzz/codec/bytes.js';

/** Fixed, so a failure found once is found again; fast-check prints the path to the counterexample. */
const SEED = 0x6d717401;
const RUNS = 2000;
/** Generous: the largest fuzz input is ~20 KB, which parses in well under a millisecond. */
const MAX_MS_PER_INPUT = 500;

const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];

/** First bytes with legal flags for every type (PUBLISH with every flag combination, QoS 3 included). */
const FIRST_BYTES = [
  0x10, 0x20, ...Array.from({ length: 16 }, (_, i) => 0x30 | i), 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0,
  0xd0, 0xe0, 0xf0,
];

/** Bytes of one packet split into its first byte and body (Remaining Length dropped). */
function splitPacket(bytes: Buffer): { first: number; body: Buffer } {
  let i = 1;
  while ((bytes[i]! & 0x80) !== 0) i++;
  return { first: bytes[0]!, body: bytes.subarray(i + 1) };
}

function frame(first: number, body: Buffer, declared = body.length): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(Math.max(0, declared))]), body]);
}

type Mutation = { kind: 'flip' | 'set' | 'truncate' | 'insert' | 'delete'; at: number; value: number; bytes: Buffer };

const arbMutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
  bytes: arbBytes(8),
});

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << (m.value & 7));
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + (m.value & 7))]);
        break;
    }
  }
  return b;
}

/** Cut `bytes` at the given fractions of its length (empty chunks included). */
function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const at of points) {
    chunks.push(bytes.subarray(start, at));
    start = at;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

interface Outcome {
  packets: Packet[];
  /** The protocol version each packet was decoded with: a CONNECT switches the parser to its own. */
  versions: ProtocolVersion[];
  error: MqttError | undefined;
}

/** Feeds `chunks` to a fresh parser; anything thrown other than MqttError fails the test. */
function run(version: ProtocolVersion, maxPacketSize: number | undefined, chunks: Buffer[]): Outcome {
  const parser = new Parser(maxPacketSize === undefined ? { protocolVersion: version } : { protocolVersion: version, maxPacketSize });
  const out: Outcome = { packets: [], versions: [], error: undefined };
  let current = version;
  try {
    for (const c of chunks) {
      for (const p of parser.push(c)) {
        if (p.type === 'connect') current = p.protocolVersion;
        out.packets.push(p);
        out.versions.push(current);
      }
    }
  } catch (err) {
    if (!(err instanceof MqttError)) {
      throw new Error(`parser threw something other than MqttError: ${String(err)}`, { cause: err });
    }
    // Every failure carries a reason code of the error class (0x80 and up).
    expect(err.reasonCode).toBeGreaterThanOrEqual(0x80);
    out.error = err;
  }
  return out;
}

function exercise(bytes: Buffer, version: ProtocolVersion, maxPacketSize: number | undefined, cuts: number[]): void {
  const started = performance.now();
  const whole = run(version, maxPacketSize, [bytes]);
  const chunked = run(version, maxPacketSize, chunk(bytes, cuts));
  expect(performance.now() - started).toBeLessThan(MAX_MS_PER_INPUT);

  // Chunking may not change the verdict. It may change the code in one case only: an oversize
  // length still arriving is refused from its first bytes (0x95), which, whole, turns out to be an
  // over-long variable byte integer (0x81).
  expect(chunked.error === undefined).toBe(whole.error === undefined);
  if (whole.error !== undefined && chunked.error !== undefined && whole.error.reasonCode !== chunked.error.reasonCode) {
    expect(maxPacketSize).toBeDefined();
    expect([whole.error.reasonCode, chunked.error.reasonCode].sort()).toEqual([ReasonCode.MalformedPacket, ReasonCode.PacketTooLarge]);
  }
  if (whole.error === undefined) expect(chunked.packets).toStrictEqual(whole.packets);

  // Whatever the parser accepted, the encoder can write, and it reads back the same.
  chunked.packets.forEach((p, i) => {
    const v = chunked.versions[i]!;
    const again = encode(p, v);
    expect(new Parser({ protocolVersion: v }).push(again)).toStrictEqual([p]);
  });
}

const arbMax = fc.option(fc.integer({ min: 2, max: 400 }), { nil: undefined, freq: 2 });
const arbCuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 });

for (const version of VERSIONS) {
  describe(`fuzzing the Parser, protocol version ${version}`, () => {
    it('random bytes', () => {
      fc.assert(
        fc.property(arbBytes(256), arbMax, arbCuts, (bytes, max, cuts) => exercise(bytes, version, max, cuts)),
        { seed: SEED + version, numRuns: RUNS },
      );
    });

    it('a valid first byte and Remaining Length, then random bytes', () => {
      const arbFramed = fc
        .record({
          first: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...FIRST_BYTES) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
          body: fc.oneof(arbBytes(8), arbBytes(200)),
          // Usually the Remaining Length tells the truth, so the body decoders get to run.
          delta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
          more: fc.array(fc.constantFrom(...FIRST_BYTES), { maxLength: 2 }),
        })
        .map(({ first, body, delta, more }) => Buffer.concat([frame(first, body, body.length + delta), ...more.map((f) => frame(f, Buffer.alloc(0)))]));
      fc.assert(
        fc.property(arbFramed, arbMax, arbCuts, (bytes, max, cuts) => exercise(bytes, version, max, cuts)),
        { seed: SEED + 10 * version, numRuns: RUNS },
      );
    });

    it('valid packets with mutated bodies, re-framed with a true Remaining Length', () => {
      const arbMutated = fc
        .record({
          packet: arbPacket(version),
          mutations: fc.array(arbMutation, { minLength: 1, maxLength: 3 }),
          newFirst: fc.option(fc.constantFrom(...FIRST_BYTES), { nil: undefined, freq: 5 }),
        })
        .map(({ packet, mutations, newFirst }) => {
          const { first, body } = splitPacket(encode(packet, version));
          return frame(newFirst ?? first, mutate(body, mutations));
        });
      fc.assert(
        fc.property(arbMutated, arbMax, arbCuts, (bytes, max, cuts) => exercise(bytes, version, max, cuts)),
        { seed: SEED + 100 * version, numRuns: RUNS },
      );
    });

    it('streams of valid packets, mutated anywhere (framing included)', () => {
      const arbStream = fc
        .record({
          packets: fc.array(arbPacket(version), { minLength: 1, maxLength: 3 }),
          mutations: fc.array(arbMutation, { minLength: 1, maxLength: 4 }),
        })
        .map(({ packets, mutations }) => mutate(Buffer.concat(packets.map((p) => encode(p, version))), mutations));
      fc.assert(
        fc.property(arbStream, arbMax, arbCuts, (bytes, max, cuts) => exercise(bytes, version, max, cuts)),
        { seed: SEED + 1000 * version, numRuns: RUNS },
      );
    });
  });
}

describe('maxPacketSize on valid packets', () => {
  // The maximum counts the whole packet, fixed header included (5.0 section 3.1.2.11.4), and an
  // oversize packet is refused from its fixed header, before its body arrives.
  it('accepts a packet of exactly the maximum and refuses one byte less from the fixed header alone', () => {
    fc.assert(
      fc.property(fc.constantFrom<ProtocolVersion>(3, 4, 5).chain((v) => fc.tuple(fc.constant(v), arbPacket(v))), ([version, packet]) => {
        const bytes = encode(packet, version);
        expect(new Parser({ protocolVersion: version, maxPacketSize: bytes.length }).push(bytes)).toStrictEqual([packet]);
        if (bytes.length - 1 < 2) return; // the smallest maximum a Parser takes is 2
        let headerLength = 1;
        while ((bytes[headerLength]! & 0x80) !== 0) headerLength++;
        headerLength++;
        const parser = new Parser({ protocolVersion: version, maxPacketSize: bytes.length - 1 });
        let error: unknown;
        try {
          parser.push(bytes.subarray(0, headerLength));
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(MqttError);
        expect((error as MqttError).reasonCode).toBe(ReasonCode.PacketTooLarge);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
