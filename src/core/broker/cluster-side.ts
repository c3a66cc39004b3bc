/**
 * The broker's side of a cluster (src/core/cluster/node.ts drives it): route a message another
 * node sent, restore a session another node held, hand one of ours over, adopt a dead node's.
 *
 * A session moves from node A to node B in four steps, so nothing owed is lost or doubled:
 *   1. B claims the client; A closes its connection (release) and commits the session's state,
 *      but keeps it subscribed: what arrives for it meanwhile is queued there (noted as late).
 *   2. B restores the state from Redis (restore): subscribed at once, not yet stored, not yet
 *      online; what arrives for it on B meanwhile is queued after what it brought.
 *   3. Once B's interest is announced (every node then sends B what matches), A drops the
 *      session without touching the store and hands over the late deliveries (drop).
 *   4. B puts them between what it brought and what it got itself, minus those it got too
 *      (a message's identity across nodes is origin#originId), and stores the whole session
 *      anew (merge). Then CONNACK, Session Present 1.
 */
import type { QoS } from '../codec/types.js';
import type { StoredState } from '../store/types.js';
import type { Will } from '../codec/types.js';
import type { ClientInfo, RetainedStore, SessionHost } from './types.js';
import { Message } from './message.js';
import { sessionFromStored, toMessage } from './restore.js';
import type { Persistence } from './persistence.js';
import type { QueueMemory } from './queue-memory.js';
import type { Router } from './router.js';
import { Delivery, queuedSize } from './session-record.js';
import { Session } from './session.js';
import type { SessionTable } from './sessions.js';
import type { Wills } from './will.js';

/** A delivery handed from one node to another with its session. */
export interface MovedDelivery {
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
}

export interface ClusterSideParts {
  readonly nodeId: string;
  readonly sessions: SessionTable;
  readonly router: Router;
  readonly wills: Wills;
  readonly queueBudget: QueueMemory;
  readonly persistence: Persistence | undefined;
  readonly host: SessionHost;
  readonly retained: RetainedStore;
  /** A fresh message id of this broker. */
  nextMessageId(): number;
  /** Closes the connection holding `clientId`'s session as a takeover does (0x8E in 5.0). */
  takeOver(clientId: string, why: string): void;
}

/** A message's identity across nodes. */
export function originKey(msg: Message, self: string): string {
  return msg.origin === '' ? `${self}#${msg.id}` : `${msg.origin}#${msg.originId}`;
}

export class ClusterSide {
  /** Sessions being handed to another node: what they owed when the move began. */
  private readonly moving = new Map<string, Set<Delivery>>();
  /** Sessions restored from another node and not merged yet: how many queued deliveries they brought. */
  private readonly arriving = new Map<string, number>();

  constructor(private readonly parts: ClusterSideParts) {}

  /** A message another node sent here (see Router.routeRemote); never sent on. */
  routeRemote(msg: Message, normal: boolean, shares: readonly string[], now = Date.now()): number {
    return this.parts.router.routeRemote(msg, normal, shares, now);
  }

  /** A message a dead node was owed, for the sessions adopted from it only. */
  routeToClients(msg: Message, clients: ReadonlySet<string>, normal: boolean, shares: readonly string[], now = Date.now()): number {
    return this.parts.router.routeToClients(msg, clients, normal, shares, now);
  }

  /** Another node's retained change: this node's copy follows; nothing is routed or stored. */
  mirrorRetained(msg: Message): void {
    this.parts.retained.store(msg);
  }

  /** Whether `clientId` is in the middle of a move to or from this node. */
  inMove(clientId: string): boolean {
    return this.moving.has(clientId) || this.arriving.has(clientId);
  }

  /**
   * Step 2: the session of another node, read from the store, as an offline session here:
   * subscribed, owing what it owed (in flight first, with its packet ids), not yet stored.
   * False when the state holds no session.
   */
  restore(state: StoredState, now = Date.now()): boolean {
    const s = state.sessions[0];
    if (s === undefined) return false;
    const { sessions, router } = this.parts;
    const old = sessions.get(s.clientId);
    if (old !== undefined) sessions.end(old);
    const session = sessionFromStored(s, sessions, router, this.parts.host);
    const record = session.record;
    const list = state.deliveries.filter((d) => d.clientId === s.clientId).sort((a, b) => a.seq - b.seq);
    for (const d of list) {
      const m = d.message;
      if (m === undefined) continue; // a cluster store keeps every message inline
      const msg = toMessage(m);
      msg.id = this.parts.nextMessageId(); // another node's id: one of ours instead
      const delivery = new Delivery(msg, d.qos, d.retain, d.subscriptionIds);
      delivery.released = d.released;
      if (d.packetId !== 0) {
        (record.inflight ??= new Map()).set(d.packetId, delivery);
      } else {
        record.enqueue(delivery);
        this.parts.queueBudget.bytes += queuedSize(delivery);
      }
    }
    for (const i of state.incoming) if (i.clientId === s.clientId) (record.incomingQos2 ??= new Set()).add(i.packetId);
    this.parts.wills.restored(session, now);
    sessions.offline(session, now);
    if (sessions.get(s.clientId) !== session) return false; // it expired while nobody held it
    this.arriving.set(s.clientId, record.queued);
    return true;
  }

