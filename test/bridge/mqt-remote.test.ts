/**
 * A bridge between two of our brokers: the remote takes mosquitto's bridge bit (3.1.1 0x84) as
 * mosquitto does, so `both` stays free of loops over 3.1.1 (No Local for a bridge) as over 5.0
 * (No Local asked for), and the bridge's notifications reach the remote's `$SYS`. And our
 * broker's store keeps what was queued for the bridge across its restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/index.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { startBridge } from '../../src/core/bridge/index.js';
import { closeAll, openClient } from '../interop/mqttjs-client.js';
import { bridgeOptions, localBroker, publishAll, until, type Local } from './setup.js';

describe('bridge to another mqt broker', () => {
  let local: Local | undefined;
  let remote: Broker | undefined;
  afterEach(async () => {
    await closeAll();
    await local?.stop();
    await remote?.close();
    local = undefined;
    remote = undefined;
  });

  /** Who connected to the remote, with the bridge bit or not. */
  const remoteConnects: string[] = [];
  async function remoteBroker(): Promise<{ port: number; url: string }> {
    remote = createBroker();
    remoteConnects.length = 0;
    remote.on('client', (c) => remoteConnects.push(`${c.clientId} v${c.protocolVersion}${c.bridge === true ? ' bridge' : ''}`));
    const [l] = await remote.listen({ port: 0, host: '127.0.0.1' });
    return { port: l!.port, url: `mqtt://127.0.0.1:${l!.port}` };
  }

  it('connects with the bridge bit (3.1.1, try_private), which the remote takes as mosquitto does, and forwards', async () => {
    const r = await remoteBroker();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(r.port, { protocolVersion: 4, tryPrivate: true, topics: [{ pattern: 'p/#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, () => `the bridge to connect:\n${local!.lines.join('\n')}`);
    expect(local.lines.some((l) => l.includes('refused the bridge protocol bit'))).toBe(false);
    expect(remoteConnects).toEqual(['mqt.b1 v4 bridge']);
    const sub = await openClient(r.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('p/#', { qos: 1 });
    const pub = await openClient(local.url, { protocolVersion: 5 });
    await pub.client.publishAsync('p/1', 'x', { qos: 1 });
    expect((await sub.next()).payload).toBe('x');
  });

  it('both ways over 5.0 without loops, at QoS 2', async () => {
    const r = await remoteBroker();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(r.port, { protocolVersion: 5, topics: [{ pattern: 'b/#', direction: 'both', qos: 2, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    await until(() => remote!.inspect.session('mqt.b1')?.subscriptions.length === 1, 'the remote subscription');
    const l = await openClient(local.url, { protocolVersion: 5 });
    const rc = await openClient(r.url, { protocolVersion: 5 });
    await l.client.subscribeAsync('b/#', { qos: 2 });
    await rc.client.subscribeAsync('b/#', { qos: 2 });
    await publishAll(l.client, 'b/from-local', 50, 2);
    await publishAll(rc.client, 'b/from-remote', 50, 2);
    const atRemote = await rc.take(100);
    const atLocal = await l.take(100);
    await l.expectNothing(300);
    await rc.expectNothing(0);
    expect(atRemote.filter((m) => m.topic === 'b/from-local')).toHaveLength(50);
    expect(atLocal.filter((m) => m.topic === 'b/from-remote')).toHaveLength(50);
    expect(bridge.status()).toMatchObject({ sent: 50, received: 50 });
  });

  it('both ways over 3.1.1 with the bridge bit, without loops: the remote sends the bridge nothing of its own', async () => {
    const r = await remoteBroker();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(r.port, { protocolVersion: 4, topics: [{ pattern: 'b/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    await until(() => remote!.inspect.session('mqt.b1')?.subscriptions.length === 1, 'the remote subscription');
    expect(remote!.inspect.session('mqt.b1')?.subscriptions[0]).toMatchObject({ noLocal: true, retainAsPublished: true });
    const l = await openClient(local.url, { protocolVersion: 5 });
    const rc = await openClient(r.url, { protocolVersion: 5 });
    await l.client.subscribeAsync('b/#', { qos: 1 });
    await rc.client.subscribeAsync('b/#', { qos: 1 });
    await publishAll(l.client, 'b/from-local', 20, 1);
    await publishAll(rc.client, 'b/from-remote', 20, 1);
    const atRemote = await rc.take(40);
    const atLocal = await l.take(40);
    await l.expectNothing(300);
    await rc.expectNothing(0);
    expect(atRemote.filter((m) => m.topic === 'b/from-local')).toHaveLength(20);
    expect(atLocal.filter((m) => m.topic === 'b/from-remote')).toHaveLength(20);
    expect(bridge.status()).toMatchObject({ sent: 20, received: 20 });
  });

  // 3.1.1, the bridge's default (as mosquitto's bridge_protocol_version): over 5.0 the engine sends
  // no bridge bit (nor does mosquitto 2.0.11), so an mqt remote refuses its will on $SYS.
  it.each([4, 5] as const)("default notifications (not local only, protocol %i): the remote keeps the bridge's state '1' under $SYS, and '0' once it stops", async (protocolVersion) => {
    const r = await remoteBroker();
    local = await localBroker();
    const state = '$SYS/broker/connection/mqt.b1/state';
    const bridge = local.bridge(bridgeOptions(r.port, { protocolVersion, notifications: true, notificationsLocalOnly: false, topics: [{ pattern: 'n/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, () => `the bridge to connect:\n${local!.lines.join('\n')}`);
    await until(() => remote!.inspect.retained(state)?.payload.toString() === '1', () => `the state '1' at the remote:\n${local!.lines.join('\n')}`);
    expect(local.broker.inspect.retained(state)?.payload.toString()).toBe('1');
    // Its will there is '0', and an ordinary client still may not write that topic.
    const evil = await openClient(r.url, { protocolVersion: 4, clientId: 'evil' });
    await evil.client.publishAsync(state, 'x', { qos: 1, retain: true });
    expect(remote!.inspect.retained(state)?.payload.toString()).toBe('1');
    await bridge.close();
    await until(() => remote!.inspect.retained(state)?.payload.toString() === '0', "the state '0' at the remote");
    expect(local.broker.inspect.retained(state)?.payload.toString()).toBe('0');
  });

  it("is trusted by our broker's hooks, as mosquitto's bridges pass its ACL: no login, any topic", async () => {
    const r = await remoteBroker();
    const deny = (): false => false;
    local = await localBroker({ hooks: { authenticate: deny, authorizePublish: deny, authorizeSubscribe: deny } });
    const bridge = local.bridge(bridgeOptions(r.port, { protocolVersion: 5, notifications: true, notificationsLocalOnly: true, topics: [{ pattern: 't/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, () => `the bridge to connect:\n${local!.lines.join('\n')}`);
    await expect(openClient(local.url, { protocolVersion: 5 })).rejects.toThrow();
    // (Local only here: this test is about our own broker's hooks; the test above has the remote's side.)
    // The bridge's own state went out under $SYS, which the default hooks keep from clients.
    expect(local.broker.inspect.retained('$SYS/broker/connection/mqt.b1/state')).toBeDefined();
    await until(() => local!.broker.inspect.session('local.mqt.b1')?.subscriptions.length === 1, 'the local subscription');
    // What comes in is published past authorizePublish too.
    await until(() => remote!.inspect.session('mqt.b1')?.subscriptions.length === 1, 'the remote subscription');
    const rc = await openClient(r.url, { protocolVersion: 5 });
    await rc.client.publishAsync('t/kept', 'in', { qos: 1, retain: true });
    await until(() => local!.broker.inspect.retained('t/kept') !== undefined, 'the message in our broker');
  });

  it('keeps what it queued for a bridge whose remote was down across a restart of our broker (its store)', async () => {
    const r = await remoteBroker();
    const store = new MemoryStore();
    // The remote is away at first: a port where nothing listens.
    await remote!.close();
    remote = undefined;
    const options = bridgeOptions(r.port, { restartTimeout: { base: 60 }, topics: [{ pattern: 's/#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '' }] });
    const first = createBroker({ store });
    await first.ready();
    const [fl] = await first.listen({ port: 0, host: '127.0.0.1' });
    const b1 = startBridge(first, options, () => undefined);
    await until(() => first.inspect.session('local.mqt.b1') !== undefined, 'the bridge session');
    const pub = await openClient(`mqtt://127.0.0.1:${fl!.port}`, { protocolVersion: 5 });
    await publishAll(pub.client, 's/1', 30, 1);
    expect(b1.status().queued).toBe(30);
    await pub.end();
    await b1.close();
    await first.close();
    // The remote comes back on its port; our broker starts again from the store.
    remote = createBroker();
    await remote.listen({ port: r.port, host: '127.0.0.1' });
    const sub = await openClient(r.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('s/#', { qos: 1 });
    const second = createBroker({ store });
    await second.ready();
    const lines: string[] = [];
    const b2 = startBridge(second, options, (_l, m) => lines.push(m));
    try {
      const got = await sub.take(30, 10_000);
      expect(new Set(got.map((m) => m.payload)).size).toBe(30);
      await until(() => b2.status().queued === 0, 'the queue to empty');
    } finally {
      await b2.close();
      await second.close();
    }
  });
});
