/**
 * What a cluster node (src/core/cluster) plugs into a broker with createBroker({ cluster }):
 * the broker tells it what this node routed, who subscribed, and who connected with a will,
 * and asks it at CONNECT whether another node holds the client. Without one (the default)
 * each publish pays one field test.
 */
import type { Will } from '../codec/types.js';
import type { Message } from './message.js';
import type { ClientSnapshot } from './inspect.js';
import type { ClientInfo } from './types.js';

/** A connected client of some node, as the admin API lists it. */
export type ClusterClient = ClientSnapshot & { readonly node: string };

/** What the admin API and /metrics ask of a cluster node about the whole cluster. */
export interface ClusterOperations {
  readonly nodeId: string;
  /** The nodes alive, this one included, sorted. */
  nodes(): string[];
  /** The connected clients of every node; `missing`: the nodes that did not answer in time. */
  clients(): Promise<{ clients: ClusterClient[]; missing: string[] }>;
  /** Disconnects `clientId` on whichever node holds it (0x98 in 5.0); false when none does. */
  kick(clientId: string): Promise<boolean>;
  /** Messages this node sent to, received from and dropped for other nodes. */
  crossNode(): { sent: number; received: number; dropped: number };
}

export interface ClusterPort {
  /**
   * A message routed here that did not come from another node (a client's, a will, the API's;
   * never `$SYS`), after local routing: the node sends it on to the nodes that want it. A QoS
   * >= 1 publisher's acknowledgement waits for what this stages (Persistence.external).
   */
  forward(msg: Message, now: number): void;
  /** A local session subscribed with `filter` (a new subscription, not a replacement). */
  filterAdded(filter: string): void;
  /** A local session's subscription to `filter` ended. */
  filterRemoved(filter: string): void;
  /**
   * Share group `group` (`$share/g/f` as subscribed) has members here and matched `msg`: true
   * when a member here takes it, false when the node sends it to a member on another node.
   */
  shareLocal(group: string, msg: Message): boolean;
  /**
   * Undefined while messages for other nodes can be taken; else the moment they can again
   * (Redis away and the node's buffer for them full): QoS 1/2 publishes are not accepted before.
   */
  readonly blockedUntil: Promise<void> | undefined;
  /** The cluster-wide view for operators (admin API, metrics). */
  readonly operations: ClusterOperations;
  /** This node's id: the origin of the messages it routes first (Message.origin ''). */
  readonly nodeId: string;
  /**
   * CONNECT of `clientId`, authenticated: the node makes itself the client's holder and asks a
   * node that held it to let go (it closes that connection, 0x8E in 5.0); unless `clean`, the
   * session comes here with everything it is owed (Broker.cluster: restore, then merge). Rejects
   * (a one-line message) when the client cannot be served here now: the CONNECT is refused
   * with 0x88 Server unavailable (3.1.1: 3). Undefined when the CONNECT need not wait: a clean
   * session that will not outlive its connection (`lasting` false) takes over without waiting.
   */
  claim(clientId: string, clean: boolean, lasting: boolean): Promise<void> | undefined;
  /** `clientId` is gone from this node: its session ended (or was clean and its connection closed). */
  released(clientId: string): void;
  /** A client connected here with a will: kept where another node finds it if this one dies. */
  willHeld(client: ClientInfo, will: Will): void;
  /** That client's connection closed here: its will is this node's to publish or drop, as always. */
  willDone(clientId: string): void;
}
