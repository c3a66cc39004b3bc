/**
 * One soak client on a raw socket and our codec (dist/): its identity (client id, MQTT version,
 * persistent or clean, will) lasts the whole soak; each connection is a new socket. A role
 * (roles.mjs) extends it with what it does once connected.
 *
 * Connection states: 'offline' → 'connecting' (socket, CONNECT sent) → 'online' (CONNACK 0).
 * A drop is ours: 'abrupt' destroys the socket (no DISCONNECT, as a crash or a lost network),
 * 'clean' sends DISCONNECT and ends it. A close we did not ask for is counted (brokerClosed).
 */
import { connect as netConnect } from 'node:net';
import { encode, Parser } from '../../dist/core/codec/index.js';

const HOST = '127.0.0.1';
export const KEEPALIVE_S = 120;
const CONNACK_TIMEOUT_MS = 15_000;
/** 5.0 persistent sessions outlive any soak. */
const SESSION_EXPIRY_S = 24 * 3600;

export class Peer {
  /**
   * @param ctx  { port, stats, now(), ended(peer) }
   * @param spec { index, clientId, version: 4 | 5, persistent }
   */
  constructor(ctx, spec) {
    this.ctx = ctx;
    this.index = spec.index;
    this.clientId = spec.clientId;
    this.version = spec.version;
    this.persistent = spec.persistent;
    this.state = 'offline';
    this.socket = null;
    this.incarnation = 0;
    this.connectedOnce = false;
    this.lastSent = 0;
    this.dropping = null;
  }

  /** The CONNECT of this incarnation (roles add a will). */
  connectPacket() {
    const p = { type: 'connect', protocolVersion: this.version, clean: !this.persistent, keepalive: KEEPALIVE_S, clientId: this.clientId };
    if (this.version === 5 && this.persistent) p.properties = { sessionExpiryInterval: SESSION_EXPIRY_S };
    return p;
  }

  /** Opens a connection; resolves true at CONNACK 0, false when this attempt failed. */
  connect() {
    if (this.state !== 'offline') return Promise.resolve(this.state === 'online');
    this.state = 'connecting';
    this.incarnation++;
    this.dropping = null;
    const parser = new Parser({ protocolVersion: this.version });
    const socket = netConnect({ host: HOST, port: this.ctx.port, noDelay: true });
    this.socket = socket;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => {
        this.ctx.stats.connackTimeouts++;
        settle(false);
        socket.destroy();
      }, CONNACK_TIMEOUT_MS);
      socket.once('connect', () => this.send(this.connectPacket()));
      socket.on('data', (chunk) => {
        let packets;
        try {
          packets = parser.push(chunk);
        } catch (err) {
          this.ctx.stats.protocolErrors++;
          this.ctx.stats.lastError = `${this.clientId}: ${err.message}`;
          socket.destroy();
          return;
        }
        for (const p of packets) {
          if (socket !== this.socket) return;
          if (p.type === 'connack') {
            if (p.reasonCode !== 0) {
              this.ctx.stats.refused++;
              this.ctx.stats.lastError = `${this.clientId}: CONNACK ${p.reasonCode}`;
              socket.destroy();
              return;
            }
            this.state = 'online';
            const resumed = this.connectedOnce;
            this.connectedOnce = true;
            settle(true);
            this.onConnack(p.sessionPresent, resumed);
          } else this.onPacket(p);
        }
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        settle(false);
        if (socket !== this.socket) return;
        const wasOnline = this.state === 'online';
        this.state = 'offline';
        this.socket = null;
        const how = this.dropping ?? 'broker';
        if (wasOnline && how === 'broker') this.ctx.stats.brokerClosed++;
        if (wasOnline) this.onOffline(how);
        else this.onAttemptFailed();
        this.ctx.ended(this, wasOnline);
      });
    });
  }

  send(packet) {
    if (this.socket === null || this.socket.destroyed || this.socket.writableEnded) return;
    this.lastSent = this.ctx.now();
    this.socket.write(encode(packet, this.version));
  }

  /** Ends the connection as `how`: 'abrupt' (no DISCONNECT) or 'clean'. */
  drop(how) {
    if (this.state !== 'online') return;
    this.dropping = how;
    this.onDrop(how);
    if (how === 'clean') {
      this.send({ type: 'disconnect' });
      this.socket.end();
    } else this.socket.destroy();
  }

  /** Keeps the connection alive when it has sent nothing for half the keep-alive. */
  ping(now) {
    if (this.state === 'online' && now - this.lastSent > (KEEPALIVE_S * 1000) / 2) this.send({ type: 'pingreq' });
  }

  // What a role does; the base acknowledges what needs it and nothing more.
  onConnack(_sessionPresent, _resumed) {}

  onPacket(p) {
    if (p.type === 'publish') this.ack(p);
    else if (p.type === 'pubrel') this.send({ type: 'pubcomp', packetId: p.packetId });
  }

  ack(p) {
    if (p.qos === 1) this.send({ type: 'puback', packetId: p.packetId });
    else if (p.qos === 2) this.send({ type: 'pubrec', packetId: p.packetId });
  }

  /** The load is about to end this connection (its close comes later, after what is already read). */
  onDrop(_how) {}

  /** The connection closed, after its CONNACK: `how` is the drop's, or 'broker' when it was not asked for. */
  onOffline(_how) {}

  /** The connection closed before its CONNACK (the broker may or may not have seen its CONNECT). */
  onAttemptFailed() {}
}
