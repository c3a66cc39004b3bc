/**
 * One thread's share of a bench run: its publishers, subscribers (or, for `conn`, its
 * connections), their histograms and counters. The coordinator (engine.ts) drives every shard
 * the same way whether it lives in the calling thread or in a worker (worker.ts):
 *
 *   setup → [begin('warmup') … ] → begin('measure') … stop → report → close
 *   storm → report → close                                  (conn)
 *
 * Progress goes to the shared Board as it happens; the full report (histograms, sequence
 * checks, errors) is plain data, to cross a thread boundary by structured clone.
 *
 * A client the broker drops mid-run is NOT reconnected: the drop is counted (by DISCONNECT
 * reason code, or by socket error), the client's publisher stops and its subscriber misses
 * what follows, which the sequence check then reports as lost. Reconnecting would hide the
 * failure the bench exists to show, and a fresh clean session would muddle the loss count.
 * `reconnects` in the result is therefore always 0.
 */
import { encode } from '../codec/encode.js';
import { MqttError } from '../codec/errors.js';
import type { ConnectPacket } from '../codec/types.js';
import { createDialer, errorCode, type Dialer } from '../net/dial.js';
import { Board, S_CONN_SETTLED, S_CONNECTED, S_PUBS_DONE } from './board.js';
import { RawClient, type Loss } from './client.js';
import { now } from './clock.js';
import { Histogram } from './histogram.js';
import { Publisher, type PublisherHost } from './publisher.js';
import { publisherShard, shareOf, subscriberShard, type Plan } from './scenarios.js';
import { buildReport, errorKey, type ShardReport } from './shard-report.js';
import { Subscriber, type SubscriberHost } from './subscriber.js';
import type { BenchConfig, BenchTarget, ReplyPacket } from './types.js';

/** Clients connecting at the same time during setup. */
const SETUP_CONCURRENCY = 64;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long close() waits for the broker to close each connection after DISCONNECT. */
const CLOSE_WAIT_MS = 2000;
/** A persistent subscriber's session expiry (5.0): long enough for any run, short enough not to linger if the bench dies. */
export const PERSISTENT_EXPIRY_S = 300;

export type { ShardReport } from './shard-report.js';

export interface ShardInit {
  target: BenchTarget;
  config: BenchConfig;
  plan: Plan;
  board: SharedArrayBuffer;
  shard: number;
  shards: number;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Runs `task` over `items` with at most `limit` at a time; the first failure rejects (the rest still settle). */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure;
}

export class Shard implements PublisherHost, SubscriberHost {
  readonly board: Board;
  readonly shardBase: number;
  readonly arrivedRow: number;
  readonly ackLatency = new Histogram();
  readonly deliveryLatency = new Histogram();
  readonly connackLatency = new Histogram();
  readonly publishedPerSecond: number[] = [];
  readonly deliveredPerSecond: number[] = [];
  measureStart = 0;

  private readonly target: BenchTarget;
  private readonly config: BenchConfig;
  private readonly plan: Plan;
  private readonly index: number;
  private readonly shards: number;
  private readonly version: 4 | 5;
  private readonly timeoutMs: number;
  /** Created once per shard (the TLS files are read once), shared by every connection. */
  private dialer: Promise<Dialer> | null = null;
  private subDialer: Promise<Dialer> | null = null;
  private readonly clients: RawClient[] = [];
  /** Client ids of persistent subscribers, whose sessions close() ends. */
  private readonly persistentIds: string[] = [];
  readonly publishers: Publisher[] = [];
  readonly subscribers: Subscriber[] = [];
  private readonly errors = new Map<number, number>();
  private readonly socketErrors = new Map<string, number>();
  private pubsDone = 0;
  private aborted = false;

  // Timers; each callback is bound once here, never per message.
  private pingTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private tickImmediate: NodeJS.Immediate | null = null;
  private blockedList: Publisher[] = [];
  private blockedTimer: NodeJS.Timeout | null = null;
  private yieldedList: Publisher[] = [];
  private yieldedImmediate: NodeJS.Immediate | null = null;
  private readonly onTick = (): void => this.tick();
  private readonly onBlockedTimer = (): void => {
    this.blockedTimer = null;
    this.pumpBlocked();
  };
  private readonly onYielded = (): void => this.resumeYielded();
  private readonly onLost = (client: RawClient, loss: Loss): void => this.lost(client, loss);

  // conn scenario
  private attempted = 0;
  private connected = 0;
  private failed = 0;
  private firstOpen = Number.POSITIVE_INFINITY;
  private lastConnack = Number.NEGATIVE_INFINITY;

