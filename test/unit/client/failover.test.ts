/**
 * The pieces of failover without a network: which broker comes next and what is said
 * (Failover over a stand-in MqttClient), the per-broker options it swaps in, and the buffer
 * `mqt pub -l` keeps while no connection is up (OfflineBuffer).
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { toClientOptions } from '../../../src/core/client/connect.js';
import { OfflineBuffer } from '../../../src/core/client/failover-buffer.js';
import { brokerUrl, Failover, lossReason } from '../../../src/core/client/failover.js';
import type { BrokerAddress, ConnectionOptions } from '../../../src/core/client/types.js';
import { parseHostEntry } from '../../../src/commands/options/connection.js';

class FakeClient extends EventEmitter {
  connected = true;
  disconnecting = false;
  options: IClientOptions & Record<string, unknown>;
  constructor(options: IClientOptions) {
    super();
    this.options = { ...options, reconnectPeriod: 1000 };
  }
  /** A connection that closes, with what MQTT.js reports before the close. */
  lose(err?: Error & { code?: unknown }): void {
    this.connected = false;
    if (err !== undefined) this.emit('error', err);
    this.emit('close');
  }
  up(): void {
    this.connected = true;
    this.emit('packetreceive', { cmd: 'connack', reasonCode: 0, sessionPresent: false });
    this.emit('connect', { cmd: 'connack' });
  }
}

const base: ConnectionOptions = {
  transport: 'mqtt',
  host: 'a.example',
  port: 1883,
  wsPath: '/mqtt',
  clientId: 'c',
  keepalive: 60,
  protocolVersion: 5,
  fallback: false,
  clean: true,
  reconnect: true,
};

async function setUp(brokers: BrokerAddress[], tls = false): Promise<{ client: FakeClient; lines: string[]; failover: Failover }> {
  const options = { ...base, ...(tls ? { tls: { insecure: true } } : {}) };
  const clientOptions = await Promise.all(brokers.map((b) => toClientOptions({ ...options, ...b }, 5)));
  const client = new FakeClient(clientOptions[0]!);
  const lines: string[] = [];
  const failover = new Failover(client as unknown as MqttClient, { brokers, clientOptions, index: 0, notify: (l) => lines.push(l) });
  return { client, lines, failover };
}

const A: BrokerAddress = { transport: 'mqtt', host: 'a.example', port: 1883, wsPath: '/mqtt' };
const B: BrokerAddress = { transport: 'ws', host: '10.0.0.2', port: 8080, wsPath: '/ws' };
const C: BrokerAddress = { transport: 'mqtts', host: 'c.example', port: 8883, wsPath: '/mqtt' };

