/**
 * The cluster as operators see it (ClusterOperations, for the admin API and /metrics): every
 * node's clients, asked of each node and gathered here; a kick sent to the node that holds the
 * client; this node's cross-node counters.
 */
import type { ClusterClient, ClusterOperations } from '../broker/cluster-port.js';
import type { ClientSnapshot } from '../broker/inspect.js';
import type { NodeHandle } from './node-handle.js';

/** A client snapshot as it crosses to another node: JSON-safe, its transport reduced to what the API shows. */
export function plainClient(c: ClientSnapshot): ClientSnapshot {
  const t = c.transport;
  const transport = t === undefined ? undefined : { listener: { ...t.listener }, remoteAddress: t.remoteAddress, remotePort: t.remotePort, peerCertificate: undefined };
  return { ...c, transport } as ClientSnapshot;
}

export class ClusterAdmin implements ClusterOperations {
  constructor(private readonly node: NodeHandle) {}

  get nodeId(): string {
    return this.node.nodeId;
  }

  nodes(): string[] {
    return this.node.aliveNodes();
  }

  async clients(): Promise<{ clients: ClusterClient[]; missing: string[] }> {
    const self = this.node.nodeId;
    const clients: ClusterClient[] = this.node.brokerRef.inspect.clients().filter((c) => c.connected).map((c) => ({ ...c, node: self }));
    const missing: string[] = [];
    const others = this.nodes().filter((n) => n !== self);
    const answers = await Promise.all(others.map((n) => this.node.requests.ask(n, { op: 'clients' })));
    answers.forEach((a, i) => {
      if (!a.ok || !Array.isArray(a.data)) {
        missing.push(others[i]!);
        return;
      }
      for (const c of a.data as ClientSnapshot[]) if (c.connected) clients.push({ ...c, node: others[i]! });
    });
    return { clients, missing };
  }

  async kick(clientId: string): Promise<boolean> {
    const broker = this.node.brokerRef;
    if (broker.kick(clientId)) return true;
    const owner = (await this.node.link.sendText(['GET', this.node.keys.owner(clientId)])) as string | null;
    if (owner === null || owner === this.node.nodeId) return false;
    const answer = await this.node.requests.ask(owner, { op: 'kick', clientId, reason: 'disconnected by an administrator' });
    return answer.ok;
  }

  crossNode(): { sent: number; received: number; dropped: number } {
    return { sent: this.node.sent, received: this.node.received, dropped: this.node.dropped };
  }
}
