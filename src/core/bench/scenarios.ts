/**
 * From a BenchConfig to a Plan: who publishes where, who subscribes to what, how many
 * messages each publisher sends, and which publishers each subscriber hears. Pure data, the
 * same in every worker thread (it crosses to them by structured clone).
 *
 *   pub      P publishers → S subscribers. topicMode 'same': everyone on `topic` with %i = 0.
 *            'distinct': publisher i on topic(i), subscriber j on topic(j mod P).
 *   fan-in   publisher i on topic(i), every subscriber on the wildcard filter made by turning
 *            each level that holds %i into '+' (presets: 10 → 1, see SCENARIO_PRESETS).
 *   fan-out  every publisher and subscriber on topic(0) (preset 1 → 10).
 *   conn     no topics: connections only.
 * Where a topic must differ per publisher and `topic` has no %i, '/%i' is appended.
 */
import { isValidTopicFilter, isValidTopicName } from '../topic/validate.js';
import { MAX_PUBLISHERS, PAYLOAD_HEADER_BYTES } from './payload.js';
import type { BenchConfig, Scenario } from './types.js';

/** The client counts the fan-in and fan-out presets stand for; the command fills them in. */
export const SCENARIO_PRESETS: Readonly<Record<Scenario, { pubs: number; subs: number } | undefined>> = {
  pub: undefined,
  'fan-in': { pubs: 10, subs: 1 },
  'fan-out': { pubs: 1, subs: 10 },
  conn: undefined,
};

/** QoS 0 messages on their way to one subscriber (sent, not yet received), shared by the publishers it hears. */
export const QOS0_WINDOW_PER_SUBSCRIBER = 5000;

/** Largest packet-id window: ids are 16 bits and 0 is not one. */
export const MAX_INFLIGHT = 65_535;

export interface Plan {
  /** In every payload header: tells this run's messages from anyone else's. */
  runId: number;
  /** Client ids are `${clientTag}p3`, `${clientTag}s0`, `${clientTag}c17`. */
  clientTag: string;
  publishers: number;
  subscribers: number;
  pubTopics: string[];
  subFilters: string[];
  /** The one publisher subscriber j hears, or -1 for all of them. */
  subSource: number[];
  /** Subscribers that receive publisher p's messages. */
  subsFor: number[];
  /** Counted messages per publisher (Infinity: until the duration is over). */
  measureCounts: number[];
  /** Warm-up messages per publisher (Infinity: until warmupMs is over; 0: no warm-up). */
  warmupCounts: number[];
  /** QoS 0 flat out: messages of publisher p allowed on their way to each of its subscribers. */
  qos0Window: number[];
  /** Effective QoS 1/2 window per publisher (before the broker's Receive Maximum). */
  inflight: number;
}

export function fillTopic(topic: string, index: number): string {
  return topic.replaceAll('%i', String(index));
}

/** `topic` with each level that holds %i replaced by '+': the filter that hears every publisher. */
export function wildcardOf(topic: string): string {
  return topic
    .split('/')
    .map((level) => (level.includes('%i') ? '+' : level))
    .join('/');
}

function perPublisher(total: number, pubs: number): number[] {
  const base = Math.floor(total / pubs);
  const extra = total % pubs;
  return Array.from({ length: pubs }, (_, i) => base + (i < extra ? 1 : 0));
}

