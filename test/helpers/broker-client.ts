/**
 * A packet-level test client for the broker over an in-process duplex pair: send packet
 * objects, await the packets the broker sends back, assert silence. No ports involved.
 */
import { Duplex } from 'node:stream';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnectPacket, Packet, Properties, ProtocolVersion, PublishPacket, QoS, SubackPacket, Subscription } from '../../src/core/codec/types.js';
import type { TestContext } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { duplexPair } from './duplex-pair.js';

export class TestClient {
  readonly received: Packet[] = [];
  private waiters: { resolve: (p: Packet) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private readonly parser: Parser;
  closed = false;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly stream: Duplex,
    readonly version: ProtocolVersion,
  ) {
    this.parser = new Parser({ protocolVersion: version });
    stream.on('data', (chunk: Buffer) => {
      for (const p of this.parser.push(chunk)) {
        const w = this.waiters.shift();
        if (w !== undefined) {
          clearTimeout(w.timer);
          w.resolve(p);
        } else {
          this.received.push(p);
        }
      }
    });
    this.closedPromise = new Promise((resolve) => {
      const done = (): void => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error('connection closed while waiting for a packet'));
        }
        resolve();
      };
      stream.on('close', done);
      stream.on('end', done);
    });
    stream.on('error', () => undefined);
  }

  send(packet: Packet): void {
    this.stream.write(encode(packet, this.version));
  }

  sendRaw(bytes: Buffer | number[]): void {
    this.stream.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** The next packet from the broker, or a rejection after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<Packet> {
    const p = this.received.shift();
    if (p !== undefined) return Promise.resolve(p);
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** The next packet, which must be of `type`. */
  async expect<T extends Packet['type']>(type: T, timeoutMs = 2000): Promise<Extract<Packet, { type: T }>> {
    const p = await this.next(timeoutMs);
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`);
    return p as Extract<Packet, { type: T }>;
  }

  /** Resolves if nothing arrives for `ms`; rejects with the packet otherwise. */
  async expectNothing(ms = 100): Promise<void> {
    try {
      const p = await this.next(ms);
      throw new Error(`expected nothing, got ${JSON.stringify(p)}`);
    } catch (err) {
      if ((err as Error).message.startsWith('expected nothing')) throw err;
    }
  }

  /** Waits for the broker to close the connection. */
  async expectClosed(timeoutMs = 2000): Promise<void> {
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs)),
    ]);
  }

  /** Drops the connection without DISCONNECT, like a crashed client. */
  kill(): void {
    this.stream.destroy();
  }

  private lastPacketId = 0;

  /** A fresh packet id for this client's own PUBLISH, SUBSCRIBE and UNSUBSCRIBE. */
  packetId(): number {
    this.lastPacketId = this.lastPacketId === 0xffff ? 1 : this.lastPacketId + 1;
    return this.lastPacketId;
  }

  /** Sends a PUBLISH (a packet id is picked for QoS > 0 unless given); returns its packet id. */
  publish(topic: string, payload: Buffer | string = '', options: Partial<Omit<PublishPacket, 'type' | 'topic' | 'payload'>> = {}): number {
    const qos = options.qos ?? 0;
    const packet: PublishPacket = { type: 'publish', topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos, retain: false, dup: false, ...options };
    if (qos > 0) packet.packetId ??= this.packetId();
    this.send(packet);
    return packet.packetId ?? 0;
  }

  /**
   * Subscribes to one or more filters (strings take `qos`; Subscription objects carry their
   * own options) and returns the SUBACK, checked to answer this SUBSCRIBE.
   */
  async subscribe(filters: string | Subscription | (string | Subscription)[], qos: QoS = 0, properties?: Properties): Promise<SubackPacket> {
    const list = Array.isArray(filters) ? filters : [filters];
    const subscriptions = list.map((f) => (typeof f === 'string' ? { topicFilter: f, qos } : f));
    const packetId = this.packetId();
    this.send({ type: 'subscribe', packetId, subscriptions, ...(properties ? { properties } : {}) });
    const suback = await this.expect('suback');
    if (suback.packetId !== packetId) throw new Error(`SUBACK for packet id ${suback.packetId}, expected ${packetId}`);
    return suback;
  }

  /** The next PUBLISH, acknowledged at once (PUBACK, or PUBREC → PUBREL → PUBCOMP for QoS 2). */
  async receive(timeoutMs = 2000): Promise<PublishPacket> {
    const p = await this.expect('publish', timeoutMs);
    await this.ack(p);
    return p;
  }

  /** Completes the acknowledgement flow of a received PUBLISH. */
  async ack(p: PublishPacket): Promise<void> {
    const v5 = this.version === 5 ? { reasonCode: 0 } : {};
    if (p.qos === 1) this.send({ type: 'puback', packetId: p.packetId!, ...v5 });
    if (p.qos === 2) {
      this.send({ type: 'pubrec', packetId: p.packetId!, ...v5 });
      const rel = await this.expect('pubrel');
      if (rel.packetId !== p.packetId) throw new Error(`PUBREL for ${rel.packetId}, expected ${p.packetId}`);
      this.send({ type: 'pubcomp', packetId: p.packetId!, ...v5 });
    }
  }

  /** Sends DISCONNECT and waits for the broker to close the connection. */
  async disconnect(packet: { reasonCode?: number; properties?: Properties } = {}): Promise<void> {
    this.send({ type: 'disconnect', ...packet });
    await this.expectClosed();
  }
}

/** A broker for one test, closed when that test ends: safe in concurrent tests. */
export function brokerFor(ctx: TestContext, options: CreateBrokerOptions = {}): Broker {
  const broker = createBroker(options);
  ctx.onTestFinished(() => broker.close());
  return broker;
}

/** Polls `condition` until it holds, for broker state that no packet announces. */
export async function until(condition: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Opens a raw connection to `broker` (no CONNECT sent). */
export function openClient(broker: Broker, version: ProtocolVersion = 4): TestClient {
  const [client, server] = duplexPair();
  broker.handle(server, 'test');
  return new TestClient(client, version);
}

/**
 * The broker's end of a connection whose client can stop reading: while stalled, writes are
 * neither delivered nor completed, so they pile up in the broker's writable buffer exactly as
 * they would on a TCP socket whose peer never reads.
 */
class ValveEnd extends Duplex {
  peer: Duplex | undefined;
  stalled = false;
  private held: (() => void)[] = [];

  override _read(): void {
    // Data is pushed by the client side.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const deliver = (): void => {
      const peer = this.peer;
      if (peer !== undefined && !peer.destroyed) peer.push(chunk);
      callback();
    };
    if (this.stalled) this.held.push(deliver);
    else setImmediate(deliver);
  }

  override _final(callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      this.peer?.push(null);
      callback();
    });
  }

  /** Lets everything held through, in order, and stops holding. */
  release(): void {
    this.stalled = false;
    for (const deliver of this.held.splice(0)) deliver();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    this.held = [];
    if (peer !== undefined && !peer.destroyed) setImmediate(() => peer.destroy());
    callback(error);
  }
}

class ClientEnd extends Duplex {
  constructor(private readonly server: ValveEnd) {
    super();
  }

  override _read(): void {
    // Data is pushed by the broker's end.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      if (!this.server.destroyed) this.server.push(chunk);
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      this.server.push(null);
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.server.destroyed) setImmediate(() => this.server.destroy());
    callback(error);
  }
}

/**
 * Opens a connection whose client can stop reading (`server.stalled = true`) and resume
 * (`server.release()`); `server` is the stream the broker writes to.
 */
export function openValveClient(broker: Broker, version: ProtocolVersion = 4, writableHighWaterMark?: number): { client: TestClient; server: ValveEnd } {
  // The broker's end buffers like a socket: up to its highWaterMark before write() says "wait".
  const server = new ValveEnd(writableHighWaterMark === undefined ? {} : { writableHighWaterMark });
  const clientEnd = new ClientEnd(server);
  server.peer = clientEnd;
  broker.handle(server, 'test');
  return { client: new TestClient(clientEnd, version), server };
}

/** Opens a connection, sends CONNECT (defaults filled in) and returns the client with its CONNACK. */
export async function connect(broker: Broker, connect: Partial<ConnectPacket> = {}) {
  const version = connect.protocolVersion ?? 4;
  const client = openClient(broker, version);
  client.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId: 'c', ...connect } as ConnectPacket);
  const connack = await client.expect('connack');
  return { client, connack };
}
