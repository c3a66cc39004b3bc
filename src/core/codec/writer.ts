/**
 * Writing primitives for the encoder: plain functions over (buffer, position) that return
 * the next position, so encoding a packet allocates only its output buffer.
 */
import { ReasonCode } from './constants.js';
import { MqttError } from './errors.js';

export function writeU16(buf: Buffer, pos: number, value: number): number {
  buf[pos] = value >>> 8;
  buf[pos + 1] = value & 0xff;
  return pos + 2;
}

export function writeU32(buf: Buffer, pos: number, value: number): number {
  buf[pos] = value >>> 24;
  buf[pos + 1] = (value >>> 16) & 0xff;
  buf[pos + 2] = (value >>> 8) & 0xff;
  buf[pos + 3] = value & 0xff;
  return pos + 4;
}

/**
 * Byte length of `str` in UTF-8, checking on the way what MQTT forbids in a string:
 * U+0000 [MQTT-1.5.4-2] and unpaired surrogates, which have no UTF-8 form [MQTT-1.5.4-1].
 */
export function utf8Length(str: string): number {
  const n = str.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) throw new MqttError(ReasonCode.MalformedPacket, 'U+0000 in a UTF-8 string');
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = str.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
        throw new MqttError(ReasonCode.MalformedPacket, 'unpaired surrogate in a UTF-8 string');
      }
      bytes += 2; // two UTF-16 units become four bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  if (bytes > 65_535) throw new MqttError(ReasonCode.MalformedPacket, 'UTF-8 string longer than 65535 bytes');
  return bytes;
}

/** Writes a length-prefixed string whose byte length `len` was measured by utf8Length. */
export function writeUtf8(buf: Buffer, pos: number, str: string, len: number): number {
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  pos += 2;
  if (len === str.length) {
    // Pure ASCII: a short loop beats the native call for the short strings MQTT is full of.
    if (len < 48) {
      for (let i = 0; i < len; i++) buf[pos + i] = str.charCodeAt(i);
    } else {
      (buf as unknown as FastWrite).latin1Write(str, pos, len);
    }
  } else {
    (buf as unknown as FastWrite).utf8Write(str, pos, len);
  }
  return pos + len;
}

/**
 * Writes a length-prefixed string already validated and counted by utf8Length in the measuring
 * pass, without counting it again: the length is filled in after writing.
 */
export function writeUtf8Measured(buf: Buffer, pos: number, str: string): number {
  const n = str.length;
  const start = pos + 2;
  if (n < 48) {
    let i = 0;
    for (; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
    }
    if (i === n) {
      buf[pos] = n >>> 8;
      buf[pos + 1] = n & 0xff;
      return start + n;
    }
  }
  const len = (buf as unknown as FastWrite).utf8Write(str, start, buf.length - start);
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  return start + len;
}

export function binaryLength(data: Buffer): number {
  if (data.length > 65_535) throw new MqttError(ReasonCode.MalformedPacket, 'binary data longer than 65535 bytes');
  return 2 + data.length;
}

export function writeBinary(buf: Buffer, pos: number, data: Buffer): number {
  buf[pos] = data.length >>> 8;
  buf[pos + 1] = data.length & 0xff;
  data.copy(buf, pos + 2);
  return pos + 2 + data.length;
}

/** Node's Buffer writing methods without write()'s argument handling. */
interface FastWrite {
  latin1Write(str: string, offset: number, length: number): number;
  utf8Write(str: string, offset: number, length: number): number;
}
