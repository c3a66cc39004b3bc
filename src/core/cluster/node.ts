/**
 * One broker node of a cluster (ClusterPort, broker/cluster-port.ts): what this node routes
 * goes to the nodes whose subscriptions match (never to all of them), what they send comes in
 * through this node's stream, sessions and retained messages live in Redis where every node
 * reads them, and clients move between nodes without losing what they are owed.
 *
 * The parts: interest.ts (who wants what), frame.ts (the bytes between nodes), membership.ts
 * (leases; a dead node's clients taken over), requests.ts (asking one node and waiting for its
 * answer), cluster-store.ts (the store, which also says retained changes to every node).
 */
import type { Broker } from '../broker/broker.js';
import type { ClusterPort } from '../broker/cluster-port.js';
import { Message } from '../broker/message.js';
import type { MovedDelivery } from '../broker/cluster-side.js';
import type { ClientInfo } from '../broker/types.js';
import type { Will } from '../codec/types.js';
import { type ClusterKeys } from './keys.js';
import { decodeControl, decodeFrame, encodeControl, encodeFrame, type Control, type MessageFrame } from './frame.js';
import { LocalInterest, RemoteInterest, type ShareMatch } from './interest.js';
import type { ClusterStore } from './cluster-store.js';
import type { RedisLink, RedisReply } from './redis-link.js';
import { Requests } from './requests.js';
import { Membership } from './membership.js';
import type { ClusterLog, NodeHandle } from './node-handle.js';
import { ClusterAdmin, plainClient } from './cluster-admin.js';
import { ClusterSys } from './cluster-sys.js';
import { decodeWill, encodeWill } from './will-record.js';

export type { ClusterLog } from './node-handle.js';

export interface ClusterNodeOptions {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  readonly log?: ClusterLog;
  /** How long a node counts as alive after its last refresh (ms). */
  readonly leaseMs?: number;
  /** How often it refreshes its lease and looks for dead nodes (ms). */
  readonly refreshMs?: number;
  /** Cross-node messages kept while Redis is away: past either bound QoS >= 1 publishes are refused. */
  readonly maxBuffered?: number;
  readonly maxBufferedBytes?: number;
  /** How long a request to another node (release, drop, kick) may take. */
  readonly requestTimeoutMs?: number;
}

const NO_SHARES: readonly string[] = [];
/**
 * The claims of clean clients, many at once: ARGV[1] this node, ARGV[2] the key prefix, then
 * the client ids. Each becomes this node's (owner key, owned set), any old session records of
 * it go; the previous owners come back in order ('' for none). Key names as in keys.ts.
 */
const CLAIM_CLEAN = `local me, p, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV do
  local c = ARGV[i]
  local prev = redis.call('GET', p .. 'owner:' .. c)
  redis.call('SET', p .. 'owner:' .. c, me)
  redis.call('SADD', p .. 'owned:' .. me, c)
  redis.call('DEL', p .. 's:' .. c, p .. 'd:' .. c, p .. 'i:' .. c)
  out[#out + 1] = prev or ''
end
return out`;

/** How long a released session waits for its new node's drop before this node decides itself. */
const MOVE_TIMEOUT_MS = 10_000;
/** Stream entries read at once. */
const READ_COUNT = '1024';

interface Buffered {
  /** The target node's stream. */
  readonly stream: string;
  readonly frame: Buffer;
}

