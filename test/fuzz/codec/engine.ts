/**
 * The fuzz loop: builds the corpus from the seed, makes and checks inputs from..from+inputs
 * (or until `seconds` have passed), counts outcomes, keeps the first crashes, samples the
 * heap. It prints nothing: the caller (the vitest slice, or main.ts for `npm run fuzz`)
 * reports through `onProgress` and the returned summary.
 */
import { Parser } from '../../../src/core/codec/index.js';
import type { ProtocolVersion } from '../../../src/core/codec/index.js';
import { hex } from './bytes.js';
import { buildCorpus, VERSIONS } from './corpus.js';
import { makeInput, type FuzzInput } from './inputs.js';
import { memoryReport, sampleMemory, type MemoryReport, type MemorySample } from './memory.js';
import { check, Failure } from './oracle.js';

export interface FuzzOptions {
  seed: number;
  inputs: number;
  /** Index of the first input (replaying one input: from = its index, inputs = 1). */
  from?: number;
  /** Stop after this long even if `inputs` are not all run. */
  seconds?: number;
  /** An input that takes longer than this twice in a row is reported as runaway. */
  maxMsPerInput?: number;
  /** Valid packets drawn per protocol version. */
  corpusSize?: number;
  /** Growth allowed from the warm-up sample to the last, heap and buffers together, bytes. */
  memoryBound?: number;
  /** Crashes kept (the count goes on). */
  maxCrashes?: number;
  /** Called about every `progressMs` with the inputs run so far. */
  onProgress?: (done: number, elapsedMs: number, crashes: number) => void;
  progressMs?: number;
  /** Called before each input runs (`--trace`: name the input a hang sits in). */
  beforeInput?: (input: FuzzInput) => void;
}

export interface Crash {
  seed: number;
  index: number;
  failure: Failure['kind'];
  message: string;
  kind: FuzzInput['kind'];
  version: ProtocolVersion;
  maxPacketSize: number | undefined;
  mutations: string[];
  cuts: number[];
  hex: string;
}

export interface FuzzSummary {
  seed: number;
  from: number;
  inputs: number;
  stoppedBy: 'count' | 'time';
  /** Outcome of each input fed whole: 'packets', 'incomplete' or the MqttError's code ('0x81'). */
  outcomes: Record<string, number>;
  crashCount: number;
  crashes: Crash[];
  memory: MemoryReport;
  /** Growth allowed, heap and buffers together (bytes), and whether the run stayed within it. */
  memoryBound: number;
  memoryFlat: boolean;
  corpusMs: number;
  /** Valid packets the run started from. */
  corpusPackets: number;
  elapsedMs: number;
  inputsPerSecond: number;
  /** The slowest input, to see how far from the cap the run stayed. */
  slowest: { index: number; ms: number };
}

/**
 * 4 MB: the engine keeps nothing per input (counts, and at most maxCrashes crash records), so
 * what the heap and buffers hold after a full GC is the corpus, the JIT's code and noise
 * (measured: within ±1 MB over a million inputs). A parser that kept as little as 5 bytes per
 * input would pass 4 MB over the ~900,000 inputs after warm-up of a default run; one that
 * kept a packet or a chunk would pass it within a few thousand.
 */
export const DEFAULT_MEMORY_BOUND = 4 * 1024 * 1024;

function crashOf(seed: number, input: FuzzInput, err: unknown): Crash {
  const failure = err instanceof Failure ? err : new Failure('exception', `oracle threw ${String(err)}`);
  return {
    seed,
    index: input.index,
    failure: failure.kind,
    message: failure.message,
    kind: input.kind,
    version: input.version,
    maxPacketSize: input.maxPacketSize,
    mutations: input.mutations,
    cuts: input.cuts,
    hex: hex(input.bytes),
  };
}

export function runFuzz(options: FuzzOptions): FuzzSummary {
  const { seed, inputs } = options;
  const from = options.from ?? 0;
  const maxMs = options.maxMsPerInput ?? 250;
  const memoryBound = options.memoryBound ?? DEFAULT_MEMORY_BOUND;
  const maxCrashes = options.maxCrashes ?? 20;
  const progressMs = options.progressMs ?? 5_000;
  const deadline = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;

  const corpusStarted = performance.now();
  const corpus = buildCorpus(seed, options.corpusSize ?? 2_000);
  const corpusMs = performance.now() - corpusStarted;
  const longLived = Object.fromEntries(VERSIONS.map((v) => [v, new Parser({ protocolVersion: v })])) as Record<ProtocolVersion, Parser>;

  // About 40 samples a run; at most 25,000 inputs apart, so a run cut short by `seconds` has
  // samples too; at least 5,000, as each costs two full GCs.
  const sampleEvery = Math.min(25_000, Math.max(5_000, Math.floor(inputs / 40)));
  const samples: MemorySample[] = [sampleMemory(0)];
  const outcomes: Record<string, number> = {};
  const crashes: Crash[] = [];
  let crashCount = 0;
  let slowest = { index: from, ms: 0 };

  const started = performance.now();
  let lastProgress = started;
  let done = 0;
  let stoppedBy: FuzzSummary['stoppedBy'] = 'count';
  for (; done < inputs; done++) {
    if ((done & 0x3ff) === 0 && done > 0) {
      const now = performance.now();
      if (now >= deadline) {
        stoppedBy = 'time';
        break;
      }
      if (options.onProgress !== undefined && now - lastProgress >= progressMs) {
        lastProgress = now;
        options.onProgress(done, now - started, crashCount);
      }
    }
    if (done > 0 && done % sampleEvery === 0) samples.push(sampleMemory(done));

    const input = makeInput(seed, from + done, corpus);
    options.beforeInput?.(input);
    try {
      const t0 = performance.now();
      let outcome = check(input, longLived[input.version]);
      let ms = performance.now() - t0;
      if (ms > maxMs) {
        // Once could be the machine (a GC, another process): slow twice is the input.
        const t1 = performance.now();
        outcome = check(input, longLived[input.version]);
        ms = Math.min(ms, performance.now() - t1);
        if (ms > maxMs) throw new Failure('slow', `input took ${ms.toFixed(0)} ms twice (cap ${maxMs} ms)`);
      }
      if (ms > slowest.ms) slowest = { index: input.index, ms };
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (err) {
      crashCount++;
      outcomes.crash = (outcomes.crash ?? 0) + 1;
      if (crashes.length < maxCrashes) crashes.push(crashOf(seed, input, err));
    }
  }
  const elapsedMs = performance.now() - started;
  samples.push(sampleMemory(done));
  // Warm-up: the first tenth of what ran (at most 100,000 inputs) lets the JIT and the heap settle.
  const memory = memoryReport(samples, Math.min(100_000, Math.max(1, Math.floor(done / 10))));
  // Used after the last sample, so the corpus and parsers are alive in it as in the others
  // (V8 may free a local it sees no further use of, which would make the end look smaller).
  const corpusPackets = VERSIONS.reduce((n, v) => n + corpus[v].length + longLived[v].buffered, 0);
  return {
    seed,
    from,
    inputs: done,
    stoppedBy,
    outcomes,
    crashCount,
    crashes,
    memory,
    memoryBound,
    memoryFlat: memory.heap.growth + memory.buffers.growth <= memoryBound,
    corpusPackets,
    corpusMs,
    elapsedMs,
    inputsPerSecond: done / (elapsedMs / 1000),
    slowest,
  };
}

/** The command that replays one crash alone. */
export function replayCommand(crash: Crash): string {
  return `npm run fuzz -- --seed ${crash.seed} --from ${crash.index} --inputs 1`;
}
