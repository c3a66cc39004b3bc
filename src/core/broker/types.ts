/**
 * The broker's leaf module: the types and narrow interfaces its parts talk through. It imports
 * nothing from the broker but message.ts (itself a leaf over the codec), so every other broker
 * file may import it and no import circle can form through it.
 *
 *   handlers  → HandlerConnection (their connection) and BrokerContext (named operations)
 *   Session   → DeliveryTarget (the live connection's outgoing side) and SessionHost
 *   listeners → AcceptFn (a stream plus what is known about it)
 */
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import type { Packet, Properties, ProtocolVersion, QoS, Will } from '../codec/types.js';
import type { StoredSubscription } from '../store/types.js';
import type { Message } from './message.js';
import type { BrokerStats } from './stats.js';

// ---- connections ------------------------------------------------------------------------

export const enum State {
  /** Waiting for CONNECT. */
  New,
  /** CONNECT received, CONNACK not yet sent (authentication may be pending). */
  Connecting,
  Connected,
  Closed,
}

/** The listener a client came in on. */
export interface ListenerInfo {
  /**
   * 'bridge': the local end of a bridge (core/bridge), trusted like mosquitto's bridge context:
   * no authentication, no ACL, $SYS allowed (see trustBridges in broker.ts).
   */
  readonly kind: 'tcp' | 'tls' | 'ws' | 'wss' | 'stream' | 'bridge';
  /** Bound address and port; undefined for streams handed to broker.handle() by the embedder. */
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** As in logs: the spec's name, or `${kind}:${port}`; 'stream' for broker.handle(). */
  readonly name: string;
  /** The connect handler takes the client certificate's subject CN as the username (mosquitto's use_identity_as_username). */
  readonly useIdentityAsUsername: boolean;
}

/** What a listener knows about a connection when it hands the stream over. */
export interface TransportInfo {
  readonly listener: ListenerInfo;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The client's TLS certificate, when it presented one. */
  readonly peerCertificate: PeerCertificate | undefined;
}

/** How a listener hands the broker a new connection. */
export type AcceptFn = (stream: Duplex, info: TransportInfo) => void;

/**
 * Every PUBLISH on the wire, for a log at its most verbose (mosquitto's log_type all: "Received
 * PUBLISH from x (d0, q1, r0, m1, 'topic', ... (5 bytes))"). Observe only, called synchronously
 * on the hot path, so it must be cheap and never throw; the broker calls nothing and allocates
 * nothing for it while `broker.publishTrace` is undefined.
 */
export interface PublishTrace {
  /** A PUBLISH read from `client`, before any check; `topic` with its alias resolved. */
  received(client: ClientInfo, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, payloadBytes: number): void;
  /** A PUBLISH written to `client`'s connection (a delivery, or a re-send with `dup`). */
  sent(client: ClientInfo, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, payloadBytes: number): void;
}

/** A client as hooks and events see it. */
export interface ClientInfo {
  readonly clientId: string;
  readonly protocolVersion: ProtocolVersion;
  readonly username: string | undefined;
  /** Remote address as the transport reports it. */
  readonly remoteAddress: string | undefined;
  /** The listener, remote port and TLS certificate; absent for wills of a session whose connection is gone. */
  readonly transport?: TransportInfo;
  /**
   * The client connected with the bridge bit (protocol level | 0x80, mosquitto's try_private): a
   * remote broker's bridge, authenticated and judged by the hooks like any client. Before 5.0 its
   * subscriptions are No Local and Retain As Published (as mosquitto's is_bridge), and it may
   * publish its state under `$SYS/broker/connection/` (topic/sys.ts). Not the local end of one of
   * our own bridges (listener kind 'bridge').
   */
  readonly bridge?: boolean;
}

// ---- configuration and hooks -----------------------------------------------------------------

export interface BrokerConfig {
  maxInflight: number;
  maxQueued: number;
  maxPacketSize: number;
  maxKeepalive: number;
  topicAliasMaximum: number;
  receiveMaximum: number;
  maxQoS: QoS;
  retainAvailable: boolean;
  connectTimeoutMs: number;
  maxClientBuffer: number;
  stallTimeoutMs: number;
  /** 0 for no limit, here and below. */
  maxConnections: number;
  maxSubscriptions: number;
  maxTopicLevels: number;
  maxQueueMemory: number;
  messageSizeLimit: number;
  /** Seconds between $SYS publishes; 0: no $SYS tree. */
  sysInterval: number;
}

