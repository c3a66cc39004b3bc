import type { AcceptFn, ListenerInfo } from '../types.js';
import { bind } from './bind.js';
import type { Gate } from './gate.js';
import type { Listener, ListenerLog } from './listener.js';
import { listenerUrl, type ListenerSpec } from './spec.js';

/** Plain MQTT over TCP. */
export async function listenTcp(accept: AcceptFn, log: ListenerLog, spec: ListenerSpec, host: string, gate: Gate): Promise<Listener> {
  let listener: ListenerInfo = { kind: 'tcp', host, port: spec.port, name: gate.name, useIdentityAsUsername: false };
  const bound = await bind(spec.port, host, gate, log, (socket) => {
    accept(socket, { listener, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, peerCertificate: undefined });
  }, spec.family === 6);
  const { address } = bound;
  const name = spec.name ?? `tcp:${address.port}`;
  gate.name = name;
  listener = { kind: 'tcp', host: address.address, port: address.port, name, useIdentityAsUsername: false };
  return { kind: 'tcp', name, address, url: listenerUrl('tcp', address.address, address.port, undefined), close: bound.close };
}
