/**
 * Last will: published on every unclean end of a connection, never after a normal
 * DISCONNECT; QoS and retain honoured; authorized like any publish; the 5.0 Will Delay
 * Interval and its interplay with reconnects and Session Expiry. The tests that wait on
 * timers run concurrently, each with its own broker.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker, CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, Will } from '../../src/core/codec/types.js';
import { brokerFor, connect, tryConnect, type TestClient } from '../helpers/broker-client.js';

function will(extra: Partial<Will> = {}): Will {
  return { topic: 'will/x', payload: Buffer.from('gone'), qos: 0, retain: false, ...extra };
}

/** A broker with a subscriber to will/# at QoS 2. */
async function setup(ctx: TestContext, options: CreateBrokerOptions = {}): Promise<{ broker: Broker; watcher: TestClient }> {
  const broker = brokerFor(ctx, options);
  const { client: watcher } = await connect(broker, { clientId: 'watcher' });
  await watcher.subscribe('will/#', 2);
  return { broker, watcher };
}

async function victim(broker: Broker, options: Partial<ConnectPacket> = {}): Promise<TestClient> {
  const { client, connack } = await connect(broker, { clientId: 'victim', will: will(), ...options });
  expect(connack.reasonCode).toBe(0);
  return client;
}

describe('will published', () => {
  // [MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT.
  it('when the socket is killed', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker)).kill();
    const m = await watcher.expect('publish');
    expect(m).toMatchObject({ topic: 'will/x', qos: 0, retain: false });
    expect(m.payload.toString()).toBe('gone');
  });

  // [MQTT-3.1.2-8] closing for a protocol violation publishes the will.
  it('when the broker closes the connection for a protocol violation', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const client = await victim(broker);
    client.send({ type: 'connack', sessionPresent: false, reasonCode: 0 }); // a server-to-client packet
    await client.expectClosed();
    expect((await watcher.expect('publish')).topic).toBe('will/x');
  });

  it('5.0: when a malformed packet ends the connection', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const client = await victim(broker, { protocolVersion: 5 });
    client.sendRaw([0x82, 0x00]); // SUBSCRIBE with no packet id
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    expect((await watcher.expect('publish')).topic).toBe('will/x');
  });

  // 5.0 section 3.1.4: a takeover is an unclean end for the old connection.
  it('5.0: when a new connection takes the session over', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    await victim(broker, { protocolVersion: 5 });
    await connect(broker, { clientId: 'victim', protocolVersion: 5 });
    expect((await watcher.expect('publish')).topic).toBe('will/x');
    await watcher.expectNothing();
  });

  // 3.1.1 leaves it open; like mosquitto, a takeover there does not publish the old will.
  it('3.1.1: not on takeover', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const old = await victim(broker);
    await connect(broker, { clientId: 'victim' });
    await old.expectClosed();
    await watcher.expectNothing(200);
  });

  // 5.0 section 3.14.2.1: DISCONNECT 0x04 "Disconnect with Will Message".
  it('5.0: after DISCONNECT with reason 0x04', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const client = await victim(broker, { protocolVersion: 5 });
    await client.disconnect({ reasonCode: ReasonCode.DisconnectWithWillMessage });
    expect((await watcher.expect('publish')).topic).toBe('will/x');
  });
});

describe('will not published', () => {
  // 3.1.1 [MQTT-3.14.4-3] / 5.0 [MQTT-3.1.2-10]: a normal DISCONNECT discards the will.
  it('3.1.1: after a normal DISCONNECT', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    await (await victim(broker)).disconnect();
    await watcher.expectNothing(200);
  });

  it('5.0: after DISCONNECT 0x00', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    await (await victim(broker, { protocolVersion: 5 })).disconnect({ reasonCode: 0 });
    await watcher.expectNothing(200);
  });
});

