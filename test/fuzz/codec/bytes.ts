/** Byte-level helpers shared by the mutators: varints, fixed headers, hex for reports. */

/** A variable byte integer, minimal form (any value; the caller picks legal or not). */
export function varint(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** The same value in one more byte than it needs: [MQTT-1.5.5-1] makes that malformed. */
export function overlongVarint(value: number): number[] {
  const minimal = varint(value);
  minimal[minimal.length - 1]! |= 0x80;
  return [...minimal, 0x00];
}

/** A packet from its first byte and body, with a true Remaining Length. */
export function frame(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);
}

/** Length of the fixed header of well-framed bytes (type byte + Remaining Length). */
export function headerLengthOf(bytes: Buffer): number {
  let i = 1;
  while (i < bytes.length && i < 5 && (bytes[i]! & 0x80) !== 0) i++;
  return Math.min(i + 1, bytes.length);
}

export function hex(bytes: Buffer): string {
  return bytes.toString('hex');
}

/**
 * The largest packet size the fixed headers in `bytes` declare, walking packet to packet as
 * a framer would (stops at the first header it cannot read).
 */
export function largestDeclared(bytes: Buffer): number {
  let largest = 0;
  let pos = 0;
  while (pos < bytes.length) {
    let value = 0;
    let multiplier = 1;
    let i = pos + 1;
    for (; i < bytes.length && i < pos + 5; i++) {
      value += (bytes[i]! & 0x7f) * multiplier;
      multiplier *= 128;
      if ((bytes[i]! & 0x80) === 0) break;
    }
    if (i >= bytes.length || i >= pos + 5) break;
    const total = i + 1 - pos + value;
    largest = Math.max(largest, total);
    pos += total;
  }
  return largest;
}
