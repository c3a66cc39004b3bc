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

/** One change of this node's interest: a filter (as subscribed, `$share/g/f` included) and its new count; 0 = gone. */
export interface InterestDelta {
  readonly filter: string;
  readonly count: number;
}

/** Filters reaching these classes come from the broker (already valid) or went through parseSubscriptionFilter. */
function isShared(filter: string): boolean {
  return filter.startsWith('$share/');
}

/** Whether a filter that had `was` at the last drain and has `now` is worth telling the others. */
function differs(shared: boolean, was: number, now: number): boolean {
  return shared ? now !== was : (now > 0) !== (was > 0);
}

/** This node's subscriptions, counted per filter (one per session subscribed with it). */
export class LocalInterest {
  private readonly counts = new Map<string, number>();
  /**
   * Filters touched since the last drain, with their count at the last drain, in first-change
   * order (a Map keeps insertion order). A plain filter is noted only when it crosses 0<->1:
   * that crossing's "before" side is all drain() needs, and 1->2->1 churn stays out of here.
   */
  private readonly before = new Map<string, number>();
  /** How many of `before` differ now, so `changed` is one field test and exact. */
  private pending = 0;

  /** A session subscribed with `filter` (not called again for a replaced subscription of the same session). */
  add(filter: string): void {
    const n = this.counts.get(filter) ?? 0;
    const shared = isShared(filter);
    if (shared || n === 0) this.note(filter, shared, n, n + 1);
    this.counts.set(filter, n + 1);
  }

  /** A session's subscription to `filter` ended. */
  remove(filter: string): void {
    const n = this.counts.get(filter);
    if (n === undefined) return;
    const shared = isShared(filter);
    if (shared || n === 1) this.note(filter, shared, n, n - 1);
    if (n <= 1) this.counts.delete(filter);
    else this.counts.set(filter, n - 1);
  }

  /** Count now, 0 when none. */
  count(filter: string): number {
    return this.counts.get(filter) ?? 0;
  }

  /** Every filter with its count (for a full re-announce after Redis came back). */
  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  /** True when drain() would return something. */
  get changed(): boolean {
    return this.pending > 0;
  }

  /**
   * The changes since the last drain, one per filter that changed, in first-change order:
   * a plain filter only when it went from none to some or back (a second subscriber changes
   * nothing for the others), a share group on any change of its count; a filter back where
   * it was at the last drain (0->1->0) is left out. Empty array when none.
   */
  drain(): InterestDelta[] {
    const out: InterestDelta[] = [];
    if (this.before.size === 0) return out;
    if (this.pending > 0) {
      for (const [filter, was] of this.before) {
        const now = this.counts.get(filter) ?? 0;
        if (differs(isShared(filter), was, now)) out.push({ filter, count: now });
      }
    }
    this.before.clear();
    this.pending = 0;
    return out;
  }

  private note(filter: string, shared: boolean, from: number, to: number): void {
    let was = this.before.get(filter);
    if (was === undefined) this.before.set(filter, (was = from));
    const a = differs(shared, was, from);
    const b = differs(shared, was, to);
    if (a !== b) this.pending += b ? 1 : -1;
  }
}

export interface ShareMatch {
  /** `$share/g/f` as subscribed. */
  readonly group: string;
  /** Member counts per node id (only nodes with count > 0). */
  readonly members: ReadonlyMap<string, number>;
}

/** One share group as known across the other nodes; its ShareMatch is this object itself. */
interface Group {
  readonly group: string;
  /** The filter after `$share/g/`, what topics are matched against. */
  readonly inner: string;
  readonly members: Map<string, number>;
}

/** The other nodes' subscriptions. */
export class RemoteInterest {
  /** Plain filters, one subscription per (filter, node). */
  private readonly plain = new TopicTrie<true, string>();
  /** Share groups by their inner filter, one subscription per group (keyed by `$share/g/f`). */
  private readonly shared = new TopicTrie<Group, string>();
  private readonly groups = new Map<string, Group>();
  private readonly byNode = new Map<string, Map<string, number>>();
  /** Reused by nodesFor and sharesFor: routing allocates nothing when nothing matches. */
  private readonly matches: Subscription<true, string>[] = [];
  private readonly shareMatches: Subscription<Group, string>[] = [];
  private readonly shareOut: ShareMatch[] = [];
  private rejectedCount = 0;

