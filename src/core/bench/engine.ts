/**
 * runBench(): the coordinator of a bench run. It plans the run (scenarios.ts), spreads the
 * clients over shards (one in this thread, or one per worker thread), moves every shard
 * through the phases together, watches the shared Board to know when the run is over, and
 * merges the shards' reports into one BenchResult.
 *
 *   connect + subscribe (every shard)  →  warm-up, not counted, until its messages are in
 *   →  measured phase from one start time  →  stop  →  reports  →  DISCONNECT all
 *
 * The measured phase ends when every publisher is done (sent and, at QoS 1/2, acknowledged)
 * and every expected delivery has arrived; after the publishers are done, missing deliveries
 * are waited for at most `timeoutMs`; publishers that make no progress at all for `timeoutMs`
 * end the run too (a stalled broker). Everything is bounded in time and abortable.
 */
import { randomInt } from 'node:crypto';
import { Board, S_ACKED, S_CONN_SETTLED, S_CONNECTED, S_DELIVERED, S_PUBLISHED, S_PUBS_DONE, S_REFUSED, S_UNIQUE } from './board.js';
import { now } from './clock.js';
import { Histogram } from './histogram.js';
import { kernelTcpDelta, readKernelTcp } from './netstat.js';
import { cpuSecondsOf, rssOf } from './procstat.js';
import { makePlan, validateConfig, type Plan } from './scenarios.js';
import type { ShardInit, ShardReport } from './shard.js';
import { errorList } from './shard-report.js';
import type { BenchConfig, BenchProgress, BenchResult, BenchTarget, SubscriberCheck } from './types.js';
import { LocalShard, WorkerShard, type ShardHandle } from './workers.js';

/** How often the coordinator looks at the Board. */
const POLL_MS = 10;
const PROGRESS_MS = 250;
/** Warm-up deliveries: stop waiting once none arrived for this long. */
const WARMUP_SETTLE_MS = 500;

type Progress = ((p: BenchProgress) => void) | undefined;

/** Rejects when the signal aborts; `guard` races every wait of the run against it. */
class AbortWatch {
  readonly aborted: Promise<never>;
  private reject: ((reason: unknown) => void) | undefined;
  private readonly onAbort = (): void => this.reject?.(this.signal?.reason);

