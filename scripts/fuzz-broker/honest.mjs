/**
 * The well-behaved clients: publishers that number their messages per QoS, and subscribers
 * that keep what arrived, so the end of a run can say, per subscriber, publisher and QoS,
 * what was lost, doubled or out of order. They log in as the honest user, keep their
 * keep-alive with PINGREQ, and must never be disconnected.
 */
import { RawConn } from '../lib/raw-conn.mjs';

export const HONEST_PASSWORD = 'honest-password';
const KEEPALIVE_S = 30;
const PING_EVERY_MS = 10_000;

/** `H|<publisher>|<qos>|<seq>|<padding>`: the only payload a well-behaved client sends. */
export function honestPayload(pub, qos, seq, pad) {
  return Buffer.from(`H|${pub}|${qos}|${seq}|${'.'.repeat(pad)}`);
}

export function parsePayload(buf) {
  const m = /^H\|(\d+)\|([012])\|(\d+)\|\.*$/.exec(buf.toString('latin1'));
  return m === null ? undefined : { pub: Number(m[1]), qos: Number(m[2]), seq: Number(m[3]) };
}

async function open(port, version, clientId, { onFailure, onPacket }) {
  const conn = await RawConn.dial(port, version, 10_000);
  let connacked;
  const connack = new Promise((resolve) => {
    connacked = resolve;
  });
  conn.onPacket = (p) => (p.type === 'connack' ? connacked(p) : onPacket(p));
  conn.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: KEEPALIVE_S, clientId, username: 'honest', password: Buffer.from(HONEST_PASSWORD) });
  const ack = await Promise.race([connack, conn.closed.then(() => undefined), new Promise((r) => setTimeout(r, 15_000))]);
  if (ack === undefined || ack.reasonCode !== 0) {
    conn.destroy();
    throw new Error(`${clientId}: ${ack === undefined ? 'no CONNACK within 15 s' : `CONNACK ${ack.reasonCode}`}`);
  }
  conn.pinger = setInterval(() => conn.send({ type: 'pingreq' }), PING_EVERY_MS);
  conn.closed.then(() => {
    clearInterval(conn.pinger);
    if (!conn.leaving) onFailure(`well-behaved client ${clientId} was disconnected${conn.parseError ? ` (our parser: ${conn.parseError.message})` : ''}`);
  });
  return conn;
}

function leave(conn) {
  conn.leaving = true;
  clearInterval(conn.pinger);
  conn.send({ type: 'disconnect' });
  conn.socket.end();
}

export class Publisher {
  /**
   * @param index  its number in payloads and topics (honest/p<index>/q<qos>)
   * @param rate   messages a second for each QoS
   * @param window QoS 1/2 messages unacknowledged at most, per QoS
   */
  constructor({ port, index, version, rate, window, rng, onFailure }) {
    Object.assign(this, { port, index, version, rate, window, rng, onFailure });
    this.clientId = `honest-pub-${index}`;
    /** Per QoS: messages sent; for QoS 1/2 the numbers acknowledged (PUBACK, or PUBREC: the broker owns it then). */
    this.sent = [0, 0, 0];
    this.acked = [[], [], []];
    this.ackedCount = [0, 0, 0];
    /** packet id → { qos, seq, stage }, for QoS 1/2 not yet finished. */
    this.inflight = new Map();
    this.inflightPerQos = [0, 0, 0];
    this.nextId = 1;
    this.sending = false;
  }

