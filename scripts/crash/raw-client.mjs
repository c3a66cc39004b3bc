/**
 * A bare MQTT client on our codec (dist/), for the crash rounds: what it was acknowledged is
 * exactly what it counts, with no library retrying or hiding anything. 3.1.1 or 5.0.
 */
import { connect as netConnect } from 'node:net';
import { encode } from '../../dist/core/codec/encode.js';
import { Parser } from '../../dist/core/codec/parser.js';

export class RawClient {
  /**
   * @param {import('node:net').Socket} socket
   * @param {4 | 5} version
   */
  constructor(socket, version) {
    this.socket = socket;
    this.version = version;
    this.parser = new Parser({ protocolVersion: version });
    /** @type {((p: any) => void) | undefined} */
    this.handler = undefined;
    /** Packets that came before a handler was set (queued messages right behind CONNACK). */
    this.early = [];
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(undefined)));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      let packets;
      try {
        packets = this.parser.push(chunk);
      } catch (err) {
        this.protocolError = err;
        socket.destroy();
        return;
      }
      for (const p of packets) {
        if (this.handler !== undefined) this.handler(p);
        else this.early.push(p);
      }
    });
  }

  /**
   * Connects and sends CONNECT; resolves with { client, connack }, or rejects when the broker is
   * not there or answers with anything but a CONNACK within timeoutMs.
   * @param {{ port: number, clientId: string, version: 4 | 5, clean: boolean, sessionExpiry?: number, timeoutMs?: number }} o
   */
  static open(o) {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port: o.port, host: '127.0.0.1' });
      const client = new RawClient(socket, o.version);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${o.clientId}: no CONNACK within ${o.timeoutMs ?? 5000} ms`));
      }, o.timeoutMs ?? 5000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error(`${o.clientId}: connection closed before CONNACK`));
      });
      socket.once('connect', () => {
        client.handler = (p) => {
          clearTimeout(timer);
          client.handler = undefined;
          if (p.type !== 'connack') {
            socket.destroy();
            reject(new Error(`${o.clientId}: expected CONNACK, got ${p.type}`));
          } else if (p.reasonCode !== 0) {
            socket.destroy();
            reject(new Error(`${o.clientId}: CONNACK refused with ${p.reasonCode}`));
          } else {
            resolve({ client, connack: p });
          }
        };
        const properties = o.version === 5 && o.sessionExpiry !== undefined ? { sessionExpiryInterval: o.sessionExpiry } : undefined;
        client.send({ type: 'connect', protocolVersion: o.version, clean: o.clean, keepalive: 0, clientId: o.clientId, ...(properties ? { properties } : {}) });
      });
    });
  }

  /** Every packet from now on (and those that came before) goes to `fn`. */
  set onPacket(fn) {
    this.handler = fn;
    const early = this.early;
    this.early = [];
    for (const p of early) fn(p);
  }

  get open() {
    return !this.socket.destroyed;
  }

  send(packet) {
    if (!this.socket.destroyed) this.socket.write(encode(packet, this.version));
  }

  /** Ends the connection without DISCONNECT, as a crash or a cut cable does. */
  drop() {
    this.socket.destroy();
  }
}
