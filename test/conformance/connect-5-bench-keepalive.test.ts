/**
 * The client-side Keep Alive rules of MQTT 5.0 CONNECT (section 3.1.2.10) where they bind one of
 * our own raw clients: mqt bench's, which builds its packets with our codec (src/core/bench).
 * The broker imposes a Server Keep Alive of 1 s on clients that asked for 60 s, so a bench
 * subscriber (which sends nothing of its own at QoS 0) survives the run's 2 s only by sending
 * PINGREQ on the broker's period, not its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../src/core/bench/index.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

let broker: StartedBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('MQTT 5.0 Keep Alive, mqt bench as the client', () => {
  // [MQTT-3.1.2-20] with Keep Alive non-zero and nothing else to send, the client sends PINGREQ;
  // [MQTT-3.1.2-21] and on the Server Keep Alive of CONNACK instead of the value it sent (the same
  // rule from CONNACK's side: [MQTT-3.2.2-21]).
  it('pings on the Server Keep Alive the broker returned, so idle subscribers outlive 1.5 × that keep-alive [MQTT-3.1.2-20] [MQTT-3.1.2-21]', async () => {
    broker = await startBroker({ maxKeepalive: 1 });
    const connection = {
      transport: 'mqtt' as const,
      host: '127.0.0.1',
      port: broker.port,
      wsPath: '/mqtt',
      clientId: 'ka',
      keepalive: 60,
      protocolVersion: 5 as const,
      fallback: false,
      clean: true,
      reconnect: false,
      connectTimeoutMs: 5000,
    };
    const kicked: string[] = [];
    broker.broker.on('disconnect', (client, reason) => {
      if (reason.includes('keep-alive')) kicked.push(client.clientId);
    });
    const r = await runBench(
      { name: 'test', connection },
      { scenario: 'pub', pubs: 1, subs: 2, topic: 'ka/%i', topicMode: 'same', qos: 0, size: 32, durationMs: 2000, rate: 20, inflight: 10, retain: false, protocolVersion: 5, workers: 1, timeoutMs: 5000, conns: 1, concurrency: 1 },
    );
    expect(r.published).toBeGreaterThan(20);
    expect(r.delivered).toBe(2 * r.published);
    expect({ lost: r.lost, errors: r.errors, socketErrors: r.socketErrors, reconnects: r.reconnects }).toEqual({ lost: 0, errors: [], socketErrors: [], reconnects: 0 });
    expect(kicked).toEqual([]);
  });
});
