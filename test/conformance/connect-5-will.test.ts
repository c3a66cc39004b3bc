/**
 * MQTT 5.0 Will Message rules of CONNECT (sections 3.1.2.5-3.1.2.7, 3.1.3.2-3.1.3.4): stored
 * with the session, published on an unclean end once the Will Delay Interval passes or the
 * session ends, removed once published or after DISCONNECT 0x00, at the will's QoS and retain,
 * its user properties in order. The tests that wait on a timer run concurrently.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import type { ConnectPacket, QoS, Will } from '../../src/core/codec/types.js';
import { brokerFor, connect, until, type TestClient } from '../helpers/broker-client.js';

function will(extra: Partial<Will> = {}): Will {
  return { topic: 'will/x', payload: Buffer.from('gone'), qos: 0, retain: false, ...extra };
}

/** A 5.0 client with a will, whose session outlives it by `expiry` seconds. */
function withWill(clientId: string, w: Will, expiry = 60, clean = true): Partial<ConnectPacket> {
  return { protocolVersion: 5, clientId, clean, will: w, properties: { sessionExpiryInterval: expiry } };
}

/** A broker and a 5.0 subscriber to will/# at QoS 2 that keeps the retain flag as published. */
async function setup(ctx: TestContext): Promise<{ broker: Broker; watcher: TestClient }> {
  const broker = brokerFor(ctx);
  const { client: watcher } = await connect(broker, { protocolVersion: 5, clientId: 'watcher' });
  await watcher.subscribe({ topicFilter: 'will/#', qos: 2, retainAsPublished: true });
  return { broker, watcher };
}

