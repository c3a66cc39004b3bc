/**
 * Keep-alive for a client whose own output is congested: the broker answers nothing more for it
 * until that output is written (connection.ts), but still reads it, holding its packets, so its
 * keep-alive judges the client and not us [MQTT-3.1.2-24]: a slow reader that pings stays
 * connected however long its backlog takes, and one that goes silent (a partition, a dead
 * peer) is closed after 1.5 × Keep Alive even with a full output in front of it.
 *
 * Made with the fault proxy: broker → client trickles at 4 KiB/s (then stops), after a QoS 0
 * flood far larger than the kernel buffers between them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/core/codec/encode.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { FaultProxy } from './fault-proxy.js';
import { keepPinging, killAllClients, tcpConnect } from './tcp-client.js';

const KEEPALIVE_S = 1;
const PERIOD_MS = KEEPALIVE_S * 1500;

let started: StartedBroker;
let proxy: FaultProxy;
const stops: (() => void)[] = [];
beforeEach(async () => {
  started = await startBroker({ maxClientBuffer: 16 * 1024, maxQueued: 100, stallTimeoutMs: 200 });
  proxy = await FaultProxy.start(started.port);
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  killAllClients();
  await proxy.stop();
  await started.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('keep-alive while the broker does not read a client for its congested output', () => {
  it('a slow reader that pings stays connected behind its backlog; once it is silent and takes nothing, keep-alive ends it', { timeout: 60_000 }, async () => {
    const reasons: string[] = [];
    started.broker.on('disconnect', (c, reason) => reasons.push(`${c.clientId}: ${reason}`));
    const { client: slow } = await tcpConnect(proxy.port, { clientId: 'slow', keepalive: KEEPALIVE_S });
    await slow.subscribe('flood', 0);
    const stopPinging = keepPinging(slow, 300);
    stops.push(stopPinging);
    const link = proxy.last;
    link.down.set({ kind: 'throttled', bytesPerSecond: 4096 });

    // 16 MB of QoS 0 for it: far past what the kernel buffers between broker and proxy hold.
    const { client: pub, socket } = await tcpConnect(started.port, { clientId: 'pub' });
    const one = encode({ type: 'publish', topic: 'flood', payload: Buffer.alloc(32 * 1024, 0x61), qos: 0, retain: false, dup: false }, 4);
    for (let i = 0; i < 512; i++) if (!socket.write(one)) await new Promise((r) => socket.once('drain', r));
    void pub;
    const congested = Date.now() + 20_000;
    while ((started.broker.inspect.client('slow')?.buffered ?? 0) <= 16 * 1024) {
      if (Date.now() > congested) throw new Error('the slow reader\'s output never backed up past maxClientBuffer');
      await sleep(50);
    }

    // Three keep-alive periods behind its backlog, pinging all along: still there.
    await sleep(3 * PERIOD_MS);
    expect({ closed: slow.closed, reasons }).toEqual({ closed: false, reasons: [] });
    expect(started.broker.inspect.client('slow')).toBeDefined();

    // Now a partition: nothing either way. Closed 1.5 × Keep Alive after its last packet.
    link.down.set({ kind: 'paused' });
    link.up.set({ kind: 'paused' });
    stopPinging();
    const pausedAt = Date.now();
    while (started.broker.inspect.client('slow') !== undefined) {
      if (Date.now() - pausedAt > 4 * PERIOD_MS + 4000) throw new Error('a silent client behind a full output was never closed by keep-alive');
      await sleep(50);
    }
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(PERIOD_MS - 350);
    expect(reasons).toEqual(['slow: keep-alive timeout']);
  });
});