export type MaybePromise<T> = T | Promise<T>;

export interface Hooks {
  /**
   * Accepts or refuses a connection. Return true to accept, false for "bad user name or
   * password", or a 5.0 reason code (0x86 bad credentials, 0x87 not authorized, 0x8A banned, ...).
   */
  authenticate(client: ClientInfo, username: string | undefined, password: Buffer | undefined): MaybePromise<boolean | number>;
  /** Allows a client's PUBLISH to `topic`. Denied: PUBACK/PUBREC 0x87 in 5.0, silently dropped before. */
  authorizePublish(client: ClientInfo, topic: string, qos: QoS, retain: boolean): MaybePromise<boolean>;
  /** Grants a subscription at a QoS up to the requested one, or refuses it (false). */
  authorizeSubscribe(client: ClientInfo, topicFilter: string, qos: QoS): MaybePromise<QoS | false>;
  /**
   * Allows one delivery to a subscriber (`client`: its connection, or for an offline session the
   * client it last connected as), asked when the PUBLISH is about to go out: routed messages,
   * retained messages on SUBSCRIBE, wills, and queued messages when they leave the queue. A
   * refusal skips the delivery silently (counted in inspect). Absent by default: no cost.
   */
  authorizeRead?(client: ClientInfo, topic: string, qos: QoS, retain: boolean): MaybePromise<boolean>;
  /**
   * Enhanced authentication (MQTT 5.0 section 4.12), asked at each step of an exchange with a
   * client whose CONNECT names an Authentication Method; such a client is judged by this hook
   * alone (`authenticate` is not asked). Absent by default: a CONNECT naming a method is then
   * refused with CONNACK 0x8C Bad authentication method. Answer 0x8C for a method you do not
   * support. See AuthRequest and AuthAnswer (enhanced-auth.ts runs the exchange).
   */
  enhancedAuth?(client: ClientInfo, request: AuthRequest): MaybePromise<AuthAnswer>;
}

/**
 * One step of an enhanced authentication: 'connect' (the CONNECT named the method),
 * 'reauthenticate' (AUTH 0x19 after CONNACK) or 'continue' (the client's AUTH 0x18 answering ours).
 */
export interface AuthRequest {
  readonly step: 'connect' | 'continue' | 'reauthenticate';
  /** The Authentication Method, the same at every step of the connection. */
  readonly method: string;
  /** The Authentication Data the client sent at this step, if any. */
  readonly data: Buffer | undefined;
  /** The CONNECT's password, at the 'connect' step (the username is client.username). */
  readonly password: Buffer | undefined;
  /** What the hook answered as `state` at the previous step of this exchange; undefined at its first. */
  readonly state: unknown;
}

/**
 * The hook's verdict on one step. reasonCode 0x00: authenticated (CONNACK 0x00, or AUTH 0x00
 * after a re-authentication, carrying `data`); 0x18: continue (AUTH 0x18 with `data` goes to
 * the client, whose answer comes back as a 'continue' step with `state`); 0x80 and up: refused
 * (CONNACK with that code during CONNECT, DISCONNECT after it; a code the packet cannot carry
 * becomes 0x87 Not authorized), and the connection closes.
 */
export interface AuthAnswer {
  reasonCode: number;
  /** Authentication Data for the client (0x00 and 0x18). */
  data?: Buffer;
  /** Kept for the next step of this exchange (0x18). */
  state?: unknown;
  /** On success: the username hooks see from now on (client.username), e.g. the identity the exchange proved. */
  username?: string;
  /** Reason String of the AUTH, CONNACK or DISCONNECT; left out when the client asked for no problem information or it would not fit. */
  reasonString?: string;
  /** User Properties of an AUTH (0x00, 0x18); left out on the same terms. */
  userProperties?: [string, string][];
}

