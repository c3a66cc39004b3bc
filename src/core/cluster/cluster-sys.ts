/**
 * `$SYS/cluster/…`: the whole cluster's totals, next to each node's own `$SYS/broker/…`. Every
 * sysInterval each node writes its counters to Redis (`stats:{node}`, expiring after three
 * intervals, so a dead node's drop out) and publishes the sums over the nodes alive, retained
 * and on this node only ($SYS is never sent to another node).
 */
import type { NodeHandle } from './node-handle.js';

/** The counters summed, and the topic each total goes out on. */
const TOTALS: readonly [string, string][] = [
  ['clientsConnected', 'clients/connected'],
  ['sessions', 'sessions'],
  ['subscriptions', 'subscriptions'],
  ['crossNodeSent', 'messages/crossnode/sent'],
  ['crossNodeReceived', 'messages/crossnode/received'],
  ['crossNodeDropped', 'messages/crossnode/dropped'],
];

export class ClusterSys {
  private timer: NodeJS.Timeout | undefined = undefined;
  private busy = false;

  constructor(
    private readonly node: NodeHandle,
    private readonly stats: () => Record<string, number>,
    private readonly intervalSeconds: number,
  ) {}

  start(): void {
    if (this.intervalSeconds <= 0) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ours written, everyone's read and summed, the totals published. */
  async tick(): Promise<void> {
    if (this.busy || !this.node.link.up) return;
    this.busy = true;
    try {
      const k = this.node.keys;
      const own = this.stats();
      const fields = Object.entries(own).flatMap(([name, v]) => [name, String(v)]);
      await this.node.execText([
        ['HSET', k.stats(this.node.nodeId), ...fields],
        ['PEXPIRE', k.stats(this.node.nodeId), String(3 * this.intervalSeconds * 1000)],
      ]);
      const nodes = this.node.aliveNodes();
      const sums = new Map<string, number>();
      for (const n of nodes) {
        const flat = n === this.node.nodeId ? fields : ((await this.node.link.sendText(['HGETALL', k.stats(n)])) as string[]);
        for (let i = 0; i + 1 < flat.length; i += 2) sums.set(flat[i]!, (sums.get(flat[i]!) ?? 0) + Number(flat[i + 1]));
      }
      const broker = this.node.brokerRef;
      const publish = (topic: string, value: string | number): void => {
        broker.publishMessage(`$SYS/cluster/${topic}`, String(value), { retain: true });
      };
      publish('nodes', nodes.length);
      publish('node/id', this.node.nodeId);
      for (const [field, topic] of TOTALS) publish(topic, sums.get(field) ?? 0);
    } catch {
      // Redis away: the next interval tries again.
    } finally {
      this.busy = false;
    }
  }
}
