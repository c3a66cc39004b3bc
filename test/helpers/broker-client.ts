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

/** Someone waiting for the next packet: told of that packet, or of the connection's close. */
interface Waiter {
  packet: (p: Packet) => void;
  closed: () => void;
  timer: NodeJS.Timeout;
}

export class TestClient {
  readonly received: Packet[] = [];
  private waiters: Waiter[] = [];
  private readonly parser: Parser;
  closed = false;
  readonly closedPromise: Promise<void>;
  /** Marks the connection closed once: from the socket's close or end, or from kill(). */
  private readonly markClosed: () => void;

  constructor(
    readonly stream: Duplex,
    readonly version: ProtocolVersion,
  ) {
    this.parser = new Parser({ protocolVersion: version });
    stream.on('data', (chunk: Buffer) => {
      if (this.closed) return; // killed: a crashed client reads nothing more
      for (const p of this.parser.push(chunk)) {
        const w = this.waiters.shift();
        if (w !== undefined) {
          clearTimeout(w.timer);
          w.packet(p);
        } else {
          this.received.push(p);
        }
      }
    });
    let resolveClosed!: () => void;
    this.closedPromise = new Promise((resolve) => (resolveClosed = resolve));
    this.markClosed = (): void => {
      if (this.closed) return;
      this.closed = true;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.closed();
      }
      resolveClosed();
    };
    stream.on('close', this.markClosed);
    stream.on('end', this.markClosed);
    stream.on('error', () => undefined);
  }

  send(packet: Packet): void {
    this.stream.write(encode(packet, this.version));
  }

  sendRaw(bytes: Buffer | number[]): void {
    this.stream.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Waits up to `timeoutMs` for the next packet; calls exactly one of the three outcomes. */
  private wait(timeoutMs: number, packet: (p: Packet) => void, closed: () => void, timeout: () => void): void {
    const timer = setTimeout(() => {
      this.waiters = this.waiters.filter((w) => w.timer !== timer);
      timeout();
    }, timeoutMs);
    this.waiters.push({ packet, closed, timer });
  }

  /** The next packet from the broker; rejects after `timeoutMs` or when the connection closes first. */
  next(timeoutMs = 2000): Promise<Packet> {
    const p = this.received.shift();
    if (p !== undefined) return Promise.resolve(p);
    if (this.closed) return Promise.reject(new Error('expected a packet, but the connection is closed'));
    return new Promise((resolve, reject) => {
      this.wait(
        timeoutMs,
        resolve,
        () => reject(new Error('expected a packet, but the connection closed while waiting')),
        () => reject(new Error(`no packet within ${timeoutMs} ms`)),
      );
    });
  }

  /** The next packet, which must be of `type`. */
  async expect<T extends Packet['type']>(type: T, timeoutMs = 2000): Promise<Extract<Packet, { type: T }>> {
    const p = await this.next(timeoutMs);
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`);
    return p as Extract<Packet, { type: T }>;
  }

  /**
   * Resolves if nothing arrives for `ms` and the connection stays open; rejects with the packet
   * otherwise, or when the connection is (or gets) closed: a dropped subscriber receives
   * nothing too, and must not pass for a silent one. A test whose connection is meant to
   * close says so with `expectClosed()`.
   */
  expectNothing(ms = 100): Promise<void> {
    const p = this.received.shift();
    if (p !== undefined) return Promise.reject(new Error(`expected nothing, got ${JSON.stringify(p)}`));
    if (this.closed) return Promise.reject(new Error(`expected nothing for ${ms} ms on an open connection, but the connection is already closed`));
    const started = Date.now();
    return new Promise((resolve, reject) => {
      this.wait(
        ms,
        (got) => reject(new Error(`expected nothing, got ${JSON.stringify(got)}`)),
        () => reject(new Error(`expected nothing for ${ms} ms on an open connection, but the connection closed after ${Date.now() - started} ms`)),
        resolve,
      );
    });
  }

  /**
   * Waits for the broker to close the connection, and rejects if it sent packets the test did
   * not read first (a close "without CONNACK" must not pass when a CONNACK came).
   */
  async expectClosed(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closedPromise,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`expected the connection to close, but it is still open after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (this.received.length > 0) {
      throw new Error(`expected the connection to close, and it did, but after ${this.received.length} packet(s) the test did not read: ${this.received.map((p) => JSON.stringify(p)).join(', ')}`);
    }
  }

  /**
   * Drops the connection without DISCONNECT, like a crashed client: what arrived and was not
   * read yet is lost with it, and the client counts as closed at once. (The socket's 'close'
   * comes a tick later; a test reading on in between would act on packets a crashed client
   * never saw, as the QoS 2 fault test once did, delivering m1 before m0.)
   */
  kill(): void {
    this.stream.destroy();
    this.received.length = 0;
    this.markClosed();
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
   * own options) and returns the SUBACK, checked to answer this SUBSCRIBE and to grant every
   * filter: a refused subscription receives nothing, and must not pass for a quiet one. Tests
   * of refusals use trySubscribe().
   */
  async subscribe(filters: string | Subscription | (string | Subscription)[], qos: QoS = 0, properties?: Properties): Promise<SubackPacket> {
    const suback = await this.trySubscribe(filters, qos, properties);
    const refused = suback.reasonCodes.findIndex((code) => code >= 0x80);
    if (refused !== -1) {
      throw new Error(`SUBACK refused filter ${refused} with 0x${suback.reasonCodes[refused]!.toString(16)} (${JSON.stringify(suback.reasonCodes)}); use trySubscribe() to test a refusal`);
    }
    return suback;
  }

  /** Like subscribe(), but returns the SUBACK whatever it grants or refuses. */
  async trySubscribe(filters: string | Subscription | (string | Subscription)[], qos: QoS = 0, properties?: Properties): Promise<SubackPacket> {
    const list = Array.isArray(filters) ? filters : [filters];
    const subscriptions = list.map((f) => (typeof f === 'string' ? { topicFilter: f, qos } : f));
    const packetId = this.packetId();
    this.send({ type: 'subscribe', packetId, subscriptions, ...(properties ? { properties } : {}) });
    const suback = await this.expect('suback');
    if (suback.packetId !== packetId) throw new Error(`SUBACK for packet id ${suback.packetId}, expected ${packetId}`);
    // One reason code per filter: [MQTT-3.8.4-6] (5.0), [MQTT-3.8.4-5] (3.1.1).
    if (suback.reasonCodes.length !== subscriptions.length) throw new Error(`SUBACK with ${suback.reasonCodes.length} reason codes for ${subscriptions.length} filters`);
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

/**
 * Opens a connection, sends CONNECT (defaults filled in) and returns the client with its
 * CONNACK, which must accept the connection: a refused client receives nothing, and must not
 * pass for a quiet one. Tests of refusals use tryConnect().
 */
export async function connect(broker: Broker, packet: Partial<ConnectPacket> = {}) {
  const result = await tryConnect(broker, packet);
  if (result.connack.reasonCode !== 0) {
    throw new Error(`CONNACK refused ${JSON.stringify(packet.clientId ?? 'c')} with 0x${result.connack.reasonCode.toString(16)}; use tryConnect() to test a refusal`);
  }
  return result;
}

/** Like connect(), but returns the client and its CONNACK whatever the CONNACK says. */
export async function tryConnect(broker: Broker, packet: Partial<ConnectPacket> = {}) {
  const version = packet.protocolVersion ?? 4;
  const client = openClient(broker, version);
  client.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId: 'c', ...packet } as ConnectPacket);
  const connack = await client.expect('connack');
  return { client, connack };
}

/** Everything the broker writes to `client`, as whole packets (raw bytes each). */
export function recordFrames(client: TestClient): Buffer[] {
  const frames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  client.stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = 1;
      for (; i < pending.length; i++) {
        len += (pending[i]! & 0x7f) * mul;
        mul *= 128;
        if ((pending[i]! & 0x80) === 0) break;
      }
      if (i >= pending.length || pending.length < i + 1 + len) return;
      frames.push(Buffer.from(pending.subarray(0, i + 1 + len)));
      pending = pending.subarray(i + 1 + len);
    }
  });
  return frames;
}

/** Every packet before the PINGRESP to a PINGREQ sent now (the broker answers in order). */
export async function beforePing(c: TestClient): Promise<Packet[]> {
  c.send({ type: 'pingreq' });
  const got: Packet[] = [];
  for (;;) {
    const p = await c.next();
    if (p.type === 'pingresp') return got;
    got.push(p);
  }
}
