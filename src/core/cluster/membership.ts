/**
 * Who is in the cluster: each node keeps a lease in Redis (`alive:{node}`, refreshed well
 * before it runs out) and looks at the others' on the same beat. A node whose lease ran out
 * is dead (killed, cut off, or gone cleanly): the first node to take `reap:{node}` publishes
 * the wills of its connected clients, adopts its lasting sessions (each moved with a
 * compare-and-set on its owner key, so a client that reconnected elsewhere meanwhile stays
 * there), routes what was left in its stream to those sessions, and removes its keys.
 */
import type { ClientInfo } from '../broker/types.js';
import { decodeFrame, encodeControl } from './frame.js';
import type { ClusterLog, NodeHandle } from './node-handle.js';
import type { RedisReply } from './redis-link.js';
import { decodeWill } from './will-record.js';

/**
 * Moves an owner key from the dead node to us only if it still names the dead node, or us (the
 * client is connecting here right now and its claim is what made us reap).
 */
const MOVE_OWNER = "local o = redis.call('GET', KEYS[1]) if o == ARGV[1] or o == ARGV[2] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

export interface MembershipOptions {
  readonly leaseMs: number;
  readonly refreshMs: number;
  readonly log: ClusterLog;
}

export class Membership {
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Reaps under way here, by dead node. */
  private readonly reaping = new Map<string, Promise<void>>();
  private busy = false;
  private stopped = false;
  /** Nodes seen alive at the last look. */
  readonly alive = new Set<string>();

