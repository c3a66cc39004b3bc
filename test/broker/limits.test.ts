/**
 * Broker limits: maxConnections, maxSubscriptions, maxTopicLevels, messageSizeLimit and
 * maxQueueMemory, each with what a 3.1.1 and a 5.0 client get past it.
 */
import { describe, expect, it, onTestFinished, type TestContext } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, openValveClient, tryConnect, until } from '../helpers/broker-client.js';

const ctxless = (): TestContext => ({ onTestFinished }) as unknown as TestContext;

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1.1', 4],
  ['5.0', 5],
];

describe('limit options', () => {
  it('are checked when the broker is made', () => {
    expect(() => createBroker({ maxConnections: -1 })).toThrow(/maxConnections must be an integer from 0 \(no limit\)/);
    expect(() => createBroker({ maxQueueMemory: 1.5 })).toThrow(/maxQueueMemory/);
    expect(() => createBroker({ messageSizeLimit: 268_435_456 })).toThrow(/messageSizeLimit/);
  });
});

describe('maxConnections', () => {
  it('closes a connection past the limit before its CONNECT, and logs once with a count', async () => {
    const lines: string[] = [];
    const broker = brokerFor(ctxless(), { maxConnections: 2, log: (_l, line) => lines.push(line) });
    const { client: a } = await connect(broker, { clientId: 'a' });
    const idle = openClient(broker); // counts before its CONNECT
    for (const id of ['x', 'y']) {
      const extra = openClient(broker);
      extra.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: id });
      await extra.expectClosed();
    }
    expect(broker.inspect.refusedConnectionCount()).toBe(2);
    expect(lines.filter((l) => l.includes('maxConnections 2'))).toHaveLength(1);
    expect(lines[0]).toMatch(/refused 1 connection .*\(1 refused so far\)/);
    idle.kill();
    await a.disconnect();
    await until(() => broker.inspect.connectionCount() === 0);
    expect((await connect(broker, { clientId: 'b' })).connack.reasonCode).toBe(0);
  });
});

describe('maxSubscriptions', () => {
  it.each(VERSIONS)('refuses the filters past it, not a replaced one (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { maxSubscriptions: 2 });
    const { client } = await connect(broker, { clientId: 'c', protocolVersion });
    const over = protocolVersion === 5 ? ReasonCode.QuotaExceeded : 0x80;
    expect((await client.trySubscribe(['a', 'b', 'c'])).reasonCodes).toEqual([0, 0, over]);
    expect((await client.trySubscribe(['a', 'd'], 1)).reasonCodes).toEqual([1, over]);
    expect(broker.inspect.session('c')!.subscriptions.map((s) => [s.topicFilter, s.qos])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
  });
});

describe('maxTopicLevels', () => {
  it.each(VERSIONS)('refuses a deeper PUBLISH without closing, and a deeper filter (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { maxTopicLevels: 3 });
    const { client: watcher } = await connect(broker, { clientId: 'w' });
    await watcher.subscribe('#', 1);
    const { client } = await connect(broker, { clientId: 'c', protocolVersion });
    const v5 = protocolVersion === 5;
    client.publish('a/b/c/d', 'deep', { qos: 1 });
    // 5.0: 0x90 Topic Name invalid, "not accepted by this Server"; 3.1.1: acknowledged, dropped.
    expect((await client.expect('puback')).reasonCode ?? 0).toBe(v5 ? ReasonCode.TopicNameInvalid : 0);
    client.publish('a/b/c/d', 'deep', { qos: 0 });
    client.publish('a/b/c', 'ok', { qos: 1 });
    expect((await client.expect('puback')).reasonCode ?? 0).toBe(0);
    expect((await watcher.receive()).topic).toBe('a/b/c');
    await watcher.expectNothing();
    const bad = v5 ? ReasonCode.TopicFilterInvalid : 0x80;
    expect((await client.trySubscribe(['a/b/c/d', 'a/+/#', '$share/g/a/b/c', '$share/g/a/b/c/d'])).reasonCodes).toEqual([bad, 0, 0, bad]);
  });

  it.each(VERSIONS)('refuses a deeper will topic at CONNECT (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { maxTopicLevels: 2 });
    const { client, connack } = await tryConnect(broker, { protocolVersion, will: { topic: 'a/b/c', payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(connack.reasonCode).toBe(protocolVersion === 5 ? ReasonCode.TopicNameInvalid : 3);
    await client.expectClosed();
  });
});

describe('messageSizeLimit', () => {
  // 0x83 as mosquitto.conf(5) says: 0x95 Packet too large is not a PUBACK/PUBREC reason code.
  it.each(VERSIONS)('does not route a larger payload: 5.0 0x83, 3.1.1 acknowledged (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { messageSizeLimit: 10 });
    const { client: watcher } = await connect(broker, { clientId: 'w' });
    await watcher.subscribe('#', 2);
    const { client } = await connect(broker, { clientId: 'c', protocolVersion });
    const v5 = protocolVersion === 5;
    client.publish('t', Buffer.alloc(11), { qos: 1 });
    expect((await client.expect('puback')).reasonCode ?? 0).toBe(v5 ? ReasonCode.ImplementationSpecificError : 0);
    const id = client.publish('t', Buffer.alloc(11), { qos: 2 });
    expect((await client.expect('pubrec')).reasonCode ?? 0).toBe(v5 ? ReasonCode.ImplementationSpecificError : 0);
    if (!v5) {
      client.send({ type: 'pubrel', packetId: id });
      await client.expect('pubcomp');
    }
    client.publish('t', Buffer.alloc(10), { qos: 1 });
    expect((await client.expect('puback')).reasonCode ?? 0).toBe(0);
    expect((await watcher.receive()).payload.length).toBe(10);
    await watcher.expectNothing();
  });

  it.each(VERSIONS)('refuses a larger will payload at CONNECT, as mosquitto (%s)', async (_name, protocolVersion) => {
    const broker = brokerFor(ctxless(), { messageSizeLimit: 4 });
    const { client, connack } = await tryConnect(broker, { protocolVersion, will: { topic: 'w', payload: Buffer.alloc(5), qos: 0, retain: false } });
    expect(connack.reasonCode).toBe(protocolVersion === 5 ? ReasonCode.PacketTooLarge : 5);
    await client.expectClosed();
  });
});

