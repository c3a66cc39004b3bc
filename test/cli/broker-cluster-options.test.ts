/**
 * `mqt broker --cluster` URL checks the other CLI test (broker-cluster.test.ts) leaves out: a port
 * out of range and a database Redis does not have are one line and exit 1 before anything starts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

describe('mqt broker --cluster: bad URLs', () => {
  beforeAll(() => assertFreshBuild());

  it.each([
    [['--cluster', 'redis://127.0.0.1:99999'], /^mqt broker: --cluster needs a Redis URL such as redis:\/\/127\.0\.0\.1:6379, got "redis:\/\/127\.0\.0\.1:99999"$/],
    [['--cluster', 'redis://127.0.0.1:6379/16'], /^mqt broker: --cluster: the database must be 0-15 \(Redis has 16 by default\), got 16$/],
  ])('mqt broker %j: one line, exit 1', async (args, message) => {
    const r = await spawnMqt(['broker', '-p', '0', ...args], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