  constructor(
    private readonly node: NodeHandle,
    private readonly options: MembershipOptions,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.beat(), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  async isAlive(node: string): Promise<boolean> {
    return (await this.node.link.sendText(['EXISTS', this.node.keys.alive(node)])) === 1;
  }

  private async refresh(): Promise<void> {
    const k = this.node.keys;
    await this.node.execText([
      ['SET', k.alive(this.node.nodeId), String(Date.now()), 'PX', String(this.options.leaseMs)],
      ['SADD', k.nodes, this.node.nodeId],
    ]);
  }

  /** One beat: our lease renewed, the others' looked at, the dead reaped. */
  private async beat(): Promise<void> {
    if (this.busy || this.stopped || !this.node.link.up) return;
    this.busy = true;
    try {
      await this.refresh();
      const k = this.node.keys;
      const nodes = ((await this.node.link.sendText(['SMEMBERS', k.nodes])) as string[]).filter((n) => n !== this.node.nodeId);
      if (nodes.length === 0) return;
      const leases = (await this.node.link.sendText(['MGET', ...nodes.map((n) => k.alive(n))])) as (string | null)[];
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i]!;
        if (leases[i] !== null) {
          if (!this.alive.has(n)) {
            this.alive.add(n);
            await this.node.readInterest(n);
          }
          continue;
        }
        // Its interest stays until the reaper says bye: what is sent meanwhile waits in its
        // stream for the sessions the reaper adopts.
        this.alive.delete(n);
        await this.reapNow(n);
      }
    } catch (err) {
      if (!this.stopped) this.options.log('warn', `cluster: membership check failed: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** Routes the entries of a dead node's stream after `from` to the adopted sessions; returns where it stopped. */
  private async drainStream(dead: string, from: string, adopted: ReadonlySet<string>): Promise<string> {
    const node = this.node;
    const side = node.brokerRef.cluster!;
    for (;;) {
      const entries = (await node.link.send(['XRANGE', node.keys.inbox(dead), from, '+', 'COUNT', '1000'])) as RedisReply[];
      if (entries.length === 0) return from;
      const now = Date.now();
      for (const e of entries) {
        const [id, fields] = e as [Buffer, Buffer[]];
        from = `(${id.toString()}`;
        if (adopted.size === 0) continue;
        for (let i = 1; i < fields.length; i += 2) {
          try {
            const f = decodeFrame(fields[i]!);
            side.routeToClients(node.toMessage(f), adopted, f.normal, f.shares, now);
          } catch {
            node.dropped++;
          }
        }
      }
      node.brokerRef.scheduleFlush();
      if (entries.length < 1000) return from;
    }
  }

  /**
   * Resolves once `dead`'s clients have been taken over: by us (a reap here, or the one under
   * way), or by the node that won the reap (we wait, a bounded while, for it to say bye).
   */
  reapNow(dead: string): Promise<void> {
    let p = this.reaping.get(dead);
    if (p === undefined) {
      p = this.reap(dead).finally(() => this.reaping.delete(dead));
      this.reaping.set(dead, p);
    }
    return p;
  }

  /** Takes over a dead node's clients, if no other node got there first. */
  private async reap(dead: string): Promise<void> {
    const node = this.node;
    const k = node.keys;
    const won = await node.link.sendText(['SET', k.reap(dead), node.nodeId, 'NX', 'PX', '30000']);
    if (won !== 'OK') {
      // Another node is at it: done when it has removed the dead node from the set.
      const until = Date.now() + 3 * this.options.leaseMs + 2 * this.options.refreshMs;
      while (Date.now() < until && (await node.link.sendText(['SISMEMBER', k.nodes, dead])) === 1) await new Promise((r) => setTimeout(r, 50));
      return;
    }
    // Back meanwhile (restarted under the same id): its clients are its own again.
    if ((await node.link.sendText(['EXISTS', k.alive(dead)])) === 1) {
      await node.link.sendText(['DEL', k.reap(dead)]);
      return;
    }
    const broker = node.brokerRef;
    const side = broker.cluster!;
    const clientIds = (await node.link.sendText(['SMEMBERS', k.owned(dead)])) as string[];
    const adopted = new Set<string>();
    let wills = 0;
    for (const clientId of clientIds) {
      const moved = await node.link.sendText(['EVAL', MOVE_OWNER, '1', k.owner(clientId), dead, node.nodeId]);
      if (moved !== 1) continue;
      // Back already, connected here with a session of its own: that one stands.
      if (broker.inspect.session(clientId)?.connected === true) {
        node.store.stage(['DEL', k.will(clientId)]);
        continue;
      }
      const state = await node.store.loadClient(clientId);
      const record = decodeWill((await node.link.send(['GET', k.will(clientId)])) as Buffer ?? Buffer.alloc(0));
      const lost = record !== undefined && record.node === dead ? { will: record.will, from: record.from as ClientInfo } : undefined;
      if (lost !== undefined) wills++;
      if (side.adopt(clientId, state, lost)) {
        adopted.add(clientId);
        node.store.own(clientId);
      } else {
        node.store.disown(clientId);
      }
      node.store.stage(['DEL', k.will(clientId)]);
    }
    // Our interest in the adopted sessions' filters is out before we read what the dead node
    // was sent: from here on new messages for them come to us as well.
    node.flushInterest();
    broker.persistence!.external(true);
    await broker.persistence!.drain();
    let from = await this.drainStream(dead, '-', adopted);
    node.remote.dropNode(dead);
    node.store.stage(['SREM', k.nodes, dead]);
    node.store.stage(['DEL', k.interest(dead), k.owned(dead)]);
    node.store.stage(['PUBLISH', k.ctl, encodeControl({ t: 'bye', node: dead })]);
    broker.persistence!.external(true);
    await broker.persistence!.drain();
    // What another node sent before it heard the bye.
    await new Promise((r) => setTimeout(r, this.options.refreshMs));
    from = await this.drainStream(dead, from, adopted);
    node.store.stage(['DEL', k.inbox(dead)]);
    broker.persistence!.external(false);
    await broker.persistence!.drain();
    this.options.log('info', `cluster: node ${dead} is gone; took over ${adopted.size} session${adopted.size === 1 ? '' : 's'} and ${wills} will${wills === 1 ? '' : 's'} of its clients`);
  }
}
