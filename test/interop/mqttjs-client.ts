/**
 * MQTT.js clients for interop tests: messages are collected from the first packet (a resumed
 * session's queue can arrive in the same read as CONNACK), every wait has a timeout, and
 * closeAll() in afterEach ends whatever a test left open.
 */
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

export interface TestClient {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
  /** Every message received so far, in order. */
  readonly messages: Received[];
  /** The next message not yet taken by next()/take(). */
  next(timeoutMs?: number): Promise<Received>;
  /** The next `n` messages. */
  take(n: number, timeoutMs?: number): Promise<Received[]>;
  /**
   * Waits `ms` and fails if any message not yet taken arrived, or if the connection is (or
   * gets) closed: a dropped client receives nothing too, and must not pass for a silent one.
   */
  expectNothing(ms?: number): Promise<void>;
  /** A clean DISCONNECT. */
  end(): Promise<void>;
  /** Cuts the connection without DISCONNECT, as a crash or a network failure would. */
  kill(): void;
}

const open = new Set<MqttClient>();

/** Connects, resolving after CONNACK; rejects on an error or after timeoutMs. */
export function openClient(url: string, options: IClientOptions = {}, timeoutMs = 5000): Promise<TestClient> {
  const client = connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, ...options });
  open.add(client);
  const messages: Received[] = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  // Why the connection ended, for expectNothing(); undefined while it is open.
  let closedBy: string | undefined;
  client.on('disconnect', (packet) => {
    closedBy ??= `the broker's DISCONNECT (reason 0x${(packet.reasonCode ?? 0).toString(16)})`;
  });
  client.on('close', () => {
    closedBy ??= 'a close';
  });
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), packet });
    for (const w of [...waiters]) w();
  });

  const take = (n: number, ms = 5000): Promise<Received[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (messages.length - taken < n) return;
        clearTimeout(timer);
        waiters.delete(check);
        const got = messages.slice(taken, taken + n);
        taken += n;
        resolve(got);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        const got = messages.slice(taken).map((m) => `${m.topic}: ${m.payload}`);
        reject(new Error(`timed out after ${ms} ms waiting for ${n} message(s); got ${got.length}: ${JSON.stringify(got)}`));
      }, ms);
      waiters.add(check);
      check();
    });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error(`MQTT.js could not connect to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    client.once('error', fail);
    client.once('connect', (connack) => {
      clearTimeout(timer);
      client.off('error', fail);
      // Later errors (a broker DISCONNECT with a reason) must not crash the worker.
      client.on('error', () => undefined);
      resolve({
        client,
        connack,
        messages,
        next: async (ms) => (await take(1, ms))[0]!,
        take,
        async expectNothing(ms = 300) {
          if (closedBy !== undefined) throw new Error(`expected nothing for ${ms} ms on an open connection, but it ended before with ${closedBy}`);
          await new Promise((r) => setTimeout(r, ms));
          const extra = messages.slice(taken).map((m) => `${m.topic}: ${m.payload}`);
          if (extra.length > 0) throw new Error(`expected no message, got ${JSON.stringify(extra)}`);
          if (closedBy !== undefined) throw new Error(`expected nothing for ${ms} ms on an open connection, but it ended with ${closedBy}`);
        },
        end: () => endClient(client),
        kill() {
          client.stream.destroy();
          client.end(true);
        },
      });
    });
  });
}

function endClient(client: MqttClient): Promise<void> {
  open.delete(client);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.end(true);
      resolve();
    }, 2000);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Force-closes every client a test left open. */
export async function closeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(
    all.map(
      (c) =>
        new Promise<void>((resolve) => {
          setTimeout(resolve, 1000).unref();
          c.end(true, {}, () => resolve());
        }),
    ),
  );
}

/** `promise`, or a rejection naming `what` after timeoutMs. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
