/**
 * Raw byte links to a broker: TCP, TLS, WebSocket and secure WebSocket, chosen by the
 * transport. One small interface (Link) over all four so a client's hot path is the same
 * whatever carries it. Used by the bench clients and by lwt-test's raw client; the MQTT.js
 * commands dial through MQTT.js (core/client/connect.ts) with the same TLS files (tls-files.ts).
 *
 * A Dialer reads the TLS files once, not once per connection.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { tlsClientOptions, type TlsClientOptions, type TlsOptions } from './tls-files.js';

/** mqtt = TCP, mqtts = TLS, ws / wss = MQTT over WebSocket (plain / TLS). */
export type Transport = 'mqtt' | 'mqtts' | 'ws' | 'wss';

/** Where and how to dial; core/client's ConnectionOptions is one. */
export interface DialOptions {
  transport: Transport;
  host: string;
  port: number;
  /** Request path for ws / wss. */
  wsPath: string;
  /** For mqtts and wss; none means the system's CAs and full checks. */
  tls?: TlsOptions | undefined;
}

/** Socket output above which a sender waits for 'drain' (the QoS 0 flat-out bound). */
export const HIGH_WATER = 256 * 1024;

export interface LinkHandler {
  onData(chunk: Buffer): void;
  /** Output fell back below HIGH_WATER after needsDrain() said true. */
  onDrain(): void;
  /** The stream ended, for whatever reason; `err` when it failed. Called once. */
  onClose(err: Error | undefined): void;
}

export interface Link {
  write(buf: Buffer): void;
  /** True when more than HIGH_WATER bytes wait to be sent; onDrain follows once they are out. */
  needsDrain(): boolean;
  /** Writes `last` (a DISCONNECT) and closes gracefully. */
  end(last: Buffer): void;
  /** Closes at once. */
  destroy(): void;
  setHandler(handler: LinkHandler): void;
}

const NO_HANDLER: LinkHandler = { onData() {}, onDrain() {}, onClose() {} };

/**
 * Whether the first bytes from a server are an HTTP response: what a plain MQTT client gets
 * from a WebSocket (or web) port, which our parser could only call a malformed packet.
 */
export function isHttpAnswer(chunk: Buffer): boolean {
  return chunk.length >= 5 && chunk[0] === 0x48 && chunk.toString('latin1', 0, 5) === 'HTTP/';
}

/** TCP and TLS: a net.Socket (TLSSocket is one). */
class SocketLink implements Link {
  private handler: LinkHandler = NO_HANDLER;
  private closed = false;
  private first = true;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.first) {
        this.first = false;
        // 0x48 'H' is no MQTT packet type a broker sends first (CONNACK is 0x20): an HTTP answer.
        if (isHttpAnswer(chunk)) return this.close(new LinkError(`the server answered in HTTP (${chunk.toString('latin1', 0, 40).split('\r')[0]})`, 'EHTTP'));
      }
      this.handler.onData(chunk);
    });
    socket.on('drain', () => this.handler.onDrain());
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close(undefined));
  }

  setHandler(handler: LinkHandler): void {
    this.handler = handler;
  }

  write(buf: Buffer): void {
    if (!this.closed) this.socket.write(buf);
  }

  needsDrain(): boolean {
    // Above the socket's own highWaterMark (16 KiB; 64 KiB since Node 22), so write() has returned false and Node
    // emits 'drain' once the buffer is empty.
    return this.socket.writableLength > HIGH_WATER;
  }

  end(last: Buffer): void {
    if (!this.closed) this.socket.end(last);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private close(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handler.onClose(err);
  }
}

/**
 * MQTT over WebSocket: binary frames, subprotocol "mqtt" (5.0 section 6). A batch of packets
 * is one frame; packets need not align with frames [MQTT-6.0.0-2], the parser reframes them.
 * ws has no 'drain': each send's callback checks whether the output fell low again.
 */
class WsLink implements Link {
  private handler: LinkHandler = NO_HANDLER;
  private closed = false;
  private waiting = false;
  private readonly sent = (): void => {
    if (this.waiting && this.ws.bufferedAmount <= HIGH_WATER / 2) {
      this.waiting = false;
      this.handler.onDrain();
    }
  };

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.handler.onData(data));
    ws.on('error', (err) => this.close(err));
    ws.on('close', () => this.close(undefined));
  }

  setHandler(handler: LinkHandler): void {
    this.handler = handler;
  }

  write(buf: Buffer): void {
    if (!this.closed) this.ws.send(buf, this.sent);
  }

  needsDrain(): boolean {
    if (this.ws.bufferedAmount <= HIGH_WATER) return false;
    this.waiting = true;
    return true;
  }

  end(last: Buffer): void {
    if (this.closed) return;
    this.ws.send(last);
    this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }

  private close(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.terminate();
    this.handler.onClose(err);
  }
}

/** An error below MQTT (refused, reset, timed out, TLS), with a Node-style code. */
export class LinkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

/** A failure's Node-style code, else its message: what bench counts socket failures under. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.message : String(err);
}

export interface Dialer {
  /** Opens one stream; rejects with the socket error, or LinkError 'ETIMEDOUT' after timeoutMs. */
  open(timeoutMs: number): Promise<Link>;
}

function timeoutError(what: string, ms: number): LinkError {
  return new LinkError(`${what} not open within ${ms} ms`, 'ETIMEDOUT');
}

/** Reads the TLS files (rejecting with a TlsFileError) and returns what opens the links. */
export async function createDialer(options: DialOptions): Promise<Dialer> {
  const { host, port, transport } = options;
  const secure = transport === 'mqtts' || transport === 'wss';
  const tls: TlsClientOptions = secure ? await tlsClientOptions(options.tls ?? { insecure: false }, host) : {};
  if (transport === 'ws' || transport === 'wss') {
    const path = options.wsPath.startsWith('/') ? options.wsPath : `/${options.wsPath}`;
    const url = `${transport}://${isIP(host) === 6 ? `[${host}]` : host}:${port}${path}`;
    return {
      open: (timeoutMs) =>
        new Promise<Link>((resolve, reject) => {
          const ws = new WebSocket(url, ['mqtt'], { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...tls });
          ws.binaryType = 'nodebuffer';
          const timer = setTimeout(() => {
            ws.terminate();
            reject(timeoutError('WebSocket', timeoutMs));
          }, timeoutMs);
          ws.once('open', () => {
            clearTimeout(timer);
            ws.removeAllListeners('error');
            resolve(new WsLink(ws));
          });
          ws.once('error', (err) => {
            clearTimeout(timer);
            ws.terminate();
            reject(err);
          });
        }),
    };
  }
  return {
    open: (timeoutMs) =>
      new Promise<Link>((resolve, reject) => {
        const socket = secure ? tlsConnect({ host, port, ...tls }) : netConnect({ host, port, noDelay: true });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(timeoutError(secure ? 'TLS connection' : 'TCP connection', timeoutMs));
        }, timeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          socket.removeAllListeners('error');
          resolve(new SocketLink(socket));
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          socket.destroy();
          // A plain MQTT port reads the ClientHello as a malformed packet and closes: the
          // handshake ends in a reset, which says more as "the port does not speak TLS".
          const reset = secure && (err as NodeJS.ErrnoException).code === 'ECONNRESET';
          reject(reset ? new LinkError(`the connection closed during the TLS handshake (${err.message})`, 'ETLSCLOSED') : err);
        });
      }),
  };
}
