import { createRequire } from 'node:module';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { loadTlsServer } from '../../net/tls-server.js';
import type { AcceptFn, ListenerInfo } from '../types.js';
import { bind } from './bind.js';
import type { Gate } from './gate.js';
import type { Listener, ListenerLog } from './listener.js';
import { listenerUrl, type ListenerSpec } from './spec.js';

/** The client's certificate, when it presented one (Node answers {} when it did not). */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  return cert !== null && typeof cert === 'object' && cert.raw !== undefined ? cert : undefined;
}

/** MQTT over TLS: a tls.Server that never listens itself, fed the sockets the gate let through. */
export async function listenTls(accept: AcceptFn, log: ListenerLog, spec: ListenerSpec, host: string, gate: Gate): Promise<Listener> {
  const files = spec.tls!;
  const { options } = await loadTlsServer(files);
  const identity = spec.useIdentityAsUsername === true;
  let listener: ListenerInfo = { kind: 'tls', host, port: spec.port, name: gate.name, useIdentityAsUsername: identity };
  // Required here, not imported: the broker bundle would load node:tls at start-up for every broker.
  const { Server: TlsServer } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
  const tls = new TlsServer(options, (socket) => {
    socket.setNoDelay(true);
    accept(socket, { listener, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, peerCertificate: peerCertificateOf(socket) });
  });
  // A failed handshake (no certificate, a stranger's, an old TLS version) is the client's problem;
  // Node destroys the socket. Logged per connection it would let any client fill the log.
  tls.on('tlsClientError', () => undefined);
  const bound = await bind(spec.port, host, gate, log, (socket) => tls.emit('connection', socket), spec.family === 6);
  const { address } = bound;
  const name = spec.name ?? `tls:${address.port}`;
  gate.name = name;
  listener = { kind: 'tls', host: address.address, port: address.port, name, useIdentityAsUsername: identity };
  return {
    kind: 'tls',
    name,
    address,
    url: listenerUrl('tls', address.address, address.port, undefined),
    reload: () => reloadInto(tls, files, name),
    close: bound.close,
  };
}

/** Re-reads `files` into `server` for new connections; the error line when they fail the checks. */
export async function reloadInto(server: { setSecureContext(options: object): void }, files: ListenerSpec['tls'] & object, name: string): Promise<string | undefined> {
  try {
    const { options } = await loadTlsServer(files);
    server.setSecureContext(options);
    return undefined;
  } catch (err) {
    return `${name}: TLS files not reloaded, the old ones stay in use: ${err instanceof Error ? err.message : String(err)}`;
  }
}
