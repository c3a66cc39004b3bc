/**
 * Every Redis key and channel a cluster uses, in one place, all under one prefix (`mqt:` by
 * default), so several clusters can share a Redis and nothing else is touched.
 */
export interface ClusterKeys {
  readonly prefix: string;
  /** Set of node ids. */
  readonly nodes: string;
  /** A node's lease (PX). */
  alive(node: string): string;
  /** Who reaps a dead node (SET NX PX). */
  reap(node: string): string;
  /** Hash filter → count of a node's sessions. */
  interest(node: string): string;
  /** Stream of messages sent to a node. */
  inbox(node: string): string;
  /** The node that holds a client. */
  owner(clientId: string): string;
  /** Set of the client ids a node holds. */
  owned(node: string): string;
  /** A session's own fields. */
  session(clientId: string): string;
  /** Hash seq → delivery (its message inline). */
  deliveries(clientId: string): string;
  /** Set of incoming QoS 2 packet ids. */
  incoming(clientId: string): string;
  /** The will of a connected client, for the node that publishes it if its own dies. */
  will(clientId: string): string;
  /** Hash topic → retained message. */
  readonly retained: string;
  /** A node's counters, for cluster totals. */
  stats(node: string): string;
  /** A small key a store's probe writes. */
  probe(node: string): string;
  /** Broadcast channel: interest deltas, hello, bye. */
  readonly ctl: string;
  /** A node's own channel: requests to it and answers to its requests. */
  ctlFor(node: string): string;
  /** Retained changes, to every node. */
  readonly retainedChannel: string;
}

export function clusterKeys(prefix = 'mqt:'): ClusterKeys {
  const p = prefix;
  return {
    prefix: p,
    nodes: `${p}nodes`,
    alive: (n) => `${p}alive:${n}`,
    reap: (n) => `${p}reap:${n}`,
    interest: (n) => `${p}int:${n}`,
    inbox: (n) => `${p}in:${n}`,
    owner: (c) => `${p}owner:${c}`,
    owned: (n) => `${p}owned:${n}`,
    session: (c) => `${p}s:${c}`,
    deliveries: (c) => `${p}d:${c}`,
    incoming: (c) => `${p}i:${c}`,
    will: (c) => `${p}w:${c}`,
    retained: `${p}retained`,
    stats: (n) => `${p}stats:${n}`,
    probe: (n) => `${p}probe:${n}`,
    ctl: `${p}ctl`,
    ctlFor: (n) => `${p}ctl:${n}`,
    retainedChannel: `${p}retained-changes`,
  };
}
