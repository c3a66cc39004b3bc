import { MAX_TOPIC_LEVELS, validateTopicFilter, validateTopicName } from './validate.js';

const DOLLAR = 0x24;

/** A level of stored topic names. `parent` and `level` let delete() prune without a path. */
class Node<T> {
  children: Map<string, Node<T>> | undefined = undefined;
  value: T | undefined = undefined;
  /** Whether a topic ends here; `value` alone cannot say, since T may include undefined. */
  stored = false;
  constructor(
    readonly parent: Node<T> | undefined,
    readonly level: string,
  ) {}
}

export interface RetainedIndexOptions {
  /** Deepest topic name accepted by set(); see MAX_TOPIC_LEVELS. */
  maxLevels?: number;
}

/**
 * Values stored by topic NAME and found by topic FILTER: the retained messages a new
 * subscription must receive. The opposite of TopicTrie, which stores filters and is searched
 * by name. Topic names form a trie walked by the filter's levels (mosquitto retain.c), so a
 * subscription to 'a/b/+' visits only the 'a/b' branch, not every retained message.
 *
 * Shared subscriptions get no retained messages (MQTT 5.0 section 4.8.2); pass the filter
 * parseSubscriptionFilter returned only for non-shared subscriptions.
 */
export class RetainedIndex<T> {
  private root = new Node<T>(undefined, '');
  /** topic → its node: O(1) get/set/delete without walking. */
  private byTopic = new Map<string, Node<T>>();
  private readonly maxLevels: number;

  constructor(options: RetainedIndexOptions = {}) {
    this.maxLevels = options.maxLevels ?? MAX_TOPIC_LEVELS;
  }

  get size(): number {
    return this.byTopic.size;
  }

  /** Stores `value` under `topic`, replacing any previous one. Throws MqttError(TopicNameInvalid). */
  set(topic: string, value: T): void {
    const existing = this.byTopic.get(topic);
    if (existing !== undefined) {
      existing.value = value;
      return;
    }
    validateTopicName(topic, this.maxLevels);
    let node = this.root;
    for (const level of topic.split('/')) {
      const children: Map<string, Node<T>> = (node.children ??= new Map());
      let child = children.get(level);
      if (child === undefined) children.set(level, (child = new Node(node, level)));
      node = child;
    }
    node.stored = true;
    node.value = value;
    this.byTopic.set(topic, node);
  }

  get(topic: string): T | undefined {
    return this.byTopic.get(topic)?.value;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /** Removes the value under `topic`; returns whether there was one. Empty branches are pruned. */
  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.stored = false;
    node.value = undefined;
    // Climb while the node holds nothing, unlinking it from its parent.
    for (let n: Node<T> = node; n.parent !== undefined && !n.stored && n.children === undefined; n = n.parent) {
      const siblings = n.parent.children!;
      siblings.delete(n.level);
      if (siblings.size === 0) n.parent.children = undefined;
    }
    return true;
  }

  /**
   * Every value whose topic matches `filter` (a valid topic filter; throws
   * MqttError(TopicFilterInvalid) otherwise). Pass `out` to reuse an array: it is emptied,
   * filled and returned.
   */
  match(filter: string, out: T[] = []): T[] {
    validateTopicFilter(filter, this.maxLevels);
    // Written by index and trimmed once, as in TopicTrie.match, so a reused array keeps its storage.
    const n = walk(this.root, filter.split('/'), 0, out, 0);
    if (out.length !== n) out.length = n;
    return out;
  }

  clear(): void {
    this.root = new Node<T>(undefined, '');
    this.byTopic.clear();
  }

  /** [topic, value] pairs in insertion order of the topics. */
  *[Symbol.iterator](): IterableIterator<[string, T]> {
    for (const [topic, node] of this.byTopic) yield [topic, node.value as T];
  }
}

/** Writes the values under `node` matching levels[depth..] into `out` from `at`; returns the new count. */
function walk<T>(node: Node<T>, levels: string[], depth: number, out: T[], at: number): number {
  if (depth === levels.length) {
    if (node.stored) out[at++] = node.value as T;
    return at;
  }
  const level = levels[depth]!;
  // [MQTT-4.7.2-1] a first-level wildcard does not reach topics beginning with '$'.
  const skipDollar = depth === 0;
  if (level === '#') {
    // '#' matches the parent level too: 'a/#' includes 'a' itself.
    if (node.stored) out[at++] = node.value as T;
    if (node.children === undefined) return at;
    for (const child of node.children.values()) {
      if (skipDollar && child.level.charCodeAt(0) === DOLLAR) continue;
      at = collect(child, out, at);
    }
  } else if (level === '+') {
    if (node.children === undefined) return at;
    for (const child of node.children.values()) {
      if (skipDollar && child.level.charCodeAt(0) === DOLLAR) continue;
      at = walk(child, levels, depth + 1, out, at);
    }
  } else {
    const child = node.children?.get(level);
    if (child !== undefined) at = walk(child, levels, depth + 1, out, at);
  }
  return at;
}

/** Everything stored at or below `node`; depth is bounded by maxLevels. */
function collect<T>(node: Node<T>, out: T[], at: number): number {
  if (node.stored) out[at++] = node.value as T;
  if (node.children === undefined) return at;
  for (const child of node.children.values()) at = collect(child, out, at);
  return at;
}