  async start() {
    this.conn = await open(this.port, this.version, this.clientId, { onFailure: this.onFailure, onPacket: (p) => this.onPacket(p) });
    this.sending = true;
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 20);
  }

  tick() {
    if (!this.sending || this.conn.isClosed) return;
    const due = Math.floor(((Date.now() - this.startedAt) / 1000) * this.rate);
    for (const qos of [0, 1, 2]) {
      while (this.sent[qos] < due && (qos === 0 || this.inflightPerQos[qos] < this.window)) this.publish(qos);
    }
  }

  publish(qos) {
    const seq = ++this.sent[qos];
    const packet = { type: 'publish', topic: `honest/p${this.index}/q${qos}`, payload: honestPayload(this.index, qos, seq, this.rng.int(0, 200)), qos, retain: false, dup: false };
    if (qos > 0) {
      while (this.inflight.has(this.nextId)) this.nextId = (this.nextId % 65_535) + 1;
      packet.packetId = this.nextId;
      this.nextId = (this.nextId % 65_535) + 1;
      this.inflight.set(packet.packetId, { qos, seq, stage: 'sent' });
      this.inflightPerQos[qos]++;
    }
    this.conn.send(packet);
  }

  onPacket(p) {
    if (p.type === 'pingresp') return;
    const f = this.inflight.get(p.packetId);
    if ((p.type === 'puback' || p.type === 'pubrec' || p.type === 'pubcomp') && f === undefined) {
      return this.onFailure(`${this.clientId}: ${p.type.toUpperCase()} for packet id ${p.packetId}, which it has not in flight`);
    }
    switch (p.type) {
      case 'puback':
      case 'pubrec': {
        if (f.stage !== 'sent' || (p.type === 'puback') !== (f.qos === 1)) return this.onFailure(`${this.clientId}: unexpected ${p.type.toUpperCase()} for its QoS ${f.qos} message ${f.seq}`);
        if ((p.reasonCode ?? 0) >= 0x80) return this.onFailure(`${this.clientId}: QoS ${f.qos} message ${f.seq} refused with 0x${p.reasonCode.toString(16)}`);
        this.acked[f.qos].push(f.seq);
        this.ackedCount[f.qos]++;
        if (p.type === 'puback') return this.finish(p.packetId, f);
        f.stage = 'released';
        return this.conn.send({ type: 'pubrel', packetId: p.packetId });
      }
      case 'pubcomp':
        if (f.stage !== 'released') return this.onFailure(`${this.clientId}: PUBCOMP before PUBREL for message ${f.seq}`);
        return this.finish(p.packetId, f);
      default:
        return this.onFailure(`${this.clientId}: unexpected ${p.type.toUpperCase()} from the broker`);
    }
  }

  finish(packetId, f) {
    this.inflight.delete(packetId);
    this.inflightPerQos[f.qos]--;
  }

  /** Stops sending; resolves once every QoS 1/2 flow has finished (or `timeoutMs` passed). */
  async settle(timeoutMs) {
    this.sending = false;
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && !this.conn.isClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.inflight.size;
  }

  close() {
    clearInterval(this.timer);
    leave(this.conn);
  }
}

export class Subscriber {
  /** @param grantedQos the QoS it subscribes with: what it gets is min(this, the publisher's) */
  constructor({ port, index, version, filter, grantedQos, onFailure, onIntrusion }) {
    Object.assign(this, { port, index, version, filter, grantedQos, onFailure, onIntrusion });
    this.clientId = `honest-sub-${index}`;
    /** `${pub}|${qos}` → { counts: Map<seq, n>, last: highest first-seen seq, outOfOrder } */
    this.streams = new Map();
    this.received = [0, 0, 0];
    /** QoS 2 packet ids received and not yet released: a re-send of one is no new message [MQTT-4.3.3-10]. */
    this.unreleased = new Set();
  }

  async start() {
    this.conn = await open(this.port, this.version, this.clientId, { onFailure: this.onFailure, onPacket: (p) => this.onPacket(p) });
    const suback = new Promise((resolve) => {
      this.onSuback = resolve;
    });
    this.conn.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: this.filter, qos: this.grantedQos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    const ack = await Promise.race([suback, new Promise((r) => setTimeout(r, 15_000))]);
    if (ack === undefined || ack.reasonCodes[0] !== this.grantedQos) throw new Error(`${this.clientId}: SUBSCRIBE ${this.filter} answered ${ack === undefined ? 'nothing in 15 s' : ack.reasonCodes}`);
  }

