/**
 * What each kind of soak client does once connected (Peer in peer.mjs does the connecting):
 *
 *   Publisher   publishes to soak/m/<k>/q<qos> at QoS 0, 1 or 2, and now and then a retained
 *               QoS 1 value to soak/r/<k>. Persistent ones resend what was not acknowledged
 *               when they come back (PUBLISH with DUP, or PUBREL after a PUBREC), as a client
 *               must for its session; clean ones forget it (never acknowledged, so never owed).
 *   Subscriber  subscribes to one publisher: soak/m/<k>/+ at QoS 2 (so each message arrives at
 *               the QoS it was published with) and soak/r/<k> at QoS 1. A persistent one
 *               subscribes once and expects its session back (sessionPresent) on every return.
 *               QoS 2 is de-duplicated by packet id until PUBREL, as a receiver must.
 *   Idle        holds a session and a subscription nobody publishes to; some carry a will
 *               (soak/will/<i>, payload "<i>:<incarnation>", QoS 1).
 *   WillWatcher one persistent client subscribed to soak/will/#, never dropped.
 *
 * Payload of a soak message: publisher u32, qos u8, seq u32, retained-value flag u8, padding.
 */
import { Peer } from './peer.mjs';

export const PAYLOAD_BYTES = 32;
/** Unacknowledged publishes a publisher allows itself; past it, it skips a beat (counted). */
const MAX_INFLIGHT = 50;
const PACKET_IDS = 65_535;

export function payloadOf(publisher, qos, seq, retained) {
  const b = Buffer.alloc(PAYLOAD_BYTES);
  b.writeUInt32BE(publisher, 0);
  b.writeUInt8(qos, 4);
  b.writeUInt32BE(seq, 5);
  b.writeUInt8(retained ? 1 : 0, 9);
  return b;
}

export function readPayload(b) {
  if (b.length !== PAYLOAD_BYTES) return undefined;
  return { publisher: b.readUInt32BE(0), qos: b.readUInt8(4), seq: b.readUInt32BE(5), retained: b.readUInt8(9) === 1 };
}

/** Chooses a QoS for the next message: 30% QoS 0, 40% QoS 1, 30% QoS 2. */
function chooseQos(r) {
  return r < 0.3 ? 0 : r < 0.7 ? 1 : 2;
}

export class Publisher extends Peer {
  constructor(ctx, spec) {
    super(ctx, spec);
    this.k = spec.publisher;
    /** packetId → { qos, seq, retained, stage: 'sent' | 'released' } */
    this.inflight = new Map();
    this.nextId = 1;
    this.beats = 0;
    this.retainedSeq = 0;
    ctx.ledger.addPublisher(this.k);
  }

  onConnack(sessionPresent, resumed) {
    if (!this.persistent) {
      this.inflight.clear();
      return;
    }
    if (resumed && !sessionPresent) this.ctx.stats.sessionsLost++;
    for (const [packetId, m] of this.inflight) {
      if (m.stage === 'released') this.send({ type: 'pubrel', packetId });
      else this.send(this.publishPacket(m, packetId, true));
    }
  }

  publishPacket(m, packetId, dup) {
    const topic = m.retained ? `soak/r/${this.k}` : `soak/m/${this.k}/q${m.qos}`;
    return { type: 'publish', topic, payload: payloadOf(this.k, m.qos, m.seq, m.retained), qos: m.qos, retain: m.retained, dup, packetId };
  }

  allocateId() {
    for (let i = 0; i < PACKET_IDS; i++) {
      const id = this.nextId;
      this.nextId = id === PACKET_IDS ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    throw new Error('no packet id free');
  }

  /** One beat of the publisher: a message, and every fifth beat a retained value. */
  beat(now, random) {
    if (this.state !== 'online') return;
    if (this.inflight.size >= MAX_INFLIGHT) {
      this.ctx.stats.skippedBeats++;
      return;
    }
    const qos = chooseQos(random());
    this.publish({ qos, seq: this.ctx.ledger.sent(this.k, qos, now), retained: false });
    if (++this.beats % 5 === 0) this.publish({ qos: 1, seq: this.retainedSeq++, retained: true });
  }

  publish(m) {
    if (m.qos === 0) {
      this.send(this.publishPacket(m, undefined, false));
      return;
    }
    const packetId = this.allocateId();
    this.inflight.set(packetId, { ...m, stage: 'sent' });
    this.send(this.publishPacket(m, packetId, false));
  }

  onPacket(p) {
    const m = this.inflight.get(p.packetId);
    if (p.type === 'puback' || p.type === 'pubrec') {
      if (m === undefined || m.stage !== 'sent') return;
      if ((p.reasonCode ?? 0) >= 0x80) {
        // Refused: not the broker's to deliver.
        this.ctx.stats.refusedPublishes++;
        this.inflight.delete(p.packetId);
        return;
      }
      const now = this.ctx.now();
      if (m.retained) this.ctx.retained.acked(this.k, m.seq);
      else this.ctx.ledger.acked(this.k, m.qos, m.seq, now);
      if (p.type === 'puback') this.inflight.delete(p.packetId);
      else {
        m.stage = 'released';
        this.send({ type: 'pubrel', packetId: p.packetId });
      }
    } else if (p.type === 'pubcomp') {
      if (m?.stage === 'released') this.inflight.delete(p.packetId);
    } else super.onPacket(p);
  }
}

export class Subscriber extends Peer {
  constructor(ctx, spec) {
    super(ctx, spec);
    this.k = spec.publisher;
    this.subscribedOnce = false;
    /** Incoming QoS 2 packet ids between PUBLISH and PUBREL: kept with the session. */
    this.qos2 = new Set();
    ctx.ledger.addSubscriber(this.index, this.k, this.persistent);
  }

