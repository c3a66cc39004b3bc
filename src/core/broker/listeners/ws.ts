import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Broker } from '../broker.js';
import type { Listener } from './index.js';

/**
 * MQTT over WebSocket (5.0 section 6): binary frames, subprotocol "mqtt" ("mqttv3.1" from old
 * 3.1 clients). Any path is accepted unless `path` names one, e.g. '/mqtt'.
 */
export function listenWs(broker: Broker, port: number, host: string, path?: string): Promise<Listener> {
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
    broker.handle(stream, req.socket.remoteAddress);
  });
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve({
        kind: 'ws',
        address: http.address() as AddressInfo,
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
