/**
 * Retained messages by topic name (MQTT 5.0 section 3.3.1.3), in memory: the default
 * RetainedStore. It keeps a record of each message (topic, payload of its own, QoS,
 * properties, expiry), not the routed Message: the live message's encoded copies go with it,
 * and each subscriber that gets the retained message later gets a fresh Message, whose
 * encodings are gone once it is delivered.
 */
import type { Properties, QoS } from '../codec/types.js';
import { RetainedIndex } from '../topic/retained-index.js';
import { Message, detachPayload, detachProperties } from './message.js';
import type { RetainedStore } from './types.js';

interface RetainedRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly properties: Properties | undefined;
  readonly publisherId: string;
  readonly expiresAt: number;
  readonly id: number;
}

function toMessage(r: RetainedRecord): Message {
  const msg = new Message(r.topic, r.payload, r.qos, true, r.properties, r.publisherId);
  msg.expiresAt = r.expiresAt;
  msg.id = r.id;
  return msg;
}

export class MemoryRetainedStore implements RetainedStore {
  private readonly index = new RetainedIndex<RetainedRecord>();

  get size(): number {
    return this.index.size;
  }

  /**
   * Stores or replaces the retained message of its topic; an empty payload deletes it
   * [MQTT-3.3.1-10] [MQTT-3.3.1-11].
   */
  store(msg: Message): void {
    if (msg.payload.length === 0) {
      this.index.delete(msg.topic);
      return;
    }
    this.index.set(msg.topic, {
      topic: msg.topic,
      payload: detachPayload(msg.payload, true),
      qos: msg.qos,
      properties: msg.properties === undefined ? undefined : detachProperties({ ...msg.properties }, true),
      publisherId: msg.publisherId,
      expiresAt: msg.expiresAt,
      id: msg.id,
    });
  }

  /** Live retained messages matching `filter`; expired ones are dropped on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const found = this.index.match(filter);
    const out: Message[] = [];
    for (const r of found) {
      if (r.expiresAt !== 0 && now >= r.expiresAt) this.index.delete(r.topic);
      else out.push(toMessage(r));
    }
    return out;
  }

  all(now: number): Message[] {
    const out: Message[] = [];
    for (const [, r] of this.index) if (r.expiresAt === 0 || now < r.expiresAt) out.push(toMessage(r));
    return out;
  }

  get(topic: string): Message | undefined {
    const r = this.index.get(topic);
    return r === undefined ? undefined : toMessage(r);
  }

  clear(): void {
    this.index.clear();
  }
}
