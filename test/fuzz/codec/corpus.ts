/**
 * The valid packets the fuzzer starts from: every type, for protocol versions 3, 4 and 5,
 * drawn by fast-check (test/helpers/arbitraries.ts) from the run's seed, encoded once, with
 * their layout. The pool is fixed for a run, so the heap it takes is too (the memory check
 * measures the parser, not the pool).
 */
import fc from 'fast-check';
import { encode } from '../../../src/core/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../src/core/codec/index.js';
import { arbPacket } from '../../helpers/arbitraries.js';
import { layoutOf, type Layout } from './layout.js';

export interface Sample {
  packet: Packet;
  bytes: Buffer;
  layout: Layout;
}

export type Corpus = Record<ProtocolVersion, Sample[]>;

export const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];

export function buildCorpus(seed: number, perVersion: number): Corpus {
  const corpus = {} as Corpus;
  for (const version of VERSIONS) {
    const packets = fc.sample(arbPacket(version), { seed: (seed ^ (version * 0x01000193)) | 0, numRuns: perVersion });
    corpus[version] = packets.map((packet) => {
      const bytes = encode(packet, version);
      return { packet, bytes, layout: layoutOf(bytes, version) };
    });
  }
  return corpus;
}
