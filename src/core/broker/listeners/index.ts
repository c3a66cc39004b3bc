/** Listeners hand each accepted byte stream to broker.handle(); one file per transport. */
import type { AddressInfo } from 'node:net';
import type { Broker } from '../broker.js';
import { listenTcp } from './tcp.js';
import { listenWs } from './ws.js';

export interface ListenOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; loopback unless said otherwise, as mosquitto 2 does. */
  host?: string;
  /** WebSocket listener: a port (0 for a free one) or { port, host, path }. */
  ws?: number | { port: number; host?: string; path?: string };
}

export interface Listener {
  readonly kind: 'tcp' | 'ws';
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function listen(broker: Broker, options: ListenOptions): Promise<Listener[]> {
  const host = options.host ?? '127.0.0.1';
  const started: Listener[] = [await listenTcp(broker, options.port, host)];
  if (options.ws !== undefined) {
    const ws = typeof options.ws === 'number' ? { port: options.ws } : options.ws;
    try {
      started.push(await listenWs(broker, ws.port, ws.host ?? host, ws.path));
    } catch (err) {
      await Promise.all(started.map((l) => l.close()));
      throw err;
    }
  }
  return started;
}
