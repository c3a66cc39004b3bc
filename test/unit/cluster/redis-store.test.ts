/**
 * The broker's store on a real Redis: what a broker stores comes back to the next broker with
 * the same node id (sessions, what they are owed, incoming QoS 2 ids, retained), any node can
 * read one client's session, commits go in order and fail plainly while Redis is away.
 */
import { createClient } from '@redis/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../../src/core/broker/broker.js';
import { RedisStore } from '../../../src/core/cluster/redis-store.js';
import { connect as connectClient } from '../../helpers/broker-client.js';
import { needPeers } from '../../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../../helpers/redis-server.js';

const gate = needPeers('redis');

describe.skipIf(gate.skip)('RedisStore', () => {
  let redis: RedisServer;
  const clients: ReturnType<typeof createClient>[] = [];
  const client = async (): Promise<ReturnType<typeof createClient>> => {
    const c = createClient({ url: redis.url, RESP: 2, disableOfflineQueue: true, socket: { reconnectStrategy: (n: number) => Math.min(50 * n, 300) } });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c as ReturnType<typeof createClient>);
    return c as ReturnType<typeof createClient>;
  };

  beforeAll(async () => {
    gate.check();
    redis = await startRedis();
  });
  beforeEach(gate.check);
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await stopAllRedis();
  });

  it('gives a restarted broker with the same node id its persistent sessions, what they are owed, and the retained messages', async () => {
    const store = new RedisStore({ client: await client(), nodeId: 'n1', keyPrefix: 't1:' });
    const broker = createBroker({ store });
    await broker.ready();
    const { client: sub } = await connectClient(broker, { protocolVersion: 5, clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 300 } });
    await sub.subscribe('k/#', 1);
    await sub.disconnect();
    const { client: pub } = await connectClient(broker, { clientId: 'pub' });
    for (let i = 0; i < 5; i++) {
      pub.publish('k/x', `m${i}`, { qos: 1 });
      await pub.expect('puback');
    }
    pub.publish('k/r', 'kept', { qos: 1, retain: true });
    await pub.expect('puback');
    await broker.close();

    const again = createBroker({ store: new RedisStore({ client: await client(), nodeId: 'n1', keyPrefix: 't1:' }) });
    const restored = await again.ready();
    // Five messages and the retained one, which k/# matches too.
    expect(restored).toMatchObject({ sessions: 1, deliveries: 6, retained: 1 });
    const { client: back, connack } = await connectClient(again, { protocolVersion: 5, clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(connack.sessionPresent).toBe(true);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push((await back.receive()).payload.toString());
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'kept']);
    await again.close();
    // Another node reads one client's session, every message inline.
    const other = new RedisStore({ client: await client(), nodeId: 'n2', keyPrefix: 't1:' });
    expect((await other.load()).sessions).toEqual([]);
    const one = await other.loadClient('keeper');
    expect(one?.sessions[0]?.subscriptions.map((s) => s.topicFilter)).toEqual(['k/#']);
    expect(await other.loadClient('nobody')).toBeUndefined();
  });

  it('commits in order, sends nothing for an empty commit, and puts staged commands in the same MULTI', async () => {
    const c = await client();
    const store = new RedisStore({ client: c, nodeId: 'n1', keyPrefix: 't2:' });
    store.putRetained({ id: 1, topic: 'a', payload: Buffer.from('1'), qos: 0, retain: true, properties: undefined, publisherId: '', expiresAt: 0 });
    store.stage(['SET', 't2:marker', 'x']);
    expect(store.pending).toBe(true);
    const order: number[] = [];
    const first = store.commit().then(() => order.push(1));
    const empty = store.commit().then(() => order.push(2));
    await Promise.all([first, empty]);
    expect(order).toEqual([1, 2]);
    expect(await c.sendCommand(['GET', 't2:marker'])).toBe('x');
    expect(await c.sendCommand(['HEXISTS', 't2:retained', 'a'])).toBe(1);
  });

  it('fails a commit while Redis is away, and its probe until Redis is back', async () => {
    const store = new RedisStore({ client: await client(), nodeId: 'n1', keyPrefix: 't3:' });
    await redis.stop();
    try {
      store.putIncoming('c', 7);
      await expect(store.commit()).rejects.toThrow(/^Redis could not commit/);
      await expect(store.probe()).rejects.toThrow();
    } finally {
      await redis.start();
    }
    for (let i = 0; ; i++) {
      try {
        await store.probe();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
});
