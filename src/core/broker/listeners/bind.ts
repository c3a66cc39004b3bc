/**
 * The TCP server under every listener: binds, passes each socket through the gate, then to the
 * transport (plain MQTT, or a tls/http(s) server fed with 'connection'), and on close destroys
 * what is still open. Feeding the TLS and HTTP servers ourselves is what lets the gate refuse a
 * socket before the TLS handshake or the HTTP request.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Gate } from './gate.js';
import type { ListenerLog } from './listener.js';

export interface Bound {
  server: Server;
  address: AddressInfo;
  close(): Promise<void>;
}

/** `ipv6Only`: mosquitto's socket_domain ipv6 on '::' takes no IPv4 clients (IPV6_V6ONLY). */
export function bind(port: number, host: string, gate: Gate, log: ListenerLog, onSocket: (socket: Socket) => void, ipv6Only = false): Promise<Bound> {
  // noDelay: our own once-per-tick batching decides latency, not Nagle against delayed ACKs.
  const server = createServer({ noDelay: true }, (socket) => {
    if (!gate.admit(socket)) return;
    onSocket(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, () => {
      server.off('error', reject);
      server.on('error', (err) => log(`${gate.name}: ${err.message}`));
      resolve({
        server,
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of gate.sockets) s.destroy();
          }),
      });
    });
  });
}
