/**
 * Our broker on real sockets for interop tests: TCP and WebSocket (path /mqtt) on ports the
 * kernel picks, loopback only. Stop it in afterEach (or finally) so no test leaks a listener.
 */
import { afterEach, beforeEach } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import type { BrokerEvents } from '../../src/core/broker/events.js';

export interface StartedBroker {
  readonly broker: Broker;
  readonly host: '127.0.0.1';
  /** TCP port. */
  readonly port: number;
  /** WebSocket port; the endpoint is `wsUrl`. */
  readonly wsPort: number;
  /** mqtt://127.0.0.1:port */
  readonly url: string;
  /** ws://127.0.0.1:wsPort/mqtt */
  readonly wsUrl: string;
  /** Closes the listeners and every connection; safe to call twice. */
  stop(): Promise<void>;
}

export async function startBroker(options: CreateBrokerOptions = {}): Promise<StartedBroker> {
  const broker = createBroker(options);
  const [tcp, ws] = await broker.listen({ port: 0, host: '127.0.0.1', ws: { port: 0, path: '/mqtt' } });
  if (tcp === undefined || ws === undefined) {
    await broker.close();
    throw new Error('broker.listen did not report both a TCP and a WebSocket address');
  }
  return {
    broker,
    host: '127.0.0.1',
    port: tcp.port,
    wsPort: ws.port,
    url: `mqtt://127.0.0.1:${tcp.port}`,
    wsUrl: `ws://127.0.0.1:${ws.port}/mqtt`,
    stop: () => broker.close(),
  };
}

/**
 * A broker of its own for every test of the calling describe block: started before each test,
 * stopped after it once `cleanup` (peers, clients) has ended what the test left open. The
 * object returned reads through to the current test's broker.
 */
export function brokerPerTest(cleanup?: () => Promise<void>): StartedBroker {
  let current: StartedBroker | undefined;
  const now = (): StartedBroker => {
    if (current === undefined) throw new Error('brokerPerTest: the broker exists only while a test runs');
    return current;
  };
  beforeEach(async () => {
    current = await startBroker();
  });
  afterEach(async () => {
    await cleanup?.();
    await current?.stop();
    current = undefined;
  });
  return {
    get broker() {
      return now().broker;
    },
    host: '127.0.0.1',
    get port() {
      return now().port;
    },
    get wsPort() {
      return now().wsPort;
    },
    get url() {
      return now().url;
    },
    get wsUrl() {
      return now().wsUrl;
    },
    stop: () => now().stop(),
  };
}

/**
 * Resolves with the arguments of the first `event` of `broker` that `match` accepts; rejects
 * after timeoutMs. Call it before causing the event: events that came earlier are not seen.
 */
export function brokerEvent<K extends keyof BrokerEvents>(
  broker: Broker,
  event: K,
  match: (...args: BrokerEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<BrokerEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: BrokerEvents[K]): void => {
      if (!match(...args)) return;
      clearTimeout(timer);
      broker.off(event, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      broker.off(event, listener as never);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the broker's '${String(event)}' event`));
    }, timeoutMs);
    broker.on(event, listener as never);
  });
}
