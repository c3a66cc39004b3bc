import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type * as Ws from 'ws';
import type { AcceptFn, ListenerInfo } from '../types.js';
import type { Listener } from './listener.js';

/**
 * MQTT over WebSocket (5.0 section 6): binary frames, subprotocol "mqtt" ("mqttv3.1" from old
 * 3.1 clients). Any path is accepted unless `path` names one, e.g. '/mqtt'.
 */
export function listenWs(accept: AcceptFn, port: number, host: string, path?: string): Promise<Listener> {
  // Loaded only for a WebSocket listener: ws and node:http (with the https, tls and zlib that
  // ws requires) are some 3 MB that a broker without one would hold all its life.
  const load = createRequire(import.meta.url);
  const { createServer } = load('node:http') as typeof import('node:http');
  const { WebSocketServer, createWebSocketStream } = load('ws') as typeof Ws;
  let listener: ListenerInfo = { kind: 'ws', host, port };
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the "mqtt" subprotocol\n');
  });
  const wss = new WebSocketServer({
    server: http,
    ...(path !== undefined ? { path } : {}),
    perMessageDeflate: false,
    handleProtocols: (protocols: Set<string>) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  // ws re-emits the HTTP server's errors here; without a listener a port in use is an uncaught
  // exception instead of the rejection below.
  wss.on('error', () => undefined);
  wss.on('connection', (socket, req: IncomingMessage) => {
    const stream = createWebSocketStream(socket);
    // A stream error (peer vanished) must not become an unhandled 'error' event.
    stream.on('error', () => undefined);
    accept(stream, { listener, remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, peerCertificate: undefined });
  });
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      const address = http.address() as AddressInfo;
      listener = { kind: 'ws', host: address.address, port: address.port };
      resolve({
        kind: 'ws',
        address,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            http.close(() => done());
          }),
      });
    });
  });
}
