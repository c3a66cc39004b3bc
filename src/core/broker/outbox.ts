/**
 * A connection's output for the current tick. Packets are gathered as references (a fan-out
 * template plus the packet id to patch in) and written with one socket write per tick: the
 * broker's biggest lever over one write() per packet.
 */
import type { Duplex } from 'node:stream';

/**
 * Entries of one tick above which the arrays are let go after the write instead of kept for
 * the next tick: a burst (a flood of PINGREQ answered) must not hold its arrays' capacity for
 * as long as the connection lives.
 */
const KEEP_ARRAYS_UP_TO = 1024;

/** What an outbox counts as it hands its packets to be written (the broker's BrokerStats). */
export interface SentCounts {
  packetsSent: number;
  bytesSent: number;
}

export class Outbox {
  // The first packet of a tick lives in these fields; the arrays are made only for a tick with
  // more than one. An idle client (CONNACK, SUBACK, a PINGRESP now and then) never needs them:
  // three arrays fewer per connection at 10,000 idle clients.
  private buf0: Buffer | undefined = undefined;
  private id0 = -1;
  private offset0 = 0;
  /** Entries 1.. of this tick: the buffer, the packet id to write at offsets[i] (or -1 for none). */
  private bufs: Buffer[] | undefined = undefined;
  private ids: number[] | undefined = undefined;
  private offsets: number[] | undefined = undefined;
  private count = 0;
  /** Bytes waiting to be written. */
  bytes = 0;

  constructor(private readonly sent: SentCounts = { packetsSent: 0, bytesSent: 0 }) {}

  get empty(): boolean {
    return this.count === 0;
  }

  /** Packets gathered this tick. */
  get size(): number {
    return this.count;
  }

  push(buf: Buffer): void {
    this.add(buf, -1, 0);
  }

  /** Queues `template` with its two packet id bytes at `offset` replaced by `id`. */
  pushWithId(template: Buffer, offset: number, id: number): void {
    this.add(template, id, offset);
  }

  private add(buf: Buffer, id: number, offset: number): void {
    const i = this.count++;
    this.bytes += buf.length;
    if (i === 0) {
      this.buf0 = buf;
      this.id0 = id;
      this.offset0 = offset;
      return;
    }
    const bufs = (this.bufs ??= []);
    bufs[i - 1] = buf;
    this.ids ??= [];
    this.offsets ??= [];
    this.ids[i - 1] = id;
    this.offsets[i - 1] = offset;
  }

  /** Writes everything gathered as one buffer, `written` called once it is out; returns what socket.write returned. */
  flush(stream: Duplex, written?: () => void): boolean {
    const out = this.take();
    return out === undefined ? true : stream.write(out, written);
  }

  /** Everything gathered, as one buffer, and the outbox empty again; undefined when it was empty. */
  take(): Buffer | undefined {
    const n = this.count;
    if (n === 0) return undefined;
    const sent = this.sent;
    sent.packetsSent += n;
    sent.bytesSent += this.bytes;
    const first = this.buf0!;
    let out: Buffer;
    if (n === 1 && this.id0 === -1) {
      out = first;
    } else {
      out = Buffer.allocUnsafe(this.bytes);
      first.copy(out, 0);
      if (this.id0 !== -1) writeId(out, this.offset0, this.id0);
      let pos = first.length;
      const bufs = this.bufs;
      if (n > 1 && bufs !== undefined) {
        const ids = this.ids!;
        const offsets = this.offsets!;
        for (let i = 0; i < n - 1; i++) {
          const buf = bufs[i]!;
          buf.copy(out, pos);
          const id = ids[i]!;
          if (id !== -1) writeId(out, pos + offsets[i]!, id);
          pos += buf.length;
          // Drop the reference so templates can be collected; keep the array's capacity.
          bufs[i] = undefined as unknown as Buffer;
        }
      }
    }
    if (n > KEEP_ARRAYS_UP_TO) {
      this.clear();
      return out;
    }
    this.buf0 = undefined;
    this.count = 0;
    this.bytes = 0;
    return out;
  }

  clear(): void {
    this.buf0 = undefined;
    this.bufs = undefined;
    this.ids = undefined;
    this.offsets = undefined;
    this.count = 0;
    this.bytes = 0;
  }
}

function writeId(out: Buffer, at: number, id: number): void {
  out[at] = id >>> 8;
  out[at + 1] = id & 0xff;
}