describe('MQTT 5.0 will: stored, published, removed', () => {
  // [MQTT-3.1.2-7] will flag 1: the will is stored on the server with the session.
  it('stores the will with the session: it waits with the session while its delay runs, and goes when the session ends [MQTT-3.1.2-7]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const { client } = await connect(broker, withWill('v', will({ properties: { willDelayInterval: 30 } })));
    expect(broker.inspect.session('v')?.willPending).toBe(false);
    client.kill();
    await until(() => broker.inspect.session('v')?.willPending === true, 2000, 'a pending will on the session');
    await watcher.expectNothing();
    // Ending the session (a Clean Start 1 reconnect) publishes the will that belongs to it.
    await connect(broker, { protocolVersion: 5, clientId: 'v', clean: true });
    expect((await watcher.receive()).payload.toString()).toBe('gone');
    expect(broker.inspect.session('v')?.willPending).toBe(false);
  });

  // [MQTT-3.1.2-8] a connection closed without DISCONNECT, Will Delay Interval 0: the will goes at once.
  it('publishes the will when the connection closes without DISCONNECT [MQTT-3.1.2-8]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will()))).client.kill();
    const m = await watcher.expect('publish');
    expect([m.topic, m.payload.toString()]).toEqual(['will/x', 'gone']);
  });

  // [MQTT-3.1.2-8] [MQTT-3.1.2-10] DISCONNECT 0x00 deletes the will: not published then, nor when the session ends.
  it('never publishes a will deleted by DISCONNECT 0x00, not even when its session ends [MQTT-3.1.2-8] [MQTT-3.1.2-10]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const { client } = await connect(broker, withWill('v', will({ properties: { willDelayInterval: 30 } })));
    await client.disconnect({ reasonCode: 0x00 });
    expect(broker.inspect.session('v')?.willPending).toBe(false);
    // Back without a will, then a crash: the deleted will must not come back.
    const { client: back } = await connect(broker, { protocolVersion: 5, clientId: 'v', clean: false, properties: { sessionExpiryInterval: 60 } });
    back.kill();
    await until(() => broker.inspect.session('v')?.connected === false);
    // The session ends (Clean Start 1): still nothing.
    await connect(broker, { protocolVersion: 5, clientId: 'v', clean: true });
    await watcher.expectNothing();
  });

  // [MQTT-3.1.2-10] once published the will is removed from the session state: a later unclean end does not repeat it.
  it('removes the will once published: the session ends again without it [MQTT-3.1.2-10]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will()))).client.kill();
    expect((await watcher.receive()).payload.toString()).toBe('gone');
    const { client: back, connack } = await connect(broker, { protocolVersion: 5, clientId: 'v', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    back.kill();
    await until(() => broker.inspect.session('v')?.connected === false);
    await connect(broker, { protocolVersion: 5, clientId: 'v', clean: true });
    await watcher.expectNothing();
  });

  // [MQTT-3.1.3-9] a new connection to the session before the Will Delay Interval has passed,
  // here one that takes the session over while the old connection is still open: no will.
  it('does not publish a delayed will when a new connection takes the session over [MQTT-3.1.3-9]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const { client: old } = await connect(broker, withWill('v', will({ properties: { willDelayInterval: 30 } }), 60, false));
    const { client: second, connack } = await connect(broker, { protocolVersion: 5, clientId: 'v', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    expect((await old.expect('disconnect')).reasonCode).toBe(0x8e);
    expect(broker.inspect.session('v')?.willPending).toBe(false);
    // The new connection set no will: its own unclean end publishes nothing either, nor does the session's end.
    second.kill();
    await until(() => broker.inspect.session('v')?.connected === false);
    await connect(broker, { protocolVersion: 5, clientId: 'v', clean: true });
    await watcher.expectNothing();
  });

  // [MQTT-3.1.2-12] will QoS 0, 1 and 2: the will is published at that QoS.
  it('publishes the will at the will QoS 0, 1 or 2 [MQTT-3.1.2-12]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    for (const qos of [0, 1, 2] as QoS[]) {
      (await connect(broker, withWill(`q${qos}`, will({ topic: `will/q${qos}`, qos })))).client.kill();
      const m = await watcher.receive();
      expect([m.topic, m.qos]).toEqual([`will/q${qos}`, qos]);
    }
  });

  // [MQTT-3.1.2-14] will retain 0: published as a non-retained message.
  it('publishes a will with Will Retain 0 as a non-retained message [MQTT-3.1.2-14]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will({ retain: false })))).client.kill();
    expect((await watcher.expect('publish')).retain).toBe(false);
    expect(broker.inspect.retained('will/x')).toBeUndefined();
    const { client: late } = await connect(broker, { protocolVersion: 5, clientId: 'late' });
    await late.subscribe('will/#');
    await late.expectNothing();
  });

  // [MQTT-3.1.2-15] will retain 1: published as a retained message.
  it('publishes a will with Will Retain 1 as a retained message [MQTT-3.1.2-15]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will({ retain: true, qos: 1 })))).client.kill();
    expect(await watcher.receive()).toMatchObject({ topic: 'will/x', retain: true, qos: 1 });
    expect(broker.inspect.retained('will/x')?.payload.toString()).toBe('gone');
    const { client: late } = await connect(broker, { protocolVersion: 5, clientId: 'late' });
    await late.subscribe('will/#', 1);
    expect(await late.receive()).toMatchObject({ topic: 'will/x', retain: true });
  });

  // [MQTT-3.1.3-10] the will's user properties are forwarded in their order, repeats included.
  it('forwards the will user properties in their order [MQTT-3.1.3-10]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const userProperties: [string, string][] = [['z', '1'], ['a', '2'], ['z', '3'], ['m', ''], ['a', '1']];
    (await connect(broker, withWill('v', will({ properties: { userProperties } })))).client.kill();
    expect((await watcher.expect('publish')).properties?.userProperties).toEqual(userProperties);
  });
});

describe.concurrent('MQTT 5.0 will delay', () => {
  // [MQTT-3.1.2-8] a Will Delay Interval: not before it has passed, then published.
  it('publishes a delayed will once its Will Delay Interval has passed, not before [MQTT-3.1.2-8]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will({ properties: { willDelayInterval: 1 } })))).client.kill();
    await watcher.expectNothing(600);
    expect((await watcher.expect('publish', 3000)).topic).toBe('will/x');
  });

  // [MQTT-3.1.2-8] [MQTT-3.1.3-9] a new connection for the client id before the delay has passed: no will.
  it('does not publish the will when the client reconnects before the Will Delay Interval has passed [MQTT-3.1.2-8] [MQTT-3.1.3-9]', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await connect(broker, withWill('v', will({ properties: { willDelayInterval: 1 } }), 60, false))).client.kill();
    await until(() => broker.inspect.session('v')?.willPending === true);
    const { connack } = await connect(broker, { protocolVersion: 5, clientId: 'v', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    expect(broker.inspect.session('v')?.willPending).toBe(false);
    // Past the delay: still nothing.
    await watcher.expectNothing(1300);
  });
});
