/**
 * Intervals longer than a timer can hold: Session Expiry, Will Delay and Message Expiry are
 * four-byte seconds (up to 0xFFFFFFFE, and 0xFFFFFFFF for a session that never expires), while
 * Node's setTimeout fires after 1 ms for anything above 2^31 - 1 ms (24.8 days). Every value
 * must keep its meaning; short ones must still run out. Timer-bound tests run concurrently,
 * each on its own broker.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import type { ConnectPacket, Will } from '../../src/core/codec/types.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const DAY = 24 * 60 * 60;
/** The longest Session Expiry that still expires, and the one that never does (5.0 section 3.1.2.11.2). */
const LONGEST = 0xfffffffe;
const NEVER = 0xffffffff;

function persistent(sessionExpiryInterval: number, extra: Partial<ConnectPacket> = {}): Partial<ConnectPacket> {
  return { clientId: 'away', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval }, ...extra };
}

/** A subscriber to `t` at QoS 1 with a persistent session, gone again (DISCONNECT 0x00 with `disconnectProps`). */
async function subscribeAndLeave(broker: Broker, sessionExpiry: number, disconnectProps?: { sessionExpiryInterval: number }): Promise<void> {
  const { client, connack } = await connect(broker, persistent(sessionExpiry));
  expect(connack.reasonCode).toBe(0);
  await client.subscribe('t', 1);
  await client.disconnect({ reasonCode: 0, ...(disconnectProps ? { properties: disconnectProps } : {}) });
}

/** Publishes one QoS 1 message to `t` from a 3.1.1 client and waits for its PUBACK. */
async function publishOne(broker: Broker, payload: string): Promise<void> {
  const { client: pub } = await connect(broker, { clientId: 'pub' });
  pub.publish('t', payload, { qos: 1 });
  await pub.expect('puback');
}

/** Comes back to the session and expects it, with the message queued while away. */
async function expectSessionWithMessage(broker: Broker, payload: string, sessionExpiry: number): Promise<TestClient> {
  const { client, connack } = await connect(broker, persistent(sessionExpiry));
  // [MQTT-3.1.2-23] the session outlives the connection for its Session Expiry Interval;
  // [MQTT-3.2.2-3] resuming it says Session Present 1.
  expect(connack.sessionPresent).toBe(true);
  // The QoS 1 message queued while away is delivered on return.
  const m = await client.receive();
  expect([m.topic, m.payload.toString(), m.qos]).toEqual(['t', payload, 1]);
  return client;
}

describe.concurrent('session expiry beyond what a timer holds', () => {
  it('keeps a 30-day session', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, 30 * DAY);
    await sleep(50);
    await publishOne(broker, 'queued');
    await sleep(50);
    await expectSessionWithMessage(broker, 'queued', 30 * DAY);
  });

  it('keeps a session with the longest expiry, 0xFFFFFFFE seconds', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, LONGEST);
    await sleep(50);
    await publishOne(broker, 'queued');
    await sleep(50);
    await expectSessionWithMessage(broker, 'queued', LONGEST);
  });

  // 0xFFFFFFFF: the session does not expire (5.0 section 3.1.2.11.2).
  it('keeps a session that never expires, 0xFFFFFFFF', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, NEVER);
    await sleep(50);
    await publishOne(broker, 'queued');
    await sleep(50);
    await expectSessionWithMessage(broker, 'queued', NEVER);
  });

  // 5.0 section 3.14.2.2.2: the client may set a new Session Expiry Interval on DISCONNECT.
  it('keeps the session when DISCONNECT sets its expiry to 999,999,999 seconds', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, 60, { sessionExpiryInterval: 999_999_999 });
    await sleep(50);
    await publishOne(broker, 'queued');
    await sleep(50);
    await expectSessionWithMessage(broker, 'queued', 60);
  });

  // The same without a DISCONNECT: an unclean end starts the same expiry.
  it('keeps a 30-day session after the connection drops', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, persistent(30 * DAY));
    await client.subscribe('t', 1);
    client.kill();
    await client.expectClosed();
    await sleep(50);
    await publishOne(broker, 'queued');
    await sleep(50);
    await expectSessionWithMessage(broker, 'queued', 30 * DAY);
  });

  // Short intervals still run out: a fix for long ones must not make sessions immortal.
  it('still ends a session with a 1 s expiry after about a second', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, 1);
    await sleep(300);
    // Not yet expired: still there, and the message is queued.
    await publishOne(broker, 'early');
    const back = await expectSessionWithMessage(broker, 'early', 1);
    await back.disconnect({ reasonCode: 0 });
    await sleep(1400);
    const { connack } = await connect(broker, persistent(1));
    // [MQTT-3.1.2-23] past its Session Expiry Interval the session is gone: Session Present 0.
    expect(connack.sessionPresent).toBe(false);
  });
});

describe.concurrent('will delay beyond what a timer holds', () => {
  function will(delay: number): Will {
    return { topic: 'will/x', payload: Buffer.from('gone'), qos: 0, retain: false, properties: { willDelayInterval: delay } };
  }

  async function watcher(broker: Broker): Promise<TestClient> {
    const { client } = await connect(broker, { clientId: 'watcher' });
    await client.subscribe('will/#', 1);
    return client;
  }

  it.for([
    ['a session expiry of 60 days', 60 * DAY],
    ['the longest session expiry', LONGEST],
    ['a session that never expires', NEVER],
  ] as const)('does not publish a will delayed 30 days at once, with %s', async ([, sessionExpiry], ctx) => {
    const broker = brokerFor(ctx);
    const w = await watcher(broker);
    const { client } = await connect(broker, persistent(sessionExpiry, { will: will(30 * DAY) }));
    client.kill();
    await client.expectClosed();
    // [MQTT-3.1.3-9] the will waits for its Will Delay Interval (or the end of the session).
    await w.expectNothing(200);
    expect(w.closed).toBe(false);
  });

  // Short delays still run out.
  it('still publishes a will delayed 1 s after about a second, with a long session', async (ctx) => {
    const broker = brokerFor(ctx);
    const w = await watcher(broker);
    const { client } = await connect(broker, persistent(LONGEST, { will: will(1) }));
    client.kill();
    const started = Date.now();
    const m = await w.expect('publish', 4000);
    expect(m.topic).toBe('will/x');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe.concurrent('message expiry at the top of its range', () => {
  // [MQTT-3.3.2-5] a message is dropped only once its interval has passed; [MQTT-3.3.2-6] what is
  // sent on is the interval minus the time it waited.
  it('delivers a queued message with expiry 0xFFFFFFFE on resume, with what is left of it', async (ctx) => {
    const broker = brokerFor(ctx);
    await subscribeAndLeave(broker, 60);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'long-lived', { qos: 1, properties: { messageExpiryInterval: LONGEST } });
    expect((await pub.expect('puback')).reasonCode ?? 0).toBe(0);
    await sleep(50);
    const { client, connack } = await connect(broker, persistent(60));
    expect(connack.sessionPresent).toBe(true);
    const m = await client.receive();
    expect(m.payload.toString()).toBe('long-lived');
    const left = m.properties?.messageExpiryInterval;
    expect(left).toBeLessThanOrEqual(LONGEST);
    expect(left).toBeGreaterThanOrEqual(LONGEST - 10);
  });

  it('delivers a message with expiry 0xFFFFFFFE to an online subscriber, with what is left of it', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'long-lived', { qos: 1, properties: { messageExpiryInterval: LONGEST } });
    const m = await sub.receive();
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(LONGEST);
    expect(m.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(LONGEST - 10);
  });
});
