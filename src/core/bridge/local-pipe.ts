/**
 * The broker's end of a bridge's in-process link: a Duplex handed to broker.accept(). What the
 * broker writes reaches the bridge on the next turn of the event loop (never inside the broker's
 * own write, so the bridge cannot re-enter it), all of a tick's chunks at once; what the bridge
 * sends is pushed as the broker's input. While the bridge holds (its remote side is congested),
 * the broker's writes are not called back, so its own congestion rules see a slow client.
 */
import { Duplex } from 'node:stream';

export interface PipeHandler {
  onData(chunk: Buffer): void;
  /** The broker reads again after send() said false. */
  onDrain(): void;
  /** The broker closed its side (or the pipe was destroyed). Called once. */
  onClose(): void;
}

export class LocalPipe extends Duplex {
  private pending: Buffer[] = [];
  private callbacks: Array<(error?: Error | null) => void> = [];
  private scheduled = false;
  private holding = false;
  private closedOnce = false;
  /** send() said false: the broker's input buffer is full (it paused, or is behind). */
  private full = false;
  private readonly deliverBound = (): void => this.deliver();

  constructor(private readonly handler: PipeHandler) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {
    // Called when the broker wants more input: after a full buffer, the bridge may read the remote again.
    if (this.full) {
      this.full = false;
      this.handler.onDrain();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    this.callbacks.push(callback);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliverBound);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      this.closed_();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closed_();
    callback(error);
  }

  /** Input for the broker (the bridge's packets); false when it should wait for onDrain. */
  send(buf: Buffer): boolean {
    if (this.destroyed || this.closedOnce) return true;
    if (this.push(buf)) return true;
    this.full = true;
    return false;
  }

  /** Stops (true) or resumes calling back the broker's writes. */
  hold(on: boolean): void {
    this.holding = on;
    if (!on) this.release();
  }

  /** Closes the link from the bridge's side. */
  close(): void {
    if (this.closedOnce) return;
    this.push(null);
    this.destroy();
  }

  private deliver(): void {
    this.scheduled = false;
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    if (!this.closedOnce) this.handler.onData(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (!this.holding) this.release();
  }

  private release(): void {
    const cbs = this.callbacks;
    if (cbs.length === 0 || this.pending.length > 0) return;
    this.callbacks = [];
    for (const cb of cbs) cb();
  }

  private closed_(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.pending = [];
    this.handler.onClose();
  }
}
