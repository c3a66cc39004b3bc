/**
 * Who wants what: this node's subscriptions counted per filter (what it tells the others),
 * and the other nodes' filters (where a message must go). A message is sent to another node
 * only when that node has a matching filter, so a message with only local subscribers costs
 * one trie walk that finds nothing, whatever the number of nodes.
 *
 * Share groups (`$share/g/f`) are counted by members: a group's messages rotate over its
 * members on every node, so each node says how many it has.
 */
import { TopicTrie, type Subscription } from '../topic/trie.js';
import { parseSubscriptionFilter } from '../topic/validate.js';

/** One change of this node's interest: a filter as subscribed and its new count; 0 = gone. */
export interface InterestDelta {
  readonly filter: string;
  readonly count: number;
}

function isShared(filter: string): boolean {
  return filter.startsWith('$share/');
}

/** This node's subscriptions, counted per filter (one per session subscribed with it). */
export class LocalInterest {
  private readonly counts = new Map<string, number>();
  /** Filters changed since the last drain, with their count at the last drain (undefined: 0). */
  private readonly before = new Map<string, number>();

  add(filter: string): void {
    this.note(filter);
    this.counts.set(filter, (this.counts.get(filter) ?? 0) + 1);
  }

  remove(filter: string): void {
    const n = this.counts.get(filter);
    if (n === undefined) return;
    this.note(filter);
    if (n <= 1) this.counts.delete(filter);
    else this.counts.set(filter, n - 1);
  }

  count(filter: string): number {
    return this.counts.get(filter) ?? 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  get changed(): boolean {
    return this.before.size > 0;
  }

  /**
   * The changes since the last drain, in first-change order: a plain filter only when it went
   * from none to some or back (a second subscriber changes nothing for the others), a share
   * group on any change of its count; a filter back where it was is left out.
   */
  drain(): InterestDelta[] {
    if (this.before.size === 0) return [];
    const out: InterestDelta[] = [];
    for (const [filter, was] of this.before) {
      const now = this.counts.get(filter) ?? 0;
      if (isShared(filter) ? now !== was : (now > 0) !== (was > 0)) out.push({ filter, count: now });
    }
    this.before.clear();
    return out;
  }

  private note(filter: string): void {
    if (!this.before.has(filter)) this.before.set(filter, this.counts.get(filter) ?? 0);
  }
}

/** A share group with a filter matching some topic, and its members on each other node. */
export interface ShareMatch {
  /** `$share/g/f` as subscribed. */
  readonly group: string;
  /** Members per node id (only nodes with at least one). */
  readonly members: ReadonlyMap<string, number>;
}

interface ShareEntry {
  readonly group: string;
  readonly node: string;
  count: number;
}

/** The other nodes' subscriptions. */
export class RemoteInterest {
  /** Plain filters, one subscription per (filter, node). */
  private readonly plain = new TopicTrie<true, string>();
  /** Share groups by their inner filter, one entry per (group, node), keyed `group\0node`. */
  private readonly shared = new TopicTrie<ShareEntry, string>();
  private readonly byNode = new Map<string, Map<string, number>>();
  private readonly matches: Subscription<true, string>[] = [];
  private readonly shareMatches: Subscription<ShareEntry, string>[] = [];
  private sharedCount = 0;
  /** Filters that did not parse (ignored). */
  rejected = 0;

  get hasShares(): boolean {
    return this.sharedCount > 0;
  }

  nodes(): IterableIterator<string> {
    return this.byNode.keys();
  }

  filters(node: string): ReadonlyMap<string, number> | undefined {
    return this.byNode.get(node);
  }

  /** `node` has `count` sessions subscribed with `filter` (0: none any more). Never throws. */
  apply(node: string, filter: string, count: number): void {
    let filters = this.byNode.get(node);
    const had = filters?.get(filter) ?? 0;
    if (count <= 0) {
      if (had === 0) return;
      filters!.delete(filter);
      if (filters!.size === 0) this.byNode.delete(node);
      this.unindex(node, filter);
      return;
    }
    if (had === 0) {
      let inner: string | undefined;
      try {
        inner = parseSubscriptionFilter(filter).filter;
      } catch {
        this.rejected++;
        return;
      }
      if (isShared(filter)) {
        this.shared.add(inner, `${filter}\u0000${node}`, { group: filter, node, count });
        this.sharedCount++;
      } else {
        this.plain.add(filter, node, true);
      }
    } else if (isShared(filter)) {
      const e = this.shared.get(parseSubscriptionFilter(filter).filter, `${filter}\u0000${node}`);
      if (e !== undefined) e.value.count = count;
    }
    if (filters === undefined) this.byNode.set(node, (filters = new Map()));
    filters.set(filter, count);
  }

  replaceNode(node: string, entries: Iterable<[string, number]>): void {
    this.dropNode(node);
    for (const [filter, count] of entries) this.apply(node, filter, count);
  }

  dropNode(node: string): void {
    const filters = this.byNode.get(node);
    if (filters === undefined) return;
    for (const filter of filters.keys()) this.unindex(node, filter);
    this.byNode.delete(node);
  }

  private unindex(node: string, filter: string): void {
    if (isShared(filter)) {
      if (this.shared.remove(parseSubscriptionFilter(filter).filter, `${filter}\u0000${node}`)) this.sharedCount--;
    } else {
      this.plain.remove(filter, node);
    }
  }

  /** Fills `out` with each node that has a plain filter matching `topic`, once each; returns how many. */
  nodesFor(topic: string, out: string[]): number {
    out.length = 0;
    if (this.byNode.size === 0) return 0;
    const subs = this.plain.match(topic, this.matches);
    const n = subs.length;
    if (n === 0) return 0;
    if (n === 1) {
      out.push(subs[0]!.key);
    } else {
      for (let i = 0; i < n; i++) {
        const key = subs[i]!.key;
        if (!out.includes(key)) out.push(key);
      }
    }
    subs.length = 0;
    return out.length;
  }

  /** The share groups with a filter matching `topic` on another node, with their members there. */
  sharesFor(topic: string): ShareMatch[] {
    if (this.sharedCount === 0) return [];
    const subs = this.shared.match(topic, this.shareMatches);
    if (subs.length === 0) return [];
    const byGroup = new Map<string, Map<string, number>>();
    for (const s of subs) {
      const e = s.value;
      let members = byGroup.get(e.group);
      if (members === undefined) byGroup.set(e.group, (members = new Map()));
      members.set(e.node, e.count);
    }
    subs.length = 0;
    return [...byGroup].map(([group, members]) => ({ group, members }));
  }
}
