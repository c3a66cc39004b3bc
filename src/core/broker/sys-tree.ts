/**
 * The `$SYS/broker/…` tree, as mosquitto 2.0 publishes it (its src/sys_tree.c), so dashboards
 * and exporters written for mosquitto read ours unchanged: the same topics, the same payload
 * formats ("N seconds", "%.2f" loads, plain integers), retained, every sysInterval seconds.
 * As mosquitto, the version is published once at start, the uptime every interval, and
 * everything else at start and then only when its text changed.
 *
 * Every value is read from the broker's counters (stats.ts) and its inspector once per
 * interval: nothing here runs per message. The messages go through the broker's ordinary
 * publish (retained, QoS 0), so subscribers' read rules (authorizeRead, an ACL file) decide
 * who sees them, exactly as for any other topic.
 *
 * Differences from mosquitto, on purpose:
 * - Retained without a message expiry: mosquitto gives each value a 60 s expiry but republishes
 *   it only when it changes, so a subscriber arriving a minute after a quiet spell finds
 *   `clients/total` gone; ours stays until replaced.
 * - heap/current is V8's used heap (mosquitto: its allocator's count); heap/maximum the highest
 *   we have seen at an interval.
 * - clients/maximum is the most clients connected at once (stats.clientsMaximum), as mosquitto's
 *   documentation says; mosquitto's code compares it with clients/total instead.
 */
import { readFileSync } from 'node:fs';
import type { Inspector } from './inspect.js';
import { Deadline, type Scheduler } from './scheduler.js';
import type { Session } from './session.js';
import type { BrokerStats } from './stats.js';
import { formatLoad, LOAD_PERIODS, LoadAverage } from './sys-load.js';

/** What the tree reads and where it publishes; the broker hands it these. */
export interface SysSources {
  readonly stats: BrokerStats;
  readonly inspect: Inspector;
  /** Every session, to count what queues hold and the shared subscriptions. */
  readonly sessions: () => Iterable<Session>;
  readonly scheduler: Scheduler;
  /** Publishes one retained QoS 0 message from the broker itself. */
  readonly publish: (topic: string, payload: string) => void;
}

const PREFIX = '$SYS/broker/';

/** The counters behind the load averages, in mosquitto's order. */
const LOADS: ReadonlyArray<readonly [string, (s: BrokerStats, i: Inspector) => number]> = [
  ['messages/received', (s) => s.packetsReceived],
  ['messages/sent', (s) => s.packetsSent],
  ['publish/dropped', (_s, i) => i.droppedCount()],
  ['publish/received', (s) => s.publishReceived],
  ['publish/sent', (s) => s.publishSent],
  ['bytes/received', (s) => s.bytesReceived],
  ['bytes/sent', (s) => s.bytesSent],
  // Sockets accepted (CONNECT or not), and CONNECTs accepted.
  ['sockets', socketsAccepted],
  ['connections', (s) => s.connectsAccepted],
];

/** Running totals published as they are, in mosquitto's order (after the counts). */
const TOTALS: ReadonlyArray<readonly [string, (s: BrokerStats, i: Inspector) => number]> = [
  ['messages/received', (s) => s.packetsReceived],
  ['messages/sent', (s) => s.packetsSent],
  ['publish/messages/dropped', (_s, i) => i.droppedCount()],
  ['publish/messages/received', (s) => s.publishReceived],
  ['publish/messages/sent', (s) => s.publishSent],
  ['bytes/received', (s) => s.bytesReceived],
  ['bytes/sent', (s) => s.bytesSent],
  ['publish/bytes/received', (s) => s.publishBytesReceived],
  ['publish/bytes/sent', (s) => s.publishBytesSent],
];

function socketsAccepted(s: BrokerStats): number {
  let n = 0;
  for (const c of s.listeners.values()) n += c.accepted;
  return n;
}

/** "mqt version X.Y.Z", from the package.json beside src/ or dist/ (read once, when $SYS is on). */
export function sysVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const version = (pkg as { version?: unknown }).version;
    if (typeof version === 'string') return `mqt version ${version}`;
  } catch {
    // An embedder that moved our files: the tree still works, without a number.
  }
  return 'mqt version unknown';
}

interface Load {
  readonly topics: string[];
  readonly read: (s: BrokerStats, i: Inspector) => number;
  average: LoadAverage | undefined;
}

