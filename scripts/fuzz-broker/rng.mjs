/**
 * A seeded random source (mulberry32), so a fuzz run can be rerun: the same --seed gives every
 * attack worker the same sequence of attack kinds and bytes. What interleaves with what still
 * depends on timing; the seed fixes what each client sends, not when the broker reads it.
 */

/** A 32-bit hash of a string (FNV-1a), to derive independent streams from one seed. */
function hash32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Rng {
  /** @param {number | string} seed */
  constructor(seed) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hash32(seed);
  }

  /** An independent stream for `label` (a worker, a client): same seed and label, same stream. */
  fork(label) {
    return new Rng(hash32(`${this.state}:${label}`));
  }

  /** A float in [0, 1). */
  next() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(p = 0.5) {
    return this.next() < p;
  }

  pick(items) {
    return items[Math.floor(this.next() * items.length)];
  }

  bytes(n) {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (this.next() * 256) | 0;
    return b;
  }

  /** A short printable word, for client ids and topic levels. */
  word(min = 1, max = 8) {
    const n = this.int(min, max);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(97 + this.int(0, 25));
    return s;
  }
}