describe('maxQueueMemory', () => {
  /** An offline persistent session subscribed to `filter` at QoS 1. */
  async function offline(broker: ReturnType<typeof createBroker>, clientId: string, filter: string, protocolVersion: ProtocolVersion): Promise<void> {
    const props = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {};
    const { client } = await connect(broker, { clientId, clean: false, protocolVersion, ...props });
    await client.subscribe(filter, 1);
    await client.disconnect();
  }

  // Each delivery counts payload + topic: topic 'a' or 'b' and 9 payload bytes are 10.
  it.each(VERSIONS)('drops the oldest messages of the longest offline queue first, counted and logged (%s)', async (_name, protocolVersion) => {
    const lines: string[] = [];
    const broker = brokerFor(ctxless(), { maxQueueMemory: 50, log: (_l, line) => lines.push(line) });
    await offline(broker, 'long', '#', protocolVersion);
    await offline(broker, 'short', 'b', protocolVersion);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion });
    for (let i = 0; i < 5; i++) {
      pub.publish('a', `a${i}-------`, { qos: 1 });
      await pub.expect('puback');
    }
    expect(broker.inspect.queueBytes()).toBe(50);
    expect(broker.inspect.droppedCount()).toBe(0);
    // One more for both queues: 20 bytes past the limit, taken from the longest offline queue.
    pub.publish('b', 'b0-------', { qos: 1 });
    await pub.expect('puback');
    expect(broker.inspect.queueBytes()).toBe(50);
    expect(broker.inspect.session('long')).toMatchObject({ queued: 4, dropped: 2, queuedBytes: 40 });
    expect(broker.inspect.session('short')).toMatchObject({ queued: 1, dropped: 0, queuedBytes: 10 });
    expect(broker.inspect.droppedCount()).toBe(2);
    expect(lines.filter((l) => l.includes('queue memory full'))).toHaveLength(1); // one line a second at most
    expect(lines[0]).toMatch(/maxQueueMemory 50 bytes.*\(1 dropped so far\)/);
    // What is left is the newest, in order.
    const { client: back } = await connect(broker, { clientId: 'long', clean: false, protocolVersion, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await back.receive()).payload.toString().slice(0, 2));
    expect(got).toEqual(['a2', 'a3', 'a4', 'b0']);
    expect(broker.inspect.queueBytes()).toBe(10);
  });

  it('drops new QoS 0 for a queue before anything an offline queue holds', async () => {
    const lines: string[] = [];
    const broker = brokerFor(ctxless(), { maxQueueMemory: 50, maxClientBuffer: 1, log: (_l, line) => lines.push(line) });
    await offline(broker, 'away', 'a', 4);
    for (let i = 0; i < 5; i++) broker.publishMessage('a', `a${i}-------`, { qos: 1 });
    expect(broker.inspect.queueBytes()).toBe(50);
    // An online subscriber whose socket is backed up: its QoS 0 waits in its queue.
    const valve = openValveClient(broker, 4);
    valve.client.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'slow' });
    expect((await valve.client.expect('connack')).reasonCode).toBe(0);
    await valve.client.subscribe('z', 0);
    valve.server.stalled = true;
    broker.publishMessage('z', Buffer.alloc(100));
    await new Promise((resolve) => setImmediate(resolve));
    await until(() => broker.inspect.client('slow')!.congested, 2000, 'slow client congested');
    broker.publishMessage('z', 'z1-------');
    expect(broker.inspect.session('slow')).toMatchObject({ queued: 0, dropped: 1 });
    expect(broker.inspect.session('away')).toMatchObject({ queued: 5, dropped: 0 });
    expect(lines.some((l) => /queue memory full/.test(l))).toBe(true);
  });
});
