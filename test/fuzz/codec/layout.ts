/**
 * Where the fields of a VALID encoded packet lie: its Remaining Length, its property sections
 * (each property's span) and its strings and binary fields (each two-byte length prefix).
 * The mutators use it to break one structure at a time while keeping the rest intact, so the
 * decoders get past the fixed header and fail (or not) deep inside.
 *
 * It reads the layout written in the spec, not the parser's code: it only ever sees bytes our
 * encoder produced from arbPacket, and throws if they do not have the expected shape (a bug
 * in this file, not in the codec).
 */
import { PROPERTIES, PacketType, WILL_PROPERTIES } from '../../../src/core/codec/index.js';
import type { PropertyType, ProtocolVersion } from '../../../src/core/codec/index.js';

export interface Field {
  kind: 'utf8' | 'binary';
  /** Offset of the two-byte length prefix, from the start of the packet. */
  at: number;
  length: number;
  /** Index in Layout.sections of the property section holding it, if any. */
  section: number | undefined;
}

export interface Property {
  id: number;
  start: number;
  end: number;
}

export interface Section {
  /** Packet type number, or WILL_PROPERTIES for a will's. */
  type: number;
  /** Offset of the property length's first byte. */
  lengthAt: number;
  lengthBytes: number;
  /** The properties themselves: [start, end). */
  start: number;
  end: number;
  properties: Property[];
}

export interface Layout {
  /** Bytes of the fixed header: type byte and Remaining Length. */
  headerLength: number;
  remaining: number;
  sections: Section[];
  fields: Field[];
}

const TYPE_OF = new Map<number, PropertyType>(PROPERTIES.map((p) => [p.id, p.type]));

class Walker {
  pos: number;
  readonly layout: Layout;
  private section: number | undefined;

  constructor(
    readonly bytes: Buffer,
    headerLength: number,
    remaining: number,
  ) {
    this.pos = headerLength;
    this.layout = { headerLength, remaining, sections: [], fields: [] };
  }

  get end(): number {
    return this.layout.headerLength + this.layout.remaining;
  }

  u8(): number {
    return this.bytes[this.pos++]!;
  }

  skip(n: number): void {
    this.pos += n;
  }

  varint(): number {
    let value = 0;
    let multiplier = 1;
    for (;;) {
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) return value;
      multiplier *= 128;
    }
  }

  field(kind: 'utf8' | 'binary'): number {
    const at = this.pos;
    const length = this.bytes.readUInt16BE(at);
    this.layout.fields.push({ kind, at, length, section: this.section });
    this.pos += 2 + length;
    return length;
  }

  properties(type: number): void {
    const lengthAt = this.pos;
    const length = this.varint();
    const start = this.pos;
    const section: Section = { type, lengthAt, lengthBytes: start - lengthAt, start, end: start + length, properties: [] };
    this.section = this.layout.sections.push(section) - 1;
    while (this.pos < section.end) {
      const begin = this.pos;
      const id = this.varint();
      switch (TYPE_OF.get(id)) {
        case 'byte': this.skip(1); break;
        case 'two-byte': this.skip(2); break;
        case 'four-byte': this.skip(4); break;
        case 'varint': this.varint(); break;
        case 'utf8': this.field('utf8'); break;
        case 'binary': this.field('binary'); break;
        case 'pair': this.field('utf8'); this.field('utf8'); break;
        default: throw new Error(`layout: unknown property 0x${id.toString(16)} at ${begin}`);
      }
      section.properties.push({ id, start: begin, end: this.pos });
    }
    this.section = undefined;
  }
}

/** The layout of one valid packet, as encoded for `version` (a CONNECT's own version wins). */
export function layoutOf(bytes: Buffer, version: ProtocolVersion): Layout {
  let headerLength = 1;
  while ((bytes[headerLength]! & 0x80) !== 0) headerLength++;
  headerLength++;
  let remaining = 0;
  for (let i = headerLength - 1; i >= 1; i--) remaining = remaining * 128 + (bytes[i]! & 0x7f);
  const w = new Walker(bytes, headerLength, remaining);
  const first = bytes[0]!;
  const type = first >> 4;
  const v5 = version === 5;
  switch (type) {
    case PacketType.CONNECT: {
      w.field('utf8');
      const level = w.u8();
      const flags = w.u8();
      w.skip(2);
      if (level === 5) w.properties(PacketType.CONNECT);
      w.field('utf8');
      if ((flags & 0x04) !== 0) {
        if (level === 5) w.properties(WILL_PROPERTIES);
        w.field('utf8');
        w.field('binary');
      }
      if ((flags & 0x80) !== 0) w.field('utf8');
      if ((flags & 0x40) !== 0) w.field('binary');
      break;
    }
    case PacketType.CONNACK:
      w.skip(2);
      if (v5) w.properties(PacketType.CONNACK);
      break;
    case PacketType.PUBLISH:
      w.field('utf8');
      if (((first >> 1) & 3) > 0) w.skip(2);
      if (v5) w.properties(PacketType.PUBLISH);
      w.pos = w.end; // the payload
      break;
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      w.skip(2);
      if (v5 && w.pos < w.end) w.skip(1);
      if (v5 && w.pos < w.end) w.properties(type);
      break;
    case PacketType.SUBSCRIBE:
      w.skip(2);
      if (v5) w.properties(type);
      while (w.pos < w.end) {
        w.field('utf8');
        w.skip(1);
      }
      break;
    case PacketType.UNSUBSCRIBE:
      w.skip(2);
      if (v5) w.properties(type);
      while (w.pos < w.end) w.field('utf8');
      break;
    case PacketType.SUBACK:
    case PacketType.UNSUBACK:
      w.skip(2);
      if (v5) w.properties(type);
      w.pos = w.end; // the reason codes
      break;
    case PacketType.DISCONNECT:
    case PacketType.AUTH:
      if (v5 && w.pos < w.end) w.skip(1);
      if (v5 && w.pos < w.end) w.properties(type);
      break;
    default: // PINGREQ, PINGRESP: no body
      break;
  }
  if (w.pos !== w.end) throw new Error(`layout: walked to ${w.pos}, packet ends at ${w.end} (type ${type})`);
  return w.layout;
}
