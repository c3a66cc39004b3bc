/**
 * A lean MQTT client for the bench, on our codec over a Link (transport.ts).
 *
 * Built for the per-message path: frames are cut out of each chunk in place; PUBLISH and the
 * four acks are read by hand (two bytes of packet id, a reason code, a payload offset) and
 * answered in one write per chunk; everything else (CONNACK, SUBACK, PINGRESP, DISCONNECT)
 * goes through our Parser. A client carries at most one publisher and one subscriber role,
 * plain classes, so the calls below stay monomorphic. No closure, promise or Buffer.concat per
 * message: a frame cut by the end of a chunk is copied once into a buffer sized from its
 * fixed header, never the chunk that completes it.
 */
import { encode } from '../codec/encode.js';
import { MqttError } from '../codec/errors.js';
import { Parser } from '../codec/parser.js';
import type { ConnackPacket, ConnectPacket, Packet, SubscribePacket } from '../codec/types.js';
import type { Link, LinkHandler } from '../net/dial.js';
import { now } from './clock.js';

const DISCONNECT = Buffer.from([0xe0, 0x00]);
const PINGREQ = Buffer.from([0xc0, 0x00]);

/** The subscriber side of a client (subscriber.ts). */
export interface Receiver {
  /** A PUBLISH whose payload is buf[at, end); `now` is when its chunk arrived. */
  onMessage(buf: Buffer, at: number, end: number, now: number): void;
  afterChunk(now: number): void;
}

/** The publisher side of a client (publisher.ts). */
export interface Sender {
  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) with a success code: the packet id is free again. */
  onAck(id: number, now: number): void;
  /** A 5.0 PUBACK / PUBREC / PUBCOMP with a failure code (≥ 0x80): the message will not be delivered. */
  onRefused(id: number, reasonCode: number, now: number): void;
  /** After every chunk with acks: send what the window now allows. */
  pump(): void;
  onDrain(): void;
}

/** Why a client went away unasked. */
export interface Loss {
  /** Reason code of the broker's DISCONNECT (5.0), when it sent one. */
  reasonCode?: number | undefined;
  /** Socket error code, or 'ECLOSED' when the broker just closed the connection. */
  code?: string | undefined;
  message: string;
}

interface Waiter {
  type: Packet['type'];
  resolve: (p: Packet) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawClient implements LinkHandler {
  /** A frame cut by the end of a chunk, sized from its fixed header, and how much of it is in. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** A fixed header cut by the end of a chunk (its length is not known yet). */
  private head: Buffer | null = null;
  /** Set by parse(): the total length of the incomplete frame it stopped at (0: header incomplete). */
  private frameLength = 0;
  private parser: Parser | null = null;
  receiver: Receiver | null = null;
  sender: Sender | null = null;
  // Acks owed for this chunk, written together at its end.
  private ackTypes: number[] = [];
  private ackIds: number[] = [];
  private ackCount = 0;
  private waiter: Waiter | null = null;
  /** Set before we close on purpose: what ends the stream after that is not a loss. */
  private closing = false;
  closed = false;
  /** Called once when the connection ends unasked (broker DISCONNECT, reset, close). */
  onLost: ((client: RawClient, loss: Loss) => void) | null = null;
  private disconnectReason: number | undefined;
  private protocolFailure: string | undefined;
  private closedWaiters: (() => void)[] = [];
  /** From the 5.0 CONNACK: how many QoS 1/2 publishes the broker accepts in flight (65,535 if unsaid). */
  receiveMaximum = 65_535;
  /** From the 5.0 CONNACK: the largest packet the broker accepts, bytes. */
  maximumPacketSize = Number.POSITIVE_INFINITY;
  /** From the 5.0 CONNACK: the highest QoS the broker accepts in a PUBLISH (2 if unsaid). */
  maximumQoS: 0 | 1 | 2 = 2;
  /** From the 5.0 CONNACK: whether the broker accepts retained messages (yes if unsaid). */
  retainAvailable = true;
  /** CONNECT written → CONNACK read, ms. */
  connackMs = 0;
  /** Keep-alive the broker imposed (5.0 Server Keep Alive), or undefined. */
  serverKeepAlive: number | undefined;

  constructor(
    readonly link: Link,
    readonly version: 3 | 4 | 5,
  ) {
    link.setHandler(this);
  }

  /**
   * Sends CONNECT and waits for CONNACK. Refusal → MqttError with the CONNACK code (3.1.1
   * return code or 5.0 reason code); no CONNACK in time → Error with code 'ETIMEDOUT'.
   */
  async connect(packet: ConnectPacket, timeoutMs: number): Promise<ConnackPacket> {
    let connack: ConnackPacket;
    const sentAt = now();
    try {
      connack = (await this.request(packet, 'connack', timeoutMs)) as ConnackPacket;
      this.connackMs = now() - sentAt;
    } catch (err) {
      this.destroy(); // no CONNACK: the connection is of no use
      throw err;
    }
    if (connack.reasonCode !== 0) {
      this.destroy();
      throw new MqttError(connack.reasonCode, `CONNECT of ${packet.clientId} refused with code 0x${connack.reasonCode.toString(16).padStart(2, '0')}`);
    }
    if (connack.sessionPresent && packet.clean) {
      // A client that starts clean has no session to resume: the broker claims state the run
      // never made (5.0 [MQTT-3.2.2-4]; 3.1.1 forbids the answer itself, [MQTT-3.2.2-1]).
      this.destroy();
      throw new Error(`the broker answered the clean CONNECT of ${packet.clientId} with Session Present 1, a session this client cannot have: the bench closed the connection`);
    }
    const props = connack.properties;
    if (props?.maximumQoS === 0 || props?.maximumQoS === 1) this.maximumQoS = props.maximumQoS;
    if (props?.retainAvailable !== undefined) this.retainAvailable = props.retainAvailable !== 0;
    if (props?.receiveMaximum !== undefined) this.receiveMaximum = props.receiveMaximum;
    if (props?.maximumPacketSize !== undefined) this.maximumPacketSize = props.maximumPacketSize;
    if (props?.serverKeepAlive !== undefined) this.serverKeepAlive = props.serverKeepAlive;
    return connack;
  }

  /** Subscribes to one filter; MqttError when refused or granted another QoS. */
  async subscribe(topicFilter: string, qos: 0 | 1 | 2, timeoutMs: number): Promise<void> {
    const packet: SubscribePacket = { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] };
    const suback = await this.request(packet, 'suback', timeoutMs);
    const granted = suback.type === 'suback' ? suback.reasonCodes[0] : undefined;
    if (granted === undefined || granted >= 0x80) throw new MqttError(granted ?? 0x80, `SUBSCRIBE ${topicFilter} refused with code 0x${(granted ?? 0x80).toString(16)}`);
    // A downgraded subscription would deliver at a QoS the run does not check for.
    if (granted !== qos) throw new MqttError(0x80, `SUBSCRIBE ${topicFilter} granted QoS ${granted}, the run needs QoS ${qos}`);
  }