/** The authorizeRead hook as sessions call it. */
export type ReadHook = (client: ClientInfo, topic: string, qos: QoS, retain: boolean) => MaybePromise<boolean>;

/**
 * What session queues hold over the whole broker, for maxQueueMemory: each queued delivery
 * counts its message's payload and topic length, once per queue that holds it.
 */
export interface QueueBudget {
  bytes: number;
  /** 0: no limit. */
  readonly max: number;
  /** Drops the oldest messages of the longest offline queues until `bytes` more fit; false when they cannot. */
  makeRoom(bytes: number): boolean;
}

// ---- durable state ---------------------------------------------------------------------

/** A subscription's options as the client asked for them: one shape for the broker and its store. */
export type SubscriptionOptions = StoredSubscription;

/** A will waiting to be published: after its delay, or when its session ends first. */
export interface PendingWill {
  readonly will: Will;
  /** Who set it: its publish is authorized as theirs, even after the session is gone. */
  readonly from: ClientInfo;
  /** Absolute time (ms) to publish it; Infinity only while its connection is alive. */
  at: number;
}

/**
 * Retained messages behind an interface that may answer later: the in-memory index answers at
 * once, a store on disk or on another machine with a promise. Callers handle both.
 */
export interface RetainedStore {
  readonly size: number;
  /** Stores or replaces the retained message of its topic; an empty payload deletes it. */
  store(msg: Message): void;
  /** Live retained messages matching `filter`, each a fresh Message that the caller owns. */
  match(filter: string, now: number): MaybePromise<Message[]>;
  get(topic: string): Message | undefined;
  clear(): void;
  /** Every live retained message, each a fresh Message: what a store is given again after it failed. Optional. */
  all?(now: number): Message[];
}

// ---- what a session delivers to --------------------------------------------------------------

