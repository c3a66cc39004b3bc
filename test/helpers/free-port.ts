/**
 * A TCP port that is free on 127.0.0.1 right now, for peers that cannot report the port the
 * kernel picked for them (mosquitto has no `listener 0`). Our own servers listen on port 0
 * instead; this is only for other programs. The port can be taken between this call and the
 * peer's bind, so callers that start a peer retry with a fresh port when the bind fails.
 */
import { createServer, type AddressInfo } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
