/**
 * Memory samples over a run, each taken after a full garbage collection so it counts what is
 * still referenced, not garbage waiting. Two figures: the JS heap (heapUsed) and the memory
 * of ArrayBuffers outside it (arrayBuffers), where every Buffer's bytes live: a parser that
 * kept chunks alive would show there, not in the heap. Node exposes gc() with --expose-gc;
 * without the flag (a vitest worker) it is switched on at run time and fetched from a fresh
 * context.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

let cached: Gc | undefined;

export function getGc(): Gc {
  if (cached !== undefined) return cached;
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === 'function') return (cached = exposed);
  setFlagsFromString('--expose-gc');
  return (cached = runInNewContext('gc') as Gc);
}

export interface MemorySample {
  /** Inputs run when it was taken. */
  inputs: number;
  heapUsed: number;
  arrayBuffers: number;
}

export function sampleMemory(inputs: number): MemorySample {
  const gc = getGc();
  // Twice: the first pass can leave what finalizers and weak callbacks free for the second.
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { inputs, heapUsed, arrayBuffers };
}

export interface Series {
  /** Before the first input (corpus built). */
  start: number;
  /** After warm-up: the baseline the end is held to. */
  warm: number;
  peak: number;
  end: number;
  /** end − warm, bytes. */
  growth: number;
}

export interface MemoryReport {
  heap: Series;
  buffers: Series;
  samples: number;
}

function series(values: number[], warmIndex: number): Series {
  const warm = values[warmIndex]!;
  const end = values[values.length - 1]!;
  return { start: values[0]!, warm, peak: Math.max(...values), end, growth: end - warm };
}

export function memoryReport(samples: readonly MemorySample[], warmupInputs: number): MemoryReport {
  let warmIndex = samples.findIndex((s) => s.inputs >= warmupInputs);
  if (warmIndex < 0) warmIndex = samples.length - 1;
  return {
    heap: series(samples.map((s) => s.heapUsed), warmIndex),
    buffers: series(samples.map((s) => s.arrayBuffers), warmIndex),
    samples: samples.length,
  };
}
