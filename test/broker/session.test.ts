/**
 * Persistent sessions: subscriptions and QoS 1/2 messages kept while the client is away,
 * delivered on return with Session Present 1; the bounded queue; session expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { connect, until, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

async function publisher(options: CreateBrokerOptions = {}): Promise<TestClient> {
  broker = createBroker(options);
  return (await connect(broker, { clientId: 'pub' })).client;
}

/** Publishes and waits for the broker to have routed it (PUBACK / PUBCOMP, or a PINGRESP behind QoS 0). */
async function publishAll(pub: TestClient, items: [string, string, 0 | 1 | 2][]): Promise<void> {
  for (const [topic, payload, qos] of items) {
    const id = pub.publish(topic, payload, { qos });
    if (qos === 1) await pub.expect('puback');
    if (qos === 2) {
      await pub.expect('pubrec');
      pub.send({ type: 'pubrel', packetId: id });
      await pub.expect('pubcomp');
    }
  }
  pub.send({ type: 'pingreq' });
  await pub.expect('pingresp');
}

const persistent311: Partial<ConnectPacket> = { clientId: 'away', clean: false };
const persistent5: Partial<ConnectPacket> = { clientId: 'away', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } };

describe.each([
  ['3.1.1 clean session 0', persistent311],
  ['5.0 clean start 0 + session expiry', persistent5],
])('%s', (_name, options) => {
  // 3.1.1 [MQTT-3.1.2-4] [MQTT-3.2.2-2] / 5.0 [MQTT-3.1.2-23] [MQTT-3.2.2-3]: the session is kept and resumed.
  it('keeps subscriptions and queues QoS 1 and 2 (not QoS 0) while away; Session Present 1 on return', async () => {
    const pub = await publisher();
    const { client: sub, connack } = await connect(broker, options);
    expect(connack.sessionPresent).toBe(false);
    await sub.subscribe(['a/#', 'b'], 2);
    await sub.disconnect(options.protocolVersion === 5 ? { reasonCode: 0 } : {});
    await publishAll(pub, [
      ['a/1', 'q1', 1],
      ['a/2', 'q0', 0],
      ['b', 'q2', 2],
      ['c', 'unsubscribed', 1],
    ]);
    const { client: back, connack: again } = await connect(broker, options);
    expect(again.sessionPresent).toBe(true);
    const m1 = await back.receive();
    const m2 = await back.receive();
    expect([m1.payload.toString(), m1.qos, m2.payload.toString(), m2.qos]).toEqual(['q1', 1, 'q2', 2]);
    await back.expectNothing();
    // The subscriptions are live again.
    await publishAll(pub, [['a/x', 'live', 0]]);
    expect((await back.expect('publish')).payload.toString()).toBe('live');
  });

  // [MQTT-3.1.2-4] (5.0) / [MQTT-3.1.2-6] (3.1.1) clean start / clean session 1 discards the stored session.
  it('discards the session when the client returns with clean 1', async () => {
    const pub = await publisher();
    const { client: sub } = await connect(broker, options);
    await sub.subscribe('a', 1);
    sub.kill();
    await publishAll(pub, [['a', 'stored', 1]]);
    const { client: fresh, connack } = await connect(broker, { ...options, clean: true });
    // [MQTT-3.2.2-1] (3.1.1) / [MQTT-3.2.2-2] (5.0) Session Present 0 with clean 1.
    expect(connack.sessionPresent).toBe(false);
    await fresh.expectNothing();
    await publishAll(pub, [['a', 'after', 1]]);
    await fresh.expectNothing();
  });

  it('bounds the offline queue at maxQueued and counts what it drops', async () => {
    const pub = await publisher({ maxQueued: 3 });
    const { client: sub } = await connect(broker, options);
    await sub.subscribe('q', 1);
    sub.kill();
    await until(() => broker.inspect.session('away')?.connected === false);
    await publishAll(pub, [1, 2, 3, 4, 5].map((i): [string, string, 1] => ['q', String(i), 1]));
    expect(broker.inspect.droppedCount()).toBe(2);
    const { client: back } = await connect(broker, options);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await back.receive()).payload.toString());
    expect(got).toEqual(['1', '2', '3']);
    await back.expectNothing();
  });
});

describe('session expiry (5.0)', () => {
  // 5.0 section 3.1.2.11.2: the session is removed when its expiry interval passes.
  it('removes the session after its expiry interval', async () => {
    const pub = await publisher();
    const { client: sub } = await connect(broker, { ...persistent5, properties: { sessionExpiryInterval: 1 } });
    await sub.subscribe('t', 1);
    const left = Date.now();
    sub.kill();
    await until(() => broker.inspect.session('away')?.connected === false);
    await publishAll(pub, [['t', 'while away', 1]]);
    expect((broker.inspect.session('away') !== undefined)).toBe(true);
    await until(() => !(broker.inspect.session('away') !== undefined), 4000, 'session removed');
    expect(Date.now() - left).toBeGreaterThanOrEqual(900);
    expect(broker.inspect.subscriptionCount()).toBe(0);
    const { client: back, connack } = await connect(broker, persistent5);
    expect(connack.sessionPresent).toBe(false);
    await back.expectNothing();
  });

  // [MQTT-3.1.2-23] only an interval above 0 keeps the session: absent means 0.
  it('ends a session without a session expiry interval with its connection', async () => {
    await publisher();
    const { client: sub } = await connect(broker, { clientId: 'away', clean: false, protocolVersion: 5 });
    await sub.subscribe('t', 1);
    sub.kill();
    await until(() => !(broker.inspect.session('away') !== undefined));
    const { connack } = await connect(broker, { clientId: 'away', clean: false, protocolVersion: 5 });
    expect(connack.sessionPresent).toBe(false);
  });

  // 5.0 section 3.14.2.2.2: DISCONNECT may shorten the expiry, here to 0: the session ends now.
  it('ends the session at once when DISCONNECT sets the expiry to 0', async () => {
    await publisher();
    const { client: sub } = await connect(broker, persistent5);
    await sub.subscribe('t', 1);
    await sub.disconnect({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await until(() => !(broker.inspect.session('away') !== undefined));
  });

  it('3.1.1: a clean session ends with its connection', async () => {
    await publisher();
    const { client: sub } = await connect(broker, { clientId: 'gone', clean: true });
    await sub.subscribe('t', 1);
    sub.kill();
    await until(() => !(broker.inspect.session('gone') !== undefined));
    expect(broker.inspect.subscriptionCount()).toBe(0);
  });
});

describe('online queue', () => {
  // QoS 0 to an offline persistent session is not queued, not even counted as a drop.
  it('does not queue QoS 0 for an offline session', async () => {
    const pub = await publisher();
    const { client: sub } = await connect(broker, persistent311);
    await sub.subscribe('t', 2);
    sub.kill();
    await until(() => broker.inspect.session('away')?.connected === false);
    await publishAll(pub, [['t', 'qos0', 0]]);
    expect(broker.inspect.session('away')!.queued).toBe(0);
    const { client: back } = await connect(broker, persistent311);
    await back.expectNothing();
  });
});
