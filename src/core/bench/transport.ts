/**
 * Byte streams to the broker for the bench clients: TCP, TLS, WebSocket and secure WebSocket,
 * chosen by ConnectionOptions.transport. One small interface (Link) over all four so the
 * client's hot path is the same whatever carries it.
 *
 * A Dialer reads the TLS files once per run, not once per connection.
 */
import { readdir, readFile } from 'node:fs/promises';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectOptions } from 'node:tls';
import WebSocket from 'ws';
import type { ConnectionOptions, TlsOptions } from '../client/types.js';

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

/** TCP and TLS: a net.Socket (TLSSocket is one). */
class SocketLink implements Link {
  private handler: LinkHandler = NO_HANDLER;
  private closed = false;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.handler.onData(chunk));
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

/** The code a failure is counted under in BenchResult.socketErrors. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.message : String(err);
}

export interface Dialer {
  /** Opens one stream; rejects with the socket error, or LinkError 'ETIMEDOUT' after timeoutMs. */
  open(timeoutMs: number): Promise<Link>;
}

async function loadTls(tls: TlsOptions, host: string): Promise<TlsConnectOptions> {
  const ca: Buffer[] = [];
  if (tls.caFile !== undefined) ca.push(await readFile(tls.caFile));
  if (tls.caPath !== undefined) {
    // mosquitto's capath is OpenSSL's hashed directory; reading every PEM in it serves the same purpose.
    for (const name of (await readdir(tls.caPath)).filter((n) => /\.(pem|crt|cer)$/i.test(n)).sort()) ca.push(await readFile(join(tls.caPath, name)));
  }
  const out: TlsConnectOptions = { rejectUnauthorized: !tls.insecure };
  // SNI takes host names only.
  if (isIP(host) === 0) out.servername = host;
  if (ca.length > 0) out.ca = ca;
  if (tls.certFile !== undefined) out.cert = await readFile(tls.certFile);
  if (tls.keyFile !== undefined) out.key = await readFile(tls.keyFile);
  if (tls.version !== undefined) {
    out.minVersion = tls.version;
    out.maxVersion = tls.version;
  }
  if (tls.alpn !== undefined) out.ALPNProtocols = tls.alpn;
  return out;
}

function timeoutError(what: string, ms: number): LinkError {
  return new LinkError(`${what} not open within ${ms} ms`, 'ETIMEDOUT');
}

export async function createDialer(options: ConnectionOptions): Promise<Dialer> {
  const { host, port, transport } = options;
  const secure = transport === 'mqtts' || transport === 'wss';
  const tls = secure ? await loadTls(options.tls ?? { insecure: false }, host) : {};
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
          reject(err);
        });
      }),
  };
}
