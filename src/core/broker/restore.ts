/**
 * A store read back into a broker that has not served anyone yet: sessions offline with their
 * subscriptions, what they owe (in flight with packet ids and state, then the queue, in stored
 * order), incoming QoS 2 ids, pending wills and expiry deadlines; retained messages. A message
 * is one object however many sessions owe it, as before the restart.
 */
import type { ClientInfo, RetainedStore, SessionHost } from './types.js';
import { Message } from './message.js';
import type { Persistence } from './persistence.js';
import type { QueueMemory } from './queue-memory.js';
import type { Router } from './router.js';
import { Delivery, queuedSize } from './session-record.js';
import { Session } from './session.js';
import type { SessionTable } from './sessions.js';
import type { StoredMessage, StoredSession, StoredState } from '../store/types.js';
import type { Wills } from './will.js';

export interface RestoreCounts {
  sessions: number;
  deliveries: number;
  messages: number;
  retained: number;
  /** How long reading back took, store included. */
  ms: number;
}

export interface RestoreParts {
  persistence: Persistence;
  sessions: SessionTable;
  router: Router;
  retained: RetainedStore;
  wills: Wills;
  queueBudget: QueueMemory;
  host: SessionHost;
  now: number;
}

/** A stored message as the broker's Message, with its stored id. */
export function toMessage(m: StoredMessage): Message {
  const msg = new Message(m.topic, m.payload, m.qos, m.retain, m.properties, m.publisherId);
  msg.id = m.id;
  msg.expiresAt = m.expiresAt;
  return msg;
}

/** A stored session's own fields as a session in the table, subscribed; what it owes is the caller's. */
export function sessionFromStored(s: StoredSession, sessions: SessionTable, router: Router, host: SessionHost): Session {
  const session = Session.create(s.clientId, host);
  const record = session.record;
  record.expiryInterval = s.expiryInterval;
  record.expiresAt = s.expiresAt;
  record.nextPacketId = s.nextPacketId;
  session.client = s.client as ClientInfo | undefined;
  if (s.will !== undefined) record.will = { will: s.will.will, from: s.will.from as ClientInfo, at: s.will.at };
  sessions.restored(session);
  for (const sub of s.subscriptions) router.subscribe(session, sub);
  return session;
}

export function restoreState(state: StoredState, parts: RestoreParts): Omit<RestoreCounts, 'ms'> & { nextMessageId: number } {
  const { persistence, sessions, router, now } = parts;
  let nextMessageId = 1;
  const messages = new Map<number, Message>();
  for (const m of state.messages) {
    messages.set(m.id, toMessage(m));
    if (m.id >= nextMessageId) nextMessageId = m.id + 1;
  }

  const byId = new Map<string, Session>();
  for (const s of state.sessions) byId.set(s.clientId, sessionFromStored(s, sessions, router, parts.host));

  let deliveries = 0;
  const nextSeq = new Map<Session, number>();
  for (const d of state.deliveries) {
    const session = byId.get(d.clientId);
    let msg = messages.get(d.messageId);
    if (msg === undefined && d.message !== undefined) {
      msg = toMessage(d.message);
      messages.set(msg.id, msg);
      if (msg.id >= nextMessageId) nextMessageId = msg.id + 1;
    }
    if (session === undefined || msg === undefined) {
      // Left behind by something that is gone: not owed to anyone any more.
      persistence.leftover((s) => s.removeDelivery(d.clientId, d.seq));
      continue;
    }
    const record = session.record;
    const delivery = new Delivery(msg, d.qos, d.retain, d.subscriptionIds);
    delivery.seq = d.seq;
    delivery.released = d.released;
    if (d.message !== undefined) {
      delivery.inline = true;
      msg.inlined = true;
    } else {
      msg.storedRefs++;
    }
    if (d.seq >= (nextSeq.get(session) ?? 1)) nextSeq.set(session, d.seq + 1);
    if (d.packetId !== 0) {
      (record.inflight ??= new Map()).set(d.packetId, delivery);
    } else {
      record.enqueue(delivery);
      parts.queueBudget.bytes += queuedSize(delivery);
    }
    deliveries++;
  }
  for (const session of byId.values()) persistence.adopt(session, nextSeq.get(session) ?? 1);
  for (const i of state.incoming) {
    const session = byId.get(i.clientId);
    if (session === undefined) {
      persistence.leftover((s) => s.removeIncoming(i.clientId, i.packetId));
    } else {
      (session.record.incomingQos2 ??= new Set()).add(i.packetId);
    }
  }
  // A message record no delivery refers to by id is left over: gone (inline copies are their delivery's).
  const stored = new Set(state.messages.map((m) => m.id));
  for (const msg of messages.values()) {
    if (msg.storedRefs > 0 || !stored.has(msg.id)) continue;
    persistence.leftover((s) => s.removeMessage(msg.id));
    if (!msg.inlined) messages.delete(msg.id);
  }

  let retained = 0;
  for (const r of state.retained) {
    if (r.expiresAt !== 0 && r.expiresAt <= now) {
      persistence.retainedExpired(r.topic);
      continue;
    }
    parts.retained.store(toMessage({ ...r, retain: true }));
    retained++;
  }

  // Deadlines last, with every session and subscription in place: a will or an expired
  // session's will published now reaches whoever subscribed to it.
  for (const session of byId.values()) {
    parts.wills.restored(session, now);
    sessions.offline(session, now);
  }
  return { sessions: byId.size, deliveries, messages: messages.size, retained, nextMessageId };
}