  /**
   * Step 1 on the node that holds `clientId`: its connection closes as in a takeover; with
   * `discard` (the client connects with Clean Start elsewhere) the session ends here, else it
   * stays, subscribed, for drop(). Returns whether a session is left to move.
   */
  release(clientId: string, discard: boolean): boolean {
    const { sessions } = this.parts;
    this.parts.takeOver(clientId, 'session taken over by a client on another node');
    const session = sessions.get(clientId);
    if (session === undefined) return false;
    if (discard) {
      sessions.end(session);
      return false;
    }
    const owed = new Set<Delivery>();
    const record = session.record;
    for (let i = record.queueHead; i < record.queue.length; i++) owed.add(record.queue[i]!);
    if (record.inflight !== undefined) for (const d of record.inflight.values()) owed.add(d);
    this.moving.set(clientId, owed);
    // The store keeps the session as it is now (the caller commits it): what comes later is
    // handed over by drop(), never also found in the store by the node that restores it.
    session.journal = undefined;
    return true;
  }

  /**
   * Step 3: the session leaves this node, its store records left for the node that took it;
   * returns what it was given since release(), oldest first.
   */
  drop(clientId: string): MovedDelivery[] {
    const owed = this.moving.get(clientId);
    this.moving.delete(clientId);
    const session = this.parts.sessions.get(clientId);
    if (session === undefined) return [];
    const late: MovedDelivery[] = [];
    const record = session.record;
    for (let i = record.queueHead; i < record.queue.length; i++) {
      const d = record.queue[i]!;
      if (owed === undefined || !owed.has(d)) late.push({ message: d.message, qos: d.qos, retain: d.retain, subscriptionIds: d.subscriptionIds });
    }
    this.parts.sessions.drop(session);
    return late;
  }

  /** A move that did not finish (the other node went silent): the session stays here, stored anew. */
  abandon(clientId: string): void {
    if (!this.moving.delete(clientId)) return;
    const session = this.parts.sessions.get(clientId);
    if (session !== undefined) this.parts.persistence?.rewrite(session);
  }

  /**
   * Step 4: the late deliveries join the session after what it brought, without those it got
   * here as well; then the session is stored anew under this node (the old node's records of it
   * go in the same commit).
   */
  merge(clientId: string, late: readonly MovedDelivery[]): void {
    const brought = this.arriving.get(clientId);
    this.arriving.delete(clientId);
    const session = this.parts.sessions.get(clientId);
    if (session === undefined || brought === undefined) return;
    const record = session.record;
    const queued = record.queue.slice(record.queueHead);
    const own = queued.slice(Math.min(brought, queued.length));
    const self = this.parts.nodeId;
    const ownKeys = new Set<string>();
    for (const d of own) ownKeys.add(originKey(d.message, self));
    record.queue = queued.slice(0, Math.min(brought, queued.length));
    record.queueHead = 0;
    record.queuedBytes = 0;
    for (const d of record.queue) record.queuedBytes += queuedSize(d);
    for (const l of late) {
      if (ownKeys.has(originKey(l.message, self))) continue;
      const d = new Delivery(l.message, l.qos, l.retain, l.subscriptionIds);
      l.message.detach();
      record.enqueue(d);
      this.parts.queueBudget.bytes += queuedSize(d);
    }
    for (const d of own) record.enqueue(d);
    this.parts.persistence?.rewrite(session);
  }

  /**
   * A client of a node that died: its session (if it had a lasting one) taken over here, and
   * its will published as after any connection lost (now, or after its delay while the session
   * lives). Returns whether a session was adopted.
   */
  adopt(clientId: string, state: StoredState | undefined, lost: { will: Will; from: ClientInfo } | undefined, now = Date.now()): boolean {
    const adopted = state !== undefined && this.restore(state, now);
    if (adopted) this.settle(clientId);
    if (lost !== undefined) this.willLost(clientId, lost);
    return adopted;
  }

  /**
   * The connection of `clientId` was lost with its node (killed): its will goes out as after
   * any connection lost, now or after its delay while the session (if here) lives.
   */
  willLost(clientId: string, lost: { will: Will; from: ClientInfo }): void {
    const session = this.parts.sessions.get(clientId);
    // A clean session's will needs a session to hang on for a moment: one of its own, never tabled.
    this.parts.wills.connectionLost(session ?? Session.create(clientId, this.parts.host), lost.will, lost.from);
  }

  /** A restored session whose move is over with nothing late (its old node is gone): stored anew. */
  settle(clientId: string): void {
    this.merge(clientId, []);
  }
}
