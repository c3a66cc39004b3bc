/**
 * The streaming framer: bytes in, packets out, in order. Input may be split at any byte and
 * a chunk may hold many packets. A packet that fits in one chunk is decoded in place (its
 * payload is a view of the chunk); one that spans chunks is gathered into a buffer sized
 * once from its fixed header.
 */
import { MAX_VARINT, PacketType, ReasonCode } from './constants.js';
import { MqttError } from './errors.js';
import { decodeConnack, decodeConnect } from './packets/connect.js';
import { decodeAuth, decodeDisconnect, decodePingreq, decodePingresp } from './packets/control.js';
import { decodeAck, decodePublish } from './packets/publish.js';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './packets/subscribe.js';
import { Reader } from './reader.js';
import type { Packet, ProtocolVersion } from './types.js';
import { readVarint, varintResult } from './varint.js';

export interface ParserOptions {
  /** Version of the packets to expect until a CONNECT says otherwise. Default 4 (3.1.1). */
  protocolVersion?: ProtocolVersion;
  /** Largest whole packet accepted, fixed header included; larger is PacketTooLarge (0x95). */
  maxPacketSize?: number;
}

/** The largest packet MQTT can express: 1 type byte, 4 length bytes, 268,435,455 bytes of body. */
const LARGEST_PACKET = 1 + 4 + MAX_VARINT;

/**
 * Up to this size an incomplete packet's buffer is allocated whole at once; a larger one starts
 * here and doubles as its bytes arrive. Five bytes declaring 256 MB would otherwise make a
 * broker allocate 256 MB per connection before a byte of the body came.
 */
const EAGER = 64 * 1024;

/**
 * Fixed header flags by packet type: PUBLISH's vary (-1); PUBREL, SUBSCRIBE and UNSUBSCRIBE
 * must be 0010 and all others 0000 ([MQTT-2.2.2-1], [MQTT-2.2.2-2]); type 0 is reserved (-2).
 */
const REQUIRED_FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

export class Parser {
  /** The protocol version packets are decoded with; set by each CONNECT parsed. */
  protocolVersion: ProtocolVersion;
  readonly maxPacketSize: number;
  private readonly reader = new Reader();
  /**
   * A packet of known size being gathered across chunks, and how much of it has arrived. The
   * buffer grows with what arrives (see EAGER): its declared size, up to 256 MB, is only a claim.
   */
  private partial: Buffer | null = null;
  private partialTotal = 0;
  private filled = 0;
  private partialFirst = 0;
  private partialHeaderLength = 0;
  /** The start of a fixed header cut short by the end of a chunk (at most 4 bytes). */
  private head: Buffer | null = null;

  constructor(options: ParserOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    const max = options.maxPacketSize ?? LARGEST_PACKET;
    if (!(max >= 2)) throw new RangeError(`maxPacketSize must be at least 2, got ${max}`);
    this.maxPacketSize = max;
  }

  /** Bytes held for an incomplete packet; 0 when the input so far ended on a packet boundary. */
  get buffered(): number {
    return this.partial !== null ? this.filled : this.head !== null ? this.head.length : 0;
  }

  /** Feeds a chunk; returns the packets it completes, in order. Throws MqttError on bad input. */
  push(chunk: Buffer): Packet[] {
    const out: Packet[] = [];
    try {
      this.fill(chunk, out);
    } catch (err) {
      // What the chunk held before the bad packet arrived first and still counts: a CONNECT is
      // answered, a DISCONNECT discards the will, before the receiver closes for what followed.
      if (err instanceof MqttError && out.length > 0) err.packetsBefore = out;
      throw err;
    }
    return out;
  }

