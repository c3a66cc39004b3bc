/**
 * The crash rounds' clients and their ledger: publishers that count what the broker
 * acknowledged, persistent subscribers that count what arrived (a QoS 2 receiver delivers a
 * packet id once until its PUBREL: 3.1.1 MQTT-4.3.3-2, 5.0 MQTT-4.3.3-10), and the ledger's verdict.
 *
 * Every payload is "publisher:seq"; seqs grow per publisher over the whole run, so a retained
 * topic's value can be compared with the newest one acknowledged.
 */
import { RawConn } from '../lib/raw-conn.mjs';

/** Counts per seq of one publisher, grown as the seqs do: a run acknowledges millions of messages. */
class SeqCounts {
  constructor() {
    this.a = new Uint8Array(1 << 16);
  }

  get(seq) {
    return seq < this.a.length ? this.a[seq] : 0;
  }

  set(seq, n) {
    if (seq >= this.a.length) {
      let size = this.a.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.a);
      this.a = grown;
    }
    this.a[seq] = Math.min(n, 255);
  }
}

/** What the broker accepted: every QoS 1/2 message it acknowledged is owed to every persistent subscriber. */
export class Ledger {
  constructor(publisherIds) {
    this.ids = publisherIds;
    this.index = new Map(publisherIds.map((id, i) => [id, i]));
    /** per publisher: seq → QoS (1 or 2) of every acknowledged message */
    this.acked = publisherIds.map(() => new SeqCounts());
    this.ackedByQos = [0, 0, 0];
    /** [publisher, seq] acknowledged since the last verdict: what a drain still has to see */
    this.fresh = [];
    /** retained topic → newest seq acknowledged on it */
    this.retained = new Map();
    this.sentByQos = [0, 0, 0];
  }

  ack(pub, seq, qos, topic, retain) {
    if (this.acked[pub].get(seq) !== 0) return;
    this.acked[pub].set(seq, qos);
    this.ackedByQos[qos]++;
    this.fresh.push(pub, seq);
    if (retain) this.retained.set(topic, Math.max(this.retained.get(topic) ?? 0, seq));
  }
}

/**
 * Connects `id` with a clean session, or a persistent one (3.1.1 clean session 0, 5.0 session
 * expiry 3600 s) that must be there when `expectSession` says so.
 */
async function openSession(id, o, port, expectSession) {
  const { conn: client, connack } = await RawConn.session({ port, clientId: id, version: o.version, clean: !o.persistent, sessionExpiry: o.persistent ? 3600 : 0 });
  if (o.persistent && expectSession && !connack.sessionPresent) throw new Error(`${id}: its persistent session was not there (session present 0)`);
  return client;
}

/** 5.0 acknowledgements carry a reason code: 0x80 and up mean the message was not taken. */
function accepted(p) {
  return p.reasonCode === undefined || p.reasonCode < 0x80;
}

export class Publisher {
  /**
   * @param {string} id client id, also the payload's prefix
   * @param {{ version: 4 | 5, persistent: boolean, rng: () => number, ledger: Ledger, window: number }} o
   */
  constructor(id, o) {
    this.id = id;
    this.o = o;
    this.seq = 0;
    this.nextId = 1;
    /** packet id → { packet, stage: 'publish' | 'pubrel' } for QoS 1/2 not yet completed */
    this.inflight = new Map();
    /** @type {RawConn | undefined} */
    this.client = undefined;
    this.resent = 0;
    this.index = o.ledger.index.get(id);
    /** Connections made so far: which one each retained message went out and was acknowledged on. */
    this.connections = 0;
    /** retained topic → [{ seq, qos, sentOn, resentOn, ackedOn, firstAt, lastAt }] in seq order */
    this.history = new Map();
    /** Transmissions so far (sends and re-sends): the order the broker received them in. */
    this.transmissions = 0;
  }

  /**
   * Whether `found` may be the retained value of `topic` when `acked` is the newest acknowledged
   * there. Newer is fine; older only when it was re-sent after the acknowledged one first went
   * out: a QoS 1 re-send after a restart is a new publication to the broker (MQTT-4.3.2-2,
   * whatever its DUP flag), while a re-sent QoS 2 it already holds is not routed again (3.1.1 MQTT-4.3.3-2, 5.0 MQTT-4.3.3-10).
   */
  retainedOk(topic, found, acked) {
    if (found !== undefined && found >= acked) return true;
    const h = this.history.get(topic) ?? [];
    const f = h.find((e) => e.seq === found);
    const a = h.find((e) => e.seq === acked);
    return f !== undefined && a !== undefined && f.lastAt > a.firstAt;
  }

