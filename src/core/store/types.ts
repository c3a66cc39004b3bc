/**
 * What a broker keeps across a restart, and the store interface it keeps it through. Plain
 * records: the broker converts its live objects (Message, Session, Delivery) to these and back
 * (broker/persistence.ts), so a store knows nothing of the broker and the broker nothing of
 * the store's medium. A store may be a local file (lmdb-store.ts), memory (memory-store.ts) or,
 * later, a server shared by several brokers: nothing here assumes synchronous reads.
 */
import type { Properties, ProtocolVersion, QoS, Will } from '../codec/types.js';

/** An application message, stored once and referred to by every delivery that owes it. */
export interface StoredMessage {
  readonly id: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  readonly publisherId: string;
  /** Absolute ms, 0 for never. */
  readonly expiresAt: number;
}

/** One delivery a session owes: queued (packetId 0) or in flight with its packet id. */
export interface StoredDelivery {
  readonly clientId: string;
  /** Order within the session: deliveries are restored by it. */
  readonly seq: number;
  readonly messageId: number;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** 0 while queued. */
  readonly packetId: number;
  /** QoS 2: PUBREC arrived, PUBREL sent, waiting for PUBCOMP. */
  readonly released: boolean;
  /**
   * The message itself, kept in this record: the first delivery of a message carries it (one
   * write instead of two for the common one-subscriber case); any other delivery of it refers
   * to a StoredMessage by messageId.
   */
  readonly message?: StoredMessage | undefined;
}

/** A subscription's options as the client asked for them (5.0 section 3.8.3.1); the broker's SubscriptionOptions. */
export interface StoredSubscription {
  /** The filter as the client sent it, `$share/{group}/` included. */
  readonly topicFilter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** [id] when the SUBSCRIBE carried a subscription identifier, shared by every delivery. */
  readonly subscriptionIds: number[] | undefined;
}

/** Who a session or a will belongs to, as hooks see it once the connection is gone. */
export interface StoredClient {
  readonly clientId: string;
  readonly protocolVersion: ProtocolVersion;
  readonly username: string | undefined;
  readonly remoteAddress: string | undefined;
  /** It connected with the bridge bit (the broker's ClientInfo.bridge); absent otherwise. */
  readonly bridge?: boolean;
}

export interface StoredWill {
  readonly will: Will;
  readonly from: StoredClient;
  /** Absolute ms at which it is published. */
  readonly at: number;
}

/** A session's own fields; its deliveries and incoming QoS 2 ids are stored apart. */
export interface StoredSession {
  readonly clientId: string;
  readonly expiryInterval: number;
  /** Absolute ms at which an offline session ends; Infinity while a connection held it. */
  readonly expiresAt: number;
  readonly nextPacketId: number;
  readonly subscriptions: StoredSubscription[];
  readonly client: StoredClient | undefined;
  readonly will: StoredWill | undefined;
}

/** Everything a store holds, read back at start. */
export interface StoredState {
  readonly messages: StoredMessage[];
  readonly sessions: StoredSession[];
  /** By client id, then seq. */
  readonly deliveries: StoredDelivery[];
  readonly incoming: { readonly clientId: string; readonly packetId: number }[];
  readonly retained: StoredMessage[];
}

/**
 * The broker's store. Writes are staged in call order and made durable together by commit():
 * its promise resolves once everything written before the call is durable (and everything
 * before earlier commits too: commits complete in order), and rejects when it could not be.
 * Writes made while a commit is under way go into the next one.
 */
export interface BrokerStore {
  /** Reads everything back; called once, before any write. */
  load(): Promise<StoredState>;
  putMessage(msg: StoredMessage): void;
  removeMessage(id: number): void;
  putDelivery(d: StoredDelivery): void;
  removeDelivery(clientId: string, seq: number): void;
  putIncoming(clientId: string, packetId: number): void;
  removeIncoming(clientId: string, packetId: number): void;
  putSession(s: StoredSession): void;
  removeSession(clientId: string): void;
  putRetained(msg: StoredMessage): void;
  removeRetained(topic: string): void;
  /** Stages the removal of every record: a broker whose store failed writes its whole state anew after it. */
  clear(): void;
  /** A small write of its own, committed: resolves once the store can write again, rejects while it cannot. */
  probe(): Promise<void>;
  commit(): Promise<void>;
  /** Waits for the last commit and lets go of the medium (lock, files). */
  close(): Promise<void>;
}
