/** 5.0 Message Expiry Interval: the remaining time is sent on, expired messages are dropped. */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, until } from '../helpers/broker-client.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const away: Partial<ConnectPacket> = { clientId: 'away', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } };

// Timer-bound: the tests run concurrently, each on its own broker.
describe.concurrent('message expiry', () => {
  // [MQTT-3.3.2-6] the interval sent on is the received one minus the time the message waited.
  it('forwards the expiry interval to an online subscriber', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { qos: 1, properties: { messageExpiryInterval: 30 } });
    const m = await sub.receive();
    expect(m.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(29);
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(30);
  });

  it('sends no expiry interval on a message published without one', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { qos: 1 });
    expect((await sub.receive()).properties?.messageExpiryInterval).toBeUndefined();
  });

  // [MQTT-3.3.2-5] a message whose interval passed while queued is not delivered;
  // [MQTT-3.3.2-6] one still alive carries what is left of its interval.
  // A 3.1.1 subscriber has no properties, but the message expires for it all the same.
  it('drops expired messages from the offline queue and counts down the others', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, away);
    await sub.subscribe('t', 1);
    sub.kill();
    const { client: old } = await connect(broker, { clientId: 'old', clean: false });
    await old.subscribe('t', 1);
    old.kill();
    await until(() => broker.inspect.session('away')?.connected === false && broker.inspect.session('old')?.connected === false);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    pub.publish('t', 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    pub.publish('t', 'forever', { qos: 1 });
    for (let i = 0; i < 3; i++) await pub.expect('puback');
    await sleep(1300);
    const { client: back, connack } = await connect(broker, away);
    expect(connack.sessionPresent).toBe(true);
    const long = await back.receive();
    expect(long.payload.toString()).toBe('long');
    expect(long.properties?.messageExpiryInterval).toBeLessThanOrEqual(59);
    expect(long.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(57);
    const forever = await back.receive();
    expect(forever.payload.toString()).toBe('forever');
    expect(forever.properties?.messageExpiryInterval).toBeUndefined();
    await back.expectNothing();
    const { client: oldBack } = await connect(broker, { clientId: 'old', clean: false });
    expect((await oldBack.receive()).payload.toString()).toBe('long');
    expect((await oldBack.receive()).payload.toString()).toBe('forever');
    await oldBack.expectNothing();
  });

  // [MQTT-3.3.2-5] retained messages expire too.
  it('does not send an expired retained message to a new subscriber', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('r/short', 'x', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    pub.publish('r/long', 'y', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    await pub.expect('puback');
    await pub.expect('puback');
    await sleep(1200);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('r/#', 1);
    const m = await sub.receive();
    expect(m).toMatchObject({ topic: 'r/long', retain: true });
    expect(m.properties?.messageExpiryInterval).toBeLessThan(60);
    await sub.expectNothing();
  });
});