export class ClusterNode implements ClusterPort, NodeHandle {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  private broker!: Broker;
  readonly local = new LocalInterest();
  readonly remote = new RemoteInterest();
  private readonly log: ClusterLog;
  private readonly targets: string[] = [];
  /** The publish being routed: its share matches on other nodes, and the groups the router asked about. */
  private sharesMsg: Message | undefined = undefined;
  private sharesList: readonly ShareMatch[] = [];
  private readonly shareAsked: string[] = [];
  /** Share group → node chosen for the publish being routed (groups with members here too). */
  private readonly shareSent = new Map<string, string>();
  private readonly rotation = new Map<string, number>();
  private interestScheduled = false;
  private readonly flushInterestBound = (): void => this.flushInterest();
  /** Cross-node frames kept while Redis is away, oldest first. */
  private outage: Buffered[] = [];
  private outageBytes = 0;
  /** Clean clients connected this tick whose claim is still to be sent (flushClaims). */
  private pendingClaims: string[] = [];
  private readonly flushClaimsBound = (): void => this.flushClaims();
  /** This tick's frames by target node, staged when the tick commits (flushFrames). */
  private readonly gathered = new Map<string, Buffer[]>();
  /** Frames handed back by failed commits go before those buffered directly: how many so far. */
  private handedBack = 0;
  private refusing: { promise: Promise<void>; resolve: () => void } | undefined = undefined;
  private readonly maxBuffered: number;
  private readonly maxBufferedBytes: number;
  /** Clients connected here whose will is kept in Redis. */
  private readonly willsHeld = new Set<string>();
  private lastId = '0';
  /** Redis's run id when we last saw it: another one means it restarted, and what it held may be gone. */
  private runId: string | undefined = undefined;
  private closed = false;
  private reading: Promise<void> | undefined = undefined;
  readonly requests: Requests;
  readonly operations: ClusterAdmin = new ClusterAdmin(this);
  private membership: Membership | undefined = undefined;
  private sys: ClusterSys | undefined = undefined;
  /** Stream entries and cross-node frames, for stats and $SYS. */
  sent = 0;
  received = 0;
  dropped = 0;

  constructor(
    readonly link: RedisLink,
    readonly store: ClusterStore,
    private readonly options: ClusterNodeOptions,
  ) {
    this.nodeId = options.nodeId;
    this.keys = options.keys;
    this.log = options.log ?? (() => undefined);
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.requests = new Requests(link, this.keys, this.nodeId, options.requestTimeoutMs ?? 5000, (req) => this.serve(req));
    store.beforeCommit = () => this.flushFrames();
    // A commit that failed with only messages for other nodes at stake: they wait for Redis here.
    store.onUnsent = (frames) => {
      this.outage.splice(this.handedBack, 0, ...frames);
      this.handedBack += frames.length;
      for (const f of frames) {
        this.outageBytes += f.frame.length;
        this.sent--;
      }
      this.trimOutage();
    };
  }

  // ---- joining and leaving ------------------------------------------------------------------

  /** The broker is made (createBroker({ store, cluster: this })): read back, join, start reading. */
  async attach(broker: Broker): Promise<void> {
    this.broker = broker;
    await broker.ready();
    this.runId = await this.redisRunId();
    await this.link.subscribe([this.keys.ctl, this.keys.ctlFor(this.nodeId), this.keys.retainedChannel], (message, channel) => this.onMessage(message, channel));
    this.link.on('down', (why) => this.down(why));
    this.link.on('up', () => void this.up());
    await this.announce();
    // After the announce: the wills it publishes reach the other nodes' subscribers.
    await this.recoverLeftovers();
    this.membership = new Membership(this, { leaseMs: this.options.leaseMs ?? 3000, refreshMs: this.options.refreshMs ?? 1000, log: this.log });
    await this.membership.start();
    this.reading = this.readLoop();
    this.sys = new ClusterSys(this, () => this.stats(), broker.config.sysInterval);
    this.sys.start();
  }

  /**
   * What a previous run under this node id left (it was killed and this one started before its
   * lease ran out, so nobody reaped it): the wills of its connected clients go out, and the
   * clients without a lasting session are let go.
   */
  private async recoverLeftovers(): Promise<void> {
    const k = this.keys;
    const owned = (await this.link.sendText(['SMEMBERS', k.owned(this.nodeId)])) as string[];
    if (owned.length === 0) return;
    const side = this.broker.cluster!;
    let wills = 0;
    for (const clientId of owned) {
      const record = decodeWill(((await this.link.send(['GET', k.will(clientId)])) as Buffer | null) ?? Buffer.alloc(0));
      if (record !== undefined && record.node === this.nodeId) {
        side.willLost(clientId, { will: record.will, from: record.from as ClientInfo });
        this.store.stage(['DEL', k.will(clientId)]);
        wills++;
      }
      if (this.broker.inspect.session(clientId) === undefined) this.store.disown(clientId);
    }
    this.broker.persistence!.external(true);
    await this.broker.persistence!.drain();
    if (wills > 0) this.log('info', `cluster: published ${wills} will${wills === 1 ? '' : 's'} of clients this node held before it restarted`);
  }