  constructor(init: ShardInit) {
    this.target = init.target;
    this.config = init.config;
    this.plan = init.plan;
    this.index = init.shard;
    this.shards = init.shards;
    this.board = new Board(init.board, init.plan.publishers, init.shards);
    this.shardBase = this.board.slot(init.shard, 0);
    this.arrivedRow = this.board.arrivedRow(init.shard);
    this.version = init.config.protocolVersion;
    this.timeoutMs = init.target.connection.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  // ---- setup -------------------------------------------------------------------------------

  /**
   * Clean session always (a bench must leave no session or queue behind on the broker), no
   * will, and none of the connection's 5.0 CONNECT properties: only what identifies and
   * authenticates the client, and its keep-alive.
   */
  private connectPacket(clientId: string, persistent: boolean): ConnectPacket {
    const c = this.target.connection;
    const packet: ConnectPacket = { type: 'connect', protocolVersion: this.version, clean: true, keepalive: c.keepalive, clientId };
    // A persistent subscriber (config.persistent): its session outlives the connection, until close() ends it.
    if (persistent) {
      if (this.version === 5) packet.properties = { sessionExpiryInterval: PERSISTENT_EXPIRY_S };
      else packet.clean = false;
    }
    if (c.username !== undefined) packet.username = c.username;
    if (c.password !== undefined) packet.password = c.password;
    return packet;
  }

  /** The shard's dialer, made on first use; rejects (every time) when a TLS file cannot be read. */
  private dial(): Promise<Dialer> {
    return (this.dialer ??= createDialer(this.target.connection));
  }

  /** The subscribers' dialer: the target's subscriberConnection when it names one. */
  private dialSubscriber(): Promise<Dialer> {
    const c = this.target.subscriberConnection;
    return c === undefined ? this.dial() : (this.subDialer ??= createDialer(c));
  }

  private async open(clientId: string, persistent = false, subscriber = false): Promise<RawClient> {
    const link = await (await (subscriber ? this.dialSubscriber() : this.dial())).open(this.timeoutMs);
    const client = new RawClient(link, this.version);
    if (this.aborted) {
      client.destroy();
      throw new Error('aborted');
    }
    this.clients.push(client);
    await client.connect(this.connectPacket(clientId, persistent), this.timeoutMs);
    client.onLost = this.onLost;
    return client;
  }

  /**
   * What the broker's CONNACK forbids the run to send, said before anything is published: no
   * PUBLISH above its Maximum QoS (5.0 [MQTT-3.2.2-11]), none retained when Retain Available
   * is 0 ([MQTT-3.2.2-14]). Checked on every client of a pub run, so a subscriber's CONNACK
   * speaks before its SUBSCRIBE could be downgraded.
   */
  private checkLimits(client: RawClient): RawClient {
    const { qos, retain } = this.config;
    if (qos > client.maximumQoS) {
      client.destroy();
      throw new Error(`the broker accepts QoS ${client.maximumQoS} at most (Maximum QoS in its CONNACK): use --qos ${client.maximumQoS}`);
    }
    if (retain && !client.retainAvailable) {
      client.destroy();
      throw new Error('the broker does not accept retained messages (Retain Available 0 in its CONNACK): drop --retain');
    }
    return client;
  }

  /** Connects this shard's subscribers (subscribed) and publishers. Rejects on the first failure. */
  async setup(): Promise<void> {
    const { plan, config } = this;
    const subs: number[] = [];
    for (let j = 0; j < plan.subscribers; j++) if (subscriberShard(plan, j, this.shards) === this.index) subs.push(j);
    const pubs: number[] = [];
    for (let i = 0; i < plan.publishers; i++) if (publisherShard(i, this.shards) === this.index) pubs.push(i);
    const subscribers = new Array<Subscriber | undefined>(subs.length);
    await eachLimited(subs.map((j, k) => [j, k] as const), SETUP_CONCURRENCY, async ([j, k]) => {
      const id = `${plan.clientTag}s${j}`;
      const client = this.checkLimits(await this.open(id, config.persistent === true, true));
      if (config.persistent === true) this.persistentIds.push(id);
      const filter = plan.subFilters[j]!;
      const sub = new Subscriber(this, j, filter, plan.runId, plan.publishers);
      // Receiving from the SUBSCRIBE on: a retained message of another run is ignored, not counted.
      client.receiver = sub;
      await client.subscribe(filter, config.qos, this.timeoutMs);
      subscribers[k] = sub;
    });
    for (const s of subscribers) if (s !== undefined) this.subscribers.push(s);
    const publishers = new Array<Publisher | undefined>(pubs.length);
    await eachLimited(pubs.map((i, k) => [i, k] as const), SETUP_CONCURRENCY, async ([i, k]) => {
      const client = this.checkLimits(await this.open(`${plan.clientTag}p${i}`));
      publishers[k] = new Publisher(this, client, i, plan.pubTopics[i]!, {
        qos: config.qos,
        retain: config.retain,
        size: config.size,
        runId: plan.runId,
        window: plan.inflight,
        qos0Window: plan.qos0Window[i]!,
        subsFor: plan.subsFor[i]!,
        rate: config.rate,
        publishers: plan.publishers,
      });
    });
    for (const p of publishers) if (p !== undefined) this.publishers.push(p);
    this.startPings();
  }

  /** PINGREQ on every connection at half the keep-alive, so idle subscribers are not dropped. */
  private startPings(): void {
    const first = this.clients[0];
    const keepalive = first?.serverKeepAlive ?? this.target.connection.keepalive;
    if (!(keepalive > 0) || this.clients.length === 0) return;
    this.pingTimer = setInterval(() => {
      for (const c of this.clients) c.ping();
    }, (keepalive * 1000) / 2);
  }

  // ---- phases ------------------------------------------------------------------------------

  /** Starts a warm-up or the measured phase on every publisher, from `startAt` (clock.ts). */
  begin(phase: 'warmup' | 'measure', startAt: number): void {
    const { plan, config } = this;
    const measure = phase === 'measure';
    if (measure) this.measureStart = startAt;
    this.pubsDone = 0;
    this.board.f[this.shardBase + S_PUBS_DONE] = 0;
    let endAt = Number.POSITIVE_INFINITY;
    if (measure && config.durationMs !== undefined) endAt = startAt + config.durationMs;
    if (!measure && config.warmupMs !== undefined && config.warmupMs > 0) endAt = startAt + config.warmupMs;
    for (const p of this.publishers) p.begin(measure, measure ? plan.measureCounts[p.index]! : plan.warmupCounts[p.index]!, endAt, startAt);
    if (config.rate !== undefined) this.tick();
  }

  /** Stops every publisher: the run is over. */
  stop(): void {
    for (const p of this.publishers) p.stop();
    this.clearTimers(false);
  }

  publisherDone(_p: Publisher): void {
    this.pubsDone++;
    this.board.f[this.shardBase + S_PUBS_DONE] = this.pubsDone;
  }

  refused(reasonCode: number, packet: ReplyPacket): void {
    bump(this.errors, errorKey(packet, reasonCode));
  }

  blocked(p: Publisher): void {
    if (p.queued) return;
    p.queued = true;
    this.blockedList.push(p);
    // Arrivals in this thread pump at once (delivered()); those in other threads are polled.
    this.blockedTimer ??= setTimeout(this.onBlockedTimer, 1);
  }

  delivered(): void {
    if (this.blockedList.length > 0) this.pumpBlocked();
  }

  yielded(p: Publisher): void {
    if (p.queued) return;
    p.queued = true;
    this.yieldedList.push(p);
    this.yieldedImmediate ??= setImmediate(this.onYielded);
  }

  private pumpBlocked(): void {
    const list = this.blockedList;
    this.blockedList = [];
    for (const p of list) {
      p.queued = false;
      p.pump();
    }
  }

  private resumeYielded(): void {
    this.yieldedImmediate = null;
    const list = this.yieldedList;
    this.yieldedList = [];
    for (const p of list) {
      p.queued = false;
      p.pump();
    }
  }

  /**
   * Fixed rate: pumps every publisher and sleeps until the next message is due. Node's timers
   * are good to about a millisecond, so the last millisecond is waited with setImmediate; a
   * message sent late carries its due time, and the lateness shows as latency.
   */
  private tick(): void {
    this.tickTimer = null;
    this.tickImmediate = null;
    let next = Number.POSITIVE_INFINITY;
    let sending = false;
    for (const p of this.publishers) {
      p.pump();
      const due = p.nextDue();
      if (due < next) next = due;
      if (p.sending) sending = true;
    }
    // Publishers held back by their window have no due time: poll them every millisecond.
    if (!sending) return;
    const wait = next === Number.POSITIVE_INFINITY ? 1 : next - now();
    if (wait <= 1) this.tickImmediate = setImmediate(this.onTick);
    else this.tickTimer = setTimeout(this.onTick, Math.floor(wait) - 1 || 1);
  }

  // ---- conn --------------------------------------------------------------------------------

  /** Opens this shard's share of the connections, its share of `concurrency` at a time; resolves when all settled. */
  async storm(): Promise<void> {
    const { config, plan } = this;
    const count = shareOf(config.conns, this.index, this.shards);
    const lanes = Math.max(1, shareOf(config.concurrency, this.index, this.shards));
    const f = this.board.f;
    // A TLS file that cannot be read fails the run here, instead of being counted as each connection's error.
    await this.dial();
    this.firstOpen = now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count && !this.aborted) {
        const k = this.index + this.shards * next++;
        this.attempted++;
        try {
          const client = await this.open(`${plan.clientTag}c${k}`);
          this.connackLatency.recordMs(client.connackMs);
          this.lastConnack = now();
          f[this.shardBase + S_CONNECTED] = ++this.connected;
        } catch (err) {
          this.failed++;
          // A refused CONNECT, or a DISCONNECT before the CONNACK (client.ts words the two apart).
          if (err instanceof MqttError) bump(this.errors, errorKey(/^CONNECT\b/.test(err.message) ? 'CONNACK' : 'DISCONNECT', err.reasonCode));
          else bump(this.socketErrors, errorCode(err));
        }
        f[this.shardBase + S_CONN_SETTLED]! += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
    this.startPings();
  }

  // ---- the end -----------------------------------------------------------------------------

  private lost(client: RawClient, loss: Loss): void {
    if (loss.reasonCode !== undefined) bump(this.errors, errorKey('DISCONNECT', loss.reasonCode));
    else bump(this.socketErrors, loss.code ?? 'EIO');
    // Its publisher stops; its subscriber simply receives nothing more (counted as lost).
    const sender = client.sender;
    if (sender instanceof Publisher) sender.stop();
  }

  report(): ShardReport {
    return buildReport({
      plan: this.plan,
      board: this.board,
      publishers: this.publishers,
      subscribers: this.subscribers,
      ackLatency: this.ackLatency,
      deliveryLatency: this.deliveryLatency,
      publishedPerSecond: this.publishedPerSecond,
      deliveredPerSecond: this.deliveredPerSecond,
      errors: this.errors,
      socketErrors: this.socketErrors,
      conn: {
        attempted: this.attempted,
        connected: this.connected,
        failed: this.failed,
        firstOpen: this.firstOpen,
        lastConnack: this.lastConnack,
        connackLatency: this.connackLatency.snapshot(),
      },
    });
  }

  /**
   * DISCONNECT on every connection and waits for them to close. With `retain`, each publisher
   * first clears the retained message it left on its topic (an empty retained PUBLISH,
   * [MQTT-3.3.1-10]): a bench should not leave state behind on the broker.
   */
  async close(): Promise<void> {
    this.clearTimers(true);
    const clearing = new Map<RawClient, Buffer>();
    if (this.config.retain) {
      for (const p of this.publishers) {
        clearing.set(p.client, encode({ type: 'publish', topic: p.topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false }, this.version));
      }
    }
    for (const c of this.clients) c.onLost = null;
    await Promise.all(this.clients.map((c) => c.disconnect(CLOSE_WAIT_MS, clearing.get(c))));
    // Persistent sessions outlive their connections: a clean connect under each id ends it.
    const ids = this.persistentIds.splice(0);
    await eachLimited(ids, SETUP_CONCURRENCY, async (id) => {
      try {
        const c = await this.open(id);
        c.onLost = null;
        await c.disconnect(CLOSE_WAIT_MS);
      } catch {
        // The broker is gone: so is the session, unless it stores it; nothing more to do here.
      }
    });
  }

  /** Closes every connection at once, without DISCONNECT. */
  abort(): void {
    this.aborted = true;
    this.clearTimers(true);
    for (const p of this.publishers) p.stop();
    for (const c of this.clients) {
      c.onLost = null;
      c.destroy();
    }
  }

  private clearTimers(all: boolean): void {
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    if (this.tickImmediate !== null) clearImmediate(this.tickImmediate);
    if (this.blockedTimer !== null) clearTimeout(this.blockedTimer);
    if (this.yieldedImmediate !== null) clearImmediate(this.yieldedImmediate);
    this.tickTimer = this.tickImmediate = this.blockedTimer = this.yieldedImmediate = null;
    for (const p of this.blockedList) p.queued = false;
    for (const p of this.yieldedList) p.queued = false;
    this.blockedList = [];
    this.yieldedList = [];
    if (all && this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }
}
