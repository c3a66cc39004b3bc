/**
 * Variable byte integers (MQTT 5.0 section 1.5.5, 3.1.1 section 2.2.3): 7 bits per byte,
 * least significant group first, at most four bytes.
 */
import { MAX_VARINT, ReasonCode } from './constants.js';
import { MqttError } from './errors.js';

/** Bytes needed to encode `value` (1 to 4). */
export function varintLength(value: number): number {
  if (value < 128) return 1;
  if (value < 16_384) return 2;
  if (value < 2_097_152) return 3;
  if (value <= MAX_VARINT) return 4;
  throw new MqttError(ReasonCode.MalformedPacket, `variable byte integer ${value} exceeds ${MAX_VARINT}`);
}

/** Writes `value` at `pos` and returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  do {
    let byte = value % 128;
    value = (value - byte) / 128;
    if (value > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (value > 0);
  return pos;
}

/** Result slots of `readVarint`, reused so decoding allocates nothing. */
export const varintResult = { value: 0, length: 0 };

/**
 * Reads a variable byte integer at `pos`, not beyond `end`. Sets `varintResult` and returns
 * true, or returns false when the bytes end before the integer does (streaming input).
 * Throws on a fifth byte or an overlong encoding.
 */
export function readVarint(buf: Buffer, pos: number, end: number): boolean {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) return false;
    const byte = buf[pos + i]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      // [MQTT-1.5.5-1] the minimum number of bytes: a last byte of 0 after others is overlong.
      if (byte === 0 && i > 0) {
        throw new MqttError(ReasonCode.MalformedPacket, 'overlong variable byte integer');
      }
      varintResult.value = value;
      varintResult.length = i + 1;
      return true;
    }
    multiplier *= 128;
  }
  throw new MqttError(ReasonCode.MalformedPacket, 'variable byte integer longer than 4 bytes');
}
