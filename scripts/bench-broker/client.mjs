/**
 * A lean MQTT client on a raw socket for the broker benchmark, built on our codec (dist/).
 *
 * Only what a load generator needs, kept off the allocation path: frames are cut out of each
 * socket chunk in place; PUBLISH and the four acks are read by hand (two bytes of packet id,
 * a payload offset) and answered in one write per chunk; everything else (CONNACK, SUBACK,
 * DISCONNECT) goes through our Parser. A client has at most one role object of each kind: a
 * `receiver` (subscriber side) and a `publisher` (see flow.mjs); both are plain classes so the
 * calls below stay monomorphic.
 */
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encode, Parser } from '../../dist/core/codec/index.js';

export const HOST = '127.0.0.1';
const REPLY_TIMEOUT_MS = 10_000;
const DISCONNECT = Buffer.from([0xe0, 0x00]);

export class RawClient {
  /**
   * @param {import('node:net').Socket} socket
   * @param {3 | 4 | 5} version
   */
  constructor(socket, version) {
    this.socket = socket;
    this.version = version;
    /** Bytes of an incomplete frame carried over to the next chunk. */
    this.rest = null;
    this.parser = new Parser({ protocolVersion: version });
    /** @type {{ onMessage(buf: Buffer, at: number, now: number): void, afterChunk(now: number): void } | null} */
    this.receiver = null;
    /** @type {{ onFree(id: number): void, onRefused(id: number): void, pump(): void } | null} */
    this.publisher = null;
    // Acks owed for this chunk, written together at its end.
    this.ackTypes = [];
    this.ackIds = [];
    this.ackCount = 0;
    /** @type {{ type: string, resolve: (p: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout } | null} */
    this.waiter = null;
    /** Set before we close on purpose; anything else ending the socket is a failure. */
    this.closing = false;
    this.closed = false;
    /** Called once when the broker ends the connection unasked (crash, DISCONNECT, error). */
    this.onLost = null;
    /** The reason from a server DISCONNECT (5.0), for the failure message. */
    this.disconnectReason = undefined;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.lost(err));
    socket.on('close', () => {
      this.closed = true;
      this.lost(new Error(this.disconnectReason === undefined ? 'connection closed by the broker' : `broker sent DISCONNECT 0x${this.disconnectReason.toString(16)}`));
    });
  }

  /** Opens a connection and completes CONNECT/CONNACK (clean session). */
  static async open(port, clientId, version, keepalive = 60) {
    const socket = netConnect({ host: HOST, port, noDelay: true });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    const client = new RawClient(socket, version);
    const connack = await client.request({ type: 'connect', protocolVersion: version, clean: true, keepalive, clientId }, 'connack');
    if (connack.reasonCode !== 0) {
      socket.destroy();
      throw new Error(`CONNECT of ${clientId} refused with code 0x${connack.reasonCode.toString(16)}`);
    }
    return client;
  }

  /** Subscribes to one filter; throws when the broker refuses it. */
  async subscribe(topicFilter, qos) {
    const suback = await this.request({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos }] }, 'suback');
    const granted = suback.reasonCodes[0];
    if (granted === undefined || granted >= 0x80) throw new Error(`SUBSCRIBE ${topicFilter} refused with code 0x${(granted ?? 0).toString(16)}`);
    if (granted !== qos) throw new Error(`SUBSCRIBE ${topicFilter} granted QoS ${granted}, asked ${qos}`);
  }

  /** Sends DISCONNECT and waits (briefly) for the broker to close its side. */
  disconnect() {
    if (this.closed) return Promise.resolve();
    this.closing = true;
    this.socket.write(DISCONNECT);
    this.socket.end();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Writes a control packet and waits for the reply of `type`. */
  request(packet, type) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no ${type} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.waiter = { type, resolve, reject, timer };
      this.socket.write(encode(packet, this.version));
    });
  }

  lost(err) {
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (this.closing) return;
    this.closing = true;
    if (this.onLost !== null) this.onLost(err);
  }

  // ---- input: the hot path ---------------------------------------------------------------

  onData(chunk) {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const len = buf.length;
    // One clock read per chunk: every message in it arrived at the same moment.
    const now = this.receiver !== null ? performance.now() : 0;
    let pos = 0;
    while (pos < len) {
      const b0 = buf[pos];
      // Remaining length, a variable byte integer (1-4 bytes).
      let i = pos + 1;
      let remaining = 0;
      let mul = 1;
      let complete = false;
      while (i < len) {
        const b = buf[i++];
        remaining += (b & 0x7f) * mul;
        if (b < 0x80) {
          complete = true;
          break;
        }
        mul *= 128;
      }
      if (!complete) break;
      const end = i + remaining;
      if (end > len) break;
      switch (b0 >> 4) {
        case 3:
          this.onPublish(b0, buf, i, end, now);
          break;
        case 4: // PUBACK: a QoS 1 publish is done
        case 7: // PUBCOMP: a QoS 2 publish is done
          if (this.publisher !== null) this.publisher.onFree((buf[i] << 8) | buf[i + 1]);
          break;
        case 5: {
          // PUBREC: answer PUBREL, unless a 5.0 reason code >= 0x80 ended the flow.
          const id = (buf[i] << 8) | buf[i + 1];
          if (remaining > 2 && buf[i + 2] >= 0x80) {
            if (this.publisher !== null) this.publisher.onRefused(id);
          } else {
            this.queueAck(0x62, id);
          }
          break;
        }
        case 6: // PUBREL: answer PUBCOMP
          this.queueAck(0x70, (buf[i] << 8) | buf[i + 1]);
          break;
        default:
          this.onControl(buf.subarray(pos, end));
      }
      pos = end;
    }
    if (pos < len) this.rest = buf.subarray(pos);
    if (this.ackCount > 0) this.flushAcks();
    if (this.receiver !== null) this.receiver.afterChunk(now);
    if (this.publisher !== null) this.publisher.pump();
  }

  onPublish(b0, buf, start, end, now) {
    const qos = (b0 >> 1) & 3;
    let at = start + 2 + ((buf[start] << 8) | buf[start + 1]);
    let id = 0;
    if (qos > 0) {
      id = (buf[at] << 8) | buf[at + 1];
      at += 2;
    }
    if (this.version === 5) {
      // Skip the properties: a variable byte integer length, then that many bytes.
      let propLen = 0;
      let mul = 1;
      for (;;) {
        const b = buf[at++];
        propLen += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 128;
      }
      at += propLen;
    }
    if (this.receiver !== null && end - at >= 16) this.receiver.onMessage(buf, at, now);
    if (qos === 1) this.queueAck(0x40, id);
    else if (qos === 2) this.queueAck(0x50, id);
  }

  queueAck(type, id) {
    const n = this.ackCount++;
    this.ackTypes[n] = type;
    this.ackIds[n] = id;
  }

  flushAcks() {
    const n = this.ackCount;
    this.ackCount = 0;
    if (this.closed) return;
    const out = Buffer.allocUnsafe(n * 4);
    for (let k = 0, at = 0; k < n; k++, at += 4) {
      const id = this.ackIds[k];
      out[at] = this.ackTypes[k];
      out[at + 1] = 2;
      out[at + 2] = id >> 8;
      out[at + 3] = id & 0xff;
    }
    this.socket.write(out);
  }

  /** Anything but the publish flow: decoded by our codec. */
  onControl(frame) {
    let packets;
    try {
      packets = this.parser.push(frame);
    } catch (err) {
      this.lost(new Error(`undecodable packet from the broker: ${err.message}`));
      this.socket.destroy();
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
