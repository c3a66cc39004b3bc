import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import type * as Ws from 'ws';
import type { AcceptFn, ListenerInfo } from '../types.js';
import { bind } from './bind.js';
import type { Gate } from './gate.js';
import type { Listener, ListenerLog } from './listener.js';
import { listenerUrl, type ListenerSpec } from './spec.js';

/**
 * MQTT over WebSocket (5.0 section 6), plain (ws) or over TLS (wss): binary frames, subprotocol
 * "mqtt" ("mqttv3.1" from old 3.1 clients). Any path is accepted unless `path` names one, e.g.
 * '/mqtt'. The http(s) server never listens itself: it is fed the sockets the gate let through.
 */
export async function listenWs(accept: AcceptFn, log: ListenerLog, spec: ListenerSpec, host: string, gate: Gate): Promise<Listener> {
  const kind = spec.kind === 'wss' ? 'wss' : 'ws';
  // Loaded only for a WebSocket listener: ws and node:http (with the https, tls and zlib that
  // ws requires) are some 3 MB that a broker without one would hold all its life.
  const load = createRequire(import.meta.url);
  const { WebSocketServer, createWebSocketStream } = load('ws') as typeof Ws;
  const onRequest = (_req: IncomingMessage, res: import('node:http').ServerResponse): void => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the "mqtt" subprotocol\n');
  };
  let http: import('node:http').Server | import('node:https').Server;
  let reload: (() => Promise<string | undefined>) | undefined;
  let certOf = (_req: IncomingMessage): import('node:tls').PeerCertificate | undefined => undefined;
  if (kind === 'wss') {
    const { loadTlsServer } = await import('../../net/tls-server.js');
    const { reloadInto, peerCertificateOf } = await import('./tls.js');
    const { options } = await loadTlsServer(spec.tls!);
    const https = (load('node:https') as typeof import('node:https')).createServer(options, onRequest);
    https.on('tlsClientError', () => undefined);
    http = https;
    reload = () => reloadInto(https, spec.tls!, name);
    certOf = (req) => peerCertificateOf(req.socket as TLSSocket);
  } else {
    http = (load('node:http') as typeof import('node:http')).createServer(onRequest);
  }
  const identity = kind === 'wss' && spec.useIdentityAsUsername === true;
  let listener: ListenerInfo = { kind, host, port: spec.port, name: gate.name, useIdentityAsUsername: identity };
  const wss = new WebSocketServer({
    server: http,
    ...(spec.path !== undefined ? { path: spec.path } : {}),
    perMessageDeflate: false,
    handleProtocols: (protocols: Set<string>) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  wss.on('error', () => undefined);
  wss.on('connection', (socket, req: IncomingMessage) => {
    const stream = createWebSocketStream(socket);
    onlyBinaryFrames(socket);
    // A stream error (peer vanished) must not become an unhandled 'error' event.
    stream.on('error', () => undefined);
    accept(stream, { listener, remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, peerCertificate: certOf(req) });
  });
  const bound = await bind(spec.port, host, gate, log, (socket) => http.emit('connection', socket), spec.family === 6);
  const { address } = bound;
  const name = spec.name ?? `${kind}:${address.port}`;
  gate.name = name;
  listener = { kind, host: address.address, port: address.port, name, useIdentityAsUsername: identity };
  return {
    kind,
    name,
    address,
    url: listenerUrl(kind, address.address, address.port, spec.path),
    ...(reload !== undefined ? { reload } : {}),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await bound.close();
    },
  };
}

/** The stream's own 'message' listener, kept on the socket until a text frame comes. */
const FORWARD = Symbol('forward binary frames');
type Guarded = Ws.WebSocket & { [FORWARD]?: ((data: Buffer, isBinary: boolean) => void) | undefined };

/**
 * MQTT travels in binary frames only [MQTT-6.0.0-1]: a text frame closes the connection (1003
 * Unsupported Data) and neither it nor anything after it is read. createWebSocketStream pushes
 * every frame, text or not, so its listener (the one it just added) is moved behind this check;
 * one module-level function, no closure per connection.
 */
function onlyBinaryFrames(socket: Guarded): void {
  const forward = socket.listeners('message').at(-1) as (data: Buffer, isBinary: boolean) => void;
  socket.off('message', forward);
  socket[FORWARD] = forward;
  socket.on('message', checkFrame);
}

function checkFrame(this: Guarded, data: Buffer, isBinary: boolean): void {
  const forward = this[FORWARD];
  if (forward === undefined) return; // refused already: the close handshake is under way
  if (isBinary) {
    forward.call(this, data, isBinary);
    return;
  }
  this[FORWARD] = undefined;
  this.close(1003, 'MQTT over WebSocket needs binary frames');
}
