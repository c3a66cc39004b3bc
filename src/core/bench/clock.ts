/**
 * The one clock of a bench run, in milliseconds with sub-microsecond resolution.
 *
 * Publishers and subscribers write and read send times from it, so it must be monotonic and
 * agree across the worker threads of one process. `performance.now()` alone is relative to a
 * time origin that the HR-time spec lets differ per thread (browsers give each worker its own);
 * `performance.timeOrigin + performance.now()` is the same instant in every thread whatever the
 * origin is, and both parts come from the monotonic clock (libuv's hrtime), not the wall clock.
 * test/unit/bench/engine.test.ts checks the agreement across threads.
 *
 * At ~1.8e12 ms a double still resolves 0.25 µs, below the histogram's 1 µs unit.
 */
import { performance } from 'node:perf_hooks';

const ORIGIN = performance.timeOrigin;

export function now(): number {
  return ORIGIN + performance.now();
}
