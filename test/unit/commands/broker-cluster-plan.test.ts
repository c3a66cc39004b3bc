/**
 * `--cluster URL [--node-id NAME]` and the file's `cluster` / `node_id`: what a node joins and
 * under what name, and a one-line error for each thing that cannot work.
 */
import { describe, expect, it } from 'vitest';
import { defaultNodeId, planCluster } from '../../../src/commands/broker-cluster-plan.js';
import { noFlags, type BrokerFlags } from '../../../src/commands/broker-options.js';
import { planBroker } from '../../../src/commands/broker-plan.js';
import { parseMosquittoConf } from '../../../src/core/config/mosquitto-conf.js';

describe('the cluster plan', () => {
  it('is nothing without a cluster, and the URL with a node id with one', () => {
    expect(planCluster(undefined, undefined, undefined)).toBeUndefined();
    expect(planCluster('redis://127.0.0.1:6390', 'edge-1', undefined)).toEqual({ url: 'redis://127.0.0.1:6390', nodeId: 'edge-1' });
    expect(planCluster('rediss://user:pw@redis.example:6380/2', 'a:b.c_d-e', undefined)?.nodeId).toBe('a:b.c_d-e');
  });

  it('names a node <hostname>-<pid> by default', () => {
    expect(planCluster('redis://127.0.0.1', undefined, undefined, 4242)?.nodeId).toBe(defaultNodeId(4242));
    expect(defaultNodeId(4242)).toMatch(/^[A-Za-z0-9_.:-]+-4242$/);
  });

  it.each([
    ['http://127.0.0.1:6379', undefined, undefined, /redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127.0.0.1:6379"/],
    ['127.0.0.1:6379', undefined, undefined, /redis:\/\/ or rediss:\/\/|Redis URL such as/],
    ['not a url', undefined, undefined, /needs a Redis URL such as redis:\/\/127.0.0.1:6379/],
    ['redis://127.0.0.1:99999', undefined, undefined, /Redis URL/],
    ['redis://127.0.0.1:0', undefined, undefined, /port 0/],
    ['redis://127.0.0.1:6379/x', undefined, undefined, /database after the port must be a number/],
    ['redis://127.0.0.1:6379/16', undefined, undefined, /database must be 0-15/],
    ['redis://127.0.0.1', 'has space', undefined, /--node-id must be 1 to 64 letters/],
    ['redis://127.0.0.1', 'x'.repeat(65), undefined, /--node-id must be 1 to 64/],
    [undefined, 'edge-1', undefined, /node_id \(--node-id\) needs a cluster/],
    ['redis://127.0.0.1', undefined, '/var/lib/mqt', /--cluster and --persistence cannot be combined/],
  ])('refuses %j %j %j in one line', (url, id, persistence, message) => {
    let error: Error | undefined;
    try {
      planCluster(url, id, persistence);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});

describe('the cluster plan from flags and the config file', () => {
  const flags = (f: Partial<BrokerFlags> = {}): BrokerFlags => ({ ...noFlags(), ...f });
  const file = (text: string) => parseMosquittoConf(text, 'test.conf');

  it('takes cluster and node_id from the file, and the flags over them', () => {
    const conf = file('cluster redis://127.0.0.1:6391/3\nnode_id from-file\n');
    expect(planBroker(flags(), conf).cluster).toEqual({ url: 'redis://127.0.0.1:6391/3', nodeId: 'from-file' });
    expect(planBroker(flags({ cluster: 'redis://10.0.0.1:6392', 'node-id': 'from-flag' }), conf).cluster).toEqual({ url: 'redis://10.0.0.1:6392', nodeId: 'from-flag' });
    expect(planBroker(flags({ 'node-id': 'from-flag' }), conf).cluster).toEqual({ url: 'redis://127.0.0.1:6391/3', nodeId: 'from-flag' });
    expect(planBroker(flags(), undefined).cluster).toBeUndefined();
  });

  it('refuses the file\'s persistence with a cluster, and a node_id with none', () => {
    expect(() => planBroker(flags(), file('cluster redis://127.0.0.1:6391\npersistence true\npersistence_location /tmp/x/\n'))).toThrow(/--cluster and --persistence cannot be combined/);
    expect(() => planBroker(flags(), file('node_id lonely\n'))).toThrow(/needs a cluster/);
  });
});
