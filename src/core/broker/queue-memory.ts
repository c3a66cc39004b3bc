/**
 * maxQueueMemory: the bytes all session queues hold, and how room is made past the limit.
 *
 * Each queued delivery counts its message's payload and topic, once per queue that holds it
 * (a message queued for 100 sessions counts 100 times, though the sessions share one Message):
 * an upper bound on what queues cost, kept with one addition per enqueue and one subtraction
 * per dequeue, drop or session end, and freed exactly by every drop.
 *
 * Past the limit (session.ts): a new QoS 0 delivery for a queue is dropped; a new QoS 1/2 one
 * asks makeRoom(), which drops the oldest messages of the longest offline queues; when no
 * offline queue can give enough, the new one is dropped. Every drop goes through the session's
 * drop counter and the broker's rate-limited log line: an acknowledged message is never lost
 * without a word. Finding the longest queue scans the sessions, only while over the limit.
 */
import type { Session } from './session.js';
import type { QueueBudget } from './types.js';

export class QueueMemory implements QueueBudget {
  bytes = 0;

  constructor(
    readonly max: number,
    private readonly sessions: () => Iterable<Session>,
  ) {}

  makeRoom(size: number): boolean {
    const max = this.max;
    if (size > max) return false;
    const why = `queue memory full (maxQueueMemory ${max} bytes): oldest message of the longest offline queue dropped`;
    while (this.bytes + size > max) {
      let longest: Session | undefined;
      let second = 0;
      for (const s of this.sessions()) {
        const n = s.connection === null ? s.queued : 0;
        if (n === 0) continue;
        if (longest === undefined || n > longest.queued) {
          if (longest !== undefined) second = longest.queued;
          longest = s;
        } else if (n > second) {
          second = n;
        }
      }
      if (longest === undefined) return false;
      // Drop from it while it is still the longest, then look again.
      while (this.bytes + size > max && longest.queued > 0 && longest.queued >= second) longest.dropOldest(why);
    }
    return true;
  }
}