  onPacket(p) {
    const c = this.conn;
    switch (p.type) {
      case 'suback':
        return this.onSuback?.(p);
      case 'pingresp':
        return;
      case 'pubrel':
        this.unreleased.delete(p.packetId);
        return c.send({ type: 'pubcomp', packetId: p.packetId });
      case 'publish':
        break;
      default:
        return this.onFailure(`${this.clientId}: unexpected ${p.type.toUpperCase()} from the broker`);
    }
    if (p.qos === 1) c.send({ type: 'puback', packetId: p.packetId });
    if (p.qos === 2) {
      c.send({ type: 'pubrec', packetId: p.packetId });
      if (this.unreleased.has(p.packetId)) return;
      this.unreleased.add(p.packetId);
    }
    const m = parsePayload(p.payload);
    if (m === undefined || !p.topic.startsWith('honest/') || p.topic !== `honest/p${m.pub}/q${m.qos}`) {
      return this.onIntrusion(`${this.clientId} received a message no well-behaved client sent: ${p.topic} ${JSON.stringify(p.payload.subarray(0, 40).toString('latin1'))}`);
    }
    if (p.qos !== Math.min(m.qos, this.grantedQos)) this.onFailure(`${this.clientId}: message at QoS ${p.qos}, expected ${Math.min(m.qos, this.grantedQos)}`);
    this.received[m.qos]++;
    const key = `${m.pub}|${m.qos}`;
    let s = this.streams.get(key);
    if (s === undefined) this.streams.set(key, (s = { counts: new Map(), last: 0, outOfOrder: 0 }));
    const n = s.counts.get(m.seq) ?? 0;
    s.counts.set(m.seq, n + 1);
    if (n === 0) {
      if (m.seq < s.last) s.outOfOrder++;
      else s.last = m.seq;
    }
  }

  /** True once every acknowledged QoS 1/2 message of `publishers` is here. */
  hasAll(publishers) {
    for (const pub of publishers) {
      for (const qos of [1, 2]) {
        const counts = this.streams.get(`${pub.index}|${qos}`)?.counts;
        if (pub.acked[qos].some((seq) => !(counts?.get(seq) > 0))) return false;
      }
    }
    return true;
  }

  close() {
    leave(this.conn);
  }
}

/**
 * What each subscriber got against what each publisher was acknowledged: per QoS, messages
 * expected, received, lost and doubled, and the failures (a lost QoS 1/2 message, a doubled
 * QoS 2 or QoS 0 one, any out of order, a number never sent).
 */
export function verify(publishers, subscribers) {
  const perQos = [0, 1, 2].map((qos) => ({ qos, sent: 0, acked: 0, expected: 0, received: 0, lost: 0, dup: 0, outOfOrder: 0 }));
  const failures = [];
  for (const pub of publishers) {
    for (const qos of [0, 1, 2]) {
      perQos[qos].sent += pub.sent[qos];
      perQos[qos].acked += qos === 0 ? pub.sent[0] : pub.ackedCount[qos];
    }
  }
  for (const s of subscribers) {
    for (const pub of publishers) {
      for (const qos of [0, 1, 2]) {
        const row = perQos[qos];
        const stream = s.streams.get(`${pub.index}|${qos}`) ?? { counts: new Map(), outOfOrder: 0 };
        const effective = Math.min(qos, s.grantedQos);
        const where = `${s.clientId} from ${pub.clientId} at QoS ${qos}${effective !== qos ? ` (granted ${effective})` : ''}`;
        const expectedSeqs = qos === 0 ? Array.from({ length: pub.sent[0] }, (_, i) => i + 1) : pub.acked[qos];
        row.expected += expectedSeqs.length;
        let lost = 0;
        let dup = 0;
        for (const [seq, n] of stream.counts) {
          row.received += n;
          if (n > 1) dup += n - 1;
          if (seq > pub.sent[qos]) failures.push(`${where}: message ${seq}, never sent`);
        }
        for (const seq of expectedSeqs) if (!(stream.counts.get(seq) > 0)) lost++;
        row.lost += lost;
        row.dup += dup;
        row.outOfOrder += stream.outOfOrder;
        if (qos > 0 && lost > 0) failures.push(`${where}: ${lost} acknowledged message(s) lost`);
        if (dup > 0 && effective !== 1) failures.push(`${where}: ${dup} duplicate(s)`);
        if (stream.outOfOrder > 0) failures.push(`${where}: ${stream.outOfOrder} out of order`);
      }
    }
  }
  return { perQos, failures };
}

export { KEEPALIVE_S };
