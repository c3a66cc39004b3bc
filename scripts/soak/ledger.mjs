/**
 * What was sent, acknowledged and received, and so what was lost and duplicated.
 *
 * Every message carries (publisher, qos, seq); seq counts per publisher and QoS from 0. A
 * publisher's side keeps, per seq, when it was first sent and when the broker acknowledged it
 * (PUBACK; PUBREC for QoS 2: the broker routes a QoS 2 message before its PUBREC, so from then
 * on it owns it). A subscriber's side keeps how often each seq arrived, after the client's own
 * QoS 2 de-duplication by packet id (what an application sees).
 *
 * What a subscriber is owed — the acknowledged QoS ≥ 1 messages of its publisher that
 *   persistent: were first sent after its first SUBACK (plus MARGIN_MS): its session holds them
 *               while it is away, so it is owed them whether it was online or not;
 *   clean:      were first sent after the SUBACK of one of its connections and acknowledged
 *               before that connection dropped (MARGIN_MS inside both ends). The broker routes a
 *               message between its first send and its acknowledgement, so within that window
 *               the subscription surely existed; a message routed around a SUBACK or a drop
 *               is not judged either way, as it may rightly be missing.
 * MARGIN_MS covers the load process reading the SUBACK and the acknowledgement, written in
 * one broker tick, from two sockets in whatever order its event loop gets to them.
 *
 * lost = owed and never arrived (after the drain, in the final tally); dup = arrived more than
 * once (allowed at QoS 1 and counted; an error at QoS 2). While the load runs, a sample counts
 * as lost what is owed, acknowledged over OVERDUE_MS ago, to a subscriber online for over
 * OVERDUE_MS, and has not come: a warning, as only the drain can say it never will.
 */
export const MARGIN_MS = 250;
export const OVERDUE_MS = 5000;

function grown(array, index) {
  if (index < array.length) return array;
  const next = new Uint8Array(Math.max(64, array.length * 2, index + 1));
  next.set(array);
  return next;
}

export class Ledger {
  constructor() {
    this.publishers = new Map();
    this.subscribers = new Map();
    /** When the last message arrived anywhere: the drain waits for quiet. */
    this.lastArrival = 0;
    /** Messages that reached a subscriber not subscribed to their publisher, or at another QoS. */
    this.misrouted = 0;
    this.wrongQos = 0;
  }

  addPublisher(k) {
    this.publishers.set(k, { first: [[], [], []], acked: [[], [], []] });
  }

  addSubscriber(s, publisher, persistent) {
    this.subscribers.set(s, {
      publisher,
      persistent,
      firstSuback: undefined,
      windows: [],
      online: false,
      onlineSince: 0,
      counts: [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)],
    });
  }

  /** A new message of publisher k at `qos`: its seq. */
  sent(k, qos, now) {
    const first = this.publishers.get(k).first[qos];
    first.push(now);
    return first.length - 1;
  }

  acked(k, qos, seq, now) {
    const acked = this.publishers.get(k).acked[qos];
    if (acked[seq] === undefined) acked[seq] = now;
  }

  /** CONNACK of subscriber s. */
  online(s, now) {
    const sub = this.subscribers.get(s);
    sub.online = true;
    sub.onlineSince = now;
  }

  /** SUBACK of subscriber s (its publisher's topics granted). */
  subscribed(s, now) {
    const sub = this.subscribers.get(s);
    sub.firstSuback ??= now;
    if (!sub.persistent) {
      const open = sub.windows.at(-1);
      if (open === undefined || open.end !== Infinity) sub.windows.push({ start: now, end: Infinity });
    }
  }

  /** Subscriber s's connection is gone (dropped, closed, or refused). */
  offline(s, now) {
    const sub = this.subscribers.get(s);
    sub.online = false;
    const open = sub.windows.at(-1);
    if (open !== undefined && open.end === Infinity) open.end = now;
  }

  /** A message (publisher k, qos, seq) reached subscriber s, at `deliveredQos`. */
  received(s, k, qos, seq, deliveredQos, now) {
    this.lastArrival = now;
    const sub = this.subscribers.get(s);
    if (sub.publisher !== k || qos > 2 || !this.publishers.has(k)) {
      this.misrouted++;
      return;
    }
    if (deliveredQos !== qos) this.wrongQos++;
    const counts = (sub.counts[qos] = grown(sub.counts[qos], seq));
    if (counts[seq] < 255) counts[seq]++;
  }

  owed(sub, first, acked) {
    if (sub.persistent) return sub.firstSuback !== undefined && first > sub.firstSuback + MARGIN_MS;
    for (const w of sub.windows) if (first > w.start + MARGIN_MS && acked < w.end - MARGIN_MS) return true;
    return false;
  }

  /**
   * Per QoS: sent, acked (QoS ≥ 1), received (distinct messages at subscribers), deliveries (all
   * arrivals), lost (QoS ≥ 1; final, or overdue while running), dup (arrivals past the first).
   */
  tally(now, final) {
    const rows = [0, 1, 2].map((qos) => ({ qos, sent: 0, acked: qos === 0 ? null : 0, received: 0, deliveries: 0, lost: qos === 0 ? null : 0, dup: 0 }));
    for (const p of this.publishers.values()) {
      for (const qos of [0, 1, 2]) {
        rows[qos].sent += p.first[qos].length;
        if (qos > 0) for (const a of p.acked[qos]) if (a !== undefined) rows[qos].acked++;
      }
    }
    for (const sub of this.subscribers.values()) {
      const pub = this.publishers.get(sub.publisher);
      const judged = final || (sub.online && sub.onlineSince < now - OVERDUE_MS);
      for (const qos of [0, 1, 2]) {
        const counts = sub.counts[qos];
        const row = rows[qos];
        for (let seq = 0; seq < counts.length; seq++) {
          const c = counts[seq];
          if (c === 0) continue;
          row.received++;
          row.deliveries += c;
          row.dup += c - 1;
        }
        if (qos === 0 || !judged) continue;
        const { first, acked } = { first: pub.first[qos], acked: pub.acked[qos] };
        for (let seq = 0; seq < acked.length; seq++) {
          const a = acked[seq];
          if (a === undefined || (seq < counts.length && counts[seq] > 0)) continue;
          if (!final && a >= now - OVERDUE_MS) continue;
          if (this.owed(sub, first[seq], a)) row.lost++;
        }
      }
    }
    return rows;
  }
}