  /** This node's whole interest written anew, every other node's read, and a hello so they read ours. */
  private async announce(): Promise<void> {
    const k = this.keys;
    const entries = [...this.local.entries()];
    this.local.drain();
    const args: (string | Buffer)[] = ['HSET', k.interest(this.nodeId)];
    for (const [filter, count] of entries) args.push(filter, String(count));
    const multi: (string | Buffer)[][] = [['DEL', k.interest(this.nodeId)]];
    if (entries.length > 0) multi.push(args);
    // The lease with the membership, in one step: a node in the set without a lease is dead.
    multi.push(['SET', k.alive(this.nodeId), String(Date.now()), 'PX', String(this.options.leaseMs ?? 3000)], ['SADD', k.nodes, this.nodeId]);
    await this.exec(multi);
    await this.readAllInterest();
    await this.link.publish(k.ctl, encodeControl({ t: 'hello', node: this.nodeId }));
  }

  private async readAllInterest(): Promise<void> {
    const nodes = (await this.link.sendText(['SMEMBERS', this.keys.nodes])) as string[];
    for (const node of nodes) if (node !== this.nodeId) await this.readInterest(node);
  }

  async readInterest(node: string): Promise<void> {
    const flat = (await this.link.sendText(['HGETALL', this.keys.interest(node)])) as string[];
    const entries: [string, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, Number(flat[i + 1])]);
    if (entries.length === 0) this.remote.dropNode(node);
    else this.remote.replaceNode(node, entries);
  }

  /** Leaves the cluster: call after broker.close() (which published the wills and committed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.membership?.stop();
    this.sys?.stop();
    this.requests.close();
    try {
      if (this.link.up) {
        // Our sessions stay in Redis under our id: whichever node notices we are gone takes them.
        await this.exec([['DEL', this.keys.alive(this.nodeId)], ['DEL', this.keys.interest(this.nodeId)]]);
        await this.link.publish(this.keys.ctl, encodeControl({ t: 'bye', node: this.nodeId }));
      }
    } catch {
      // Redis is away: our lease runs out by itself
    }
    await this.link.close();
    await this.reading?.catch(() => undefined);
  }

  // ---- ClusterPort: routing -----------------------------------------------------------------

  forward(msg: Message, _now: number): void {
    const remote = this.remote;
    const n = remote.nodesFor(msg.topic, this.targets);
    let shareTargets: Map<string, string[]> | undefined;
    if (remote.hasShares) shareTargets = this.shareTargetsFor(msg);
    this.shareAsked.length = 0;
    this.shareSent.clear();
    this.sharesMsg = undefined;
    if (n === 0 && shareTargets === undefined) return;
    let plain: Buffer | undefined;
    for (let i = 0; i < n; i++) {
      const node = this.targets[i]!;
      const shares = shareTargets?.get(node);
      if (shares !== undefined) {
        shareTargets!.delete(node);
        this.send(node, encodeFrame(this.frameOf(msg, true, shares)), msg.qos > 0);
      } else {
        // One encoding for every node that gets it plainly.
        plain ??= encodeFrame(this.frameOf(msg, true, NO_SHARES));
        this.send(node, plain, msg.qos > 0);
      }
    }
    if (shareTargets !== undefined) for (const [node, shares] of shareTargets) this.send(node, encodeFrame(this.frameOf(msg, false, shares)), msg.qos > 0);
  }

  private frameOf(msg: Message, normal: boolean, shares: readonly string[]): MessageFrame {
    const local = msg.origin === '';
    return {
      origin: local ? this.nodeId : msg.origin,
      originId: local ? msg.id : msg.originId,
      topic: msg.topic,
      payload: msg.payload,
      qos: msg.qos,
      retain: msg.retain,
      properties: msg.properties,
      publisherId: msg.publisherId,
      expiresAt: msg.expiresAt,
      normal,
      shares,
    };
  }

  /** One XADD to `node`'s stream in this tick's commit; a QoS >= 1 acknowledgement waits for it. */
  private send(node: string, frame: Buffer, promised: boolean): void {
    if (!this.link.up || this.outage.length > 0) {
      this.outage.push({ stream: this.keys.inbox(node), frame });
      this.outageBytes += frame.length;
      this.trimOutage();
      return;
    }
    // Gathered per node for the tick; the commit stages each node's as one stream entry.
    const list = this.gathered.get(node);
    if (list === undefined) this.gathered.set(node, [frame]);
    else list.push(frame);
    this.sent++;
    const p = this.broker.persistence!;
    p.external(promised);
    this.broker.scheduleFlush();
  }

  /** The tick's frames, one stream entry per target node, into the commit being made. */
  private flushFrames(): void {
    if (this.gathered.size === 0) return;
    for (const [node, frames] of this.gathered) this.store.stageFrames(this.keys.inbox(node), frames);
    this.gathered.clear();
  }

  /** Redis is away: kept in order, within bounds; past them the oldest goes and QoS >= 1 publishes are refused. */
  private trimOutage(): void {
    while (this.outage.length > this.maxBuffered || this.outageBytes > this.maxBufferedBytes) {
      const gone = this.outage.shift()!;
      this.outageBytes -= gone.frame.length;
      if (this.handedBack > 0) this.handedBack--;
      this.dropped++;
    }
    if (this.refusing === undefined && (this.outage.length >= this.maxBuffered || this.outageBytes >= this.maxBufferedBytes * 0.9)) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.refusing = { promise, resolve };
      this.log('warn', `cluster: ${this.outage.length} messages for other nodes are waiting for Redis; QoS 1 and 2 publishes are refused until it is back`);
    }
  }

  /** While set, the broker refuses QoS >= 1 publishes (its outage buffer is full). */
  get blockedUntil(): Promise<void> | undefined {
    return this.refusing?.promise;
  }

  shareLocal(group: string, msg: Message): boolean {
    if (!this.remote.hasShares) return true;
    const match = this.sharesOf(msg).find((m) => m.group === group);
    if (match === undefined) return true;
    this.shareAsked.push(group);
    const node = this.pickMember(group, this.local.count(group), match.members);
    if (node === undefined) return true;
    this.shareSent.set(group, node);
    return false;
  }

  /** The share groups another node has members of that match `msg`, looked up once per message. */
  private sharesOf(msg: Message): readonly ShareMatch[] {
    if (this.sharesMsg !== msg) {
      this.sharesMsg = msg;
      this.sharesList = this.remote.sharesFor(msg.topic);
    }
    return this.sharesList;
  }

  /**
   * The next member of `group` in turn, weighted by members: undefined for one of the `here`
   * members on this node, else the node of the one whose turn it is.
   */
  private pickMember(group: string, here: number, members: ReadonlyMap<string, number>): string | undefined {
    let total = here;
    for (const c of members.values()) total += c;
    if (total === 0) return undefined;
    const turn = this.rotation.get(group) ?? 0;
    this.rotation.set(group, turn + 1);
    let at = (turn % total) - here;
    if (at < 0) return undefined;
    for (const [node, c] of members) {
      if (at < c) return node;
      at -= c;
    }
    return undefined;
  }

  /** Which node gets each share group of this publish that another node has members of. */
  private shareTargetsFor(msg: Message): Map<string, string[]> | undefined {
    let out: Map<string, string[]> | undefined;
    const add = (node: string, group: string): void => {
      out ??= new Map();
      const list = out.get(node);
      if (list === undefined) out.set(node, [group]);
      else list.push(group);
    };
    for (const [group, node] of this.shareSent) add(node, group);
    for (const m of this.sharesOf(msg)) {
      if (this.shareAsked.includes(m.group)) continue; // decided in shareLocal
      // No member here: rotate over the other nodes' members.
      const node = this.pickMember(m.group, 0, m.members);
      if (node !== undefined) add(node, m.group);
    }
    return out;
  }

  // ---- ClusterPort: interest ----------------------------------------------------------------

  filterAdded(filter: string): void {
    this.local.add(filter);
    this.interestChanged();
  }

  filterRemoved(filter: string): void {
    this.local.remove(filter);
    this.interestChanged();
  }

  private interestChanged(): void {
    if (this.interestScheduled || !this.local.changed) return;
    this.interestScheduled = true;
    setImmediate(this.flushInterestBound);
  }

  /** The tick's interest changes: written to our hash and told to every node, in this tick's commit. */
  flushInterest(): void {
    this.interestScheduled = false;
    if (this.broker === undefined || !this.link.up) return; // re-announced whole when Redis is back
    const deltas = this.local.drain();
    if (deltas.length === 0) return;
    const k = this.keys.interest(this.nodeId);
    for (const d of deltas) this.store.stage(d.count === 0 ? ['HDEL', k, d.filter] : ['HSET', k, d.filter, String(d.count)]);
    this.store.stage(['PUBLISH', this.keys.ctl, encodeControl({ t: 'interest', node: this.nodeId, deltas: deltas.map((d) => ({ filter: d.filter, count: d.count })) })]);
    this.broker.persistence!.external(false);
    this.broker.scheduleFlush();
  }

  // ---- ClusterPort: clients -----------------------------------------------------------------

  claim(clientId: string, clean: boolean, lasting: boolean): Promise<void> | undefined {
    if (clean && !lasting) {
      // Nothing to hand over and nothing stored that another node could overwrite: the CONNECT
      // goes on at once, and a node that still holds the client is told to let go meanwhile.
      if (this.link.up) this.claimClean(clientId);
      return undefined;
    }
    return this.claimWaiting(clientId, clean);
  }

  /**
   * A clean, short-lived session's claim: made, and a previous holder told, while the client is
   * served. The claims of one tick go to Redis as one script call (a connection storm costs
   * Redis one command a tick, not three a client).
   */
  private claimClean(clientId: string): void {
    this.store.cancelDisown(clientId);
    this.pendingClaims.push(clientId);
    if (this.pendingClaims.length === 1) setImmediate(this.flushClaimsBound);
  }

  private flushClaims(): void {
    const ids = this.pendingClaims;
    this.pendingClaims = [];
    if (ids.length === 0 || !this.link.up) return;
    void this.link.sendText(['EVAL', CLAIM_CLEAN, '0', this.nodeId, this.keys.prefix, ...ids]).then(
      async (reply) => {
        const previous = reply as string[];
        for (let i = 0; i < ids.length; i++) {
          const p = previous[i];
          if (p === undefined || p === '' || p === this.nodeId) continue;
          // A dead holder is the membership beat's: its reap leaves a client connected here alone.
          if (await this.membership!.isAlive(p)) await this.requests.ask(p, { op: 'release', clientId: ids[i]!, discard: true });
        }
      },
      (err: unknown) => this.log('warn', `cluster: could not record ${ids.length} client${ids.length === 1 ? '' : 's'} as held here: ${(err as Error).message}`),
    );
  }

  private async claimWaiting(clientId: string, clean: boolean): Promise<void> {
    if (!this.link.up) {
      // Without Redis nobody can tell whether another node holds the client.
      if (!clean) throw new Error('the cluster store (Redis) is unreachable: a lasting session cannot be resumed now, try again shortly');
      return;
    }
    const k = this.keys;
    // Its last connection here may have left a disown for the next commit: this claim comes first.
    this.store.cancelDisown(clientId);
    const commands: (string | Buffer)[][] = [
      ['SET', k.owner(clientId), this.nodeId, 'GET'],
      ['SADD', k.owned(this.nodeId), clientId],
    ];
    // Clean Start: whatever Redis still has of an old session of this client goes, in the same
    // round trip (a node that holds it live ends it too, when asked to let go below).
    if (clean) commands.push(['DEL', k.session(clientId), k.deliveries(clientId), k.incoming(clientId)]);
    const replies = (await this.execText(commands)) as (string | null)[];
    const previous = replies[0] ?? null;
    if (previous === this.nodeId) return; // ours already: a takeover here, as on one broker
    const side = this.broker.cluster!;
    if (previous !== null && (await this.membership!.isAlive(previous))) {
      const answer = await this.requests.ask(previous, { op: 'release', clientId, discard: clean });
      if (!answer.ok) throw new Error(`node ${previous} did not let go of client ${clientId}: ${answer.error ?? 'no reason given'}`);
      const moving = (answer.data as { moving?: boolean } | undefined)?.moving === true;
      if (clean) return;
      const state = await this.store.loadClient(clientId);
      if (state === undefined || !side.restore(state)) {
        if (moving) await this.requests.ask(previous, { op: 'drop', clientId });
        return;
      }
      if (!moving) {
        side.settle(clientId);
        return;
      }
      // Our interest in its filters must be out, and seen by every node, before the old node
      // stops taking its messages: a node answers 'sync' after it read our announcement and
      // committed what it routed before (one connection carries both, in order).
      this.flushInterest();
      await this.broker.persistence!.drain();
      await this.syncAll(previous);
      const dropped = await this.requests.ask(previous, { op: 'drop', clientId });
      // What came late on the old node may also be on its way here (a node sent it to both):
      // everything in our stream now is routed first, so the merge sees it and counts it once.
      await this.catchUp();
      side.merge(clientId, dropped.ok ? this.lateFrom(dropped.data) : []);
      return;
    }
    if (previous !== null) {
      // Its node is dead: its clients are taken over first (their wills, what its stream held),
      // by us if we win the reap, and then this client is here already or ours to load.
      await this.membership!.reapNow(previous);
      // Adopted here: CONNECT opens it (or, with Clean Start, ends it) as on one broker.
      if (this.broker.inspect.session(clientId) !== undefined) return;
    }
    // Nobody holds it: what Redis has of it is ours.
    if (clean) return;
    const state = await this.store.loadClient(clientId);
    if (state !== undefined && side.restore(state)) side.settle(clientId);
  }

  released(clientId: string): void {
    if (this.closed) return;
    this.store.disown(clientId);
    this.broker.persistence?.external(false);
    this.broker.scheduleFlush();
  }

  willHeld(client: ClientInfo, will: Will): void {
    this.willsHeld.add(client.clientId);
    this.store.stage(['SET', this.keys.will(client.clientId), encodeWill(will, client, this.nodeId)]);
    this.broker.persistence!.external(false);
  }

  willDone(clientId: string): void {
    if (!this.willsHeld.delete(clientId)) return;
    this.store.stage(['DEL', this.keys.will(clientId)]);
    this.broker.persistence!.external(false);
    this.broker.scheduleFlush();
  }

  // ---- requests from other nodes ------------------------------------------------------------

  private async serve(req: Extract<Control, { t: 'req' }>): Promise<{ ok: boolean; data?: unknown; error?: string }> {
    const broker = this.broker;
    const side = broker.cluster!;
    switch (req.op) {
      case 'release': {
        const clientId = req.clientId ?? '';
        const moving = side.release(clientId, req.discard === true);
        await broker.persistence!.drain();
        if (moving) this.awaitDrop(clientId);
        return { ok: true, data: { moving } };
      }
      case 'sync':
        await broker.persistence!.drain();
        return { ok: true };
      case 'drop': {
        // Everything other nodes sent here before they saw the new holder's interest is in our
        // stream by now (they synced): routed to the session before it goes.
        await this.catchUp();
        const late = side.drop(req.clientId ?? '');
        this.store.forget(req.clientId ?? '');
        await broker.persistence!.drain();
        return { ok: true, data: { late: late.map((d) => this.movedOut(d)) } };
      }
      case 'kick':
        return { ok: broker.kick(req.clientId ?? '', req.reason) };
      case 'clients':
        return { ok: true, data: broker.inspect.clients().map(plainClient) };
      case 'stats':
        return { ok: true, data: this.stats() };
    }
  }

  /**
   * A released session whose new node never asked for it (it died, or gave up): after a while it
   * goes from here if another node holds the client now, else it is ours again, stored anew.
   */
  private awaitDrop(clientId: string): void {
    const timer = setTimeout(() => {
      const side = this.broker.cluster!;
      if (this.closed || !side.inMove(clientId)) return;
      void this.link.sendText(['GET', this.keys.owner(clientId)]).then(
        (owner) => {
          if (!side.inMove(clientId)) return;
          if (owner !== null && owner !== this.nodeId) {
            side.drop(clientId);
            this.store.forget(clientId);
          } else {
            side.abandon(clientId);
          }
          this.broker.persistence!.external(true);
          this.broker.scheduleFlush();
        },
        () => undefined,
      );
    }, MOVE_TIMEOUT_MS);
    timer.unref();
  }

  /** Asks every other live node to sync (see claim); a node that does not answer is waited for no longer than a request. */
  private async syncAll(also: string): Promise<void> {
    const others = new Set(this.membership!.alive);
    others.add(also);
    others.delete(this.nodeId);
    await Promise.all([...others].map((n) => this.requests.ask(n, { op: 'sync' })));
  }

  /** Waits (a bounded while) until the stream reader has routed every entry our stream holds now. */
  private async catchUp(): Promise<void> {
    const last = (await this.link.sendText(['XREVRANGE', this.keys.inbox(this.nodeId), '+', '-', 'COUNT', '1'])) as [string, unknown][];
    const id = last[0]?.[0];
    if (id === undefined) return;
    const until = Date.now() + 2000;
    while (compareIds(this.lastId, id) < 0 && Date.now() < until && !this.closed) await sleep(2);
    // Routed; the tick that delivered them must be over too.
    await new Promise((r) => setImmediate(r));
  }

  private movedOut(d: MovedDelivery): { f: string; q: number; r: boolean; s?: number[] } {
    const out: { f: string; q: number; r: boolean; s?: number[] } = { f: encodeFrame(this.frameOf(d.message, true, NO_SHARES)).toString('base64'), q: d.qos, r: d.retain };
    if (d.subscriptionIds !== undefined) out.s = d.subscriptionIds;
    return out;
  }

  private lateFrom(data: unknown): MovedDelivery[] {
    const list = (data as { late?: unknown } | undefined)?.late;
    if (!Array.isArray(list)) return [];
    const out: MovedDelivery[] = [];
    for (const item of list as { f?: unknown; q?: unknown; r?: unknown; s?: unknown }[]) {
      if (typeof item?.f !== 'string') continue;
      try {
        const msg = this.toMessage(decodeFrame(Buffer.from(item.f, 'base64')));
        const qos = item.q === 1 || item.q === 2 ? item.q : 0;
        out.push({ message: msg, qos, retain: item.r === true, subscriptionIds: Array.isArray(item.s) ? (item.s as number[]) : undefined });
      } catch (err) {
        this.log('warn', `cluster: a handed-over delivery could not be read: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** The counters another node sums for cluster totals. */
  stats(): Record<string, number> {
    const i = this.broker.inspect;
    return {
      clientsConnected: i.connectedCount(),
      sessions: i.sessionCount(),
      subscriptions: i.subscriptionCount(),
      retained: i.retainedCount(),
      crossNodeSent: this.sent,
      crossNodeReceived: this.received,
      crossNodeDropped: this.dropped,
    };
  }

  // ---- messages from other nodes ------------------------------------------------------------

  toMessage(f: MessageFrame): Message {
    const msg = new Message(f.topic, f.payload, f.qos, f.retain, f.properties, f.publisherId);
    msg.id = this.broker.newMessageId();
    msg.expiresAt = f.expiresAt;
    msg.origin = f.origin;
    msg.originId = f.originId;
    return msg;
  }

  /** Reads this node's stream, routes what came, and trims it in the commit that stores what routing it did. */
  private async readLoop(): Promise<void> {
    const stream = this.keys.inbox(this.nodeId);
    while (!this.closed) {
      let reply: RedisReply;
      try {
        if (!this.link.up || !this.link.readerReady) {
          await sleep(100);
          continue;
        }
        reply = await this.link.read(['XREAD', 'COUNT', READ_COUNT, 'BLOCK', '1000', 'STREAMS', stream, this.lastId]);
      } catch {
        if (!this.closed) await sleep(100);
        continue;
      }
      if (reply === null || !Array.isArray(reply) || this.closed) continue;
      try {
        this.handleEntries(reply);
      } catch (err) {
        // Never read again: what was handled stays handled (lastId moves per entry).
        this.log('error', `cluster: routing a message from another node failed: ${(err as Error).stack ?? (err as Error).message}`);
      }
    }
  }

  private handleEntries(reply: RedisReply[]): void {
    const now = Date.now();
    const side = this.broker.cluster!;
    let last: string | undefined;
    for (const s of reply) {
      const entries = (s as RedisReply[])[1] as RedisReply[];
      for (const e of entries) {
        const [id, fields] = e as [Buffer, Buffer[]];
        last = id.toString();
        this.lastId = last;
        // One entry holds a tick's messages from one node: field `m` once for each, in order.
        for (let i = 1; i < fields.length; i += 2) {
          let f: MessageFrame;
          try {
            f = decodeFrame(fields[i]!);
          } catch (err) {
            this.dropped++;
            this.log('warn', `cluster: dropped an unreadable message from the stream: ${(err as Error).message}`);
            continue;
          }
          this.received++;
          side.routeRemote(this.toMessage(f), f.normal, f.shares, now);
        }
      }
    }
    if (last === undefined) return;
    this.lastId = last;
    this.store.stage(['XTRIM', this.keys.inbox(this.nodeId), 'MINID', nextId(last)]);
    this.broker.persistence!.external(false);
    this.broker.scheduleFlush();
  }

  // ---- channels -----------------------------------------------------------------------------

  private onMessage(message: Buffer, channel: string): void {
    if (this.closed) return;
    if (channel === this.keys.retainedChannel) {
      this.retainedChanged(message);
      return;
    }
    const c = decodeControl(message);
    if (c === undefined) return;
    switch (c.t) {
      case 'interest':
        if (c.node !== this.nodeId) for (const d of c.deltas) this.remote.apply(c.node, d.filter, d.count);
        return;
      case 'hello':
        if (c.node !== this.nodeId) void this.readInterest(c.node).catch(() => undefined);
        return;
      case 'bye':
        if (c.node !== this.nodeId) this.remote.dropNode(c.node);
        return;
      case 'req':
      case 'res':
        if (channel === this.keys.ctlFor(this.nodeId)) this.requests.onControl(c);
        return;
    }
  }

  private retainedChanged(message: Buffer): void {
    let f: MessageFrame;
    try {
      f = decodeFrame(message);
    } catch {
      return;
    }
    this.broker.cluster!.mirrorRetained(this.toMessage(f));
  }

  // ---- Redis away and back ------------------------------------------------------------------

  private down(why: string): void {
    if (this.closed) return;
    this.log('warn', `cluster: lost Redis (${why}); serving local traffic, keeping messages for other nodes until it is back`);
  }

  private async up(): Promise<void> {
    if (this.closed) return;
    this.log('info', `cluster: Redis is back; sending the ${this.outage.length} messages kept for other nodes`);
    try {
      await this.resync();
    } catch (err) {
      this.log('warn', `cluster: could not rejoin after Redis came back: ${(err as Error).message}`);
    }
  }

  /** After an outage: the kept frames first (in order), then our interest, ownership, retained copy. */
  private async resync(): Promise<void> {
    const kept = this.outage;
    this.outage = [];
    this.outageBytes = 0;
    this.handedBack = 0;
    // The kept frames first, in order, each node's as one entry; then what comes next.
    const byStream = new Map<string, Buffer[]>();
    for (const b of kept) {
      const list = byStream.get(b.stream);
      if (list === undefined) byStream.set(b.stream, [b.frame]);
      else list.push(b.frame);
      this.sent++;
    }
    for (const [stream, frames] of byStream) this.store.stageFrames(stream, frames);
    const p = this.broker.persistence!;
    const runId = await this.redisRunId();
    if (runId !== this.runId) {
      this.log('warn', 'cluster: Redis restarted and may have lost what it held: writing this node\'s sessions and retained messages anew');
      p.rewriteAll();
    }
    this.runId = runId;
    for (const s of this.broker.inspect.sessions()) this.store.own(s.clientId);
    p.external(true);
    await p.drain();
    const refusing = this.refusing;
    this.refusing = undefined;
    refusing?.resolve();
    await this.announce();
    await this.reloadRetained();
  }

  private async reloadRetained(): Promise<void> {
    const flat = (await this.link.send(['HGETALL', this.keys.retained])) as Buffer[];
    const side = this.broker.cluster!;
    const seen = new Set<string>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const msg = this.store.retainedMessage(flat[i + 1]!);
      if (msg === undefined) continue;
      seen.add(msg.topic);
      side.mirrorRetained(this.toMessage({ ...msg, origin: this.nodeId, originId: 0, normal: false, shares: NO_SHARES }));
    }
    for (const m of await this.broker.retainedFor('#', Date.now())) if (!seen.has(m.topic)) side.mirrorRetained(this.toMessage({ origin: this.nodeId, originId: 0, topic: m.topic, payload: Buffer.alloc(0), qos: 0, retain: true, properties: undefined, publisherId: '', expiresAt: 0, normal: false, shares: NO_SHARES }));
  }

  // ---- helpers ------------------------------------------------------------------------------

  private async redisRunId(): Promise<string> {
    const info = String(await this.link.sendText(['INFO', 'server']));
    return /run_id:(\w+)/.exec(info)?.[1] ?? '';
  }

  /** A MULTI of its own, outside the store's commits (joining, leaving, claims); replies as Buffers. */
  exec(commands: (string | Buffer)[][]): Promise<RedisReply[]> {
    return this.link.exec(commands, true);
  }

  /** The same with string replies. */
  execText(commands: (string | Buffer)[][]): Promise<RedisReply[]> {
    return this.link.exec(commands, false);
  }

  /** The nodes seen alive at the last look, this one included, sorted. */
  aliveNodes(): string[] {
    const all = new Set(this.membership?.alive ?? []);
    all.add(this.nodeId);
    return [...all].sort();
  }

  get brokerRef(): Broker {
    return this.broker;
  }
}

/** Orders two stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return Number(am) - Number(bm) || Number(as ?? 0) - Number(bs ?? 0);
}

/** The stream id just after `id` ("ms-seq"): XTRIM MINID keeps it and everything after. */
export function nextId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${Number(id.slice(dash + 1)) + 1}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

