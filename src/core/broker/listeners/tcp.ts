import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { AcceptFn, ListenerInfo } from '../types.js';
import type { Listener, ListenerLog } from './listener.js';

export function listenTcp(accept: AcceptFn, log: ListenerLog, port: number, host: string): Promise<Listener> {
  const sockets = new Set<Socket>();
  // One function for every socket of this listener, not a closure each.
  const forget = function (this: Socket): void {
    sockets.delete(this);
  };
  let listener: ListenerInfo = { kind: 'tcp', host, port };
  // noDelay: our own once-per-tick batching decides latency, not Nagle against delayed ACKs.
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', forget);
    accept(socket, { listener, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, peerCertificate: undefined });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => log(`TCP listener: ${err.message}`));
      const address = server.address() as AddressInfo;
      listener = { kind: 'tcp', host: address.address, port: address.port };
      resolve({
        kind: 'tcp',
        address,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}
