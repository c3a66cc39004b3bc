/**
 * What a bench run says, as plain data: the verdict (did the broker keep its delivery
 * guarantees?), the lines and latency rows of the summary, and the one JSON object of
 * `--json`. No colour and no layout here: src/commands/render/bench-output.ts styles these,
 * tests read them directly. Numbers are formatted the same on every machine (no locale).
 */
import { failureLabel, failureName, lossHints, refusedPublishes } from './loss-hints.js';
import { backlogOverflowed } from './netstat.js';
import { fillTopic, wildcardOf } from './scenarios.js';
import type { BenchConfig, BenchResult, KernelTcpCounters, LatencySummary } from './types.js';

// ---- numbers --------------------------------------------------------------------------

/** 1234567 → '1,234,567'; locale-free so piped output is the same everywhere. */
export function formatCount(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + Math.round(Math.abs(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A rate in whole units per second: '70,423'. */
export function formatRate(perSecond: number): string {
  return formatCount(perSecond);
}

/** Milliseconds with three significant digits: 0.412, 4.12, 41.2, 412, 1,204. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms === 0) return '0';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return formatCount(ms);
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${formatCount(n)} ${n === 1 ? one : many}`;

// ---- the verdict ----------------------------------------------------------------------------

/** The exit status of a run that broke a delivery guarantee (documented in `mqt bench --help`). */
export const GUARANTEE_BROKEN_EXIT = 3;

export interface Verdict {
  /** False when the broker lost a QoS ≥ 1 message or duplicated a QoS 2 one. */
  ok: boolean;
  /** One line per broken guarantee, e.g. "lost 12 of 100,000 QoS 1 deliveries". */
  problems: string[];
}

/**
 * QoS 1 promises at least once, QoS 2 exactly once (MQTT 3.1.1 and 5.0, sections 4.3.2 and
 * 4.3.3); QoS 0 loss and QoS 1 duplicates are allowed by the spec and only reported.
 */
export function verdict(r: BenchResult): Verdict {
  const problems: string[] = [];
  const qos = r.config.qos;
  if (r.config.scenario !== 'conn') {
    if (qos >= 1 && r.lost > 0) problems.push(`lost ${formatCount(r.lost)} of ${formatCount(r.expected)} QoS ${qos} deliveries`);
    if (qos === 2 && r.duplicated > 0) problems.push(`duplicated ${formatCount(r.duplicated)} QoS 2 deliveries`);
  }
  return { ok: problems.length === 0, problems };
}

// ---- the summary ---------------------------------------------------------------------------

/** How a line should look: render/ maps these to colours. */
export type Tone = 'plain' | 'good' | 'warn' | 'bad' | 'dim';

export interface SummaryLine {
  label: string;
  text: string;
  tone: Tone;
}

export interface LatencyRow {
  label: string;
  /** Formatted ms in the order of LATENCY_COLUMNS. */
  cells: string[];
}

export const LATENCY_COLUMNS = ['p50', 'p90', 'p99', 'p99.9', 'max'] as const;

export interface BenchSummary {
  /** e.g. "pub 1 → 1 against builtin". */
  title: string;
  /** The configuration in one line. */
  config: string;
  /** Counts and rates, shown before the latency table. */
  rates: SummaryLine[];
  latency: LatencyRow[];
  /** Correctness, errors and CPU, shown after it. */
  checks: SummaryLine[];
  verdict: Verdict;
}

function clients(config: BenchConfig): string {
  return `${config.pubs} → ${config.subs}`;
}

function protocolName(v: 4 | 5): string {
  return v === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
}

function warmupText(config: BenchConfig): string | undefined {
  if (config.warmupMsgs !== undefined && config.warmupMsgs > 0) return `warm-up ${plural(config.warmupMsgs, 'msg')}`;
  if (config.warmupMs !== undefined && config.warmupMs > 0) return `warm-up ${formatSeconds(config.warmupMs)}`;
  return undefined;
}

/** Where the messages go, as the engine's plan lays it out (scenarios.ts). */
function topicText(config: BenchConfig): string {
  const perPublisher = config.scenario === 'fan-in' || (config.scenario === 'pub' && config.topicMode === 'distinct');
  if (!perPublisher) return `topic ${fillTopic(config.topic, 0)}`;
  const topic = config.topic.includes('%i') ? config.topic : `${config.topic}/%i`;
  return config.scenario === 'fan-in' ? `topics ${topic} → ${wildcardOf(topic)}` : `topics ${topic}`;
}

/** The configuration in one line, for the summary and the spinner. */
export function describeConfig(config: BenchConfig): string {
  if (config.scenario === 'conn') {
    return [`${formatCount(config.conns)} connections`, `${formatCount(config.concurrency)} at a time`, protocolName(config.protocolVersion)].join(' · ');
  }
  const parts = [`QoS ${config.qos}`, `${formatCount(config.size)} B`];
  if (config.msgs !== undefined) parts.push(plural(config.msgs, 'msg'));
  if (config.durationMs !== undefined) parts.push(`for ${formatSeconds(config.durationMs)}`);
  parts.push(config.rate === undefined ? 'flat out' : `${formatRate(config.rate)} msg/s`);
  if (config.qos > 0) parts.push(`window ${formatCount(config.inflight)}`);
  const warmup = warmupText(config);
  if (warmup !== undefined) parts.push(warmup);
  if (config.retain) parts.push('retained');
  parts.push(protocolName(config.protocolVersion));
  parts.push(topicText(config));
  if (config.workers > 1) parts.push(`${config.workers} workers`);
  return parts.join(' · ');
}

export function describeRun(config: BenchConfig, target: string): string {
  return config.scenario === 'conn' ? `conn against ${target}` : `${config.scenario} ${clients(config)} against ${target}`;
}

function latencyCells(l: LatencySummary): string[] {
  return [l.p50, l.p90, l.p99, l.p999, l.max].map(formatMs);
}

function errorsText(r: BenchResult): { text: string; tone: Tone } {
  const parts = r.errors.map((e) => `${failureLabel(e.reasonCode, e.packet, r.config.protocolVersion)} ×${formatCount(e.count)}`);
  for (const e of r.socketErrors ?? []) parts.push(`${e.code} ×${formatCount(e.count)}`);
  if (r.reconnects > 0) parts.push(plural(r.reconnects, 'reconnect'));
  return parts.length === 0 ? { text: 'none', tone: 'good' } : { text: parts.join(' · '), tone: 'warn' };
}

function cpuText(r: BenchResult): string {
  const parts = [`engine ${r.cpu.engineSeconds.toFixed(2)} s`];
  if (r.cpu.brokerSeconds !== undefined) parts.push(`broker ${r.cpu.brokerSeconds.toFixed(2)} s`);
  if (r.brokerRssBytes !== undefined) parts.push(`broker RSS ${formatBytes(r.brokerRssBytes)}`);
  return parts.join(' · ');
}

function correctnessLine(r: BenchResult, v: Verdict): SummaryLine {
  const text = `lost ${formatCount(r.lost)} · duplicated ${formatCount(r.duplicated)} · out of order ${formatCount(r.outOfOrder)}`;
  if (!v.ok) return { label: 'correctness', text: `${text}: ${v.problems.join(', ')}`, tone: 'bad' };
  // Allowed by the spec (QoS 0 loss, QoS 1 duplicates, reordering across reconnects) but worth seeing.
  const clean = r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0;
  return { label: 'correctness', text, tone: clean ? 'good' : 'warn' };
}

/** QoS 1/2: how many of the publishes the broker acknowledged, when not all. */
function acknowledgedLine(r: BenchResult): SummaryLine | undefined {
  if (r.config.qos === 0 || r.acknowledged >= r.published) return undefined;
  const refused = refusedPublishes(r);
  const text = `${formatCount(r.acknowledged)} of ${formatCount(r.published)}${refused > 0 ? ` · refused ${formatCount(Math.min(refused, r.published))}` : ''}`;
  return { label: 'acknowledged', text, tone: 'warn' };
}

/** The time the run spent at its end waiting for what never came, and for what. */
function waitedLine(r: BenchResult): SummaryLine | undefined {
  const ms = r.waitedMs ?? 0;
  if (!(ms > 0)) return undefined;
  const missing: string[] = [];
  if (r.lost > 0) missing.push(plural(r.lost, 'missing delivery', 'missing deliveries'));
  // Refused publishes were answered: only the unanswered ones were waited for.
  const unacked = r.config.qos === 0 ? 0 : r.published - r.acknowledged - refusedPublishes(r);
  if (unacked > 0) missing.push(plural(unacked, 'acknowledgement'));
  const what = missing.length > 0 ? `for ${missing.join(' and ')}` : 'with nothing arriving';
  return { label: 'waited', text: `${formatSeconds(ms)} ${what} (--timeout ${formatSeconds(r.config.timeoutMs)})`, tone: 'warn' };
}

/**
 * conn: the kernel line, only when the counters of dropped SYNs moved. They are the machine's,
 * not this run's: another process may have moved them, which the line says.
 */
export function kernelLines(kernel: KernelTcpCounters | undefined): SummaryLine[] {
  if (kernel === undefined || !backlogOverflowed(kernel)) return [];
  const parts = [plural(kernel.listenOverflows, 'listen queue overflow')];
  // ListenDrops counts overflows too: only the difference is news.
  if (kernel.listenDrops > kernel.listenOverflows) parts.push(plural(kernel.listenDrops - kernel.listenOverflows, 'other listen drop'));
  parts.push(plural(kernel.synRetrans, 'SYN retransmit'));
  const list = parts.length === 2 ? parts.join(' and ') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`;
  return [
    { label: 'kernel', text: `${list} during the run (counted on this machine, any process)`, tone: 'warn' },
    {
      label: '',
      text: "the broker's listen backlog was full, so connections waited for the kernel's SYN retries (1 s, 3 s, 7 s… after the first SYN) before their CONNECT, which CONNACK latency does not show: conn/s is then the backlog's, not the broker's",
      tone: 'warn',
    },
  ];
}

/**
 * A rate line. Messages that all went out (or arrived) within the clock's resolution have no
 * span to divide by: the engine reports 0 then, which must not read as "nothing was sent".
 */
function rateText(rate: number, count: number): string {
  if (rate === 0 && count > 0) return `not measurable: all ${formatCount(count)} within 1 ms (give more --msgs, or --duration)`;
  return `${formatRate(rate)} msg/s`;
}

/** The summary of one run. */
export function summarize(r: BenchResult): BenchSummary {
  const v = verdict(r);
  const rates: SummaryLine[] = [];
  const latency: LatencyRow[] = [];
  const checks: SummaryLine[] = [];
  const c = r.config;
  if (c.scenario === 'conn' && r.conn !== undefined) {
    const k = r.conn;
    rates.push({ label: 'connected', text: `${formatCount(k.connected)} of ${formatCount(k.attempted)} in ${formatSeconds(r.durationMs)}`, tone: k.failed > 0 ? 'warn' : 'plain' });
    rates.push({ label: 'connect rate', text: `${formatRate(k.rate)} conn/s`, tone: 'plain' });
    if (k.failed > 0) rates.push({ label: 'failed', text: formatCount(k.failed), tone: 'warn' });
    rates.push(...kernelLines(k.kernel));
    latency.push({ label: 'CONNECT → CONNACK', cells: latencyCells(k.connackLatency) });
  } else {
    // The span of the publish rate (first send to last ack), so the two lines agree; the wait for stragglers is its own line.
    rates.push({ label: 'published', text: `${formatCount(r.published)} in ${formatSeconds(r.publishMs ?? r.durationMs)}`, tone: 'plain' });
    rates.push({ label: 'publish rate', text: rateText(r.publishRate, r.acknowledged), tone: 'plain' });
    const acks = acknowledgedLine(r);
    if (acks !== undefined) rates.push(acks);
    // With no subscribers (--subs 0) the run measures publishing only.
    if (c.subs > 0) {
      rates.push({ label: 'delivered', text: `${formatCount(r.delivered)} of ${formatCount(r.expected)}`, tone: r.delivered < r.expected ? 'warn' : 'plain' });
      rates.push({ label: 'delivery rate', text: rateText(r.deliveryRate, r.delivered), tone: 'plain' });
    }
    const waited = waitedLine(r);
    if (waited !== undefined) rates.push(waited);
    if (r.ackLatency !== undefined) latency.push({ label: c.qos === 2 ? 'publish → PUBCOMP' : 'publish → PUBACK', cells: latencyCells(r.ackLatency) });
    if (r.deliveryLatency.count > 0) latency.push({ label: 'publish → delivery', cells: latencyCells(r.deliveryLatency) });
    checks.push(correctnessLine(r, v));
  }
  const errors = errorsText(r);
  checks.push({ label: 'errors', text: errors.text, tone: errors.tone });
  lossHints(r).forEach((text, i) => checks.push({ label: i === 0 ? 'why' : '', text, tone: 'warn' }));
  checks.push({ label: 'cpu', text: cpuText(r), tone: 'dim' });
  return { title: describeRun(c, r.target), config: describeConfig(c), rates, latency, checks, verdict: v };
}

// ---- JSON ---------------------------------------------------------------------------------

/** `--json`: one object per run. Keys are always present (null when not measured), so scripts need no guards. */
export interface BenchJson {
  target: string;
  brokerPid: number | null;
  scenario: BenchConfig['scenario'];
  config: BenchConfig;
  startedAt: string;
  /** First counted send to the last expected delivery, or to the end of the wait for missing ones. */
  durationMs: number;
  /** First counted send to the last acknowledgement (QoS 0: last send): the span of rates.publish. */
  publishMs: number;
  /** Of durationMs, the time spent at the end waiting for what never came (0 when everything arrived). */
  waitedMs: number;
  totals: { published: number; acknowledged: number; expected: number; delivered: number };
  rates: { publish: number; delivery: number };
  perSecond: BenchResult['perSecond'];
  latencyMs: { ack: LatencySummary | null; delivery: LatencySummary | null; connack: LatencySummary | null };
  correctness: { lost: number; duplicated: number; outOfOrder: number; subscribers: BenchResult['subscribers'] };
  /** Failure reason codes by the packet that carried them (null: not known). */
  errors: { reasonCode: number; reason: string; packet: string | null; count: number }[];
  /** Connections that failed or dropped below MQTT, by error code (ECONNRESET, ETIMEDOUT, ECLOSED, …). */
  socketErrors: { code: string; count: number }[];
  reconnects: number;
  cpu: { engineSeconds: number; brokerSeconds: number | null };
  brokerRssBytes: number | null;
  /**
   * kernel: how much this machine's TCP counters moved during the storm (any process counts;
   * null without Linux /proc).
   */
  conn: { attempted: number; connected: number; failed: number; rate: number; kernel: KernelTcpCounters | null } | null;
  ok: boolean;
  problems: string[];
  /** What the "why" lines say: the likely causes of lost, refused or unanswered messages. */
  hints: string[];
}

export function benchJson(r: BenchResult, brokerPid?: number): BenchJson {
  const v = verdict(r);
  const conn = r.conn;
  return {
    target: r.target,
    brokerPid: brokerPid ?? null,
    scenario: r.config.scenario,
    config: r.config,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    publishMs: r.publishMs ?? r.durationMs,
    waitedMs: r.waitedMs ?? 0,
    totals: { published: r.published, acknowledged: r.acknowledged, expected: r.expected, delivered: r.delivered },
    rates: { publish: r.publishRate, delivery: r.deliveryRate },
    perSecond: r.perSecond,
    latencyMs: {
      ack: r.ackLatency ?? null,
      delivery: r.deliveryLatency.count > 0 ? r.deliveryLatency : null,
      connack: conn?.connackLatency ?? null,
    },
    correctness: { lost: r.lost, duplicated: r.duplicated, outOfOrder: r.outOfOrder, subscribers: r.subscribers },
    errors: r.errors.map((e) => ({ reasonCode: e.reasonCode, reason: failureName(e.reasonCode, e.packet, r.config.protocolVersion), packet: e.packet ?? null, count: e.count })),
    socketErrors: r.socketErrors ?? [],
    reconnects: r.reconnects,
    cpu: { engineSeconds: r.cpu.engineSeconds, brokerSeconds: r.cpu.brokerSeconds ?? null },
    brokerRssBytes: r.brokerRssBytes ?? null,
    conn: conn === undefined ? null : { attempted: conn.attempted, connected: conn.connected, failed: conn.failed, rate: conn.rate, kernel: conn.kernel ?? null },
    ok: v.ok,
    problems: v.problems,
    hints: lossHints(r),
  };
}
