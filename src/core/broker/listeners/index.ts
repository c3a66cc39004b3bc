/**
 * Listeners hand each accepted byte stream, with what they know about it (TransportInfo), to
 * one accept callback; one file per transport. They know nothing else of the broker.
 */
import type { AcceptFn } from '../types.js';
import type { Listener, ListenerLog } from './listener.js';
import { listenTcp } from './tcp.js';
import { listenWs } from './ws.js';

export type { Listener, ListenerLog } from './listener.js';

export interface ListenOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; loopback unless said otherwise, as mosquitto 2 does. */
  host?: string;
  /** WebSocket listener: a port (0 for a free one) or { port, host, path }. */
  ws?: number | { port: number; host?: string; path?: string };
}

export async function listen(accept: AcceptFn, log: ListenerLog, options: ListenOptions): Promise<Listener[]> {
  const host = options.host ?? '127.0.0.1';
  const started: Listener[] = [await listenTcp(accept, log, options.port, host)];
  if (options.ws !== undefined) {
    const ws = typeof options.ws === 'number' ? { port: options.ws } : options.ws;
    try {
      started.push(await listenWs(accept, ws.port, ws.host ?? host, ws.path));
    } catch (err) {
      await Promise.all(started.map((l) => l.close()));
      throw err;
    }
  }
  return started;
}