/** The outgoing side of a live connection, as a session uses it. */
export interface DeliveryTarget {
  /** CONNACK sent and not closed. */
  readonly ready: boolean;
  /** The socket is backed up: QoS 0 waits in the queue, nothing new goes out. */
  readonly congested: boolean;
  /** QoS 1/2 deliveries the client accepts in flight (its Receive Maximum, capped by ours). */
  readonly sendQuota: number;
  /** Writes one PUBLISH; false, sending nothing, when it is larger than the client accepts. */
  sendPublish(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean;
  sendPubrel(packetId: number): void;
}

/** What a session needs of the broker around it. */
export interface SessionHost {
  readonly config: BrokerConfig;
  /** hooks.authorizeRead, or undefined when there is none: the one field a delivery tests. */
  readonly readHook: ReadHook | undefined;
  readonly queueBudget: QueueBudget;
  /** authorizeRead refused a delivery (counted broker-wide). */
  readRefused(): void;
  /** The read hook failed (a rejected promise): the delivery is refused, and this says why. */
  readHookFailed(clientId: string, err: unknown): void;
  /** A message could not be delivered (queue full, too large): counted and logged. */
  dropped(clientId: string, msg: Message, why: string): void;
  /** The session's queue grew long while online: hold back whoever is publishing into it. */
  queueLong(session: SessionHandle): void;
  /** The session's queue drained: let its held-back publishers go on. */
  queueDrained(session: SessionHandle): void;
}

/** A session as handlers and the router see it (implemented by Session). */
export interface SessionHandle {
  readonly clientId: string;
  readonly connection: DeliveryTarget | null;
  expiryInterval: number;
  readonly queued: number;
  /** Subscriptions held, and whether `topicFilter` is one of them (maxSubscriptions). */
  readonly subscriptionCount: number;
  hasSubscription(topicFilter: string): boolean;
  deliver(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, now: number): void;
  /** PUBACK (QoS 1) or PUBCOMP (QoS 2). */
  acknowledge(packetId: number, qos: QoS): void;
  /** PUBREC: false when the packet id is unknown. */
  received(packetId: number, reasonCode: number): boolean;
  /** Incoming QoS 2 ids answered with PUBREC and not yet released [MQTT-4.3.3-10]. */
  hasIncoming(packetId: number): boolean;
  incomingCount(): number;
  addIncoming(packetId: number): void;
  releaseIncoming(packetId: number): boolean;
}

// ---- handlers ----------------------------------------------------------------------------

/** The connection a handler works on: its protocol state and its output, nothing of its input. */
export interface HandlerConnection extends ClientInfo {
  /** The broker, as far as a handler may reach into it. */
  readonly broker: BrokerContext;
  /** The broker's counters ($SYS, /metrics). */
  readonly stats: BrokerStats;
  state: State;
  protocolVersion: ProtocolVersion;
  clientId: string;
  username: string | undefined;
  bridge: boolean;
  will: Will | undefined;
  readonly session: SessionHandle | null;
  /** 5.0 Request Problem Information: false means no reason strings on errors. */
  problemInfo: boolean;
  maxOutgoingPacket: number;
  sendQuota: number;
  outAliasMax: number;
  inAliases: Map<number, string> | undefined;
  send(packet: Packet): void;
  /** `promise`: false for a packet that acknowledges nothing stored (PINGRESP). */
  sendBytes(buf: Buffer, promise?: boolean): void;
  /** Queues `template` with its two packet-id bytes at `offset` set to `id` (acks with nothing allocated). */
  sendWithId(template: Buffer, offset: number, id: number): void;
  /** Writes what is queued now instead of at the end of the tick. */
  flush(): void;
  startKeepalive(seconds: number): void;
  refuse(code: number, why: string): void;
  disconnectWith(code: number, why: string, properties?: Properties): void;
  close(reason: string, unclean: boolean): void;
  /** Turns an error (a hook's rejection outside the handler's own promise) into CONNACK, DISCONNECT or a close. */
  fail(err: unknown): void;
}

/** The result of opening a session at CONNECT. */
export interface OpenedSession {
  readonly session: SessionHandle;
  /** A stored session resumed [MQTT-3.2.2-2]. */
  readonly present: boolean;
}

/** What a handler may ask of the broker: its settings and named operations, nothing else. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly hooks: Hooks;
  /** Set only for a verbose log: the PUBLISH handler tests this one field per message. */
  readonly publishTrace: PublishTrace | undefined;
  /** The connection sent its CONNECT: no longer on the clock for it. */
  connectArrived(conn: HandlerConnection): void;
  /**
   * In a cluster: makes this node the client's holder (another node closes its connection and
   * hands its session over); undefined when there is nothing to wait for (no cluster).
   */
  claim(conn: HandlerConnection, clean: boolean, lasting: boolean): Promise<void> | undefined;
  /** A CONNECT closed while its claim was under way. */
  claimAbandoned(clientId: string): void;
  /** Closes the connection that holds `clientId`'s session, if another one does [MQTT-3.1.4-3]. */
  takeover(conn: HandlerConnection): void;
  /** Opens or resumes the session and attaches it to `conn` (not yet online). */
  openSession(conn: HandlerConnection, clean: boolean, expiryInterval: number): OpenedSession;
  /** CONNACK is out: the session goes online and re-sends what it owes. */
  sessionOnline(conn: HandlerConnection, present: boolean): void;
  /** Adds or replaces a subscription; returns whether the filter was already subscribed. */
  subscribe(session: SessionHandle, options: SubscriptionOptions): boolean;
  /** Removes a subscription; false when there was none. */
  unsubscribe(session: SessionHandle, topicFilter: string): boolean;
  /** Routes a client's (or the broker's) message; returns how many deliveries it made. */
  publish(msg: Message, from: ClientInfo | undefined, now: number): number;
  /** A new message id and message from a client's PUBLISH. */
  createMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties: Properties | undefined, publisherId: string): Message;
  /** Retained messages for a new subscription. */
  retainedFor(topicFilter: string, now: number): MaybePromise<Message[]>;
  /**
   * Undefined while the store (if any) can write; else a promise of the moment it can again:
   * QoS 1/2 publishes are not accepted before (nothing is acknowledged that was not stored).
   */
  storeBlocked(): Promise<void> | undefined;
  emit(event: 'client', client: ClientInfo, sessionPresent: boolean): boolean;
  emit(event: 'subscribe', client: ClientInfo, topicFilter: string, result: number): boolean;
  emit(event: 'unsubscribe', client: ClientInfo, topicFilter: string): boolean;
}
