import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Broker } from '../broker.js';
import type { Listener } from './index.js';

export function listenTcp(broker: Broker, port: number, host: string): Promise<Listener> {
  const sockets = new Set<Socket>();
  // noDelay: our own once-per-tick batching decides latency, not Nagle against delayed ACKs.
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket, socket.remoteAddress);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => broker.log('error', `TCP listener: ${err.message}`));
      resolve({
        kind: 'tcp',
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}