  write(buf: Buffer): void {
    this.link.write(buf);
  }

  ping(): void {
    if (!this.closed) this.link.write(PINGREQ);
  }

  /** Sends `before` (if any) and DISCONNECT, and waits (at most waitMs) for the stream to close. */
  disconnect(waitMs: number, before?: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing = true;
    if (before !== undefined) this.link.write(before);
    this.link.end(DISCONNECT);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.link.destroy();
        resolve();
      }, waitMs);
      this.closedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.closing = true;
    this.link.destroy();
  }

  /** Writes a control packet and waits for the reply of `type`. */
  private request(packet: Packet, type: Packet['type'], timeoutMs: number): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        const err = new Error(`no ${type.toUpperCase()} within ${timeoutMs} ms`) as Error & { code: string };
        err.code = 'ETIMEDOUT';
        reject(err);
      }, timeoutMs);
      this.waiter = { type, resolve, reject, timer };
      this.link.write(encode(packet, this.version));
    });
  }

  // ---- LinkHandler ---------------------------------------------------------------------------

  onClose(err: Error | undefined): void {
    this.closed = true;
    const loss: Loss =
      this.protocolFailure !== undefined
        ? { code: 'EPROTO', message: this.protocolFailure }
        : this.disconnectReason !== undefined
        ? { reasonCode: this.disconnectReason, message: `the broker sent DISCONNECT 0x${this.disconnectReason.toString(16).padStart(2, '0')}` }
        : err !== undefined
          ? { code: (err as { code?: string }).code ?? 'EIO', message: err.message }
          : { code: 'ECLOSED', message: 'the broker closed the connection' };
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      clearTimeout(w.timer);
      const e =
        loss.reasonCode !== undefined ? new MqttError(loss.reasonCode, loss.message) : Object.assign(new Error(loss.message), { code: loss.code });
      w.reject(e);
    }
    for (const done of this.closedWaiters) done();
    this.closedWaiters = [];
    if (!this.closing) {
      this.closing = true;
      this.onLost?.(this, loss);
    }
  }

  onDrain(): void {
    this.sender?.onDrain();
  }

  // ---- input: the hot path -------------------------------------------------------------------

  onData(chunk: Buffer): void {
    // One clock read per chunk: every message in it arrived at the same moment.
    const t = now();
    let buf = chunk;
    let start = 0;
    const partial = this.partial;
    if (partial !== null) {
      // The rest of a frame begun in an earlier chunk: copy only its missing bytes.
      const need = partial.length - this.partialFill;
      if (chunk.length < need) {
        chunk.copy(partial, this.partialFill);
        this.partialFill += chunk.length;
        return;
      }
      chunk.copy(partial, this.partialFill, 0, need);
      this.partial = null;
      this.parse(partial, 0, t);
      start = need;
    } else if (this.head !== null) {
      // A fixed header cut short (at most 4 bytes): rare, and tiny to join.
      buf = Buffer.concat([this.head, chunk]);
      this.head = null;
    }
    const stop = this.parse(buf, start, t);
    if (stop < buf.length) {
      if (this.frameLength > 0) {
        // Sized once from the fixed header; filled by the next chunks.
        this.partial = Buffer.allocUnsafe(this.frameLength);
        this.partialFill = buf.copy(this.partial, 0, stop);
      } else {
        this.head = Buffer.from(buf.subarray(stop));
      }
    }
    if (this.ackCount > 0) this.flushAcks();
    if (this.receiver !== null) this.receiver.afterChunk(t);
    if (this.sender !== null) this.sender.pump();
  }

  /**
   * Handles every whole frame in buf from `pos` on; returns where the first incomplete one
   * starts (buf.length when none), with its total length in frameLength (0: header incomplete).
   */
  private parse(buf: Buffer, pos: number, t: number): number {
    const len = buf.length;
    while (pos < len) {
      const b0 = buf[pos]!;
      // Remaining length, a variable byte integer (1-4 bytes).
      let i = pos + 1;
      let remaining = 0;
      let mul = 1;
      let complete = false;
      while (i < len) {
        const b = buf[i++]!;
        remaining += (b & 0x7f) * mul;
        if (b < 0x80) {
          complete = true;
          break;
        }
        mul *= 128;
      }
      if (!complete) {
        this.frameLength = 0;
        return pos;
      }
      const end = i + remaining;
      if (end > len) {
        this.frameLength = end - pos;
        return pos;
      }
      switch (b0 >> 4) {
        case 3:
          this.onPublish(b0, buf, i, end, t);
          break;
        case 4: // PUBACK: a QoS 1 publish is done
        case 7: {
          // PUBCOMP: a QoS 2 publish is done
          const id = (buf[i]! << 8) | buf[i + 1]!;
          const sender = this.sender;
          if (sender !== null) {
            if (remaining > 2 && buf[i + 2]! >= 0x80) sender.onRefused(id, buf[i + 2]!, t);
            else sender.onAck(id, t);
          }
          break;
        }
        case 5: {
          // PUBREC: answer PUBREL, unless a 5.0 reason code ≥ 0x80 ended the flow (5.0 [MQTT-4.3.3-4], 3.1.1 [MQTT-4.3.3-1]).
          const id = (buf[i]! << 8) | buf[i + 1]!;
          if (remaining > 2 && buf[i + 2]! >= 0x80) this.sender?.onRefused(id, buf[i + 2]!, t);
          else this.queueAck(0x62, id);
          break;
        }
        case 6: // PUBREL: answer PUBCOMP [MQTT-4.3.3-11]
          this.queueAck(0x70, (buf[i]! << 8) | buf[i + 1]!);
          break;
        default:
          this.onControl(buf.subarray(pos, end));
      }
      pos = end;
    }
    return pos;
  }

  private onPublish(b0: number, buf: Buffer, start: number, end: number, t: number): void {
    const qos = (b0 >> 1) & 3;
    let at = start + 2 + ((buf[start]! << 8) | buf[start + 1]!);
    let id = 0;
    if (qos > 0) {
      id = (buf[at]! << 8) | buf[at + 1]!;
      at += 2;
    }
    if (this.version === 5) {
      // Skip the properties: a variable byte integer length, then that many bytes.
      let propLen = 0;
      let mul = 1;
      for (;;) {
        const b = buf[at++]!;
        propLen += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 128;
      }
      at += propLen;
    }
    if (this.receiver !== null) this.receiver.onMessage(buf, at, end, t);
    // [MQTT-4.3.2-4] PUBACK for QoS 1; [MQTT-4.3.3-8] PUBREC for QoS 2.
    if (qos === 1) this.queueAck(0x40, id);
    else if (qos === 2) this.queueAck(0x50, id);
  }

  private queueAck(type: number, id: number): void {
    const n = this.ackCount++;
    this.ackTypes[n] = type;
    this.ackIds[n] = id;
  }

  private flushAcks(): void {
    const n = this.ackCount;
    this.ackCount = 0;
    if (this.closed) return;
    const out = Buffer.allocUnsafe(n * 4);
    for (let k = 0, at = 0; k < n; k++, at += 4) {
      const id = this.ackIds[k]!;
      out[at] = this.ackTypes[k]!;
      out[at + 1] = 2;
      out[at + 2] = id >> 8;
      out[at + 3] = id & 0xff;
    }
    this.link.write(out);
  }

  /** Anything but the publish flow: decoded by our codec. */
  private onControl(frame: Buffer): void {
    let packets: Packet[];
    try {
      packets = (this.parser ??= new Parser({ protocolVersion: this.version })).push(frame);
    } catch (err) {
      // Undecodable input from the broker: the connection is unusable.
      this.protocolFailure ??= `undecodable packet from the broker: ${(err as Error).message}`;
      this.link.destroy();
      return;
    }
    for (const p of packets) {
      if (p.type === 'disconnect') this.disconnectReason = p.reasonCode ?? 0;
      const w = this.waiter;
      if (w !== null && w.type === p.type) {
        this.waiter = null;
        clearTimeout(w.timer);
        w.resolve(p);
      }
    }
  }
}
