/**
 * Input number `index` of a run with `seed`: which packets, which mutations, which parser
 * settings and where the bytes are cut. Everything comes from a generator seeded by
 * (seed, index) alone, so `--seed S --from I --inputs 1` rebuilds exactly this input.
 *
 *   single        one packet, one structural and/or 1-3 blind mutations
 *   stream        2-6 packets, some mutated, back to back
 *   valid-stream  2-8 valid packets: fed to the long-lived parser of its version, they must
 *                 come back exactly, and the parser must hold nothing after them
 *   fc-stream     1-6 packets fresh from fast-check (not the corpus), cut where fast-check
 *                 says, half the time with blind mutations
 *   noise         random bytes, sometimes behind a valid first byte
 * All but valid-stream are also fed whole to a fresh parser, to compare verdicts.
 */
import fc from 'fast-check';
import { encode } from '../../../src/core/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../src/core/codec/index.js';
import { arbPacket } from '../../helpers/arbitraries.js';
import type { Corpus, Sample } from './corpus.js';
import { VERSIONS } from './corpus.js';
import { largestDeclared } from './bytes.js';
import { FIRST_BYTES, mutateBlind, mutateStructure, type Expectation } from './mutations.js';
import { Rng } from './rng.js';

export type InputKind = 'single' | 'stream' | 'valid-stream' | 'fc-stream' | 'noise';

export interface FuzzInput {
  index: number;
  kind: InputKind;
  /** The version the parser starts with (a CONNECT in the bytes may change it). */
  version: ProtocolVersion;
  maxPacketSize: number | undefined;
  bytes: Buffer;
  /** Offsets where the bytes are split into chunks, ascending. */
  cuts: number[];
  mutations: string[];
  /** What the spec says must happen (checked only when set). */
  expect?: Expectation;
  /** valid-stream: the packets that must come back, in order. */
  packets?: Packet[];
}

/** Above this, byte-at-a-time feeding costs more than it finds. */
const MAX_BYTEWISE = 2_000;

function pickCuts(rng: Rng, length: number): number[] {
  if (length <= MAX_BYTEWISE && rng.chance(0.03)) return Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1);
  const cuts = new Set<number>();
  for (let n = rng.int(9); n > 0; n--) cuts.add(rng.int(length + 1));
  // A cut inside the fixed header is where framers go wrong: favour the first bytes.
  if (length > 1 && rng.chance(0.3)) cuts.add(rng.range(1, Math.min(5, length)));
  return [...cuts].sort((a, b) => a - b);
}

/** A declared size above this makes the parser allocate it: ~1 ms and a GC each time. */
const BIG_DECLARED = 1 << 20;

function pickMax(rng: Rng, bytes: Buffer): number | undefined {
  // Huge declared lengths are mostly met with a limit (as a broker does) and refused from
  // the header; one in ten still goes to a parser without one, which must take it in.
  const unlimited = largestDeclared(bytes) > BIG_DECLARED ? 0.1 : 0.65;
  if (rng.chance(unlimited)) return undefined;
  // Around the input's own size, where the limit decides, or a small or usual limit.
  return Math.max(2, rng.weighted([
    [3, bytes.length + rng.range(-8, 8)],
    [1, rng.range(2, 64)],
    [1, rng.pick([128, 1024, 65_536, 268_435_460])],
  ] as const));
}

function mutateOne(rng: Rng, corpus: Corpus, version: ProtocolVersion, s: Sample, names: string[]): { bytes: Buffer; expect?: Expectation } {
  let bytes = s.bytes;
  let expect: Expectation | undefined;
  const structural = rng.chance(0.75) ? mutateStructure(rng, s) : null;
  if (structural !== null) {
    bytes = structural.bytes;
    names.push(structural.name);
    expect = structural.expect;
  }
  if (structural === null || rng.chance(0.25)) {
    bytes = mutateBlind(rng, bytes, rng.pick(corpus[version]).bytes, names);
    expect = undefined; // a blind change may break something else first
  }
  return expect === undefined ? { bytes } : { bytes, expect };
}

/** Per version: packets and cut points (fractions of the stream's length), both from fast-check. */
const FC_STREAMS = Object.fromEntries(
  VERSIONS.map((v) => [v, fc.record({
    packets: fc.array(arbPacket(v), { minLength: 1, maxLength: 6 }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
  })]),
) as Record<ProtocolVersion, fc.Arbitrary<{ packets: Packet[]; cuts: number[] }>>;

export function makeInput(seed: number, index: number, corpus: Corpus): FuzzInput {
  const rng = new Rng(seed, index);
  const version = rng.pick(VERSIONS);
  const pool = corpus[version];
  const kind = rng.weighted<InputKind>([[10, 'single'], [5, 'stream'], [3, 'valid-stream'], [1, 'fc-stream'], [1, 'noise']]);
  const mutations: string[] = [];
  let bytes: Buffer;
  let expect: Expectation | undefined;
  let packets: Packet[] | undefined;
  let fcCuts: number[] | undefined;
  switch (kind) {
    case 'single': {
      const s = rng.pick(pool);
      ({ bytes, expect } = mutateOne(rng, corpus, version, s, mutations));
      mutations.unshift(s.packet.type);
      break;
    }
    case 'stream': {
      const parts: Buffer[] = [];
      for (let n = rng.range(2, 6); n > 0; n--) {
        const s = rng.pick(pool);
        const names: string[] = [];
        parts.push(rng.chance(0.35) ? mutateOne(rng, corpus, version, s, names).bytes : s.bytes);
        mutations.push(names.length === 0 ? s.packet.type : `${s.packet.type}[${names.join(',')}]`);
      }
      bytes = Buffer.concat(parts);
      break;
    }
    case 'valid-stream': {
      const samples = Array.from({ length: rng.range(2, 8) }, () => rng.pick(pool));
      bytes = Buffer.concat(samples.map((s) => s.bytes));
      packets = samples.map((s) => s.packet);
      mutations.push(...samples.map((s) => s.packet.type));
      break;
    }
    case 'fc-stream': {
      const [drawn] = fc.sample(FC_STREAMS[version], { seed: rng.u32() | 0, numRuns: 1 });
      bytes = Buffer.concat(drawn!.packets.map((p) => encode(p, version)));
      mutations.push(...drawn!.packets.map((p) => p.type));
      if (rng.chance(0.5)) bytes = mutateBlind(rng, bytes, rng.pick(pool).bytes, mutations);
      fcCuts = [...new Set(drawn!.cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
      break;
    }
    case 'noise': {
      const body = rng.bytes(rng.int(rng.chance(0.8) ? 32 : 400));
      bytes = rng.chance(0.5) ? Buffer.concat([Buffer.from([rng.pick(FIRST_BYTES)]), body]) : body;
      break;
    }
  }
  // Now and then a packet of one version read by a parser of another.
  const parserVersion = kind !== 'valid-stream' && rng.chance(0.1) ? rng.pick(VERSIONS) : version;
  const input: FuzzInput = {
    index,
    kind,
    version: parserVersion,
    maxPacketSize: kind === 'valid-stream' ? undefined : pickMax(rng, bytes),
    bytes,
    cuts: fcCuts ?? pickCuts(rng, bytes.length),
    mutations,
  };
  if (expect !== undefined && parserVersion === version && input.maxPacketSize === undefined) input.expect = expect;
  if (packets !== undefined) input.packets = packets;
  return input;
}
