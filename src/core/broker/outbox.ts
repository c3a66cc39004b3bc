/**
 * A connection's output for the current tick. Packets are gathered as references (a fan-out
 * template plus the packet id to patch in) and written with one socket write per tick: the
 * broker's biggest lever over one write() per packet.
 */
import type { Duplex } from 'node:stream';

export class Outbox {
  private bufs: Buffer[] = [];
  /** Packet id to write at offsets[i], or -1 to copy bufs[i] as it is. */
  private ids: number[] = [];
  private offsets: number[] = [];
  private count = 0;
  /** Bytes waiting to be written. */
  bytes = 0;

  get empty(): boolean {
    return this.count === 0;
  }

  push(buf: Buffer): void {
    const i = this.count++;
    this.bufs[i] = buf;
    this.ids[i] = -1;
    this.offsets[i] = 0;
    this.bytes += buf.length;
  }

  /** Queues `template` with its two packet id bytes at `offset` replaced by `id`. */
  pushWithId(template: Buffer, offset: number, id: number): void {
    const i = this.count++;
    this.bufs[i] = template;
    this.ids[i] = id;
    this.offsets[i] = offset;
    this.bytes += template.length;
  }

  /** Writes everything gathered as one buffer, `written` called once it is out; returns what socket.write returned. */
  flush(stream: Duplex, written?: () => void): boolean {
    const n = this.count;
    if (n === 0) return true;
    const bufs = this.bufs;
    let out: Buffer;
    if (n === 1 && this.ids[0] === -1) {
      out = bufs[0]!;
    } else {
      out = Buffer.allocUnsafe(this.bytes);
      let pos = 0;
      for (let i = 0; i < n; i++) {
        const buf = bufs[i]!;
        buf.copy(out, pos);
        const id = this.ids[i]!;
        if (id !== -1) {
          const at = pos + this.offsets[i]!;
          out[at] = id >>> 8;
          out[at + 1] = id & 0xff;
        }
        pos += buf.length;
      }
    }
    // Drop the references so templates can be collected; keep the arrays' capacity.
    for (let i = 0; i < n; i++) bufs[i] = undefined as unknown as Buffer;
    this.count = 0;
    this.bytes = 0;
    return stream.write(out, written);
  }

  clear(): void {
    this.bufs = [];
    this.ids = [];
    this.offsets = [];
    this.count = 0;
    this.bytes = 0;
  }
}
