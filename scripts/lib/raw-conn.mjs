/**
 * A bare MQTT connection on a TCP socket and our codec from dist/: packets or raw bytes out,
 * decoded packets in. The broker fuzzer's attackers and well-behaved clients and the crash
 * rounds' clients use it, so what a client was acknowledged is exactly what it counts, with no
 * library retrying behind it.
 */
import { connect as netConnect } from 'node:net';
import { encode, Parser } from '../../dist/core/codec/index.js';

export const HOST = '127.0.0.1';

export class RawConn {
  /** Resolves once the TCP connection is up; rejects on error or after `timeoutMs`. */
  static dial(port, version = 4, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: HOST, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConn(socket, version));
      });
    });
  }

  /**
   * Dials and sends CONNECT (keep-alive 0; 5.0 with `sessionExpiry` when given); resolves with
   * the connection and its CONNACK, rejects when the broker is not there, refuses, or does not
   * answer within `timeoutMs`. Packets behind the CONNACK wait in the inbox for listen().
   * @param {{ port: number, clientId: string, version: 4 | 5, clean: boolean, sessionExpiry?: number, timeoutMs?: number }} o
   */
  static async session(o) {
    const timeoutMs = o.timeoutMs ?? 5000;
    const conn = await RawConn.dial(o.port, o.version, timeoutMs);
    const properties = o.version === 5 && o.sessionExpiry !== undefined ? { sessionExpiryInterval: o.sessionExpiry } : undefined;
    conn.send({ type: 'connect', protocolVersion: o.version, clean: o.clean, keepalive: 0, clientId: o.clientId, ...(properties ? { properties } : {}) });
    const connack = await conn.next(() => true, timeoutMs);
    if (connack?.type !== 'connack' || connack.reasonCode !== 0) {
      conn.destroy();
      const got = connack === undefined ? (conn.isClosed ? 'the connection closed' : `nothing in ${timeoutMs} ms`) : connack.type === 'connack' ? `refused with ${connack.reasonCode}` : connack.type;
      throw new Error(`${o.clientId}: expected CONNACK 0, got ${got}`);
    }
    return { conn, connack };
  }

  constructor(socket, version) {
    this.socket = socket;
    this.version = version;
    this.parser = new Parser({ protocolVersion: version });
    /** Packets not taken by a waiter or onPacket. */
    this.inbox = [];
    /** Set when the broker sent bytes our parser rejects: a broker bug, not the client's. */
    this.parseError = undefined;
    this.onPacket = undefined;
    this.isClosed = false;
    this.bytesIn = 0;
    this.waiters = new Set();
    socket.on('data', (chunk) => {
      this.bytesIn += chunk.length;
      let packets;
      try {
        packets = this.parser.push(chunk);
      } catch (err) {
        this.parseError ??= err;
        socket.destroy();
        return;
      }
      for (const p of packets) {
        if (this.onPacket !== undefined) this.onPacket(p);
        else this.inbox.push(p);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Every packet from now on goes to `fn`, those waiting in the inbox first. */
  listen(fn) {
    this.onPacket = fn;
    for (const p of this.inbox.splice(0)) fn(p);
  }

  send(packet) {
    this.write(encode(packet, this.version));
  }

  /** Writes unless closed; false when the socket's buffer is full (the broker is not reading). */
  write(bytes) {
    if (this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /**
   * The first packet in the inbox that `match` accepts (others stay), or undefined once the
   * connection closed or `timeoutMs` passed: attacks judge the answer, they do not throw.
   */
  next(match = () => true, timeoutMs = 3000) {
    return new Promise((resolve) => {
      const check = () => {
        const i = this.inbox.findIndex(match);
        if (i >= 0) {
          done();
          resolve(this.inbox.splice(i, 1)[0]);
        } else if (this.isClosed) {
          done();
          resolve(undefined);
        }
      };
      const timer = setTimeout(() => {
        done();
        resolve(undefined);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves true once the broker closed the connection, false after `timeoutMs`. */
  closedWithin(timeoutMs) {
    if (this.isClosed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.closed.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Not destroyed yet (by us or by a close). */
  get open() {
    return !this.socket.destroyed;
  }

  /** Ends the connection without DISCONNECT, as a crash or a cut cable does. */
  destroy() {
    this.socket.destroy();
  }
}
