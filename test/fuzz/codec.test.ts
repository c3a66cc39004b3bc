/**
 * The bounded slice of `npm run fuzz` (scripts/fuzz.mjs) in `npm test`: the same engine
 * (test/fuzz/codec/), 400,000 inputs from a FIXED seed, so a failure here is
 * a failure on every rerun and on every machine, and replays alone with the command printed.
 * Exploring new seeds is the job of `npm run fuzz`, which picks a random one each run.
 *
 * The engine's own checks are tested too: an oracle or memory check that cannot fail would
 * make the slice pass for nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MqttError, Parser, ReasonCode } from '../../src/core/codec/index.js';
import { buildCorpus, VERSIONS } from './codec/corpus.js';
import { replayCommand, runFuzz, type Crash } from './codec/engine.js';
import { makeInput, type FuzzInput } from './codec/inputs.js';
import { STRUCTURAL } from './codec/mutations.js';
import { check, Failure } from './codec/oracle.js';

const SEED = 0x6d717414;
/** About 27 s on this 2-core machine (~15,000 inputs/s under vitest). */
const INPUTS = 400_000;
/** Stops a loaded machine early (~40 s there) rather than at the test timeout; the count below is still required. */
const GUARD_SECONDS = 45;
const AT_LEAST = 50_000;
/**
 * Per-input cap, generous for a shared machine under a full `npm test` (the slowest input,
 * one that declares a 200 MB packet, takes ~30 ms alone): runaway work on inputs of at most
 * ~130 KB takes seconds. `npm run fuzz` runs alone and uses 250 ms.
 */
const MAX_MS_PER_INPUT = 1_000;