describe('will authorization', () => {
  // A will is a publish like any other: the authorizePublish hook decides, $SYS stays the broker's.
  it('refuses at CONNECT a will to $SYS: 3.1.1 CONNACK 5, 5.0 0x87', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: watcher } = await connect(broker, { clientId: 'watcher' });
    await watcher.subscribe('$SYS/#');
    const v3 = await tryConnect(broker, { clientId: 'v3', will: will({ topic: '$SYS/broker/fake', retain: true }) });
    expect(v3.connack.reasonCode).toBe(5);
    await v3.client.expectClosed();
    const v5 = await tryConnect(broker, { clientId: 'v5', protocolVersion: 5, will: will({ topic: '$SYS/broker/fake' }) });
    expect(v5.connack.reasonCode).toBe(ReasonCode.NotAuthorized);
    await v5.client.expectClosed();
    await watcher.expectNothing(200);
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  it('asks authorizePublish at CONNECT and again when publishing, with the client that set the will, also for a delayed will', async (ctx) => {
    const asked: [string, string | undefined, string][] = [];
    const seen = new Set<string>();
    const broker = brokerFor(ctx, {
      hooks: {
        // Allowed at CONNECT; will/denied is refused when the will is published (rights changed).
        authorizePublish: async (client, topic) => {
          asked.push([client.clientId, client.username, topic]);
          const first = !seen.has(client.clientId);
          seen.add(client.clientId);
          return first || topic !== 'will/denied';
        },
      },
    });
    const { client: watcher } = await connect(broker, { clientId: 'watcher' });
    await watcher.subscribe('will/#');
    asked.length = 0;
    (await victim(broker, { clientId: 'a', username: 'alice', will: will({ topic: 'will/denied' }) })).kill();
    (await victim(broker, { clientId: 'b', username: 'bob', will: will({ topic: 'will/allowed' }) })).kill();
    const opts = { clientId: 'c', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
    (await victim(broker, { ...opts, username: 'carol', will: will({ topic: 'will/late', properties: { willDelayInterval: 30 } }) })).kill();
    expect((await watcher.expect('publish')).topic).toBe('will/allowed');
    await watcher.expectNothing();
    // The delayed will goes when its session ends (here: replaced by a clean start), still as carol's.
    await connect(broker, { ...opts, clean: true, username: 'mallory' });
    expect((await watcher.expect('publish')).topic).toBe('will/late');
    expect(asked.sort()).toEqual([
      ['a', 'alice', 'will/denied'],
      ['a', 'alice', 'will/denied'],
      ['b', 'bob', 'will/allowed'],
      ['b', 'bob', 'will/allowed'],
      ['c', 'carol', 'will/late'],
      ['c', 'carol', 'will/late'],
    ]);
  });
});

describe('will QoS and retain', () => {
  // [MQTT-3.1.2-17] will retain 1: published as a retained message; the QoS is the will's.
  it('publishes at the will QoS and retains it when asked', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, { will: will({ qos: 1, retain: true }) })).kill();
    const m = await watcher.receive();
    expect(m.qos).toBe(1);
    expect(broker.inspect.retained('will/x')?.payload.toString()).toBe('gone');
    const { client: late } = await connect(broker, { clientId: 'late' });
    await late.subscribe('will/#', 2);
    expect(await late.receive()).toMatchObject({ topic: 'will/x', qos: 1, retain: true });
  });

  // [MQTT-3.1.2-16] will retain 0: not retained.
  it('does not retain a will without the retain flag', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, { will: will({ qos: 2 }) })).kill();
    expect((await watcher.receive()).qos).toBe(2);
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  it('5.0: forwards the will properties', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    const { client: w5 } = await connect(broker, { clientId: 'w5', protocolVersion: 5 });
    await w5.subscribe('will/#');
    const props = { contentType: 'text/plain', userProperties: [['a', '1']] as [string, string][], correlationData: Buffer.from([1, 2]) };
    (await victim(broker, { protocolVersion: 5, will: will({ properties: props }) })).kill();
    await watcher.expect('publish');
    expect((await w5.expect('publish')).properties).toEqual(props);
  });
});

// Timer-bound tests run concurrently, each on its own broker.
describe.concurrent('wills that wait on timers', () => {
  // [MQTT-3.1.2-8] a keep-alive expiry is an unclean end too.
  it('is published when the keep-alive expires', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    await victim(broker, { keepalive: 1 });
    const started = Date.now();
    await watcher.expect('publish', 4000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  // 5.0 Will Delay Interval
  const v5 = (delay: number, sessionExpiry?: number): Partial<ConnectPacket> => ({
    protocolVersion: 5,
    clean: false,
    will: will({ properties: { willDelayInterval: delay } }),
    ...(sessionExpiry !== undefined ? { properties: { sessionExpiryInterval: sessionExpiry } } : {}),
  });

  // [MQTT-3.1.3-9] the will waits for the delay.
  it('publishes the will after the delay', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, v5(1, 60))).kill();
    const started = Date.now();
    await watcher.expect('publish', 4000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3000);
  });

  // [MQTT-3.1.3-9] a new connection to the session before the delay ends cancels the will.
  it('cancels the will when the client reconnects in time', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, v5(1, 60))).kill();
    const { connack } = await connect(broker, { clientId: 'victim', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    await watcher.expectNothing(1300);
  });

  // A reconnect with Clean Start 1 ends the old session, and a session end publishes the will.
  it('publishes the will at once when the client comes back with clean start', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, v5(30, 60))).kill();
    await watcher.expectNothing(100);
    await connect(broker, { clientId: 'victim', protocolVersion: 5, clean: true });
    expect((await watcher.expect('publish', 500)).topic).toBe('will/x');
  });

  // 5.0 section 3.1.3.2.2: the will goes out when the delay passes or the session ends, whichever first.
  it('publishes when the session expires before the delay', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, v5(30, 1))).kill();
    const started = Date.now();
    await watcher.expect('publish', 4000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3000);
    expect((broker.inspect.session('victim') !== undefined)).toBe(false);
  });

  // Session Expiry 0: the session ends with the connection, so the will goes at once.
  it('publishes at once with a session expiry of 0', async (ctx) => {
    const { broker, watcher } = await setup(ctx);
    (await victim(broker, v5(30))).kill();
    await watcher.expect('publish', 500);
  });
});
