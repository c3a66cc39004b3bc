/**
 * Subscriptions and routing: PUBLISH → matching subscriptions → one delivery per session.
 * The only place that changes the trie or a session's subscription table, so the two never
 * disagree. route() runs for every message, so it reuses its arrays and allocates nothing for
 * the common one-subscriber case.
 */
import type { QoS } from '../codec/types.js';
import { TopicTrie, type Subscription } from '../topic/trie.js';
import type { Message } from './message.js';
import type { Session } from './session.js';
import type { SubscriptionOptions } from './types.js';

/** A subscription as the trie stores it (keyed by client id) and the session's record keeps it. */
export interface SubscriptionEntry extends SubscriptionOptions {
  readonly session: Session;
}

export class Router {
  private readonly trie = new TopicTrie<SubscriptionEntry>({
    // A share group hands the message to a member whose client is online when there is one.
    isAvailable: (entry) => entry.session.connection?.ready === true,
  });

  /** Subscriptions in all, over every session. */
  get size(): number {
    return this.trie.size;
  }

  /**
   * Adds or replaces `session`'s subscription to `options.topicFilter` [MQTT-3.8.4-3]; returns
   * whether it replaced one.
   */
  subscribe(session: Session, options: SubscriptionOptions): boolean {
    // Every field named, in one order: a spread gave each entry a hidden class of its own
    // (about 130 bytes a subscription, `npm run bench:memory`).
    const entry: SubscriptionEntry = {
      topicFilter: options.topicFilter,
      qos: options.qos,
      noLocal: options.noLocal,
      retainAsPublished: options.retainAsPublished,
      retainHandling: options.retainHandling,
      subscriptionIds: options.subscriptionIds,
      session,
    };
    const previous = this.trie.add(options.topicFilter, session.clientId, entry);
    (session.record.subscriptions ??= new Map()).set(options.topicFilter, entry);
    return previous !== undefined;
  }

  /** Removes `session`'s subscription to `topicFilter`; false when it had none. */
  unsubscribe(session: Session, topicFilter: string): boolean {
    const had = session.record.subscriptions?.delete(topicFilter) === true;
    if (had) this.trie.remove(topicFilter, session.clientId);
    return had;
  }

  /** Removes every subscription of `session`, when it ends. */
  unsubscribeAll(session: Session): void {
    const subs = session.record.subscriptions;
    if (subs === undefined) return;
    for (const filter of subs.keys()) this.trie.remove(filter, session.clientId);
    subs.clear();
  }
  private readonly matches: Subscription<SubscriptionEntry>[] = [];
  // Scratch for merging several matching subscriptions of one session.
  private readonly seen = new Map<string, number>();
  private sessions: Session[] = [];
  private qos: QoS[] = [];
  private retain: boolean[] = [];
  private ids: (number[] | undefined)[] = [];

  /** Delivers `msg` to every matching session; returns how many deliveries were made. */
  route(msg: Message, now: number): number {
    const subs = this.trie.match(msg.topic, this.matches);
    const n = subs.length;
    if (n === 0) return 0;
    if (n === 1) {
      const sub = subs[0]!;
      const e = sub.value;
      subs.length = 0;
      // [MQTT-3.8.3-3] No Local: not back to the publisher.
      if (e.noLocal && sub.key === msg.publisherId && sub.shareGroup === undefined) return 0;
      deliverTo(e, msg, e.subscriptionIds, now, e.qos, e.retainAsPublished);
      return 1;
    }
    return this.routeMany(msg, subs, now);
  }

  /**
   * Several matches: a session subscribed through overlapping filters gets one copy at the
   * highest QoS carrying every subscription identifier (5.0 section 4.7.1.3 / [MQTT-3.3.4-2]).
   * Each share group's pick is a delivery of its own.
   */
  private routeMany(msg: Message, subs: Subscription<SubscriptionEntry>[], now: number): number {
    const seen = this.seen;
    let count = 0;
    let delivered = 0;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      const e = sub.value;
      if (sub.shareGroup !== undefined) {
        deliverTo(e, msg, e.subscriptionIds, now, e.qos, e.retainAsPublished);
        delivered++;
        continue;
      }
      if (e.noLocal && sub.key === msg.publisherId) continue;
      const at = seen.get(sub.key);
      if (at === undefined) {
        seen.set(sub.key, count);
        this.sessions[count] = e.session;
        this.qos[count] = e.qos;
        this.retain[count] = e.retainAsPublished;
        this.ids[count] = e.subscriptionIds;
        count++;
      } else {
        if (e.qos > this.qos[at]!) this.qos[at] = e.qos;
        if (e.retainAsPublished) this.retain[at] = true;
        if (e.subscriptionIds !== undefined) {
          const had = this.ids[at];
          this.ids[at] = had === undefined ? e.subscriptionIds : had.concat(e.subscriptionIds);
        }
      }
    }
    subs.length = 0;
    seen.clear();
    for (let i = 0; i < count; i++) {
      const session = this.sessions[i]!;
      deliverToSession(session, msg, this.ids[i], now, this.qos[i]!, this.retain[i]!);
      this.sessions[i] = undefined as unknown as Session;
      this.ids[i] = undefined;
    }
    return delivered + count;
  }
}

function deliverTo(e: SubscriptionEntry, msg: Message, ids: number[] | undefined, now: number, subQos: QoS, rap: boolean): void {
  deliverToSession(e.session, msg, ids, now, subQos, rap);
}

function deliverToSession(session: Session, msg: Message, ids: number[] | undefined, now: number, subQos: QoS, rap: boolean): void {
  // [MQTT-3.8.4-8] delivered at the lower of the message's and the subscription's QoS.
  const qos = msg.qos < subQos ? msg.qos : subQos;
  // [MQTT-3.3.1-12] [MQTT-3.3.1-13] the retain flag is kept only with Retain As Published.
  session.deliver(msg, qos, rap && msg.retain, ids, now);
}
