/**
 * A ceiling on V8's young generation for `mqt broker`. V8 doubles the young generation
 * whenever most of it survives a scavenge, as it does while thousands of clients connect, up
 * to 2 x 16 MB on 64-bit machines, and keeps it committed for as long as the broker is busy:
 * 24 MB of the 135 MB of a broker holding 10,000 idle clients (`npm run bench:memory`).
 * Capped at 2 x 4 MB, it scavenges three times as often: 5% of its CPU instead of 2% at
 * 300,000 QoS 0 messages a second, with no change in msg/s that `npm run bench:broker` can
 * tell from its noise. (2 x 8 MB: 3% of the CPU, 6 MB more held.)
 *
 * --max-semi-space-size would say it at start, but the launcher cannot give node flags, and V8
 * reads that one only when it makes the heap. --semi-space-growth-factor it reads at each
 * growth, and 1 holds the size where it is; V8 raises a value below 2 to 2 when it starts (a
 * flag implication), not one set later, as here. Growth is turned off once the cap is reached
 * and on again if V8 has shrunk the young generation since (it does when the broker goes
 * quiet), checked after each collection. If a V8 to come stops taking the flag this late,
 * nothing breaks: `npm run bench:memory` shows the memory coming back.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Committed bytes of both semi-spaces at which the young generation stops growing. */
export const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;

/** V8's own growth factor (its default): each growth doubles the semi-spaces. */
const DEFAULT_GROWTH_FACTOR = 2;

/** Committed bytes of the young generation (both semi-spaces), or undefined if V8 names it otherwise. */
export function youngGenerationSize(): number | undefined {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return undefined;
}

/** Keeps the young generation at `cap` bytes or below from now on; returns the function that stops doing so. */
export function capYoungGeneration(cap: number = YOUNG_GENERATION_CAP): () => void {
  let growing = true;
  const check = (): void => {
    const size = youngGenerationSize();
    if (size === undefined) return;
    const grow = size < cap;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? DEFAULT_GROWTH_FACTOR : 1}`);
  };
  // One entry per collection, delivered soon after it: a growth happens in a collection.
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    if (!growing) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
    growing = true;
  };
}
