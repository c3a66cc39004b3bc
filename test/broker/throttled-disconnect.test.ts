/**
 * A publisher the broker holds back (an online subscriber's queue is long, so its input waits
 * unread) that then leaves politely: DISCONNECT, then the end of its stream. The DISCONNECT was
 * sent before the stream ended, so the connection ended normally and the will is discarded,
 * however long the broker kept the packet waiting.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import type { ProtocolVersion, Will } from '../../src/core/codec/types.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const will: Will = { topic: 'will/pub', payload: Buffer.from('gone'), qos: 0, retain: false };

/**
 * A broker whose queues throttle publishers early (maxQueued 10: held back from 5 queued), each
 * client with one message in flight at most; a subscriber to `t` that never acknowledges, so its
 * queue only grows; a watcher of the will topic. Stalls are not given up on within the test.
 */
async function setup(ctx: TestContext): Promise<{ broker: Broker; watcher: TestClient }> {
  const broker = brokerFor(ctx, { maxQueued: 10, maxInflight: 1, stallTimeoutMs: 60_000 });
  const { client: slow } = await connect(broker, { clientId: 'slow' });
  await slow.subscribe('t', 1);
  const { client: watcher } = await connect(broker, { clientId: 'watcher' });
  await watcher.subscribe('will/#', 0);
  return { broker, watcher };
}

/** A publisher with a will that sends 20 QoS 1 messages to `t`; returns once its PUBACKs stop coming. */
async function throttledPublisher(broker: Broker, protocolVersion: ProtocolVersion): Promise<TestClient> {
  const { client: pub, connack } = await connect(broker, { clientId: 'pub', protocolVersion, will });
  expect(connack.reasonCode).toBe(0);
  for (let i = 0; i < 20; i++) pub.publish('t', `m${i}`, { qos: 1 });
  let acks = 0;
  for (;;) {
    try {
      await pub.expect('puback', 200);
      acks++;
    } catch {
      break;
    }
  }
  // Held back: the broker stopped taking its messages long before the twentieth.
  expect(acks).toBeGreaterThan(0);
  expect(acks).toBeLessThan(20);
  return pub;
}

/** The watcher is still there and answering, so its silence means no will was sent. */
async function expectWatcherAlive(watcher: TestClient): Promise<void> {
  expect(watcher.closed).toBe(false);
  watcher.send({ type: 'pingreq' });
  await watcher.expect('pingresp');
}

describe.concurrent.each([
  ['3.1.1', 4 as const],
  ['5.0', 5 as const],
])('%s: a held-back publisher', (_name, version) => {
  // 3.1.1 [MQTT-3.14.4-3] / 5.0 [MQTT-3.1.2-10]: on a normal DISCONNECT the will is discarded, not published.
  it('that sends DISCONNECT and then ends its stream does not get its will published', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const pub = await throttledPublisher(broker, version);
    pub.send({ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) });
    pub.stream.end();
    await pub.expectClosed();
    await watcher.expectNothing(1000);
    await expectWatcherAlive(watcher);
  });

  // The same set-up, to show the watcher does see a will: a publisher that just vanishes
  // [MQTT-3.1.2-8] (an unclean end) gets its will published.
  it('whose connection drops without DISCONNECT gets its will published', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const pub = await throttledPublisher(broker, version);
    pub.kill();
    const m = await watcher.expect('publish', 2000);
    expect([m.topic, m.payload.toString()]).toEqual(['will/pub', 'gone']);
    await expectWatcherAlive(watcher);
  });
});
