/**
 * Authorization: authorizeRead on every delivery (routed, retained on SUBSCRIBE, wills, queued
 * for an offline session), asynchronous answers in per-session order, hooks replaced at run
 * time by setHooks(), and what a refused PUBLISH or SUBSCRIBE gets per protocol version.
 */
import { describe, expect, it, onTestFinished, type TestContext } from 'vitest';
import type { ClientInfo } from '../../src/core/broker/types.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

/** brokerFor() takes a test context only to close the broker when the test ends; it.each has none. */
const ctxless = (): TestContext => ({ onTestFinished }) as unknown as TestContext;

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1.1', 4],
  ['5.0', 5],
];

/** bob may not read secret/#; everyone else reads everything. */
const bobNoSecrets = (client: ClientInfo, topic: string): boolean => !(client.username === 'bob' && topic.startsWith('secret/'));

describe('authorizeRead', () => {
  it.each(VERSIONS)('skips routed deliveries the subscriber may not read, and counts them (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { hooks: { authorizeRead: bobNoSecrets } });
    const { client: bob } = await connect(broker, { clientId: 'bob', username: 'bob', protocolVersion });
    const { client: carol } = await connect(broker, { clientId: 'carol', username: 'carol', protocolVersion });
    await bob.subscribe('#', 1);
    await carol.subscribe('#', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion });
    pub.publish('secret/a', 's', { qos: 1 });
    pub.publish('open/a', 'o', { qos: 1 });
    pub.publish('secret/b', 's', { qos: 0 });
    expect((await bob.receive()).topic).toBe('open/a');
    await bob.expectNothing();
    expect((await carol.receive()).topic).toBe('secret/a');
    expect((await carol.receive()).topic).toBe('open/a');
    expect((await carol.receive()).topic).toBe('secret/b');
    expect(broker.inspect.session('bob')!.readDenied).toBe(2);
    expect(broker.inspect.readDeniedCount()).toBe(2);
  });

  it.each(VERSIONS)('filters retained messages sent on SUBSCRIBE (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { hooks: { authorizeRead: bobNoSecrets } });
    broker.publishMessage('secret/r', 's', { retain: true });
    broker.publishMessage('open/r', 'o', { retain: true });
    const { client: bob } = await connect(broker, { clientId: 'bob', username: 'bob', protocolVersion });
    await bob.subscribe('#');
    const m = await bob.expect('publish');
    expect(m).toMatchObject({ topic: 'open/r', retain: true });
    await bob.expectNothing();
    expect(broker.inspect.session('bob')!.readDenied).toBe(1);
  });

  it.each(VERSIONS)('filters wills (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { hooks: { authorizeRead: bobNoSecrets } });
    const { client: bob } = await connect(broker, { clientId: 'bob', username: 'bob', protocolVersion });
    const { client: carol } = await connect(broker, { clientId: 'carol', username: 'carol', protocolVersion });
    await bob.subscribe('#');
    await carol.subscribe('#');
    const w = (topic: string) => ({ topic, payload: Buffer.from('gone'), qos: 0 as const, retain: false });
    (await connect(broker, { clientId: 'v1', protocolVersion, will: w('secret/will') })).client.kill();
    expect((await carol.expect('publish')).topic).toBe('secret/will');
    (await connect(broker, { clientId: 'v2', protocolVersion, will: w('open/will') })).client.kill();
    expect((await carol.expect('publish')).topic).toBe('open/will');
    expect((await bob.expect('publish')).topic).toBe('open/will');
    await bob.expectNothing();
  });

  // Asked when a queued message goes out, not when it was queued: a right lost meanwhile counts.
  it.each(VERSIONS)('checks messages queued for an offline session again when they go out (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { hooks: { authorizeRead: () => true } });
    const session = { clientId: 'bob', username: 'bob', protocolVersion, clean: false, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) };
    const { client: first } = await connect(broker, session);
    await first.subscribe('#', 1);
    await first.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion });
    for (const topic of ['open/1', 'secret/1', 'open/2']) {
      pub.publish(topic, 'x', { qos: 1 });
      await pub.expect('puback');
    }
    expect(broker.inspect.session('bob')!.queued).toBe(3);
    broker.setHooks({ authorizeRead: bobNoSecrets });
    const { client: bob } = await connect(broker, session);
    expect((await bob.receive()).topic).toBe('open/1');
    expect((await bob.receive()).topic).toBe('open/2');
    await bob.expectNothing();
    expect(broker.inspect.session('bob')).toMatchObject({ queued: 0, inflight: 0, readDenied: 1, queuedBytes: 0 });
    expect(broker.inspect.queueBytes()).toBe(0);
  });

  it('keeps per-session order at QoS 1 when answers come later, in any order, and loses nothing', async () => {
    let n = 0;
    const broker = brokerFor(ctxless(), {
      hooks: {
        // The first answer is the slowest; m/2 is refused.
        authorizeRead: (_client, topic) => new Promise((resolve) => setTimeout(() => resolve(topic !== 'm/2'), n++ === 0 ? 60 : 1)),
      },
    });
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { receiveMaximum: 2 } });
    await sub.subscribe('m/#', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 6; i++) pub.publish(`m/${i}`, String(i), { qos: 1 });
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await sub.receive()).topic);
    expect(got).toEqual(['m/0', 'm/1', 'm/3', 'm/4', 'm/5']);
    await sub.expectNothing();
    expect(broker.inspect.session('sub')).toMatchObject({ queued: 0, inflight: 0, readDenied: 1, dropped: 0 });
  });

  it('counts a failing hook as a refusal and says so in the log', async () => {
    const lines: string[] = [];
    const broker = brokerFor(ctxless(), {
      log: (_level, line) => lines.push(line),
      hooks: { authorizeRead: (_c, topic) => (topic === 'boom' ? Promise.reject(new Error('acl store down')) : true) },
    });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#', 1);
    broker.publishMessage('boom', 'x', { qos: 1 });
    broker.publishMessage('fine', 'x', { qos: 1 });
    expect((await sub.receive()).topic).toBe('fine');
    expect(lines.some((l) => l.includes('acl store down'))).toBe(true);
    expect(broker.inspect.readDeniedCount()).toBe(1);
  });
});

