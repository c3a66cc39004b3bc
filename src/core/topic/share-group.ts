import type { Subscription } from './trie.js';

/** A shared subscription: members take turns, one message each (MQTT 5.0 section 4.8.2). */
export class ShareGroup<T, K> {
  /** In turn order; an array because pick() indexes it on every match. */
  readonly members: Subscription<T, K>[] = [];
  /** key → member, so joining a group of thousands stays O(1). */
  readonly byKey = new Map<K, Subscription<T, K>>();
  /** Index of the member whose turn is next. */
  next = 0;

  /** Adds or replaces the member for `sub.key`; a replaced member keeps its turn. */
  set(sub: Subscription<T, K>): Subscription<T, K> | undefined {
    const previous = this.byKey.get(sub.key);
    this.byKey.set(sub.key, sub);
    if (previous === undefined) this.members.push(sub);
    else this.members[this.members.indexOf(previous)] = sub;
    return previous;
  }

  delete(key: K): boolean {
    const sub = this.byKey.get(key);
    if (sub === undefined) return false;
    this.byKey.delete(key);
    const i = this.members.indexOf(sub);
    this.members.splice(i, 1);
    if (i < this.next) this.next--;
    if (this.next >= this.members.length) this.next = 0;
    return true;
  }

  /**
   * The member whose turn it is, advancing the turn. With `isAvailable`, the first available
   * member from there on; when none is, the member whose turn it was.
   */
  pick(isAvailable: ((value: T, key: K) => boolean) | undefined): Subscription<T, K> {
    const members = this.members;
    const n = members.length;
    let i = this.next;
    if (isAvailable !== undefined) {
      for (let tries = 0; tries < n; tries++) {
        const m = members[i]!;
        if (isAvailable(m.value, m.key)) break;
        if (++i === n) i = 0;
      }
      // Nobody available: `i` is back at `next`, the member whose turn it was anyway.
    }
    this.next = i + 1 === n ? 0 : i + 1;
    return members[i]!;
  }
}
