/**
 * A bounded cursor over one packet's bytes. Any read past the packet's end is a
 * Malformed Packet, so decoders never check lengths themselves.
 */
import { isUtf8 } from 'node:buffer';
import { ReasonCode } from './constants.js';
import { MqttError } from './errors.js';
import { readVarint, varintResult } from './varint.js';

const EMPTY = Buffer.alloc(0);

function ended(what: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, `packet ends inside ${what}`);
}

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;

  /** Points the reader at `buf[pos, end)`; one Reader serves a whole connection. */
  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Lets go of the buffer, so it can be collected once the packets decoded from it are. */
  release(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.end = 0;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw ended('a byte field');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const pos = this.pos;
    if (pos + 2 > this.end) throw ended('a two-byte integer');
    this.pos = pos + 2;
    return (this.buf[pos]! << 8) | this.buf[pos + 1]!;
  }

  u32(): number {
    const pos = this.pos;
    if (pos + 4 > this.end) throw ended('a four-byte integer');
    this.pos = pos + 4;
    return this.buf.readUInt32BE(pos);
  }

  varint(): number {
    if (!readVarint(this.buf, this.pos, this.end)) throw ended('a variable byte integer');
    this.pos += varintResult.length;
    return varintResult.value;
  }

  /** Two-byte length then that many bytes, as a copy-free view. */
  binary(): Buffer {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) throw ended('binary data');
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /**
   * A UTF-8 string: well-formed UTF-8 [MQTT-1.5.4-1] without U+0000 [MQTT-1.5.4-2],
   * else a Malformed Packet.
   */
  utf8(): string {
    const len = this.u16();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw ended('a UTF-8 string');
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /** The rest of the packet as a copy-free view (a PUBLISH payload). */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }
}

/** Decodes `buf[start, end)` as MQTT UTF-8: ASCII is checked inline, the rest natively. */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0) throw new MqttError(ReasonCode.MalformedPacket, 'U+0000 in a UTF-8 string');
    if (c > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return (buf as unknown as FastSlice).latin1Slice(start, end);
  const view = buf.subarray(start, end);
  // In well-formed UTF-8 a zero byte can only be U+0000; overlong forms fail isUtf8.
  if (!isUtf8(view) || view.includes(0)) {
    throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in a string');
  }
  return (buf as unknown as FastSlice).utf8Slice(start, end);
}

/** Node's Buffer slicing methods without toString's argument handling (present since Node 0.x). */
interface FastSlice {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
