/**
 * Broker nodes of one cluster, in this process, on a real redis-server: each listens on its own
 * free TCP port (127.0.0.1). Short leases so a dead node is noticed within about a second.
 */
import type { Broker, CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { createClusterBroker, type ClusterNode, type ClusterOptions } from '../../src/core/cluster/index.js';

export interface TestNode {
  readonly id: string;
  readonly broker: Broker;
  readonly node: ClusterNode;
  readonly port: number;
  readonly logs: string[];
  /** broker.close() then node.close(); safe twice. */
  stop(): Promise<void>;
}

export async function startNode(url: string, id: string, options: CreateBrokerOptions = {}, cluster: Partial<ClusterOptions> = {}): Promise<TestNode> {
  const logs: string[] = [];
  const { broker, node } = await createClusterBroker(options, { url, nodeId: id, leaseMs: 1000, refreshMs: 250, log: (level, m) => logs.push(`${level} ${m}`), ...cluster });
  const [tcp] = await broker.listen({ port: 0, host: '127.0.0.1' });
  let stopped = false;
  return {
    id,
    broker,
    node,
    port: tcp!.port,
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await broker.close();
      await node.close();
    },
  };
}

export async function startNodes(url: string, ids: string[], options: CreateBrokerOptions = {}, cluster: Partial<ClusterOptions> = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) nodes.push(await startNode(url, id, options, cluster));
  return nodes;
}

/** Waits until every node but the holder (a node, or a node id) sees `filter` on it: its interest reached them. */
export async function interestSeen(nodes: TestNode[], holder: TestNode | string, filter: string, timeoutMs = 3000): Promise<void> {
  const id = typeof holder === 'string' ? holder : holder.id;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = nodes.filter((n) => n.id !== id && (n.node.remote.filters(id)?.get(filter) ?? 0) === 0);
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`nodes ${missing.map((n) => n.id).join(', ')} did not see ${id}'s interest in ${filter} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
