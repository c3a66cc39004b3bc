/**
 * One MQTT conversation of a bridge (with the remote broker, or with ours): packets in through
 * our parser, packets out through our encoder, written once per turn of the event loop (one
 * buffer for all of a tick's packets; no timer or closure per packet).
 */
import { encode, Parser, type Packet, type ProtocolVersion } from '../codec/index.js';

export interface WireSink {
  write(buf: Buffer): void;
}

export class Wire {
  readonly parser: Parser;
  private out: Buffer[] = [];
  private scheduled = false;
  private stopped = false;
  private readonly flushBound = (): void => this.flush();

  constructor(
    readonly version: ProtocolVersion,
    private readonly sink: WireSink,
  ) {
    this.parser = new Parser({ protocolVersion: version });
  }

  send(packet: Packet): void {
    this.queue(encode(packet, this.version));
  }

  queue(buf: Buffer): void {
    if (this.stopped) return;
    this.out.push(buf);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** Writes what is queued now (before a close, so the last packets go out). */
  flush(): void {
    this.scheduled = false;
    const out = this.out;
    if (out.length === 0 || this.stopped) return;
    this.out = [];
    this.sink.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Nothing more is written (the stream is gone). */
  stop(): void {
    this.stopped = true;
    this.out = [];
  }
}
