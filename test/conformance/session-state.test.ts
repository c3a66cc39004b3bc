/**
 * MQTT 3.1.1 and 5.0 section 4.1 (session state), the broker's side: a session is kept for as
 * long as it lasts (the whole connection, and after it while clean session 0 / the expiry
 * interval keeps it), and an expired 5.0 session is gone: nothing of it comes back.
 *
 * Each test proves a session's state through the protocol: a subscription that still routes,
 * an unacknowledged delivery re-sent with its id, an incoming QoS 2 id still held (a re-sent
 * PUBLISH acknowledged and not delivered again; in 5.0 a PUBREL completed with 0x00, not 0x92
 * Packet Identifier not found). The tests that wait for an expiry interval run concurrently.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, ProtocolVersion } from '../../src/core/codec/types.js';
import type { Broker } from '../../src/core/broker/broker.js';
import { brokerFor, connect, until, type TestClient } from '../helpers/broker-client.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The reason code field of an ack in `v` (absent in 3.1.1). */
const ok = (v: ProtocolVersion): { reasonCode?: number } => (v === 5 ? { reasonCode: 0 } : {});

/**
 * Puts three kinds of state into the session of `client`: a subscription to `t` (QoS 1), a
 * delivery of 'held' in flight and unacknowledged, and an incoming QoS 2 id (7) answered with
 * PUBREC and not released. Returns the packet id of the delivery in flight.
 */
async function fillSession(broker: Broker, client: TestClient, pub: TestClient): Promise<number> {
  await client.subscribe('t', 1);
  pub.publish('t', 'held', { qos: 1 });
  await pub.expect('puback');
  const held = await client.expect('publish');
  expect(held.payload.toString()).toBe('held');
  // `pub` watches what the owner publishes, so that a second delivery would show.
  await pub.subscribe('own', 0);
  client.publish('own', 'q2', { qos: 2, packetId: 7 });
  expect((await client.expect('pubrec')).packetId).toBe(7);
  expect((await pub.expect('publish')).payload.toString()).toBe('q2');
  expect(broker.inspect.session('owner')).toMatchObject({ inflight: 1, incomingQos2: 1 });
  expect(broker.inspect.session('owner')!.subscriptions).toHaveLength(1);
  return held.packetId!;
}

/** Proves every part of what fillSession() left is still there, on `client`'s connection. */
async function expectSessionKept(client: TestClient, pub: TestClient, heldId: number): Promise<void> {
  const v = client.version;
  // The incoming QoS 2 id is held: a re-sent PUBLISH is acknowledged, nothing new routed.
  client.publish('own', 'q2', { qos: 2, packetId: 7, dup: true });
  expect((await client.expect('pubrec')).packetId).toBe(7);
  await pub.expectNothing();
  client.send({ type: 'pubrel', packetId: 7, ...ok(v) });
  expect(await client.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 7, ...ok(v) });
  // The delivery in flight is still owed: acknowledging it is taken (nothing re-sent on a live connection).
  client.send({ type: 'puback', packetId: heldId, ...ok(v) });
  // The subscription still routes.
  pub.publish('t', 'later', { qos: 1 });
  await pub.expect('puback');
  expect((await client.receive()).payload.toString()).toBe('later');
  client.send({ type: 'pingreq' });
  await client.expect('pingresp');
}

describe.concurrent('4.1 session state', () => {
  // 3.1.1 [MQTT-4.1.0-2] a session lasts at least as long as its connection; 5.0 [MQTT-4.1.0-1] the
  // session state is not discarded while the connection is open. Clean session / clean start 1 and
  // (5.0) no expiry interval: a session that ends with its connection, so only the connection keeps it.
  it.for([4, 5] as const)('v%i: a session that ends with its connection keeps all its state while the connection is open', async (v, ctx) => {
    const broker = brokerFor(ctx);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    const { client } = await connect(broker, { clientId: 'owner', protocolVersion: v, clean: true });
    const heldId = await fillSession(broker, client, pub);
    await expectSessionKept(client, pub, heldId);
    expect(broker.inspect.session('owner')).toMatchObject({ connected: true, inflight: 0, incomingQos2: 0 });
    client.kill();
    // It ends with its connection (the rule's limit), which shows the state above was the connection's.
    await until(() => broker.inspect.session('owner') === undefined, 2000, 'session ended with its connection');
  });

  // 3.1.1 [MQTT-4.1.0-1] the server stores the session state for the whole session: with clean
  // session 0 that outlives the connection, until the client comes back.
  it('v4: a clean session 0 session keeps its subscription, its delivery in flight and its incoming QoS 2 id across a reconnect', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const persistent: Partial<ConnectPacket> = { clientId: 'owner', clean: false };
    const { client } = await connect(broker, persistent);
    const heldId = await fillSession(broker, client, pub);
    client.kill();
    await until(() => broker.inspect.session('owner')?.connected === false);
    const { client: back, connack } = await connect(broker, persistent);
    expect(connack.sessionPresent).toBe(true);
    const again = await back.expect('publish');
    expect(again).toMatchObject({ packetId: heldId, dup: true });
    await expectSessionKept(back, pub, heldId);
  });

  // 5.0 [MQTT-4.1.0-1] the state is not discarded while a connection is open, even once the
  // expiry interval has passed since the last disconnect: resuming cancels that deadline.
  it('v5: a resumed session outlives its old expiry deadline while connected', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    const persistent: Partial<ConnectPacket> = { clientId: 'owner', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } };
    const { client } = await connect(broker, persistent);
    const heldId = await fillSession(broker, client, pub);
    client.kill();
    await until(() => broker.inspect.session('owner')?.connected === false);
    const { client: back, connack } = await connect(broker, persistent);
    expect(connack.sessionPresent).toBe(true);
    expect((await back.expect('publish')).packetId).toBe(heldId);
    // The rule needs the 1 s interval to pass with the connection open.
    await sleep(1300);
    expect(broker.inspect.session('owner')?.connected).toBe(true);
    await expectSessionKept(back, pub, heldId);
  });

  // 5.0 [MQTT-4.1.0-2] once the connection is closed and the expiry interval has passed, the
  // session is discarded: Session Present 0, nothing it queued or held comes back, its
  // subscription routes nothing, its incoming QoS 2 id is unknown.
  it('v5: a session whose expiry interval passed is discarded: Session Present 0, nothing delivered', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    const persistent: Partial<ConnectPacket> = { clientId: 'owner', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } };
    const { client } = await connect(broker, persistent);
    await fillSession(broker, client, pub);
    client.kill();
    await until(() => broker.inspect.session('owner')?.connected === false);
    pub.publish('t', 'queued', { qos: 1 });
    await pub.expect('puback');
    expect(broker.inspect.session('owner')?.queued).toBe(1);
    await until(() => broker.inspect.session('owner') === undefined, 3000, 'session expired');
    const { client: back, connack } = await connect(broker, persistent);
    expect(connack.sessionPresent).toBe(false);
    await back.expectNothing();
    back.send({ type: 'pubrel', packetId: 7, reasonCode: 0 });
    expect(await back.expect('pubcomp')).toMatchObject({ packetId: 7, reasonCode: ReasonCode.PacketIdentifierNotFound });
    pub.publish('t', 'after', { qos: 1 });
    await pub.expect('puback');
    await back.expectNothing();
  });
});
