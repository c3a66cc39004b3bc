/** Retained messages by topic name (MQTT 5.0 section 3.3.1.3), searched by subscription filters. */
import { RetainedIndex } from '../topic/retained-index.js';
import { detachPayload, type Message } from './message.js';

export class RetainedStore {
  private readonly index = new RetainedIndex<Message>();

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
    msg.payload = detachPayload(msg.payload);
    this.index.set(msg.topic, msg);
  }

  /** Live retained messages matching `filter`; expired ones are dropped on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const found = this.index.match(filter);
    let live = 0;
    for (const msg of found) {
      if (msg.isExpired(now)) this.index.delete(msg.topic);
      else found[live++] = msg;
    }
    found.length = live;
    return found;
  }

  get(topic: string): Message | undefined {
    return this.index.get(topic);
  }

  clear(): void {
    this.index.clear();
  }
}
