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

/** What a cluster node is told of the filters this node's sessions subscribe with (cluster-port.ts). */
export interface FilterListener {
  filterAdded(filter: string): void;
  filterRemoved(filter: string): void;
}

export class Router {
  /** A cluster node's: told of each subscription added or removed (one field test otherwise). */
  filters: FilterListener | undefined = undefined;
  /** A cluster node's: asked whether a share group's message stays with a member here. */
  shareGate: ((group: string, msg: Message) => boolean) | undefined = undefined;
  /** While routing a message from another node: whether non-shared subscriptions get it. */
  private normalOk = true;
  /** While routing a message from another node: the share groups it is for here (else undefined). */
  private remoteShares: readonly string[] | undefined = undefined;
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
    if (previous === undefined) this.filters?.filterAdded(options.topicFilter);
    return previous !== undefined;
  }

  /** Removes `session`'s subscription to `topicFilter`; false when it had none. */
  unsubscribe(session: Session, topicFilter: string): boolean {
    const had = session.record.subscriptions?.delete(topicFilter) === true;
    if (had) {
      this.trie.remove(topicFilter, session.clientId);
      this.filters?.filterRemoved(topicFilter);
    }
    return had;
  }

  /** Removes every subscription of `session`, when it ends. */
  unsubscribeAll(session: Session): void {
    const subs = session.record.subscriptions;
    if (subs === undefined) return;
    const filters = this.filters;
    for (const filter of subs.keys()) {
      this.trie.remove(filter, session.clientId);
      filters?.filterRemoved(filter);
    }
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
      if (sub.shareGroup !== undefined) {
        if (!this.shareOk(e.topicFilter, msg)) return 0;
      } else if (!this.normalOk) {
        return 0;
      } else if (e.noLocal && sub.key === msg.publisherId) {
        // [MQTT-3.8.3-3] No Local: not back to the publisher.
        return 0;
      }
      deliverTo(e, msg, e.subscriptionIds, now, e.qos, e.retainAsPublished);
      return 1;
    }
    return this.routeMany(msg, subs, now);
  }

  /**
   * A message another node sent here: to the non-shared subscriptions when `normal`, and to one
   * member of each share group in `shares` (that node chose this one for them).
   */
  routeRemote(msg: Message, normal: boolean, shares: readonly string[], now: number): number {
    this.normalOk = normal;
    this.remoteShares = shares;
    try {
      return this.route(msg, now);
    } finally {
      this.normalOk = true;
      this.remoteShares = undefined;
    }
  }

  /**
   * A message a dead node was owed, for the sessions taken over from it (`clients`) only: the
   * others here got their own copy from its publisher's node. Rare; no scratch arrays kept.
   */
  routeToClients(msg: Message, clients: ReadonlySet<string>, normal: boolean, shares: readonly string[], now: number): number {
    const best = new Map<Session, { qos: QoS; retain: boolean; ids: number[] | undefined }>();
    for (const sub of this.trie.match(msg.topic, [])) {
      const e = sub.value;
      if (!clients.has(e.session.clientId)) continue;
      if (sub.shareGroup !== undefined ? !shares.includes(e.topicFilter) : !normal || (e.noLocal && sub.key === msg.publisherId)) continue;
      const had = best.get(e.session);
      if (had === undefined) best.set(e.session, { qos: e.qos, retain: e.retainAsPublished, ids: e.subscriptionIds });
      else {
        if (e.qos > had.qos) had.qos = e.qos;
        if (e.retainAsPublished) had.retain = true;
        if (e.subscriptionIds !== undefined) had.ids = had.ids === undefined ? e.subscriptionIds : had.ids.concat(e.subscriptionIds);
      }
    }
    for (const [session, d] of best) deliverToSession(session, msg, d.ids, now, d.qos, d.retain);
    return best.size;
  }

  /** Whether a share group's pick here gets `msg`: a remote message's own list, else the cluster's choice. */
  private shareOk(group: string, msg: Message): boolean {
    const remote = this.remoteShares;
    if (remote !== undefined) return remote.includes(group);
    const gate = this.shareGate;
    return gate === undefined || gate(group, msg);
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
        if (!this.shareOk(e.topicFilter, msg)) continue;
        deliverTo(e, msg, e.subscriptionIds, now, e.qos, e.retainAsPublished);
        delivered++;
        continue;
      }
      if (!this.normalOk || (e.noLocal && sub.key === msg.publisherId)) continue;
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
