/**
 * MQTT framing for the two sides of `npm run bench:memory` that do without our parser: the
 * load's clients (load.mjs) and the bare node:net server (node-server.mjs), which must hold
 * nothing of a broker's.
 */

/** Packets complete in `buf` as [firstByte, bodyStart, bodyEnd] triples; `rest` is what is left. */
export function frames(buf) {
  const out = [];
  let at = 0;
  for (;;) {
    let i = at + 1;
    let remaining = 0;
    let mul = 1;
    let complete = false;
    while (i < buf.length && i <= at + 4) {
      const b = buf[i++];
      remaining += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) {
        complete = true;
        break;
      }
    }
    if (!complete || buf.length < i + remaining) break;
    out.push([buf[at], i, i + remaining]);
    at = i + remaining;
  }
  return { packets: out, rest: buf.subarray(at) };
}