  /** Decodes the packets `chunk` completes into `out`; throws at the first malformed one. */
  private fill(chunk: Buffer, out: Packet[]): void {
    let buf = chunk;
    let pos = 0;
    if (this.partial !== null) {
      let partial = this.partial;
      const total = this.partialTotal;
      const n = Math.min(total - this.filled, chunk.length);
      if (this.filled + n > partial.length) {
        const grown = Buffer.allocUnsafe(Math.min(total, Math.max(partial.length * 2, this.filled + n)));
        partial.copy(grown, 0, 0, this.filled);
        this.partial = partial = grown;
      }
      chunk.copy(partial, this.filled, 0, n);
      this.filled += n;
      if (this.filled < total) return;
      this.partial = null;
      out.push(this.decode(partial, this.partialFirst, this.partialHeaderLength, total));
      pos = n;
    } else if (this.head !== null) {
      buf = Buffer.concat([this.head, chunk]);
      this.head = null;
    }
    const length = buf.length;
    while (pos < length) {
      const first = buf[pos]!;
      this.checkFirstByte(first);
      if (!readVarint(buf, pos + 1, length)) {
        this.checkPartialLength(buf, pos, length);
        this.head = Buffer.from(buf.subarray(pos));
        break;
      }
      const headerLength = 1 + varintResult.length;
      const total = headerLength + varintResult.value;
      if (total > this.maxPacketSize) {
        throw new MqttError(ReasonCode.PacketTooLarge, `packet of ${total} bytes exceeds the maximum of ${this.maxPacketSize}`);
      }
      if (pos + total > length) {
        const have = length - pos;
        const partial = Buffer.allocUnsafe(total <= EAGER ? total : Math.min(total, Math.max(EAGER, have * 2)));
        buf.copy(partial, 0, pos, length);
        this.partial = partial;
        this.partialTotal = total;
        this.filled = length - pos;
        this.partialFirst = first;
        this.partialHeaderLength = headerLength;
        break;
      }
      out.push(this.decode(buf, first, pos + headerLength, pos + total));
      pos += total;
    }
    // The reader must not keep the chunk alive: an idle connection would pin its last read.
    this.reader.release();
  }

  /** Drops any incomplete packet, as when a connection is reused for a new stream. */
  reset(): void {
    this.partial = null;
    this.head = null;
    this.filled = 0;
  }

  private checkFirstByte(first: number): void {
    const type = first >> 4;
    const required = REQUIRED_FLAGS[type]!;
    if (required === -2) throw new MqttError(ReasonCode.MalformedPacket, 'reserved packet type 0');
    if (required >= 0 && (first & 0x0f) !== required) {
      throw new MqttError(ReasonCode.MalformedPacket, `invalid fixed header flags 0x${(first & 0x0f).toString(16)} for packet type ${type}`);
    }
    // AUTH exists only in 5.0; before it type 15 is reserved.
    if (type === PacketType.AUTH && this.protocolVersion !== 5) {
      throw new MqttError(ReasonCode.MalformedPacket, 'AUTH packet before MQTT 5');
    }
  }

  /**
   * A remaining length still arriving already has a lower bound: refuse an oversize packet
   * as soon as its first length bytes show it, not after buffering.
   */
  private checkPartialLength(buf: Buffer, pos: number, end: number): void {
    let least = 0;
    let multiplier = 1;
    for (let i = pos + 1; i < end; i++) {
      least += (buf[i]! & 0x7f) * multiplier;
      multiplier *= 128;
    }
    least += multiplier; // the missing bytes add at least one more unit of the next group
    const bytes = end - pos;
    if (bytes + least > this.maxPacketSize) {
      throw new MqttError(ReasonCode.PacketTooLarge, `packet of at least ${bytes + least} bytes exceeds the maximum of ${this.maxPacketSize}`);
    }
  }

  private decode(buf: Buffer, first: number, start: number, end: number): Packet {
    const r = this.reader;
    r.reset(buf, start, end);
    const v = this.protocolVersion;
    let packet: Packet;
    switch (first >> 4) {
      case PacketType.PUBLISH:
        packet = decodePublish(r, first & 0x0f, v);
        break;
      case PacketType.PUBACK:
        packet = decodeAck(r, 'puback', v);
        break;
      case PacketType.PUBREC:
        packet = decodeAck(r, 'pubrec', v);
        break;
      case PacketType.PUBREL:
        packet = decodeAck(r, 'pubrel', v);
        break;
      case PacketType.PUBCOMP:
        packet = decodeAck(r, 'pubcomp', v);
        break;
      case PacketType.CONNECT: {
        const connect = decodeConnect(r);
        this.protocolVersion = connect.protocolVersion;
        packet = connect;
        break;
      }
      case PacketType.CONNACK:
        packet = decodeConnack(r, v);
        break;
      case PacketType.SUBSCRIBE:
        packet = decodeSubscribe(r, v);
        break;
      case PacketType.SUBACK:
        packet = decodeSuback(r, v);
        break;
      case PacketType.UNSUBSCRIBE:
        packet = decodeUnsubscribe(r, v);
        break;
      case PacketType.UNSUBACK:
        packet = decodeUnsuback(r, v);
        break;
      case PacketType.PINGREQ:
        packet = decodePingreq();
        break;
      case PacketType.PINGRESP:
        packet = decodePingresp();
        break;
      case PacketType.DISCONNECT:
        packet = decodeDisconnect(r, v);
        break;
      default:
        packet = decodeAuth(r);
        break;
    }
    if (r.pos !== end) {
      throw new MqttError(ReasonCode.MalformedPacket, `${end - r.pos} unexpected bytes at the end of a ${packet.type.toUpperCase()} packet`);
    }
    return packet;
  }
}