  onConnack(sessionPresent, resumed) {
    const now = this.ctx.now();
    this.ctx.ledger.online(this.index, now);
    if (!sessionPresent) this.qos2.clear();
    if (this.persistent && resumed && this.subscribedOnce && !sessionPresent) this.ctx.stats.sessionsLost++;
    if (this.persistent && sessionPresent && this.subscribedOnce) return;
    this.ctx.retained.subscribing(this.index, this.k);
    this.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topicFilter: `soak/m/${this.k}/+`, qos: 2 },
        { topicFilter: `soak/r/${this.k}`, qos: 1 },
      ],
    });
  }

  onPacket(p) {
    const now = this.ctx.now();
    if (p.type === 'suback') {
      if (p.reasonCodes.some((c) => c >= 0x80)) {
        this.ctx.stats.subscribeRefused++;
        return;
      }
      this.subscribedOnce = true;
      this.ctx.ledger.subscribed(this.index, now);
      this.ctx.retained.subacked(this.index, now);
    } else if (p.type === 'publish') {
      this.ack(p);
      if (p.qos === 2) {
        if (this.qos2.has(p.packetId)) return;
        this.qos2.add(p.packetId);
      }
      const m = readPayload(p.payload);
      if (m === undefined) {
        this.ctx.ledger.misrouted++;
        return;
      }
      if (m.retained) {
        if (p.retain) this.ctx.retained.arrived(this.index, m.publisher, m.seq);
      } else this.ctx.ledger.received(this.index, m.publisher, m.qos, m.seq, p.qos, now);
    } else if (p.type === 'pubrel') {
      this.qos2.delete(p.packetId);
      this.send({ type: 'pubcomp', packetId: p.packetId });
    }
  }

  // Its window ends at the drop: what is read after it is not owed (only counted).
  onDrop() {
    this.onOffline();
  }

  onOffline() {
    const now = this.ctx.now();
    this.ctx.ledger.offline(this.index, now);
    this.ctx.retained.dropped(this.index, now);
  }
}

export class Idle extends Peer {
  constructor(ctx, spec) {
    super(ctx, spec);
    this.hasWill = spec.will;
    this.subscribedOnce = false;
  }

  connectPacket() {
    const p = super.connectPacket();
    if (this.hasWill) {
      p.will = { topic: `soak/will/${this.index}`, payload: Buffer.from(`${this.index}:${this.incarnation}`), qos: 1, retain: false };
      this.ctx.wills.opened(this.index, this.incarnation);
    }
    return p;
  }

  onConnack(sessionPresent) {
    if (this.persistent && sessionPresent && this.subscribedOnce) return;
    this.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `soak/idle/${this.index}`, qos: 1 }] });
  }

  onPacket(p) {
    if (p.type === 'suback') this.subscribedOnce = true;
    else super.onPacket(p);
  }

  onDrop(how) {
    this.onOffline(how);
  }

  onOffline(how) {
    if (this.hasWill) this.ctx.wills.ended(this.index, this.incarnation, how === 'clean' ? 'clean' : 'dropped', this.ctx.now());
  }

  onAttemptFailed() {
    if (this.hasWill) this.ctx.wills.ended(this.index, this.incarnation, 'uncertain', this.ctx.now());
  }
}

export class WillWatcher extends Peer {
  onConnack(sessionPresent, resumed) {
    if (resumed && !sessionPresent) this.ctx.stats.sessionsLost++;
    if (!sessionPresent) this.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'soak/will/#', qos: 1 }] });
  }

  onPacket(p) {
    if (p.type === 'publish') {
      this.ack(p);
      this.ctx.wills.arrived(p.payload.toString(), this.ctx.now());
    } else if (p.type === 'suback') this.ready = true;
    else super.onPacket(p);
  }
}
