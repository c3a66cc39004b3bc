/**
 * Two connected in-memory duplex streams, what node:stream's duplexPair() gives on Node 22:
 * bytes written to one are read from the other. Lets broker tests run without ports.
 */
import { Duplex } from 'node:stream';

class Side extends Duplex {
  other: Side | undefined;

  override _read(): void {
    // Data is pushed by the other side's _write.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const other = this.other;
    if (other === undefined || other.destroyed) {
      callback();
      return;
    }
    // Deliver asynchronously, as a socket would.
    setImmediate(() => {
      if (!other.destroyed) other.push(chunk);
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      this.other?.push(null);
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const other = this.other;
    this.other = undefined;
    if (other !== undefined && !other.destroyed) setImmediate(() => other.destroy());
    callback(error);
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new Side();
  const b = new Side();
  a.other = b;
  b.other = a;
  return [a, b];
}
