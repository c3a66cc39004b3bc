/**
 * A TCP proxy on 127.0.0.1 that can fail the network between a client and the broker without
 * touching either: each accepted connection is a Link to the broker whose two directions can
 * be paused (a partition: nothing forwarded, both sockets stay open, no FIN or RST), throttled
 * to N bytes a second, or let flow again. Stop it in afterEach/finally: stop() ends every link.
 *
 * A paused or throttled direction stops reading its source socket (Node reads at most the
 * stream's highWaterMark ahead, 16 KiB), so the sender's kernel buffers fill and the broker sees
 * its writes back up as it would with a slow peer, instead of the bytes piling up in here.
 */
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** How one direction forwards: all it can, nothing, or `bytesPerSecond`. */
export type PipeMode = { kind: 'flow' } | { kind: 'paused' } | { kind: 'throttled'; bytesPerSecond: number };

/** The throttle's clock: a few bytes every tick rather than a burst once a second. */
const TICK_MS = 100;

/** One direction of a link: reads `from`, writes `to`, as its mode allows. */
export class Pipe {
  private mode: PipeMode = { kind: 'flow' };
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Bytes the throttle may still forward (fractions carried from tick to tick). */
  private allowance = 0;
  /** Bytes forwarded so far. */
  forwarded = 0;
  /** When bytes were last forwarded (ms since the epoch); 0 before any. */
  lastForwardedAt = 0;
  /** `to` said wait: resume `from` on its 'drain' if still flowing. */
  private blocked = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
  ) {
    from.on('data', (chunk: Buffer) => this.forward(chunk));
    to.on('drain', () => {
      this.blocked = false;
      if (this.mode.kind === 'flow') from.resume();
    });
  }

  private forward(chunk: Buffer): void {
    if (this.to.destroyed) return;
    this.forwarded += chunk.length;
    this.lastForwardedAt = Date.now();
    if (!this.to.write(chunk) && this.mode.kind === 'flow') {
      this.blocked = true;
      this.from.pause();
    }
  }

  get kind(): PipeMode['kind'] {
    return this.mode.kind;
  }

  set(mode: PipeMode): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.mode = mode;
    if (mode.kind === 'flow') {
      if (!this.blocked) this.from.resume();
      return;
    }
    this.from.pause();
    if (mode.kind === 'paused') return;
    if (!(mode.bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be above 0, got ${mode.bytesPerSecond}`);
    this.allowance = 0;
    this.timer = setInterval(() => this.tick(mode.bytesPerSecond), TICK_MS);
  }

  /** Forwards what the throttle allows this tick: read(n) in paused mode emits 'data' for those bytes. */
  private tick(bytesPerSecond: number): void {
    this.allowance = Math.min(this.allowance + (bytesPerSecond * TICK_MS) / 1000, Math.max(1, bytesPerSecond));
    const available = this.from.readableLength;
    if (available === 0) {
      this.from.read(0); // let the stream read ahead (up to its highWaterMark), no more
      return;
    }
    const n = Math.min(Math.floor(this.allowance), available);
    if (n < 1) return;
    this.allowance -= n;
    this.from.read(n);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A client's connection through the proxy: `up` is client → broker, `down` broker → client. */
export class Link {
  readonly up: Pipe;
  readonly down: Pipe;

  constructor(
    readonly client: Socket,
    readonly broker: Socket,
  ) {
    this.up = new Pipe(client, broker);
    this.down = new Pipe(broker, client);
  }

  /** Both directions stop: a partition. Both sockets stay open, so neither end hears anything. */
  partition(): void {
    this.up.set({ kind: 'paused' });
    this.down.set({ kind: 'paused' });
  }

  /** Both directions flow again (what was held goes through, in order). */
  heal(): void {
    this.up.set({ kind: 'flow' });
    this.down.set({ kind: 'flow' });
  }

  /** Both sockets destroyed at once: to each end, the peer vanished. */
  destroy(): void {
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.broker.destroy();
  }
}

export class FaultProxy {
  /** Every connection made through the proxy, oldest first; each is added once it reaches the broker. */
  readonly links: Link[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A proxy on a port the kernel picks, forwarding to 127.0.0.1:targetPort. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  private accept(client: Socket, targetPort: number): void {
    client.on('error', () => undefined);
    const broker = netConnect({ port: targetPort, host: '127.0.0.1' });
    broker.on('error', () => undefined);
    broker.once('connect', () => {
      const link = new Link(client, broker);
      this.links.push(link);
      // A close at one end reaches the other only while that direction flows: a partition
      // keeps both sockets open whatever happens behind it.
      const closeOther = (other: Socket, pipe: Pipe) => () => {
        if (pipe.kind === 'flow') other.end();
      };
      client.once('end', closeOther(broker, link.up));
      broker.once('end', closeOther(client, link.down));
      client.once('close', () => {
        if (link.up.kind === 'flow') broker.destroy();
      });
      broker.once('close', () => {
        if (link.down.kind === 'flow') client.destroy();
      });
      client.resume();
    });
    broker.once('error', () => client.destroy());
  }

  /**
   * The newest link (the last connection made through the proxy). A client's CONNACK came back
   * through its link, so once connected, its link is here.
   */
  get last(): Link {
    const link = this.links.at(-1);
    if (link === undefined) throw new Error('no connection has gone through the proxy yet');
    return link;
  }

  async stop(): Promise<void> {
    for (const link of this.links) link.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
