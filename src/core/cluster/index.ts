/**
 * A broker as one node of a cluster on Redis: createClusterBroker() connects to Redis, makes
 * the broker with a store every node can read (cluster-store.ts) and this node's ClusterNode
 * plugged in, reads back what this node held before (same node id), and joins.
 */
import { createBroker, type Broker, type CreateBrokerOptions, type LogLevel } from '../broker/broker.js';
import { ClusterStore } from './cluster-store.js';
import { clusterKeys } from './keys.js';
import { ClusterNode } from './node.js';
import { maskUrl, RedisLink } from './redis-link.js';

export { ClusterNode } from './node.js';

export interface ClusterOptions {
  /** redis://HOST[:PORT][/DB] or rediss://… */
  url: string;
  /** This node's name, unique in the cluster: [A-Za-z0-9_.:-]{1,64}. */
  nodeId: string;
  /** Prefix of every Redis key and channel; 'mqt:' by default (several clusters on one Redis). */
  keyPrefix?: string;
  log?: (level: LogLevel, message: string) => void;
  /** Lease of a node in ms (3,000): another node takes its clients over this long after it died. */
  leaseMs?: number;
  /** How often the lease is renewed and the others' looked at, ms (1,000). */
  refreshMs?: number;
  /** Messages for other nodes kept while Redis is away (10,000 and 64 MB). */
  maxBuffered?: number;
  maxBufferedBytes?: number;
}

/**
 * Connects, makes the broker, joins. Rejects with a one-line error when Redis cannot be reached
 * within 5 s. Close with `await broker.close(); await node.close()`.
 */
export async function createClusterBroker(options: CreateBrokerOptions, cluster: ClusterOptions): Promise<{ broker: Broker; node: ClusterNode }> {
  if (options.store !== undefined) throw new Error('a cluster node keeps its state in Redis: give no store of its own');
  const link = new RedisLink({ url: cluster.url });
  await link.start();
  const keys = clusterKeys(cluster.keyPrefix ?? 'mqt:');
  const log = cluster.log ?? options.log;
  const store = new ClusterStore({ client: link.cmd, nodeId: cluster.nodeId, keyPrefix: cluster.keyPrefix ?? 'mqt:' });
  const node = new ClusterNode(link, store, {
    nodeId: cluster.nodeId,
    keys,
    ...(log !== undefined ? { log } : {}),
    ...(cluster.leaseMs !== undefined ? { leaseMs: cluster.leaseMs } : {}),
    ...(cluster.refreshMs !== undefined ? { refreshMs: cluster.refreshMs } : {}),
    ...(cluster.maxBuffered !== undefined ? { maxBuffered: cluster.maxBuffered } : {}),
    ...(cluster.maxBufferedBytes !== undefined ? { maxBufferedBytes: cluster.maxBufferedBytes } : {}),
  });
  const broker = createBroker({ ...options, store, cluster: node });
  try {
    await node.attach(broker);
  } catch (err) {
    await broker.close().catch(() => undefined);
    await link.close();
    throw new Error(`cannot join the cluster on ${maskUrl(cluster.url)}: ${(err as Error).message}`);
  }
  return { broker, node };
}
