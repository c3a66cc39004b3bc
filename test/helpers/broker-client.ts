/**
 * A packet-level test client for the broker over an in-process duplex pair: send packet
 * objects, await the packets the broker sends back, assert silence. No ports involved.
 */
import type { Duplex } from 'node:stream';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../src/core/codec/types.js';
import type { Broker } from '../../src/core/broker/broker.js';
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
}

/** Opens a raw connection to `broker` (no CONNECT sent). */
export function openClient(broker: Broker, version: ProtocolVersion = 4): TestClient {
  const [client, server] = duplexPair();
  broker.handle(server, 'test');
  return new TestClient(client, version);
}

/** Opens a connection, sends CONNECT (defaults filled in) and returns the client with its CONNACK. */
export async function connect(broker: Broker, connect: Partial<ConnectPacket> = {}) {
  const version = connect.protocolVersion ?? 4;
  const client = openClient(broker, version);
  client.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId: 'c', ...connect } as ConnectPacket);
  const connack = await client.expect('connack');
  return { client, connack };
}
