/**
 * A BrokerStore in this process's memory: what a broker that is closed and created again in
 * the same process (an embedder, a test) hands on to its successor. Commits are durable as
 * soon as they are made, so commit() resolves at once, in order.
 */
import type { BrokerStore, StoredDelivery, StoredMessage, StoredSession, StoredState } from './types.js';

function sub(clientId: string, n: number): string {
  return `${clientId}\u0000${n}`;
}

/** A copy that owns its bytes: a payload may be a view into a socket read the store must not pin. */
function own(m: StoredMessage): StoredMessage {
  const props = m.properties;
  const properties = props === undefined ? undefined : { ...props, ...(props.correlationData ? { correlationData: Buffer.from(props.correlationData) } : {}) };
  return { ...m, payload: Buffer.from(m.payload), properties };
}

export class MemoryStore implements BrokerStore {
  private readonly messages = new Map<number, StoredMessage>();
  private readonly deliveries = new Map<string, StoredDelivery>();
  private readonly incoming = new Map<string, { clientId: string; packetId: number }>();
  private readonly sessions = new Map<string, StoredSession>();
  private readonly retained = new Map<string, StoredMessage>();
  /** Commits so far: tests see that the broker commits once per tick, not once per write. */
  commits = 0;
  writes = 0;

  load(): Promise<StoredState> {
    const deliveries = [...this.deliveries.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : a.seq - b.seq));
    return Promise.resolve({
      messages: [...this.messages.values()],
      sessions: [...this.sessions.values()],
      deliveries,
      incoming: [...this.incoming.values()],
      retained: [...this.retained.values()],
    });
  }

  putMessage(msg: StoredMessage): void {
    this.writes++;
    this.messages.set(msg.id, own(msg));
  }
  removeMessage(id: number): void {
    this.writes++;
    this.messages.delete(id);
  }
  putDelivery(d: StoredDelivery): void {
    this.writes++;
    this.deliveries.set(sub(d.clientId, d.seq), d.message === undefined ? d : { ...d, message: own(d.message) });
  }
  removeDelivery(clientId: string, seq: number): void {
    this.writes++;
    this.deliveries.delete(sub(clientId, seq));
  }
  putIncoming(clientId: string, packetId: number): void {
    this.writes++;
    this.incoming.set(sub(clientId, packetId), { clientId, packetId });
  }
  removeIncoming(clientId: string, packetId: number): void {
    this.writes++;
    this.incoming.delete(sub(clientId, packetId));
  }
  putSession(s: StoredSession): void {
    this.writes++;
    this.sessions.set(s.clientId, s);
  }
  removeSession(clientId: string): void {
    this.writes++;
    this.sessions.delete(clientId);
  }
  putRetained(msg: StoredMessage): void {
    this.writes++;
    this.retained.set(msg.topic, own(msg));
  }
  removeRetained(topic: string): void {
    this.writes++;
    this.retained.delete(topic);
  }

  clear(): void {
    this.writes++;
    this.messages.clear();
    this.deliveries.clear();
    this.incoming.clear();
    this.sessions.clear();
    this.retained.clear();
  }

  probe(): Promise<void> {
    return Promise.resolve();
  }

  commit(): Promise<void> {
    this.commits++;
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** How many records of each kind are held. */
  get counts(): { messages: number; deliveries: number; incoming: number; sessions: number; retained: number } {
    return { messages: this.messages.size, deliveries: this.deliveries.size, incoming: this.incoming.size, sessions: this.sessions.size, retained: this.retained.size };
  }
}
