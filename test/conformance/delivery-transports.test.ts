/**
 * MQTT 3.1.1 section 4.2 (no numbered statement) and 5.0 [MQTT-4.2.0-1] (network connections):
 * the broker supports transports that carry an ordered, lossless stream of bytes both ways, here
 * TCP and WebSocket (TLS and secure WebSocket are the same stream under TLS, tested with the
 * listeners). A real client (MQTT.js) on each; what one sends over one transport arrives over
 * the other complete, byte for byte and in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { closeAll, openClient } from '../interop/mqttjs-client.js';

let started: StartedBroker | undefined;
afterEach(async () => {
  await closeAll();
  await started?.stop();
  started = undefined;
});

/** Payload `i`: every byte value, rotated, so any lost, changed or reordered byte shows. */
const payload = (i: number): Buffer => Buffer.from(Array.from({ length: 256 }, (_, k) => (k + i) & 0xff));

describe.each([4, 5] as const)('v%i over TCP and WebSocket', (protocolVersion) => {
  // [MQTT-4.2.0-1]
  it('carries every byte of every message, in order, from a TCP client to a WebSocket client and back', async () => {
    started = await startBroker();
    const tcp = await openClient(started.url, { protocolVersion, clientId: 'tcp' });
    const ws = await openClient(started.wsUrl, { protocolVersion, clientId: 'ws' });
    await tcp.client.subscribeAsync('to-tcp', { qos: 1 });
    await ws.client.subscribeAsync('to-ws', { qos: 1 });
    const N = 50;
    await Promise.all(Array.from({ length: N }, (_, i) => tcp.client.publishAsync('to-ws', payload(i), { qos: (i % 3) as 0 | 1 | 2 })));
    await Promise.all(Array.from({ length: N }, (_, i) => ws.client.publishAsync('to-tcp', payload(i), { qos: (i % 3) as 0 | 1 | 2 })));
    for (const receiver of [ws, tcp]) {
      const got = await receiver.take(N);
      expect(got.map((m) => m.packet.payload as Buffer)).toEqual(Array.from({ length: N }, (_, i) => payload(i)));
    }
  });
});
