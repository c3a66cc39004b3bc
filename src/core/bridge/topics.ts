/**
 * A bridge's topic lines as mosquitto's bridge_topic reads them: each has a filter on both sides
 * (prefix + pattern; the empty pattern makes the two prefixes the two topics), and a message
 * crossing takes the other side's prefix in place of its own. The first line of the right
 * direction whose filter matches decides; a message no line matches crosses unchanged, as in
 * mosquitto (a persistent remote session may still hold subscriptions of an older config).
 */
import { topicMatches } from '../topic/index.js';
import type { QoS } from '../codec/types.js';
import type { BridgeTopic } from './types.js';

export interface TopicRoute {
  readonly localFilter: string;
  readonly remoteFilter: string;
  readonly qos: QoS;
  readonly localPrefix: string;
  readonly remotePrefix: string;
  readonly out: boolean;
  readonly in: boolean;
}

export function routes(topics: ReadonlyArray<BridgeTopic>): TopicRoute[] {
  return topics.map((t) => ({
    localFilter: t.localPrefix + t.pattern,
    remoteFilter: t.remotePrefix + t.pattern,
    qos: t.qos,
    localPrefix: t.localPrefix,
    remotePrefix: t.remotePrefix,
    out: t.direction !== 'in',
    in: t.direction !== 'out',
  }));
}

/** The first outgoing route whose local filter matches `topic`; undefined: none. */
export function outRoute(list: readonly TopicRoute[], topic: string): TopicRoute | undefined {
  for (const r of list) if (r.out && topicMatches(r.localFilter, topic)) return r;
  return undefined;
}

export function inRoute(list: readonly TopicRoute[], topic: string): TopicRoute | undefined {
  for (const r of list) if (r.in && topicMatches(r.remoteFilter, topic)) return r;
  return undefined;
}

/** A local topic as the remote names it. */
export function toRemote(r: TopicRoute | undefined, topic: string): string {
  if (r === undefined) return topic;
  return r.remotePrefix + (topic.startsWith(r.localPrefix) ? topic.slice(r.localPrefix.length) : topic);
}

export function toLocal(r: TopicRoute | undefined, topic: string): string {
  if (r === undefined) return topic;
  return r.localPrefix + (topic.startsWith(r.remotePrefix) ? topic.slice(r.remotePrefix.length) : topic);
}