  /** Filters (or counts) that did not parse and were ignored. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Whether any node has any `$share/` filter at all. */
  get hasShares(): boolean {
    return this.groups.size > 0;
  }

  /** Nodes with at least one filter. */
  nodes(): IterableIterator<string> {
    return this.byNode.keys();
  }

  filters(node: string): ReadonlyMap<string, number> | undefined {
    return this.byNode.get(node);
  }

  /**
   * `node` has `count` sessions subscribed with `filter` (0: none any more; for a plain filter
   * any count > 0 means "has it"). A filter that does not parse, or a count that is not a
   * whole number >= 0, is ignored and counted in `rejected`. Never throws.
   */
  apply(node: string, filter: string, count: number): void {
    if (!Number.isSafeInteger(count) || count < 0 || typeof filter !== 'string' || typeof node !== 'string') {
      this.rejectedCount++;
      return;
    }
    let filters = this.byNode.get(node);
    const had = filters?.get(filter) ?? 0;
    if (count === 0) {
      if (had === 0) return;
      filters!.delete(filter);
      if (filters!.size === 0) this.byNode.delete(node);
      this.unindex(node, filter);
      return;
    }
    if (had === 0) {
      if (!this.index(node, filter, count)) {
        this.rejectedCount++;
        return;
      }
    } else if (isShared(filter)) {
      this.groups.get(filter)?.members.set(node, count);
    }
    if (filters === undefined) this.byNode.set(node, (filters = new Map()));
    filters.set(filter, count);
  }

  /** `node`'s filters are exactly `entries` (what its hash holds). */
  replaceNode(node: string, entries: Iterable<[string, number]>): void {
    this.dropNode(node);
    for (const [filter, count] of entries) this.apply(node, filter, count);
  }

  /** `node` has nothing any more (gone, or its hash is empty). */
  dropNode(node: string): void {
    const filters = this.byNode.get(node);
    if (filters === undefined) return;
    this.byNode.delete(node);
    for (const filter of filters.keys()) this.unindex(node, filter);
  }

  /**
   * Fills `out` (cleared first) with each node that has a non-shared filter matching `topic`,
   * once each however many of its filters match; returns out.length.
   */
  nodesFor(topic: string, out: string[]): number {
    out.length = 0;
    if (this.plain.size === 0) return 0;
    const subs = this.plain.match(topic, this.matches);
    const n = subs.length;
    if (n === 0) return 0;
    if (n === 1) {
      out.push(subs[0]!.key);
    } else {
      // Few nodes: a scan of `out` is cheaper than a Set per message.
      for (let i = 0; i < n; i++) {
        const key = subs[i]!.key;
        if (!out.includes(key)) out.push(key);
      }
    }
    subs.length = 0;
    return out.length;
  }

  /**
   * The share groups with a filter matching `topic` on some other node, with their members per
   * node. The returned array is this object's own, refilled by the next call, and its entries
   * are live (an apply() changes their members): use it before the next call or apply().
   */
  sharesFor(topic: string): readonly ShareMatch[] {
    const out = this.shareOut;
    if (out.length !== 0) out.length = 0;
    if (this.groups.size === 0) return out;
    const subs = this.shared.match(topic, this.shareMatches);
    const n = subs.length;
    if (n === 0) return out;
    // One subscription per group, so no group appears twice.
    for (let i = 0; i < n; i++) out.push(subs[i]!.value);
    subs.length = 0;
    return out;
  }

  /** Puts a new (node, filter) into the tries; false when the filter does not parse. */
  private index(node: string, filter: string, count: number): boolean {
    try {
      const parsed = parseSubscriptionFilter(filter);
      if (parsed.shareGroup === undefined) {
        this.plain.add(filter, node, true);
        return true;
      }
      let g = this.groups.get(filter);
      if (g === undefined) {
        g = { group: filter, inner: parsed.filter, members: new Map() };
        this.shared.add(parsed.filter, filter, g);
        this.groups.set(filter, g);
      }
      g.members.set(node, count);
      return true;
    } catch {
      return false;
    }
  }

  private unindex(node: string, filter: string): void {
    if (isShared(filter)) {
      const g = this.groups.get(filter);
      if (g === undefined || !g.members.delete(node) || g.members.size > 0) return;
      this.groups.delete(filter);
      this.shared.remove(g.inner, filter);
    } else {
      this.plain.remove(filter, node);
    }
  }
}