function positiveInt(name: string, v: number | undefined, min: number): void {
  if (v === undefined || !Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
}

/** Throws RangeError naming the first field of `config` that cannot run. */
export function validateConfig(config: BenchConfig): void {
  positiveInt('workers', config.workers, 1);
  positiveInt('timeoutMs', config.timeoutMs, 1);
  if (config.protocolVersion !== 4 && config.protocolVersion !== 5) throw new RangeError(`protocolVersion must be 4 or 5, got ${String(config.protocolVersion)}`);
  if (config.scenario === 'conn') {
    positiveInt('conns', config.conns, 1);
    positiveInt('concurrency', config.concurrency, 1);
    return;
  }
  if (!['pub', 'fan-in', 'fan-out'].includes(config.scenario)) throw new RangeError(`unknown scenario ${String(config.scenario)}`);
  positiveInt('pubs', config.pubs, 1);
  if (config.pubs > MAX_PUBLISHERS) throw new RangeError(`pubs must be at most ${MAX_PUBLISHERS}, got ${config.pubs}`);
  positiveInt('subs', config.subs, 0);
  if (config.qos !== 0 && config.qos !== 1 && config.qos !== 2) throw new RangeError(`qos must be 0, 1 or 2, got ${String(config.qos)}`);
  positiveInt('size', config.size, PAYLOAD_HEADER_BYTES);
  positiveInt('inflight', config.inflight, 1);
  if (config.qos0Window !== undefined) positiveInt('qos0Window', config.qos0Window, 1);
  if (config.msgs === undefined && config.durationMs === undefined) throw new RangeError('give msgs or durationMs');
  if (config.msgs !== undefined && config.durationMs !== undefined) throw new RangeError('give msgs or durationMs, not both');
  if (config.msgs !== undefined) positiveInt('msgs', config.msgs, 1);
  if (config.durationMs !== undefined && !(config.durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${config.durationMs}`);
  if (config.rate !== undefined && !(config.rate > 0 && Number.isFinite(config.rate))) throw new RangeError(`rate must be > 0, got ${config.rate}`);
  if (config.warmupMsgs !== undefined) positiveInt('warmupMsgs', config.warmupMsgs, 0);
  if (config.warmupMs !== undefined && !(config.warmupMs >= 0)) throw new RangeError(`warmupMs must be ≥ 0, got ${config.warmupMs}`);
  if (config.topic === '') throw new RangeError('topic must not be empty');
}

export function makePlan(config: BenchConfig, clientIdPrefix: string, runId: number): Plan {
  validateConfig(config);
  const clientTag = `${clientIdPrefix === '' ? 'mqtb' : clientIdPrefix}-${runId.toString(36)}`;
  const empty = { runId, clientTag, publishers: 0, subscribers: 0, pubTopics: [], subFilters: [], subSource: [], subsFor: [], measureCounts: [], warmupCounts: [], qos0Window: [], inflight: 1 };
  if (config.scenario === 'conn') return empty;
  const P = config.pubs;
  const S = config.subs;
  const perTopic = config.scenario === 'fan-in' || (config.scenario === 'pub' && config.topicMode === 'distinct');
  const topic = perTopic && !config.topic.includes('%i') ? `${config.topic}/%i` : config.topic;
  const pubTopics = Array.from({ length: P }, (_, i) => fillTopic(topic, perTopic ? i : 0));
  let subFilters: string[];
  let subSource: number[];
  if (config.scenario === 'fan-in') {
    subFilters = Array.from({ length: S }, () => wildcardOf(topic));
    subSource = new Array<number>(S).fill(-1);
  } else if (perTopic) {
    subFilters = Array.from({ length: S }, (_, j) => fillTopic(topic, j % P));
    subSource = Array.from({ length: S }, (_, j) => j % P);
  } else {
    subFilters = Array.from({ length: S }, () => pubTopics[0]!);
    subSource = new Array<number>(S).fill(-1);
  }
  for (const t of new Set(pubTopics)) if (!isValidTopicName(t)) throw new RangeError(`topic ${JSON.stringify(t)} is not a valid topic name`);
  for (const f of new Set(subFilters)) if (!isValidTopicFilter(f)) throw new RangeError(`subscription ${JSON.stringify(f)} is not a valid topic filter`);

  const subsFor = new Array<number>(P).fill(0);
  for (const src of subSource) {
    if (src < 0) for (let p = 0; p < P; p++) subsFor[p]!++;
    else subsFor[src]!++;
  }
  // The publishers a subscriber hears share its QoS 0 window.
  const hearsAll = subSource.some((s) => s < 0);
  const perSubscriber = config.qos0Window ?? QOS0_WINDOW_PER_SUBSCRIBER;
  const qos0Window = new Array<number>(P).fill(Math.max(16, Math.ceil(perSubscriber / (hearsAll ? P : 1))));
  const measureCounts = config.msgs !== undefined ? perPublisher(config.msgs, P) : new Array<number>(P).fill(Number.POSITIVE_INFINITY);
  const warmupCounts =
    config.warmupMsgs !== undefined && config.warmupMsgs > 0
      ? perPublisher(config.warmupMsgs, P)
      : new Array<number>(P).fill(config.warmupMs !== undefined && config.warmupMs > 0 ? Number.POSITIVE_INFINITY : 0);
  return {
    runId,
    clientTag,
    publishers: P,
    subscribers: S,
    pubTopics,
    subFilters,
    subSource,
    subsFor,
    measureCounts,
    warmupCounts,
    qos0Window,
    inflight: Math.min(config.inflight, MAX_INFLIGHT),
  };
}

/** Messages subscriber j should receive, per publisher, given what each publisher had accepted. */
export function expectedFor(plan: Plan, j: number, accepted: ArrayLike<number>): number[] {
  const src = plan.subSource[j]!;
  const out = new Array<number>(plan.publishers).fill(0);
  if (src < 0) for (let p = 0; p < plan.publishers; p++) out[p] = accepted[p]!;
  else out[src] = accepted[src]!;
  return out;
}

/**
 * Which shard (thread) runs a client: round robin over publishers then subscribers, so that
 * one publisher and one subscriber on two workers land on different threads.
 */
export function publisherShard(i: number, shards: number): number {
  return i % shards;
}

export function subscriberShard(plan: Plan, j: number, shards: number): number {
  return (plan.publishers + j) % shards;
}

/** conn: how many of `total` connections shard w opens. */
export function shareOf(total: number, w: number, shards: number): number {
  return Math.floor(total / shards) + (w < total % shards ? 1 : 0);
}