describe('Failover', () => {
  it('on a loss, points the client at the next broker and says so; the next CONNACK is told once', async () => {
    const { client, lines, failover } = await setUp([A, B]);
    client.lose(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(lines).toEqual(['lost mqtt://a.example:1883 (connection reset); trying ws://10.0.0.2:8080/ws']);
    expect(failover.current).toEqual(B);
    expect(client.options).toMatchObject({ protocol: 'ws', host: '10.0.0.2', hostname: '10.0.0.2', port: 8080, path: '/ws', reconnectPeriod: 1000 });
    client.up();
    expect(lines.at(-1)).toBe('connected to ws://10.0.0.2:8080/ws');
    client.up();
    expect(lines).toHaveLength(2);
  });

  it('from a WebSocket broker to plain TCP, the path goes (MQTT.js would read it as a Unix socket)', async () => {
    const { client } = await setUp([B, A]);
    expect(client.options.path).toBe('/ws');
    client.lose();
    expect(client.options.protocol).toBe('mqtt');
    expect('path' in client.options).toBe(false);
  });

  it('TLS: the SNI name MQTT.js set for one broker is not sent to the next (an address gets none)', async () => {
    const D: BrokerAddress = { transport: 'mqtts', host: '127.0.0.1', port: 8884, wsPath: '/mqtt' };
    const { client } = await setUp([C, D], true);
    expect(client.options.servername).toBe('c.example');
    client.lose();
    expect(client.options).toMatchObject({ protocol: 'mqtts', host: '127.0.0.1', port: 8884 });
    expect(client.options.servername).toBeUndefined();
  });

  it('failed attempts: one line per broker of the first round, then one that it goes on, then quiet', async () => {
    const { client, lines } = await setUp([A, B]);
    client.lose();
    client.lose(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    client.lose(Object.assign(new Error('Connection refused: Not authorized'), { code: 0x87 }));
    client.lose();
    client.lose();
    expect(lines).toEqual([
      'lost mqtt://a.example:1883 (connection closed); trying ws://10.0.0.2:8080/ws',
      'ws://10.0.0.2:8080/ws: connection refused; trying mqtt://a.example:1883',
      'no broker answers (ws://10.0.0.2:8080/ws (connection refused), mqtt://a.example:1883 (refused: Not authorized (0x87))); trying them in turn every 1 s',
    ]);
  });

  it('a close the command asked for, or without reconnecting, moves nothing', async () => {
    const { client, lines, failover } = await setUp([A, B]);
    client.disconnecting = true;
    client.lose();
    client.disconnecting = false;
    client.options.reconnectPeriod = 0;
    client.lose();
    expect(lines).toEqual([]);
    expect(failover.current).toEqual(A);
  });
});

describe('failover words', () => {
  it('lossReason: the DISCONNECT reason first, then a refused CONNACK, the socket error, keep-alive', () => {
    expect(lossReason(undefined, 0x8b)).toBe('Server shutting down (0x8b)');
    expect(lossReason(Object.assign(new Error('x'), { code: 5 }), undefined, 4)).toBe('refused: not authorized (return code 5)');
    expect(lossReason(new Error('Keepalive timeout'), undefined)).toBe('no answer to keep-alive');
    expect(lossReason(undefined, undefined)).toBe('connection closed');
  });

  it('brokerUrl and -h entries', () => {
    expect(brokerUrl({ transport: 'mqtt', host: '::1', port: 1883, wsPath: '/mqtt' })).toBe('mqtt://[::1]:1883');
    expect(parseHostEntry('a.example:1884')).toEqual({ host: 'a.example', port: 1884 });
    expect(parseHostEntry('[::1]:1884')).toEqual({ host: '::1', port: 1884 });
    expect(parseHostEntry('::1')).toEqual({ host: '::1', port: undefined });
    expect(parseHostEntry('broker')).toEqual({ host: 'broker', port: undefined });
    expect(() => parseHostEntry('broker:x')).toThrow(/port/);
  });
});

describe('OfflineBuffer', () => {
  function harness(max: number, window = 2): { client: FakeClient; buffer: OfflineBuffer<number>; sent: number[]; inFlight: Set<number>; ack(n: number): void; full: number[] } {
    const client = new FakeClient({});
    const sent: number[] = [];
    const inFlight = new Set<number>();
    let waiter: (() => void) | undefined;
    const full: number[] = [];
    const buffer = new OfflineBuffer<number>({
      client: client as unknown as MqttClient,
      hasRoom: () => inFlight.size < window,
      ready: () => (inFlight.size < window ? Promise.resolve() : new Promise<void>((r) => (waiter = r))),
      send: (n) => {
        sent.push(n);
        inFlight.add(n);
      },
      maxBuffered: max,
      onFull: (kept) => full.push(kept),
    });
    const ack = (n: number): void => {
      inFlight.delete(n);
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    return { client, buffer, sent, inFlight, ack, full };
  }

  it('connected with room: straight through; offline: kept up to the bound, then the producer is held; in order once connected', async () => {
    const h = harness(3, 10);
    expect(h.buffer.offer(1)).toBeUndefined();
    h.client.lose();
    expect(h.buffer.offer(2)).toBeUndefined();
    expect(h.buffer.offer(3)).toBeUndefined();
    let released = false;
    const held = h.buffer.offer(4)!;
    void held.then(() => (released = true));
    expect(h.full).toEqual([3]);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(false);
    expect(h.sent).toEqual([1]);
    h.client.up();
    await held;
    await h.buffer.flushed();
    expect(h.sent).toEqual([1, 2, 3, 4]);
  });

  it('a producer waiting for the window when the connection goes may fill the buffer instead', async () => {
    const h = harness(5, 1);
    h.buffer.offer(1);
    const waiting = h.buffer.offer(2)!;
    expect(waiting).toBeInstanceOf(Promise);
    h.client.lose();
    await waiting;
    expect(h.buffer.offer(3)).toBeUndefined();
    h.client.up();
    h.ack(1);
    await new Promise((r) => setImmediate(r));
    h.ack(2);
    await h.buffer.flushed();
    expect(h.sent).toEqual([1, 2, 3]);
  });

  it('stop(): waits reject with the reason, later offers throw it', async () => {
    const h = harness(1);
    h.client.lose();
    const held = h.buffer.offer(1)!;
    const flushed = h.buffer.flushed();
    const reason = new Error('lost for good');
    h.buffer.stop(reason);
    await expect(held).rejects.toBe(reason);
    await expect(flushed).rejects.toBe(reason);
    expect(() => h.buffer.offer(2)).toThrow(reason);
  });
});
