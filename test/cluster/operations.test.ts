/**
 * Operating a cluster: `$SYS/cluster/…` totals next to each node's own `$SYS/broker/…`, the
 * admin API of any node listing every node's clients and kicking one on another node, and
 * /metrics with the cluster's lines.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminFor, json } from '../broker/admin-helpers.js';
import { until } from '../helpers/broker-client.js';
import { startNodes, type TestNode } from '../helpers/cluster.js';
import { needPeers } from '../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis-server.js';
import { tcpConnect } from '../faults/tcp-client.js';

const gate = needPeers('redis');

describe.skipIf(gate.skip)('operating a cluster', () => {
  let redis: RedisServer;
  let nodes: TestNode[];
  const clients: MqttClient[] = [];
  const open = async (node: TestNode, clientId: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.port}`, { clientId, reconnectPeriod: 0, protocolVersion: 5 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    gate.check();
    redis = await startRedis();
    nodes = await startNodes(redis.url, ['ops-a', 'ops-b', 'ops-c'], { sysInterval: 1 });
    // Every node sees the other two alive.
    await until(() => nodes.every((n) => n.node.aliveNodes().length === 3), 5000, 'three nodes alive everywhere');
  });
  beforeEach(gate.check);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  });
  afterAll(async () => {
    for (const n of nodes ?? []) await n.stop();
    await stopAllRedis();
  });

  it('publishes the cluster totals under $SYS/cluster, each node its own $SYS/broker', async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    await open(a, 'tot-1');
    await open(b, 'tot-2');
    const watcher = await open(b, 'tot-watch');
    const seen = new Map<string, string>();
    watcher.on('message', (topic, payload) => seen.set(topic, payload.toString()));
    await watcher.subscribeAsync(['$SYS/cluster/#', '$SYS/broker/clients/connected']);
    await until(() => seen.get('$SYS/cluster/clients/connected') === '3' && seen.get('$SYS/cluster/nodes') === '3', 5000, 'the cluster totals');
    expect(seen.get('$SYS/cluster/node/id')).toBe('ops-b');
    // Node b's own count is its own: tot-2 and the watcher.
    await until(() => seen.get('$SYS/broker/clients/connected') === '2', 5000, "node b's own count");
  });

  it("lists every node's clients through any node's admin API, and kicks a client of another node", async (ctx) => {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    await open(a, 'list-a');
    await open(c, 'list-c');
    const kicked = await tcpConnect(b.port, { protocolVersion: 5, clientId: 'kick-me' });
    const admin = await adminFor(ctx, a.broker);
    const list = await json<{ clientId: string; node: string }[]>(admin.get('/api/v1/clients'));
    const byId = Object.fromEntries(list.map((x) => [x.clientId, x.node]));
    expect(byId).toMatchObject({ 'list-a': 'ops-a', 'kick-me': 'ops-b', 'list-c': 'ops-c' });
    const broker = await json<{ cluster: { nodeId: string; nodes: string[] } }>(admin.get('/api/v1/broker'));
    expect(broker.cluster).toEqual({ nodeId: 'ops-a', nodes: ['ops-a', 'ops-b', 'ops-c'] });
    const one = await json<{ clientId: string; node: string }>(admin.get('/api/v1/clients/kick-me'));
    expect(one).toMatchObject({ clientId: 'kick-me', node: 'ops-b' });
    const res = await admin.get('/api/v1/clients/kick-me', { method: 'DELETE' });
    expect(res.status).toBe(204);
    const d = await kicked.client.expect('disconnect', 3000);
    expect(d.reasonCode).toBe(0x98);
    expect((await admin.get('/api/v1/clients/nobody', { method: 'DELETE' })).status).toBe(404);
    const metrics = await (await admin.get('/metrics')).text();
    expect(metrics).toMatch(/^mqt_cluster_nodes 3$/m);
    expect(metrics).toMatch(/^mqt_cluster_crossnode_messages_total\{direction="sent"\} \d+$/m);
  });
});
