/**
 * The soak's other two promises, each kept in a ledger of its own:
 *
 * Wills. A client with a will that drops without DISCONNECT (socket destroyed, or closed by
 * the broker) owes one will; one that sends DISCONNECT owes none. Each connection of such a
 * client is an incarnation, named in its will's payload, so a will is matched to the very
 * connection it stood for. An incarnation ends when the load drops it (at the drop, before its
 * socket's close: the will can be read first) or when its socket closes unasked. missing = a
 * dropped incarnation whose will has not come within WILL_WAIT_MS (or by the end); unexpected
 * = a will of an incarnation that disconnected cleanly, or that stays connected WILL_WAIT_MS
 * after its will came.
 *
 * Retained. A subscriber that subscribes to a publisher's retained topic must get, flagged
 * retained, a value at least as new as the last one the publisher had acknowledged before the
 * SUBSCRIBE went out. stale = older; missing = none within RETAINED_WAIT_MS of its SUBACK while
 * it stayed connected (a drop earlier is not judged).
 */
export const WILL_WAIT_MS = 5000;
export const RETAINED_WAIT_MS = 3000;

export class WillLedger {
  constructor() {
    this.incarnations = new Map();
    this.arrivedCount = 0;
    this.unexpected = 0;
    this.duplicates = 0;
    this.lastArrival = 0;
    /** A few of each failure, for the report: which incarnation, in what state, when. */
    this.examples = { unexpected: [], missing: [] };
  }

  opened(client, incarnation) {
    this.incarnations.set(`${client}:${incarnation}`, { state: 'open', endedAt: 0, arrived: 0 });
  }

  /** How the incarnation ended: 'dropped' (a will is owed), 'clean' (none is) or 'uncertain' (not judged). */
  ended(client, incarnation, how, now) {
    const i = this.incarnations.get(`${client}:${incarnation}`);
    if (i === undefined || i.state !== 'open') return;
    i.state = how;
    i.endedAt = now;
    if (i.early === undefined) return;
    const early = i.early;
    i.early = undefined;
    this.arrived(`${client}:${incarnation}`, early);
  }

  arrived(key, now) {
    this.lastArrival = Math.max(this.lastArrival, now);
    const i = this.incarnations.get(key);
    // An attempt that closed before its CONNACK may have left a will at the broker, or not.
    if (i?.state === 'uncertain') return;
    if (i?.state === 'open') {
      // The broker closed this connection and published its will, and the will was read
      // before the close of its socket: judged when that close comes (ended).
      if (i.early === undefined) i.early = now;
      else this.duplicates++;
      return;
    }
    if (i === undefined || i.state !== 'dropped') {
      this.unexpected++;
      this.example(key, i, now);
      return;
    }
    if (i.arrived++ === 0) this.arrivedCount++;
    else this.duplicates++;
  }

  example(key, i, now) {
    if (this.examples.unexpected.length < 10) this.examples.unexpected.push({ will: key, state: i?.state ?? 'unknown', endedAt: i?.endedAt, at: now });
  }

  tally(now, final) {
    let expected = 0;
    let missing = 0;
    let unexpected = this.unexpected;
    for (const i of this.incarnations.values()) {
      // A will read while its connection stayed open for WILL_WAIT_MS: not one the broker owed.
      if (i.state === 'open' && i.early !== undefined && (final || i.early < now - WILL_WAIT_MS)) unexpected++;
      if (i.state !== 'dropped') continue;
      expected++;
      if (i.arrived === 0 && (final || i.endedAt < now - WILL_WAIT_MS)) missing++;
    }
    if (final) {
      for (const [key, i] of this.incarnations) {
        if (this.examples.missing.length >= 10) break;
        if (i.state === 'dropped' && i.arrived === 0) this.examples.missing.push({ will: key, endedAt: i.endedAt });
      }
    }
    return { expected, arrived: this.arrivedCount, missing, unexpected, duplicates: this.duplicates, ...(final ? { examples: this.examples } : {}) };
  }
}

export class RetainedLedger {
  constructor() {
    this.lastAcked = new Map();
    this.pending = new Map();
    this.checked = 0;
    this.stale = 0;
    this.missing = 0;
    this.empty = 0;
  }

  acked(publisher, seq) {
    if (!(this.lastAcked.get(publisher) >= seq)) this.lastAcked.set(publisher, seq);
  }

  /** Subscriber s sends its SUBSCRIBE to publisher k's retained topic now. */
  subscribing(s, publisher) {
    this.pending.set(s, { publisher, min: this.lastAcked.get(publisher), subackAt: undefined });
  }

  subacked(s, now) {
    const p = this.pending.get(s);
    if (p !== undefined) p.subackAt ??= now;
  }

  /** A message flagged retained on publisher k's retained topic reached subscriber s. */
  arrived(s, publisher, seq) {
    const p = this.pending.get(s);
    if (p === undefined || p.publisher !== publisher) return;
    this.pending.delete(s);
    this.checked++;
    if (p.min !== undefined && seq < p.min) this.stale++;
  }

  /** Subscriber s's connection is gone: judge its wait if it has lasted long enough. */
  dropped(s, now) {
    const p = this.pending.get(s);
    if (p === undefined) return;
    this.pending.delete(s);
    this.judge(p, now);
  }

  judge(p, now) {
    if (p.subackAt === undefined || p.subackAt > now - RETAINED_WAIT_MS) return false;
    // Nothing was retained yet when it subscribed: nothing to wait for.
    if (p.min === undefined) this.empty++;
    else this.missing++;
    return true;
  }

  tally(now) {
    for (const [s, p] of this.pending) if (this.judge(p, now)) this.pending.delete(s);
    return { checked: this.checked, stale: this.stale, missing: this.missing };
  }
}
