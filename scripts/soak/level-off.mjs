/**
 * Whether the broker's RSS levelled off. After the warm-up (connections ramped up and the first
 * fifth of the load), the samples are cut in three: the highest of the last third may exceed
 * the highest of the middle third by at most 10% + 8 MB. The margin absorbs the allocator's and
 * the collector's steps; a leak grows past it, as it keeps growing. Fewer than six samples after
 * the warm-up say nothing either way (judged: false).
 */
const MB = 1024 * 1024;
export const LEVEL_SHARE = 0.1;
export const LEVEL_BYTES = 8 * MB;
export const MIN_SAMPLES = 6;

/** values: the RSS samples after the warm-up, in order. */
export function levelOff(values) {
  const n = values.length;
  if (n < MIN_SAMPLES) return { judged: false, ok: true, samples: n };
  const third = Math.floor(n / 3);
  const middle = values.slice(n - 2 * third, n - third);
  const last = values.slice(n - third);
  const middleMax = Math.max(...middle);
  const lastMax = Math.max(...last);
  const limit = middleMax * (1 + LEVEL_SHARE) + LEVEL_BYTES;
  return { judged: true, ok: lastMax <= limit, samples: n, middleMax, lastMax, limit };
}