function describeCrash(c: Crash): string {
  return [
    `${c.failure} at input ${c.index}: ${c.message}`,
    `  ${c.kind} v${c.version} max ${c.maxPacketSize ?? 'none'} [${c.mutations.join(' ')}] cuts ${JSON.stringify(c.cuts)}`,
    `  hex ${c.hex}`,
    `  replay: ${replayCommand(c)}`,
  ].join('\n');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('codec fuzzing, bounded slice', () => {
  it(`${INPUTS.toLocaleString('en-US')} inputs of seed 0x${SEED.toString(16)}: only packets or MqttError, memory flat`, () => {
    const summary = runFuzz({ seed: SEED, inputs: INPUTS, seconds: GUARD_SECONDS, maxMsPerInput: MAX_MS_PER_INPUT });
    expect(summary.crashes.map(describeCrash).join('\n\n')).toBe('');
    expect(summary.crashCount).toBe(0);
    expect(summary.inputs).toBeGreaterThanOrEqual(AT_LEAST);
    // The run must reach every verdict: packets, waiting for more, and the main error codes.
    for (const outcome of ['packets', 'incomplete', '0x81', '0x82', '0x84', '0x95']) {
      expect(summary.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(0);
    }
    const { heap, buffers } = summary.memory;
    expect(summary.memoryFlat, `heap grew ${heap.growth} and buffers ${buffers.growth} bytes after warm-up (bound ${summary.memoryBound})`).toBe(true);
  }, 120_000);
});

describe('the fuzz engine', () => {
  const corpus = buildCorpus(1, 300);

  it('rebuilds an input from its seed and index alone', () => {
    const again = buildCorpus(1, 300);
    for (const index of [0, 1, 977, 123_456]) {
      const a = makeInput(1, index, corpus);
      const b = makeInput(1, index, again);
      expect(b.bytes.equals(a.bytes)).toBe(true);
      expect(b).toStrictEqual(a);
    }
    expect(makeInput(2, 5, corpus).bytes.equals(makeInput(1, 5, corpus).bytes)).toBe(false);
  });

  it('makes every input kind, every structural mutation, all versions, with and without a maximum', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const input = makeInput(7, i, corpus);
      seen.add(`kind:${input.kind}`);
      seen.add(`v:${input.version}`);
      seen.add(input.maxPacketSize === undefined ? 'no-max' : 'max');
      if (input.expect !== undefined) seen.add('expect');
      for (const m of input.mutations) seen.add(m.replace(/\(.*$/, '').replace(/^[a-z]+\[/, ''));
    }
    const wanted = [
      'kind:single', 'kind:stream', 'kind:valid-stream', 'kind:fc-stream', 'kind:noise', ...VERSIONS.map((v) => `v:${v}`), 'max', 'no-max', 'expect',
      ...STRUCTURAL.map(([, name]) => name).filter((n) => n !== 'field-length'), 'props-unknown',
      'utf8-length', 'binary-length', 'bit-flip', 'byte-set', 'truncate', 'insert', 'delete', 'duplicate', 'splice',
    ];
    expect(wanted.filter((w) => !seen.has(w))).toEqual([]);
  });

  const parser = (): Parser => new Parser({ protocolVersion: 5 });
  const input = (bytes: number[], extra: Partial<FuzzInput> = {}): FuzzInput => ({
    index: 0, kind: 'single', version: 5, maxPacketSize: undefined, bytes: Buffer.from(bytes), cuts: [1], mutations: [], ...extra,
  });

  it('passes MqttError and packets, and names the outcome', () => {
    expect(check(input([0xc0, 0x00]), parser())).toBe('packets');
    expect(check(input([0xc0, 0x01, 0x00]), parser())).toBe('0x81');
    expect(check(input([0x30, 0x7f]), parser())).toBe('incomplete');
  });

  it('fails an exception other than MqttError', () => {
    vi.spyOn(Parser.prototype, 'push').mockImplementation(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'length')");
    });
    expect(() => check(input([0xc0, 0x00]), parser())).toThrow(expect.objectContaining({ kind: 'exception' }));
  });

  it('fails an MqttError without a reason code of the error class', () => {
    vi.spyOn(Parser.prototype, 'push').mockImplementation(() => {
      throw new MqttError(ReasonCode.Success, 'not an error code');
    });
    expect(() => check(input([0xc0, 0x00]), parser())).toThrow(expect.objectContaining({ kind: 'reason-code' }));
  });

  it('fails a verdict that depends on where the bytes are cut', () => {
    const real = Parser.prototype.push;
    // A parser that loses a packet whose first byte arrives alone.
    vi.spyOn(Parser.prototype, 'push').mockImplementation(function (this: Parser, chunk: Buffer) {
      return chunk.length === 1 ? [] : real.call(this, chunk);
    });
    expect(() => check(input([0xc0, 0x00], { cuts: [1] }), parser())).toThrow(expect.objectContaining({ kind: 'chunking' }));
  });

  it('fails an outcome the spec fixes when it does not come', () => {
    const valid = [0xc0, 0x00];
    expect(() => check(input(valid, { expect: { code: ReasonCode.MalformedPacket } }), parser())).toThrow(Failure);
    expect(() => check(input([0xc0, 0x01, 0x00], { expect: 'accept' }), parser())).toThrow(expect.objectContaining({ kind: 'expectation' }));
  });

  it('fails a valid stream that does not come back whole', () => {
    const valid = input([0xc0, 0x00, 0xd0, 0x00], { kind: 'valid-stream', packets: [{ type: 'pingreq' }], cuts: [3] });
    expect(() => check(valid, parser())).toThrow(expect.objectContaining({ kind: 'valid-stream' }));
  });

  it('sees a leak: memory held per input fails the heap check', () => {
    const held: Buffer[] = [];
    const summary = runFuzz({ seed: 3, inputs: 20_000, corpusSize: 200, beforeInput: () => void held.push(Buffer.alloc(512).fill(1)) });
    expect(held.length).toBe(20_000);
    expect(summary.memoryFlat).toBe(false);
  }, 60_000);
});