describe('setHooks', () => {
  it.each(VERSIONS)('withdraws a right from the next packet on, and grants one (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless());
    const { client: alice } = await connect(broker, { clientId: 'alice', username: 'alice', protocolVersion });
    const { client: bob } = await connect(broker, { clientId: 'bob', username: 'bob', protocolVersion });
    await bob.subscribe('x/#', 1);
    alice.publish('x/1', 'a', { qos: 1 });
    await alice.expect('puback');
    expect((await bob.receive()).topic).toBe('x/1');

    // A reload: alice may no longer write x/#, bob no longer read it.
    broker.setHooks({ authorizePublish: (c, t) => !(c.username === 'alice' && t.startsWith('x/')), authorizeRead: (c, t) => !(c.username === 'bob' && t.startsWith('x/')) });
    alice.publish('x/2', 'a', { qos: 1 });
    const ack = await alice.expect('puback');
    // 5.0: 0x87 Not authorized; 3.1.1 has no way to say no: acknowledged, dropped, connection kept.
    expect(ack.reasonCode ?? 0).toBe(protocolVersion === 5 ? ReasonCode.NotAuthorized : 0);
    broker.publishMessage('x/3', 'broker', { qos: 1 });
    await bob.expectNothing();
    // The subscription stays; its deliveries are filtered.
    expect(broker.inspect.session('bob')!.subscriptions.map((s) => s.topicFilter)).toEqual(['x/#']);

    // Back to the defaults: both rights again, for the same connections.
    broker.setHooks({ authorizePublish: undefined, authorizeRead: undefined });
    alice.publish('x/4', 'a', { qos: 1 });
    expect((await alice.expect('puback')).reasonCode ?? 0).toBe(0);
    expect((await bob.receive()).topic).toBe('x/4');
  });

  it('applies to new connections and to subscriptions', async () => {
    const broker = brokerFor(ctxless());
    broker.setHooks({ authenticate: (_c, user) => user === 'ok', authorizeSubscribe: (_c, f, qos) => (f === 'no' ? false : qos) });
    expect((await connect(broker, { clientId: 'a', username: 'ok' })).connack.reasonCode).toBe(0);
    const { client } = await connect(broker, { clientId: 'b', username: 'ok', protocolVersion: 5 });
    expect((await client.trySubscribe(['yes', 'no'])).reasonCodes).toEqual([0, ReasonCode.NotAuthorized]);
    expect(() => broker.setHooks({ authorizeRead: 'x' as never })).toThrow(/authorizeRead must be a function/);
  });
});

describe('refused PUBLISH and SUBSCRIBE per version', () => {
  const denyX = { authorizePublish: (_c: ClientInfo, t: string) => t !== 'x', authorizeSubscribe: (_c: ClientInfo, f: string, qos: 0 | 1 | 2) => (f === 'x' ? (false as const) : qos) };

  it('5.0: PUBACK and PUBREC 0x87, SUBACK 0x87, connection stays', async () => {
    const broker = brokerFor(ctxless(), { hooks: denyX });
    const { client: watcher } = await connect(broker, { clientId: 'w' });
    await watcher.subscribe('#', 2);
    const { client } = await connect(broker, { clientId: 'c', protocolVersion: 5 });
    client.publish('x', 'p', { qos: 1 });
    expect((await client.expect('puback')).reasonCode).toBe(ReasonCode.NotAuthorized);
    client.publish('x', 'p', { qos: 2 });
    expect((await client.expect('pubrec')).reasonCode).toBe(ReasonCode.NotAuthorized);
    expect((await client.trySubscribe(['x', 'y'])).reasonCodes).toEqual([ReasonCode.NotAuthorized, 0]);
    await watcher.expectNothing();
    client.publish('z', 'p', { qos: 1 });
    expect((await client.expect('puback')).reasonCode).toBe(0);
    expect((await watcher.receive()).topic).toBe('z');
  });

  it('3.1.1: PUBACK and PUBREC as if accepted, nothing routed, SUBACK 0x80, connection stays', async () => {
    const broker = brokerFor(ctxless(), { hooks: denyX });
    const { client: watcher } = await connect(broker, { clientId: 'w' });
    await watcher.subscribe('#', 2);
    const { client } = await connect(broker, { clientId: 'c' });
    const id1 = client.publish('x', 'p', { qos: 1 });
    expect((await client.expect('puback')).packetId).toBe(id1);
    const id2 = client.publish('x', 'p', { qos: 2 });
    expect((await client.expect('pubrec')).packetId).toBe(id2);
    client.send({ type: 'pubrel', packetId: id2 });
    expect((await client.expect('pubcomp')).packetId).toBe(id2);
    expect((await client.trySubscribe(['x', 'y'])).reasonCodes).toEqual([0x80, 0]);
    await watcher.expectNothing();
  });
});

