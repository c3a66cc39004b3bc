/**
 * Three broker nodes on one real redis-server behave as one broker: messages cross nodes at
 * every QoS, exactly once and in order, and only to the nodes whose subscriptions match;
 * retained messages and shared subscriptions span the nodes; a client taken over on another
 * node is told so; a persistent session moves between nodes with everything it is owed.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until, type TestClient } from '../helpers/broker-client.js';
import { interestSeen, startNodes, type TestNode } from '../helpers/cluster.js';
import { needPeers } from '../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis-server.js';
import { killAllClients, tcpConnect } from '../faults/tcp-client.js';
import { runBench } from '../../src/core/bench/index.js';

const gate = needPeers('redis');

/** Which of "k:i" payloads came, as ranges per k, for a failure message. */
function summarize(got: string[]): string {
  const by = new Map<string, number[]>();
  for (const g of got) {
    const [k, i] = g.split(':');
    if (i === undefined) continue;
    (by.get(k!) ?? by.set(k!, []).get(k!)!).push(Number(i));
  }
  return [...by].map(([k, list]) => `${k}: ${list.length} (${list.slice(0, 3).join(',')}…${list.slice(-3).join(',')})${list.some((v, j) => j > 0 && v !== list[j - 1]! + 1) ? ' with gaps/dups at ' + list.filter((v, j) => j > 0 && v !== list[j - 1]! + 1).slice(0, 5).join(',') : ''}`).join('; ');
}

/** Answers PUBRELs until 200 ms pass quietly; returns the payloads of any PUBLISH that came meanwhile (a duplicate). */
export async function finishFlows(client: TestClient): Promise<string[]> {
  const extra: string[] = [];
  for (;;) {
    let p;
    try {
      p = await client.next(200);
    } catch {
      return extra;
    }
    if (p.type === 'pubrel') client.send({ type: 'pubcomp', packetId: p.packetId });
    else if (p.type === 'publish') extra.push(p.payload.toString());
  }
}

