/**
 * A cluster when something fails: a node killed with SIGKILL while it holds clients with wills
 * and persistent sessions (another node publishes the wills and takes the sessions over, with
 * what was sent to the dead node meanwhile), and Redis stopped and started again under a QoS 1
 * stream between two nodes (local traffic goes on, nothing acknowledged is lost).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/broker-client.js';
import { interestSeen, startNodes, type TestNode } from '../helpers/cluster.js';
import { cleanUpMqt, startMqt } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis-server.js';
import { assertFreshBuild } from '../helpers/spawn-mqt.js';
import { killAllClients, tcpConnect } from '../faults/tcp-client.js';

const gate = needPeers('redis');

describe.skipIf(gate.skip)('a cluster when a node or Redis fails', () => {
  let redis: RedisServer;
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];

  const open = async (port: number, options: mqtt.IClientOptions): Promise<MqttClient> => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gate.check();
    assertFreshBuild();
    redis = await startRedis();
  });
  beforeEach(gate.check);
  afterEach(async () => {
    killAllClients();
    cleanUpMqt();
    await Promise.all(clients.splice(0).map((cl) => cl.endAsync(true).catch(() => undefined)));
    for (const n of nodes.splice(0)) await n.stop();
  });
  afterAll(async () => {
    await stopAllRedis();
  });

  it('kill -9 of a node: another node publishes its clients\' wills and takes its persistent sessions over, with everything they were owed', async () => {
    const victim = startMqt(['broker', '--cluster', redis.url, '--node-id', 'victim', '-p', '0', '--json']);
    const port = Number((await victim.waitForStdout(/"event":"listening"[^\n]*"port":(\d+)/, 10_000))[1]);
    const [survivor] = await startNodes(redis.url, ['survivor']);
    nodes.push(survivor!);
    const s = survivor!;
    // On the victim: a client with a will, and a persistent session that went offline with a subscription.
    await open(port, { clientId: 'with-will', will: { topic: 'wills/with-will', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const held = await open(port, { clientId: 'kept', clean: false });
    await held.subscribeAsync('kept/#', { qos: 1 });
    await held.endAsync();
    const watcher = await open(s.port, { clientId: 'watcher' });
    const wills: string[] = [];
    watcher.on('message', (topic, payload) => wills.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync('wills/#', { qos: 1 });
    await interestSeen([s], 'victim', 'kept/#', 5000);
    const pub = await open(s.port, { clientId: 'kept-pub' });
    for (let i = 0; i < 20; i++) await pub.publishAsync('kept/x', `m${i}`, { qos: 1 });
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Published after the victim died, before anyone noticed: they wait in its stream.
    for (let i = 20; i < 30; i++) await pub.publishAsync('kept/x', `m${i}`, { qos: 1 });
    await until(() => wills.length > 0, 10_000, 'the will of the dead node\'s client');
    expect(wills).toEqual(['wills/with-will gone']);
    await until(() => s.broker.inspect.session('kept') !== undefined, 5000, 'the survivor adopted the persistent session');
    const back = await tcpConnect(s.port, { protocolVersion: 4, clientId: 'kept', clean: false });
    expect(back.connack.sessionPresent).toBe(true);
    const got: string[] = [];
    for (let i = 0; i < 30; i++) got.push((await back.client.receive(3000)).payload.toString());
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    await back.client.expectNothing(200);
    await until(() => s.logs.some((l) => l.includes('node victim is gone')), 5000, 'the reap logged');
    expect(s.logs.filter((l) => l.includes('node victim is gone'))).toEqual(['info cluster: node victim is gone; took over 1 session and 1 will of its clients']);
  }, 30_000);

  it('Redis stopped and started during a QoS 1 stream between two nodes: local traffic goes on, every message arrives once, in order', async () => {
    const [a, b] = await startNodes(redis.url, ['out-a', 'out-b']);
    nodes.push(a!, b!);
    const sub = await open(b!.port, { clientId: 'out-sub' });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('out/#', { qos: 1 });
    await interestSeen([a!], b!, 'out/#');
    const localSub = await open(a!.port, { clientId: 'out-local' });
    const local: string[] = [];
    localSub.on('message', (_t, p) => local.push(p.toString()));
    await localSub.subscribeAsync('out/#', { qos: 1 });
    const pub = await open(a!.port, { clientId: 'out-pub' });
    const N = 300;
    for (let i = 0; i < N; i++) {
      if (i === 100) await redis.stop();
      if (i === 200) await redis.start();
      await pub.publishAsync('out/x', `${i}`, { qos: 1 });
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const all = Array.from({ length: N }, (_, i) => `${i}`);
    await until(() => local.length >= N, 5000, 'the local subscriber got everything');
    expect(local).toEqual(all);
    await until(() => got.length >= N, 15_000, 'the subscriber on the other node got everything').catch((err: Error) => {
      throw new Error(`${err.message}: got ${got.length} (${got.slice(95, 110).join(',')}…); a: ${a!.logs.join(' | ')}; b: ${b!.logs.join(' | ')}`);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(all);
    expect(a!.logs.some((l) => /lost Redis/.test(l))).toBe(true);
    expect(a!.logs.some((l) => /Redis is back/.test(l))).toBe(true);
  }, 30_000);
});