  constructor(private readonly signal: AbortSignal | undefined) {
    this.aborted = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Never an unhandled rejection when nobody is waiting at the moment it aborts.
    this.aborted.catch(() => undefined);
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Calls `check` every POLL_MS until it returns true (and `tick` every PROGRESS_MS). */
function poll(watch: AbortWatch, check: (t: number) => boolean, tick?: (t: number) => void): Promise<void> {
  return watch.guard(
    new Promise<void>((resolve) => {
      let lastTick = 0;
      const timer = setInterval(() => {
        const t = now();
        if (tick !== undefined && t - lastTick >= PROGRESS_MS) {
          lastTick = t;
          tick(t);
        }
        if (check(t)) {
          clearInterval(timer);
          resolve();
        }
      }, POLL_MS);
      // Stop polling if the run is aborted.
      watch.aborted.catch(() => clearInterval(timer));
    }),
  );
}

/** The live rate for onProgress: `count` per second over the last second. */
class RateMeter {
  private readonly times: number[] = [];
  private readonly counts: number[] = [];

  rate(t: number, count: number): number {
    this.times.push(t);
    this.counts.push(count);
    while (this.times.length > 2 && t - this.times[1]! >= 1000) {
      this.times.shift();
      this.counts.shift();
    }
    const dt = t - this.times[0]!;
    return dt > 0 ? ((count - this.counts[0]!) * 1000) / dt : 0;
  }
}

function emptySummary(): BenchResult['deliveryLatency'] {
  return new Histogram().summary();
}

function rate(count: number, fromMs: number, toMs: number): number {
  const dt = toMs - fromMs;
  return Number.isFinite(dt) && dt > 0 ? (count * 1000) / dt : 0;
}

/**
 * Runs one benchmark against one target. Rejects when the run cannot start (a refused CONNECT
 * or SUBSCRIBE is an MqttError with the broker's reason code; a socket failure an Error with
 * its code; a bad config a RangeError) or is aborted (with the signal's reason). Failures
 * during the measured part are results, not rejections: lost messages, failure reason codes,
 * dropped connections.
 */
export async function runBench(target: BenchTarget, config: BenchConfig, onProgress?: (p: BenchProgress) => void, signal?: AbortSignal): Promise<BenchResult> {
  validateConfig(config);
  signal?.throwIfAborted();
  const plan = makePlan(config, target.connection.clientId, randomInt(1, 0xffffffff));
  const conn = config.scenario === 'conn';
  // No more threads than there is work for.
  const most = conn ? Math.min(config.conns, config.concurrency) : plan.publishers + plan.subscribers;
  const shards = Math.max(1, Math.min(config.workers, most));
  const board = Board.create(plan.publishers, shards);
  const watch = new AbortWatch(signal);
  const handles: ShardHandle[] = [];
  try {
    for (let w = 0; w < shards; w++) {
      const init: ShardInit = { target, config, plan, board: board.buffer, shard: w, shards };
      handles.push(shards === 1 ? new LocalShard(init) : new WorkerShard(init));
    }
    const result = conn ? await runConn(target, config, board, handles, watch, onProgress) : await runFlow(target, config, plan, board, handles, watch, onProgress);
    await watch.guard(Promise.all(handles.map((h) => h.close())));
    return result;
  } catch (err) {
    await Promise.all(handles.map((h) => h.abort()));
    throw signal?.aborted ? signal.reason : err;
  } finally {
    watch.dispose();
  }
}

interface Meters {
  cpu: NodeJS.CpuUsage;
  broker: number | undefined;
  at: number;
}

function startMeters(target: BenchTarget): Meters {
  return { cpu: process.cpuUsage(), broker: target.brokerPid === undefined ? undefined : cpuSecondsOf(target.brokerPid), at: now() };
}

/**
 * CPU seconds since startMeters. process.cpuUsage() counts every thread of this process, so
 * the workers are in it (and so is a broker running inside this same process, which the
 * command avoids by running the built-in broker in a process of its own).
 */
function readMeters(target: BenchTarget, m: Meters): BenchResult['cpu'] {
  const d = process.cpuUsage(m.cpu);
  const out: BenchResult['cpu'] = { engineSeconds: (d.user + d.system) / 1e6, wallSeconds: (now() - m.at) / 1000 };
  if (target.brokerPid !== undefined && m.broker !== undefined) {
    const b = cpuSecondsOf(target.brokerPid);
    if (b !== undefined) out.brokerSeconds = b - m.broker;
  }
  return out;
}

async function runFlow(
  target: BenchTarget,
  config: BenchConfig,
  plan: Plan,
  board: Board,
  handles: ShardHandle[],
  watch: AbortWatch,
  onProgress: Progress,
): Promise<BenchResult> {
  const P = plan.publishers;
  await watch.guard(Promise.all(handles.map((h) => h.setup())));

  if (plan.warmupCounts.some((c) => c > 0)) await warmup(config, plan, board, handles, watch);

  const meters = startMeters(target);
  const startedAt = new Date().toISOString();
  const startAt = now();
  await watch.guard(Promise.all(handles.map((h) => h.begin('measure', startAt))));

  let lastActivity = -1;
  let lastChange = startAt;
  let doneAt = 0;
  let complete = false;
  let endAt = 0;
  const meter = new RateMeter();
  await poll(
    watch,
    (t) => {
      const activity = board.total(S_PUBLISHED) + board.total(S_ACKED) + board.total(S_REFUSED) + board.total(S_DELIVERED);
      if (activity !== lastActivity) {
        lastActivity = activity;
        lastChange = t;
      }
      endAt = t;
      if (board.total(S_PUBS_DONE) < P) return t - lastChange > config.timeoutMs; // stalled
      if (doneAt === 0) doneAt = t;
      let expected = 0;
      for (let p = 0; p < P; p++) expected += board.accepted(p) * plan.subsFor[p]!;
      if (board.total(S_UNIQUE) >= expected) {
        complete = true;
        return true;
      }
      return t - doneAt >= config.timeoutMs;
    },
    onProgress === undefined
      ? undefined
      : (t) => {
          const published = board.total(S_PUBLISHED);
          onProgress({ elapsedMs: t - startAt, published, delivered: board.total(S_DELIVERED), rate: meter.rate(t, published) });
        },
  );
  await watch.guard(Promise.all(handles.map((h) => h.stop())));
  const cpu = readMeters(target, meters);
  const brokerRssBytes = target.brokerPid === undefined ? undefined : rssOf(target.brokerPid);
  const reports = await watch.guard(Promise.all(handles.map((h) => h.report())));
  return mergeFlow(target, config, startedAt, startAt, endAt, complete, reports, cpu, brokerRssBytes);
}

/** Warm-up: every publisher sends its share (or for warmupMs), then its deliveries settle. */
async function warmup(config: BenchConfig, plan: Plan, board: Board, handles: ShardHandle[], watch: AbortWatch): Promise<void> {
  const P = plan.publishers;
  const startAt = now();
  await watch.guard(Promise.all(handles.map((h) => h.begin('warmup', startAt))));
  let lastActivity = -1;
  let lastChange = startAt;
  await poll(watch, (t) => {
    let sent = 0;
    let want = 0;
    let arrived = 0;
    for (let p = 0; p < P; p++) {
      const s = board.f[board.sentAllIndex(p)]!;
      sent += s;
      want += s * plan.subsFor[p]!;
      arrived += board.arrivedFrom(p);
    }
    const activity = sent + arrived;
    if (activity !== lastActivity) {
      lastActivity = activity;
      lastChange = t;
    }
    const idle = t - lastChange;
    if (board.total(S_PUBS_DONE) < P) return idle > config.timeoutMs;
    return arrived >= want || idle > Math.min(WARMUP_SETTLE_MS, config.timeoutMs);
  });
}

function mergeFlow(
  target: BenchTarget,
  config: BenchConfig,
  startedAt: string,
  startAt: number,
  endAt: number,
  complete: boolean,
  reports: ShardReport[],
  cpu: BenchResult['cpu'],
  brokerRssBytes: number | undefined,
): BenchResult {
  const ack = new Histogram();
  const delivery = new Histogram();
  const errors = new Map<number, number>();
  const socketErrors = new Map<string, number>();
  let published = 0;
  let acked = 0;
  let delivered = 0;
  let firstSend = Number.POSITIVE_INFINITY;
  let lastSend = Number.NEGATIVE_INFINITY;
  let lastAck = Number.NEGATIVE_INFINITY;
  let lastDelivery = Number.NEGATIVE_INFINITY;
  const pubPerSecond: number[] = [];
  const delPerSecond: number[] = [];
  const subscribers: SubscriberCheck[] = [];
  const addRows = (into: number[], rows: number[]): void => {
    for (let i = 0; i < rows.length; i++) into[i] = (into[i] ?? 0) + rows[i]!;
  };
  for (const r of reports) {
    ack.addSnapshot(r.ackLatency);
    delivery.addSnapshot(r.deliveryLatency);
    for (const [code, n] of r.errors) errors.set(code, (errors.get(code) ?? 0) + n);
    for (const [code, n] of r.socketErrors) socketErrors.set(code, (socketErrors.get(code) ?? 0) + n);
    published += r.published;
    acked += r.acknowledged;
    delivered += r.delivered;
    firstSend = Math.min(firstSend, r.firstSend);
    lastSend = Math.max(lastSend, r.lastSend);
    lastAck = Math.max(lastAck, r.lastAck);
    lastDelivery = Math.max(lastDelivery, r.lastDelivery);
    addRows(pubPerSecond, r.publishedPerSecond);
    addRows(delPerSecond, r.deliveredPerSecond);
    subscribers.push(...r.subscribers);
  }
  subscribers.sort((a, b) => a.index - b.index);
  const acknowledged = config.qos === 0 ? published : acked;
  const publishEnd = config.qos === 0 ? lastSend : lastAck;
  const from = Number.isFinite(firstSend) ? firstSend : startAt;
  const end = complete ? Math.max(publishEnd, lastDelivery, from) : endAt;
  // An incomplete run ended by its timeout: the time since anything last happened was waiting.
  const lastActivity = Math.max(lastSend, lastAck, lastDelivery, from);
  const waitedMs = complete ? 0 : Math.max(0, end - lastActivity);
  const rows = Math.max(pubPerSecond.length, delPerSecond.length);
  const perSecond: BenchResult['perSecond'] = [];
  // Row k counts what happened in second [k-1, k) of the measured phase.
  for (let i = 0; i < rows; i++) perSecond.push({ second: i + 1, published: pubPerSecond[i] ?? 0, delivered: delPerSecond[i] ?? 0 });
  let expected = 0;
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  for (const s of subscribers) {
    expected += s.expected;
    lost += s.lost;
    duplicated += s.duplicated;
    outOfOrder += s.outOfOrder;
  }
  return {
    target: target.name,
    config,
    startedAt,
    durationMs: Math.max(0, end - from),
    publishMs: Number.isFinite(publishEnd) ? Math.max(0, publishEnd - from) : 0,
    waitedMs,
    published,
    acknowledged,
    delivered,
    expected,
    publishRate: rate(acknowledged, from, publishEnd),
    deliveryRate: rate(delivered, from, lastDelivery),
    perSecond,
    ackLatency: config.qos === 0 ? undefined : ack.summary(),
    deliveryLatency: delivery.summary(),
    lost,
    duplicated,
    outOfOrder,
    subscribers,
    errors: errorList(errors),
    socketErrors: [...socketErrors].sort((a, b) => a[0].localeCompare(b[0])).map(([code, count]) => ({ code, count })),
    reconnects: 0, // clients are never reconnected: see shard.ts
    cpu,
    brokerRssBytes,
    histograms: { ack: config.qos === 0 ? undefined : ack.snapshot(), delivery: delivery.snapshot() },
  };
}

async function runConn(target: BenchTarget, config: BenchConfig, board: Board, handles: ShardHandle[], watch: AbortWatch, onProgress: Progress): Promise<BenchResult> {
  const kernelBefore = readKernelTcp();
  const meters = startMeters(target);
  const startedAt = new Date().toISOString();
  const startAt = now();
  const meter = new RateMeter();
  const storm = watch.guard(Promise.all(handles.map((h) => h.storm())));
  let stormDone = false;
  void storm.then(
    () => (stormDone = true),
    () => (stormDone = true),
  );
  const progress =
    onProgress === undefined
      ? undefined
      : (t: number): void => {
          const connected = board.total(S_CONNECTED);
          onProgress({ elapsedMs: t - startAt, published: connected, delivered: 0, rate: meter.rate(t, connected) });
        };
  // Each attempt has its own timeout, so the storm ends; polling only feeds onProgress.
  await poll(watch, () => stormDone || board.total(S_CONN_SETTLED) >= config.conns, progress);
  await storm;
  const endAt = now();
  // Every connection is still open: the broker's memory now is its memory with `conns` clients.
  const brokerRssBytes = target.brokerPid === undefined ? undefined : rssOf(target.brokerPid);
  const cpu = readMeters(target, meters);
  const kernel = kernelTcpDelta(kernelBefore, readKernelTcp());
  const reports = await watch.guard(Promise.all(handles.map((h) => h.report())));
  const connack = new Histogram();
  const errors = new Map<number, number>();
  const socketErrors = new Map<string, number>();
  let attempted = 0;
  let connected = 0;
  let failed = 0;
  let firstOpen = Number.POSITIVE_INFINITY;
  let lastConnack = Number.NEGATIVE_INFINITY;
  for (const r of reports) {
    connack.addSnapshot(r.conn.connackLatency);
    for (const [code, n] of r.errors) errors.set(code, (errors.get(code) ?? 0) + n);
    for (const [code, n] of r.socketErrors) socketErrors.set(code, (socketErrors.get(code) ?? 0) + n);
    attempted += r.conn.attempted;
    connected += r.conn.connected;
    failed += r.conn.failed;
    firstOpen = Math.min(firstOpen, r.conn.firstOpen);
    lastConnack = Math.max(lastConnack, r.conn.lastConnack);
  }
  return {
    target: target.name,
    config,
    startedAt,
    durationMs: endAt - startAt,
    published: 0,
    acknowledged: 0,
    delivered: 0,
    expected: 0,
    publishRate: 0,
    deliveryRate: 0,
    perSecond: [],
    ackLatency: undefined,
    deliveryLatency: emptySummary(),
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    subscribers: [],
    errors: errorList(errors),
    socketErrors: [...socketErrors].sort((a, b) => a[0].localeCompare(b[0])).map(([code, count]) => ({ code, count })),
    reconnects: 0,
    cpu,
    brokerRssBytes,
    histograms: { connack: connack.snapshot() },
    conn: {
      attempted,
      connected,
      failed,
      rate: rate(connected, firstOpen, lastConnack),
      connackLatency: connack.summary(),
      listenOverflows: kernel?.listenOverflows,
      kernel,
    },
  };
}