/** Reads `n` PUBLISH packets as a client does (acks interleaved: PUBACK, PUBREC → PUBREL → PUBCOMP); their payloads in order. */
export async function receiveAll(client: TestClient, n: number, timeoutMs = 3000): Promise<string[]> {
  const got: string[] = [];
  while (got.length < n) {
    let p;
    try {
      p = await client.next(timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message} after ${got.length} of ${n}: ${summarize(got)}`);
    }
    if (p.type === 'publish') {
      got.push(p.payload.toString());
      if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId! });
      if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId! });
    } else if (p.type === 'pubrel') {
      client.send({ type: 'pubcomp', packetId: p.packetId });
    } else {
      throw new Error(`expected PUBLISH or PUBREL, got ${p.type}`);
    }
  }
  return got;
}

describe.skipIf(gate.skip)('a cluster of three nodes on Redis', () => {
  let redis: RedisServer;
  let nodes: TestNode[];
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  const clients: MqttClient[] = [];

  const open = async (node: TestNode, options: mqtt.IClientOptions): Promise<MqttClient> => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.port}`, { reconnectPeriod: 0, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gate.check();
    redis = await startRedis();
    nodes = await startNodes(redis.url, ['node-a', 'node-b', 'node-c']);
    [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  });
  beforeEach(gate.check);
  afterEach(async () => {
    killAllClients();
    await Promise.all(clients.splice(0).map((cl) => cl.endAsync(true).catch(() => undefined)));
  });
  afterAll(async () => {
    for (const n of nodes ?? []) await n.stop();
    await stopAllRedis();
  });

  it('delivers a publish on one node to a subscriber on another at QoS 0, 1 and 2: every message once, in order, and only to that node', async () => {
    const sub = await open(b, { clientId: 'route-sub', protocolVersion: 5 });
    await sub.subscribeAsync('route/#', { qos: 2 });
    await interestSeen(nodes, b, 'route/#');
    const got: string[][] = [[], [], []];
    sub.on('message', (_topic, payload, packet) => got[packet.qos]!.push(payload.toString()));
    const pub = await open(a, { clientId: 'route-pub', protocolVersion: 5 });
    const cBefore = c.node.received;
    const aBefore = a.node.sent;
    const N = 300;
    for (const qos of [0, 1, 2] as const) {
      await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync(`route/${qos}`, `${qos}:${i}`, { qos })));
    }
    await until(() => got[0]!.length + got[1]!.length + got[2]!.length >= 3 * N, 10_000, 'every message at the subscriber');
    for (const qos of [0, 1, 2]) expect(got[qos], `QoS ${qos}`).toEqual(Array.from({ length: N }, (_, i) => `${qos}:${i}`));
    // Not broadcast: node c subscribes to nothing and got nothing; a sent each message once, to b.
    expect(c.node.received - cBefore).toBe(0);
    expect(a.node.sent - aBefore).toBe(3 * N);
  });

  it('keeps a message with only local subscribers on its node', async () => {
    const sub = await open(a, { clientId: 'local-sub' });
    await sub.subscribeAsync('local/only', { qos: 1 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    const pub = await open(a, { clientId: 'local-pub' });
    const before = nodes.map((n) => n.node.sent);
    await Promise.all(Array.from({ length: 50 }, (_, i) => pub.publishAsync('local/only', `${i}`, { qos: 1 })));
    await until(() => got.length === 50, 5000, 'the local subscriber got all 50');
    expect(nodes.map((n) => n.node.sent)).toEqual(before);
  });

  it('shares retained messages: a subscriber on any node gets the latest value', async () => {
    const pub = await open(a, { clientId: 'ret-pub' });
    await pub.publishAsync('ret/heating', '20.5', { qos: 1, retain: true });
    const other = await open(b, { clientId: 'ret-pub-2' });
    await other.publishAsync('ret/heating', '21.5', { qos: 1, retain: true });
    await until(() => c.broker.inspect.retained('ret/heating')?.payload.toString() === '21.5', 3000, 'node c has the latest retained value');
    const sub = await open(c, { clientId: 'ret-sub' });
    const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())));
    await sub.subscribeAsync('ret/#', { qos: 1 });
    expect(await got).toBe('21.5');
    // Cleared on one node: gone on all.
    await pub.publishAsync('ret/heating', '', { qos: 1, retain: true });
    await until(() => nodes.every((n) => n.broker.inspect.retained('ret/heating') === undefined), 3000, 'the retained value gone on every node');
  });

  it('takes a client over across nodes: the old connection gets DISCONNECT 0x8E, the new one the session [MQTT-3.1.4-3]', async () => {
    const first = await tcpConnect(a.port, { protocolVersion: 5, clientId: 'roamer', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribe('roam/x', 1);
    await interestSeen(nodes, a, 'roam/x');
    const second = await tcpConnect(b.port, { protocolVersion: 5, clientId: 'roamer', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(second.connack.sessionPresent).toBe(true);
    const d = await first.client.expect('disconnect', 3000);
    expect(d.reasonCode).toBe(0x8e);
    await first.client.expectClosed();
    expect(a.broker.inspect.session('roamer')).toBeUndefined();
    expect(b.broker.inspect.session('roamer')?.connected).toBe(true);
    await interestSeen(nodes, b, 'roam/x');
    const pub = await open(c, { clientId: 'roam-pub' });
    await pub.publishAsync('roam/x', 'after', { qos: 1 });
    const p = await second.client.receive(3000);
    expect(p.payload.toString()).toBe('after');
  });

  it('takes over a clean client across nodes too, without holding its CONNACK back: the old connection gets DISCONNECT 0x8E', async () => {
    const first = await tcpConnect(a.port, { protocolVersion: 5, clientId: 'clean-roamer' });
    await until(() => a.broker.inspect.client('clean-roamer')?.connected === true, 2000, 'connected on a');
    // The claim is recorded in Redis while the first connection is served.
    for (let i = 0; (await a.node.link.sendText(['GET', 'mqt:owner:clean-roamer'])) !== 'node-a'; i++) {
      if (i > 100) throw new Error('node a never recorded clean-roamer as its own');
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await tcpConnect(b.port, { protocolVersion: 5, clientId: 'clean-roamer' });
    expect(second.connack.sessionPresent).toBe(false);
    expect((await first.client.expect('disconnect', 3000)).reasonCode).toBe(0x8e);
    await first.client.expectClosed();
    expect(b.broker.inspect.client('clean-roamer')?.connected).toBe(true);
  });

  it('moves a persistent session between nodes with everything it is owed, in order (QoS 1 and 2)', async () => {
    const first = await tcpConnect(a.port, { protocolVersion: 4, clientId: 'mover', clean: false });
    await first.client.subscribe([{ topicFilter: 'move/1', qos: 1 }, { topicFilter: 'move/2', qos: 2 }]);
    await interestSeen(nodes, a, 'move/1');
    await first.client.disconnect();
    const pub = await open(c, { clientId: 'move-pub' });
    const N = 100;
    for (let i = 0; i < N; i++) await pub.publishAsync(`move/${1 + (i % 2)}`, `m${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
    await until(() => (a.broker.inspect.session('mover')?.queued ?? 0) === N, 5000, 'node a queued all for the offline session');
    const second = await tcpConnect(b.port, { protocolVersion: 4, clientId: 'mover', clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    const got = await receiveAll(second.client, N);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    // The QoS 2 flows end, and nothing is delivered twice.
    expect(await finishFlows(second.client)).toEqual([]);
    expect(a.broker.inspect.session('mover')).toBeUndefined();
    // And it keeps receiving on its new node.
    await pub.publishAsync('move/1', 'later', { qos: 1 });
    expect((await second.client.receive(3000)).payload.toString()).toBe('later');
  });

  it('moves a persistent session while messages for it keep coming: none lost, none twice, in order', async () => {
    const first = await tcpConnect(a.port, { protocolVersion: 5, clientId: 'busy-mover', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribe('busy/#', 2);
    await interestSeen(nodes, a, 'busy/#');
    await first.client.disconnect();
    const pubs = await Promise.all([c, a, b].map((n, i) => open(n, { clientId: `busy-pub-${i}` })));
    const N = 150;
    // Three publishers, one per node, each its own ordered stream, going on through the move.
    const publishing = Promise.all(
      pubs.map(async (pub, k) => {
        for (let i = 0; i < N; i++) {
          await pub.publishAsync(`busy/${k}`, `${k}:${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
          if (i % 25 === 0) await new Promise((r) => setTimeout(r, 2));
        }
      }),
    );
    await until(() => (a.broker.inspect.session('busy-mover')?.queued ?? 0) >= 30, 5000, 'some queued on node a');
    const second = await tcpConnect(b.port, { protocolVersion: 5, clientId: 'busy-mover', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(second.connack.sessionPresent).toBe(true);
    const got = await receiveAll(second.client, 3 * N, 5000);
    await publishing;
    got.push(...(await finishFlows(second.client)));
    expect(nodes.flatMap((n) => n.logs.filter((l) => !l.startsWith('info')))).toEqual([]);
    const twice = got.filter((g, i) => got.indexOf(g) !== i);
    expect(twice, `delivered twice, at ${twice.map((t) => got.indexOf(t)).join(',')} of ${got.length}`).toEqual([]);
    for (let k = 0; k < 3; k++) expect(summarize(got.filter((g) => g.startsWith(`${k}:`))), `publisher ${k}`).toBe(summarize(Array.from({ length: N }, (_, i) => `${k}:${i}`)));
    expect(got).toHaveLength(3 * N);
  });

  it('is measured across nodes by the bench engine: publishers on one node, subscribers on another, nothing lost', async () => {
    const conn = (port: number) => ({ transport: 'mqtt' as const, host: '127.0.0.1', port, wsPath: '/mqtt', clientId: 'xb', keepalive: 60, protocolVersion: 4 as const, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 5000 });
    const r = await runBench(
      { name: 'cross-node', connection: conn(a.port), subscriberConnection: conn(b.port) },
      { scenario: 'pub', pubs: 1, subs: 1, qos: 1, msgs: 500, topic: 'xbench/%i', topicMode: 'same', size: 32, retain: false, protocolVersion: 4, workers: 1, timeoutMs: 5000, qos0Window: 1000, inflight: 50, conns: 1, concurrency: 1 },
    );
    expect({ delivered: r.delivered, lost: r.lost, duplicated: r.duplicated }).toEqual({ delivered: 500, lost: 0, duplicated: 0 });
    expect(b.node.received).toBeGreaterThanOrEqual(500);
  });

  it('rotates a shared subscription over its members on every node', async () => {
    const members = await Promise.all([a, b].map((n, i) => open(n, { clientId: `share-${i}`, protocolVersion: 5 })));
    const counts = [0, 0];
    members.forEach((m, i) => m.on('message', () => counts[i]!++));
    for (const m of members) await m.subscribeAsync('$share/g/share/t', { qos: 1 });
    await interestSeen(nodes, a, '$share/g/share/t');
    await interestSeen(nodes, b, '$share/g/share/t');
    const pub = await open(c, { clientId: 'share-pub' });
    const N = 100;
    for (let i = 0; i < N; i++) await pub.publishAsync('share/t', `${i}`, { qos: 1 });
    await until(() => counts[0]! + counts[1]! >= N, 5000, 'every shared message delivered');
    await new Promise((r) => setTimeout(r, 100));
    expect(counts[0]! + counts[1]!).toBe(N);
    expect(counts[0]).toBeGreaterThan(N / 4);
    expect(counts[1]).toBeGreaterThan(N / 4);
  });
});
