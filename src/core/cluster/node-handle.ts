/**
 * What the parts of a cluster node (membership.ts, cluster-admin.ts) may use of the node
 * (node.ts implements it): a leaf, so no part imports the node that imports it.
 */
import type { Broker } from '../broker/broker.js';
import type { Message } from '../broker/message.js';
import type { ClusterStore } from './cluster-store.js';
import type { MessageFrame } from './frame.js';
import type { RemoteInterest } from './interest.js';
import type { ClusterKeys } from './keys.js';
import type { RedisLink, RedisReply } from './redis-link.js';
import type { Requests } from './requests.js';

export type ClusterLog = (level: 'error' | 'warn' | 'info' | 'debug', message: string) => void;

export interface NodeHandle {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  readonly link: RedisLink;
  readonly store: ClusterStore;
  readonly remote: RemoteInterest;
  readonly requests: Requests;
  readonly brokerRef: Broker;
  /** Cross-node messages sent, received, and dropped (unreadable, or past the outage buffer). */
  sent: number;
  received: number;
  dropped: number;
  execText(commands: (string | Buffer)[][]): Promise<RedisReply[]>;
  readInterest(node: string): Promise<void>;
  toMessage(f: MessageFrame): Message;
  flushInterest(): void;
  aliveNodes(): string[];
}