export class SysTree {
  private readonly deadline = new Deadline((now) => this.tick(now));
  private readonly intervalMs: number;
  /** The text last published on each topic: a value goes out again only when it changed. */
  private readonly published = new Map<string, string>();
  private readonly loads: Load[] = LOADS.map(([name, read]) => ({ topics: LOAD_PERIODS.map((p) => `${PREFIX}load/${name}/${p.suffix}`), read, average: undefined }));
  /** When the previous interval's values were taken (ms); 0 before the first. */
  private lastAt = 0;
  private nextAt = 0;
  private heapMaximum = 0;
  private stopped = false;

  constructor(
    private readonly src: SysSources,
    intervalSeconds: number,
    private readonly version: string = sysVersion(),
  ) {
    this.intervalMs = intervalSeconds * 1000;
  }

  /** Publishes the first values now (on the scheduler's next turn), then every interval. */
  start(): void {
    if (this.stopped || this.deadline.scheduled || this.lastAt !== 0) return;
    this.src.scheduler.schedule(this.deadline, Date.now());
  }

  stop(): void {
    this.stopped = true;
    this.src.scheduler.cancel(this.deadline);
  }

  private tick(now: number): void {
    if (this.stopped) return;
    const first = this.lastAt === 0;
    if (first) {
      this.src.publish(`${PREFIX}version`, this.version);
      this.nextAt = now;
    }
    this.update(now);
    this.lastAt = now;
    // On the interval's grid, so a late timer does not push every later one back; after a
    // long stall (a blocked event loop) the grid starts again from now.
    this.nextAt += this.intervalMs;
    if (this.nextAt <= now) this.nextAt = now + this.intervalMs;
    this.src.scheduler.schedule(this.deadline, this.nextAt);
  }

  private update(now: number): void {
    const { stats, inspect } = this.src;
    this.publish('uptime', `${Math.floor((now - stats.startedAt) / 1000)} seconds`, true);

    const total = inspect.sessionCount();
    const connected = inspect.connectedCount();
    this.count('clients/total', total);
    this.count('clients/maximum', stats.clientsMaximum);
    // mosquitto still sends the 1.x names (inactive, active) beside the new ones.
    this.count('clients/inactive', total - connected);
    this.count('clients/disconnected', total - connected);
    this.count('clients/active', connected);
    this.count('clients/connected', connected);
    this.count('clients/expired', stats.clientsExpired);

    const elapsed = (now - this.lastAt) / 1000;
    for (const l of this.loads) {
      const reading = l.read(stats, inspect);
      if (l.average === undefined) l.average = new LoadAverage(reading);
      else l.average.sample(reading, elapsed);
      for (let p = 0; p < l.topics.length; p++) this.publishTopic(l.topics[p]!, formatLoad(l.average.values[p]!), false);
    }

    let deliveries = 0;
    let shared = 0;
    for (const s of this.src.sessions()) {
      const r = s.record;
      deliveries += r.queued + r.inflightCount;
      if (r.subscriptions !== undefined) for (const filter of r.subscriptions.keys()) if (filter.startsWith('$share/')) shared++;
    }
    // Messages the broker holds: retained ones, and deliveries queued or in flight.
    const stored = inspect.retainedCount() + deliveries;
    this.count('messages/stored', stored);
    this.count('store/messages/count', stored);
    this.count('store/messages/bytes', inspect.queueBytes());
    this.count('subscriptions/count', inspect.subscriptionCount());
    this.count('shared_subscriptions/count', shared);
    this.count('retained messages/count', inspect.retainedCount());

    const heap = process.memoryUsage().heapUsed;
    if (heap > this.heapMaximum) this.heapMaximum = heap;
    this.count('heap/current', heap);
    this.count('heap/maximum', this.heapMaximum);

    for (const [name, read] of TOTALS) this.count(name, read(stats, inspect));
  }

  private count(name: string, value: number): void {
    this.publish(name, String(value), false);
  }

  private publish(name: string, text: string, always: boolean): void {
    this.publishTopic(PREFIX + name, text, always);
  }

  private publishTopic(topic: string, text: string, always: boolean): void {
    if (!always && this.published.get(topic) === text) return;
    this.published.set(topic, text);
    this.src.publish(topic, text);
  }
}
