/**
 * `mqt broker --cluster` from the command line: a bad URL or node id is one line and exit 1
 * before anything starts, an unreachable Redis likewise, and a node that joins says so and
 * serves (its sessions in Redis), then leaves on SIGTERM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, mqttClient, startMqt, stop } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis-server.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

describe('mqt broker --cluster: bad input', () => {
  beforeAll(() => assertFreshBuild());

  it.each([
    [['--cluster', 'http://127.0.0.1:6379'], /^mqt broker: --cluster needs a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127.0.0.1:6379"$/m],
    [['--cluster', 'redis://127.0.0.1:6379', '--node-id', 'a b'], /^mqt broker: --node-id must be 1 to 64 letters, digits or _ \. : -, got "a b"$/m],
    [['--node-id', 'edge-1'], /--node-id needs --cluster redis:\/\/HOST:PORT/],
    [['--cluster', 'redis://127.0.0.1:6379', '--persistence', '/tmp/x'], /--cluster and --persistence cannot be combined/],
  ])('mqt broker %j: one line, exit 1', async (args, message) => {
    const r = await spawnMqt(['broker', '-p', '0', ...args], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('says so in one line when Redis cannot be reached, and exits 1', async () => {
    const port = await freePort();
    const r = await spawnMqt(['broker', '-p', '0', '--cluster', `redis://127.0.0.1:${port}`], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^mqt broker: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .+$`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

const gate = needPeers('redis');

describe.skipIf(gate.skip)('mqt broker --cluster: a node', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    gate.check();
    assertFreshBuild();
    redis = await startRedis();
  });
  afterEach(() => cleanUpMqt());
  afterAll(async () => {
    await stopAllRedis();
  });

  it('joins, says which node it is, keeps a persistent session in Redis, and leaves on SIGTERM', async () => {
    const node = startMqt(['broker', '-p', '0', '--cluster', redis.url, '--node-id', 'cli-node']);
    await node.waitForStdout(/mqt broker cluster node cli-node on redis:\/\/127\.0\.0\.1:\d+\n/, 10_000);
    const port = Number((await node.waitForStdout(/listening on mqtt:\/\/[^:]+:(\d+)/, 10_000))[1]);
    const { client } = await mqttClient(`mqtt://127.0.0.1:${port}`, { clientId: 'cli-keeper', clean: false });
    await client.subscribeAsync('cli/#', { qos: 1 });
    expect(await redis.command('SISMEMBER', 'mqt:nodes', 'cli-node')).toBe(':1\r\n');
    expect(await redis.command('GET', 'mqt:owner:cli-keeper')).toBe('$8\r\ncli-node\r\n');
    expect(await redis.command('EXISTS', 'mqt:s:cli-keeper')).toBe(':1\r\n');
    await client.endAsync();
    const exit = await stop(node);
    expect(exit.code).toBe(0);
    expect(await redis.command('EXISTS', 'mqt:alive:cli-node')).toBe(':0\r\n');
  });
});