  /** What this publisher did on a retained topic between two seqs, one line. */
  explain(topic, from, to) {
    const h = (this.history.get(topic) ?? []).filter((e) => e.seq >= from && e.seq <= to);
    return h.map((e) => `${e.seq} QoS ${e.qos} sent on #${e.sentOn}${e.resentOn.length ? ` re-sent on #${e.resentOn.join(',#')}` : ''}${e.ackedOn ? ` acked on #${e.ackedOn}` : ''}`).join('; ');
  }

  async connect(port, expectSession) {
    const client = await openSession(this.id, this.o, port, expectSession);
    if (!this.o.persistent) this.inflight.clear();
    this.client = client;
    this.connections++;
    client.listen((p) => this.onPacket(p));
    // MQTT-4.4.0-1: a resumed session re-sends what it had not completed, in order, PUBLISH with DUP.
    for (const [packetId, f] of this.inflight) {
      this.resent++;
      if (f.entry !== undefined) {
        f.entry.resentOn.push(this.connections);
        f.entry.lastAt = ++this.transmissions;
      }
      if (f.stage === 'publish') client.send({ ...f.packet, dup: true });
      else client.send({ type: 'pubrel', packetId });
    }
  }

  /** Keeps `window` QoS 1/2 messages in flight; QoS 0 goes along with them, one per QoS 1/2 at most. */
  pump() {
    const c = this.client;
    if (c === undefined || !c.open) return;
    const rng = this.o.rng;
    let budget = this.o.window;
    while (this.inflight.size < this.o.window && budget-- > 0) {
      const r = rng();
      const qos = r < 0.2 ? 0 : r < 0.6 ? 1 : 2;
      const retain = rng() < 0.1;
      const seq = ++this.seq;
      const topic = retain ? `crash/r/${this.id}/${seq % 5}` : `crash/${this.id}/q${qos}`;
      const packet = { type: 'publish', topic, payload: Buffer.from(`${this.id}:${seq}`), qos, retain, dup: false };
      this.o.ledger.sentByQos[qos]++;
      let entry;
      if (retain) {
        const at = this.transmissions + 1;
        entry = { seq, qos, sentOn: this.connections, resentOn: [], ackedOn: 0, firstAt: at, lastAt: at };
        let h = this.history.get(topic);
        if (h === undefined) this.history.set(topic, (h = []));
        h.push(entry);
      }
      this.transmissions++;
      if (qos === 0) {
        c.send(packet);
        continue;
      }
      const packetId = this.takeId();
      packet.packetId = packetId;
      this.inflight.set(packetId, { packet, stage: 'publish', seq, entry });
      c.send(packet);
    }
  }

  takeId() {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffff ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  onPacket(p) {
    const f = this.inflight.get(p.packetId);
    if (f === undefined) return;
    const { packet } = f;
    if (f.entry !== undefined && (p.type === 'puback' || p.type === 'pubrec')) f.entry.ackedOn = this.connections;
    if (p.type === 'puback' && packet.qos === 1) {
      this.inflight.delete(p.packetId);
      if (accepted(p)) this.o.ledger.ack(this.index, f.seq, 1, packet.topic, packet.retain);
    } else if (p.type === 'pubrec' && packet.qos === 2 && f.stage === 'publish') {
      if (!accepted(p)) {
        this.inflight.delete(p.packetId);
      } else {
        // The broker owns a QoS 2 message once it sent PUBREC.
        this.o.ledger.ack(this.index, f.seq, 2, packet.topic, packet.retain);
        f.stage = 'pubrel';
        this.client?.send({ type: 'pubrel', packetId: p.packetId });
      }
    } else if (p.type === 'pubcomp' && f.stage === 'pubrel') {
      this.inflight.delete(p.packetId);
    }
    this.pump();
  }
}

/** A subscriber whose session outlives its connections, as a client library's state does. */
export class Subscriber {
  /**
   * @param {string} id
   * @param {{ version: 4 | 5, persistent: boolean, ledger: Ledger }} o
   */
  constructor(id, o) {
    this.id = id;
    this.o = o;
    /** per publisher: seq → times delivered (QoS 1: each PUBLISH; QoS 2: each new packet id) */
    this.got = o.ledger.ids.map(() => new SeqCounts());
    this.ledger = o.ledger;
    this.qos1Duplicates = 0;
    this.qos2Twice = 0;
    this.unreleased = new Set();
    this.lastAt = 0;
    /** @type {RawConn | undefined} */
    this.client = undefined;
  }

  async connect(port, expectSession) {
    const client = await openSession(this.id, this.o, port, expectSession);
    if (!this.o.persistent) this.unreleased.clear();
    this.client = client;
    client.listen((p) => this.onPacket(p));
    return client;
  }

  subscribe(filter, qos) {
    return new Promise((resolve, reject) => {
      const c = this.client;
      const timer = setTimeout(() => reject(new Error(`${this.id}: no SUBACK`)), 5000);
      this.onSuback = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos }] });
    });
  }

  onPacket(p) {
    const c = this.client;
    if (p.type === 'suback') {
      this.onSuback?.();
      return;
    }
    if (p.type === 'pubrel') {
      this.unreleased.delete(p.packetId);
      c.send({ type: 'pubcomp', packetId: p.packetId });
      return;
    }
    if (p.type !== 'publish') return;
    this.lastAt = Date.now();
    if (p.qos === 1) {
      const n = this.count(p.payload);
      if (n > 1) this.qos1Duplicates++;
      c.send({ type: 'puback', packetId: p.packetId });
    } else if (p.qos === 2) {
      if (!this.unreleased.has(p.packetId)) {
        this.unreleased.add(p.packetId);
        if (this.count(p.payload) > 1) this.qos2Twice++;
      }
      c.send({ type: 'pubrec', packetId: p.packetId });
    }
  }

  /** One more delivery of the message in `payload` ("publisher:seq"); returns how many so far. */
  count(payload) {
    const text = payload.toString();
    const colon = text.indexOf(':');
    const pub = this.ledger.index.get(text.slice(0, colon));
    if (pub === undefined) return 1;
    const seq = Number(text.slice(colon + 1));
    const n = this.got[pub].get(seq) + 1;
    this.got[pub].set(seq, n);
    return n;
  }

  /** What this subscriber still lacks of the ledger's fresh acknowledgements (older ones it was seen to have). */
  missing() {
    const fresh = this.ledger.fresh;
    let missing = 0;
    const examples = [];
    for (let i = 0; i < fresh.length; i += 2) {
      if (this.got[fresh[i]].get(fresh[i + 1]) === 0) {
        missing++;
        if (examples.length < 5) examples.push(`${this.ledger.ids[fresh[i]]}:${fresh[i + 1]} (QoS ${this.ledger.acked[fresh[i]].get(fresh[i + 1])})`);
      }
    }
    return { missing, examples };
  }
}
