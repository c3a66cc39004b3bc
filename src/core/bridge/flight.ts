/**
 * The bridge's ack chain: every QoS 1/2 message crossing is acknowledged to the side it came
 * from only once the other side has acknowledged it (out: the remote's PUBACK or PUBCOMP, then
 * our PUBACK or PUBREC to our broker; in: our broker's PUBACK or PUBREC, which it sends after its
 * store commit, then ours to the remote). So whichever side restarts, a message acknowledged to
 * its sender is held by the other side.
 *
 * Both links are up together or down together (engine.ts). While down nothing is sent; the
 * tables outlive a reconnect, and each side's CONNACK says whether that side still has its half
 * of the conversation (session present): if so, what was in flight is sent again under the same
 * packet ids (PUBLISH with DUP, or PUBREL); if not, the half that side held is forgotten and
 * what we still owe it is sent as new messages.
 *
 * Packet ids are ours in two spaces: towards the remote (remoteId) and towards our broker
 * (localId, for messages coming in). Our broker's ids for what it delivers to us are its own.
 */
import type { Packet, Properties, PublishPacket, QoS } from '../codec/types.js';
import { inRoute, outRoute, toLocal, toRemote, type TopicRoute } from './topics.js';

/** The two links, as the flight tables use them. */
export interface FlightLinks {
  toRemote(packet: Packet): void;
  toLocal(packet: Packet): void;
  /** Our broker refused a message (its store cannot write): the bridge goes down and tries again later. */
  localRefused(why: string): void;
  /** A message the remote refused or one too large to send: said once in a while, not per message. */
  dropped(why: string): void;
}

/** A message on its way out, from our broker's delivery to the remote's acknowledgement. */
interface OutFlight {
  /** Our broker's packet id of its delivery to us; 0: nothing to acknowledge (its session is gone, or QoS 0). */
  localId: number;
  localQos: QoS;
  /** 0 while not sent (waiting for the remote's window). */
  remoteId: number;
  /** The PUBLISH for the remote (payload copied out of the socket chunk); packetId and dup set per send. */
  packet: PublishPacket;
  /** The remote sent PUBREC: PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
}

/** A message on its way in, from the remote's PUBLISH to our broker's acknowledgement. */
interface InFlight {
  /** The remote's packet id; 0: the remote waits for nothing (its session is gone). */
  remoteId: number;
  /** 0 while not sent to our broker (its window is full, or it is not connected). */
  localId: number;
  packet: PublishPacket;
  /** QoS 2: our broker acknowledged, PUBREC sent to the remote, waiting for its PUBREL. */
  recorded: boolean;
}

const MAX_ID = 65_535;

function copyProperties(p: Properties | undefined): Properties | undefined {
  if (p === undefined) return undefined;
  const out: Properties = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = Buffer.from(p.correlationData);
  if (p.userProperties !== undefined) out.userProperties = p.userProperties;
  return out;
}

export class Flight {
  private readonly outByRemote = new Map<number, OutFlight>();
  private readonly outByLocal = new Map<number, OutFlight>();
  private outWaiting: OutFlight[] = [];
  private readonly inByRemote = new Map<number, InFlight>();
  private readonly inByLocal = new Map<number, InFlight>();
  private inWaiting: InFlight[] = [];
  /** Our QoS 2 publishes to our broker after its PUBREC: PUBREL sent, waiting for PUBCOMP (ids in use). */
  private readonly localReleased = new Set<number>();
  /** Ids of our own packets to the remote (SUBSCRIBE, notifications) whose answers are not messages. */
  private readonly remoteControl = new Set<number>();
  private readonly localControl = new Set<number>();
  private nextRemoteId = 1;
  private nextLocalId = 1;
  private up = false;
  /** The remote's Receive Maximum (5.0), our broker's for us. */
  private remoteWindow = MAX_ID;
  private localWindow = MAX_ID;
  /** Messages forwarded each way, for status(). */
  sent = 0;
  received = 0;

  constructor(
    private readonly routes: readonly TopicRoute[],
    private readonly links: FlightLinks,
    private readonly outgoingRetain: boolean,
    /** Largest PUBLISH the remote takes (bytes, 0: no limit): the smaller of the option and the remote's Maximum Packet Size. */
    public remoteMaxPacket: number,
  ) {}

  /** The remote's Maximum QoS and Retain Available (5.0 CONNACK); 2 and true before 5.0. */
  remoteMaxQos: QoS = 2;
  remoteRetain = true;

  /** QoS 1/2 messages out of our broker's hands and not yet acknowledged by the remote (orphans included). */
  get outPending(): number {
    return this.outByRemote.size + this.outWaiting.length;
  }

  /** Out messages whose delivery our broker no longer counts (its session was gone at a reconnect). */
  get outOrphans(): number {
    let n = 0;
    for (const o of this.outByRemote.values()) if (o.localId === 0) n++;
    for (const o of this.outWaiting) if (o.localId === 0) n++;
    return n;
  }

  // ---- connection changes ------------------------------------------------------------------

  /** The remote's CONNACK: its window, and whether it still holds our session there. */
  remoteConnected(sessionPresent: boolean, receiveMaximum: number): void {
    this.remoteWindow = receiveMaximum;
    this.remoteControl.clear();
    if (sessionPresent) return;
    // The remote forgot what we had sent it: send it all again as new messages, in order.
    const again: OutFlight[] = [];
    for (const o of this.outByRemote.values()) {
      o.remoteId = 0;
      o.released = false;
      again.push(o);
    }
    this.outByRemote.clear();
    this.outWaiting = again.concat(this.outWaiting);
    // And it waits for no answer from us any more.
    for (const e of this.inByRemote.values()) {
      e.remoteId = 0;
      if (e.recorded) this.forgetIn(e);
    }
    this.inByRemote.clear();
  }

  /** Our broker's CONNACK for the bridge's session. */
  localConnected(sessionPresent: boolean, receiveMaximum: number): void {
    this.localWindow = receiveMaximum;
    this.localControl.clear();
    if (sessionPresent) return;
    // Its deliveries to us are gone with the session: nothing to acknowledge to it any more.
    for (const o of this.outByLocal.values()) o.localId = 0;
    this.outByLocal.clear();
    // What it had not acknowledged it never stored: send it again, as new.
    const again: InFlight[] = [];
    for (const e of this.inByLocal.values()) {
      e.localId = 0;
      again.push(e);
    }
    this.inByLocal.clear();
    this.inWaiting = again.concat(this.inWaiting);
    this.localReleased.clear();
  }

  /** Both links are up: send again what is in flight, then what waits. */
  resume(): void {
    this.up = true;
    for (const [id, o] of this.outByRemote) {
      if (o.released) this.links.toRemote({ type: 'pubrel', packetId: id });
      else this.sendOut(o, true);
    }
    for (const e of this.inByLocal.values()) this.sendIn(e, true);
    for (const id of this.localReleased) this.links.toLocal({ type: 'pubrel', packetId: id });
    this.pumpOut();
    this.pumpIn();
  }

  /** The links are down: nothing is sent until resume(). */
  halt(): void {
    this.up = false;
  }

  // ---- out: our broker → remote ------------------------------------------------------------

  /** A PUBLISH our broker delivered to the bridge's session. */
  localPublish(p: PublishPacket): void {
    const localId = p.qos > 0 ? p.packetId! : 0;
    // Our broker sending again what is already on its way (a resumed session): wait for the remote.
    if (localId !== 0 && this.outByLocal.has(localId)) return;
    const route = outRoute(this.routes, p.topic);
    // The topic line's QoS caps the message's, as mosquitto; and the remote's Maximum QoS caps both.
    const capped = route === undefined || route.qos >= p.qos ? p.qos : route.qos;
    const qos = (capped > this.remoteMaxQos ? this.remoteMaxQos : capped) as QoS;
    const packet: PublishPacket = {
      type: 'publish',
      topic: toRemote(route, p.topic),
      payload: Buffer.from(p.payload),
      qos,
      retain: this.outgoingRetain && this.remoteRetain && p.retain,
      dup: false,
    };
    const props = copyProperties(p.properties);
    if (props !== undefined) packet.properties = props;
    if (qos === 0) {
      if (this.fits(packet)) {
        this.links.toRemote(packet);
        this.sent++;
      }
      this.ackLocal(localId, p.qos);
      return;
    }
    const o: OutFlight = { localId, localQos: p.qos, remoteId: 0, packet, released: false };
    if (!this.fits(packet)) {
      this.ackLocal(localId, p.qos);
      return;
    }
    if (localId !== 0) this.outByLocal.set(localId, o);
    if (this.up && this.outWaiting.length === 0 && this.outByRemote.size < this.remoteWindow) this.sendOut(o, false);
    else this.outWaiting.push(o);
  }

  /** Our broker's PUBREL for a QoS 2 delivery we PUBREC'd. */
  localPubrel(id: number): void {
    this.links.toLocal({ type: 'pubcomp', packetId: id });
  }

  remotePuback(id: number, reasonCode: number): void {
    const o = this.outByRemote.get(id);
    if (o === undefined) {
      this.remoteControl.delete(id);
      return;
    }
    if (reasonCode >= 0x80) this.links.dropped(`the remote refused a message on ${o.packet.topic} (reason 0x${reasonCode.toString(16)})`);
    this.outDone(o);
  }

  remotePubrec(id: number, reasonCode: number): void {
    const o = this.outByRemote.get(id);
    if (o !== undefined && reasonCode >= 0x80) {
      // Refused: the exchange ends here, with no PUBREL [MQTT-4.3.3].
      this.links.dropped(`the remote refused a message on ${o.packet.topic} (reason 0x${reasonCode.toString(16)})`);
      this.outDone(o);
      return;
    }
    if (o !== undefined) o.released = true;
    this.links.toRemote({ type: 'pubrel', packetId: id });
  }

  remotePubcomp(id: number): void {
    const o = this.outByRemote.get(id);
    if (o !== undefined) this.outDone(o);
  }

  private sendOut(o: OutFlight, again: boolean): void {
    if (o.remoteId === 0) {
      o.remoteId = this.allocRemote();
      this.outByRemote.set(o.remoteId, o);
    }
    const p = o.packet;
    p.packetId = o.remoteId;
    p.dup = again;
    this.links.toRemote(p);
  }

  private outDone(o: OutFlight): void {
    this.outByRemote.delete(o.remoteId);
    this.sent++;
    if (o.localId !== 0) {
      this.outByLocal.delete(o.localId);
      this.ackLocal(o.localId, o.localQos);
    }
    this.pumpOut();
  }

  private ackLocal(localId: number, qos: QoS): void {
    if (localId === 0) return;
    this.links.toLocal({ type: qos === 1 ? 'puback' : 'pubrec', packetId: localId });
  }

  private pumpOut(): void {
    if (!this.up || this.outWaiting.length === 0) return;
    let i = 0;
    const waiting = this.outWaiting;
    while (i < waiting.length && this.outByRemote.size < this.remoteWindow) this.sendOut(waiting[i++]!, false);
    if (i > 0) this.outWaiting = waiting.slice(i);
  }

  private fits(p: PublishPacket): boolean {
    const max = this.remoteMaxPacket;
    // A bound, not the exact size: fixed header, topic, id, properties rarely pass 64 bytes.
    if (max === 0 || p.payload.length + Buffer.byteLength(p.topic) + 64 <= max) return true;
    this.links.dropped(`a message on ${p.topic} (${p.payload.length} bytes) is larger than the remote takes (${max})`);
    return false;
  }

  // ---- in: remote → our broker -------------------------------------------------------------

  remotePublish(p: PublishPacket): void {
    const route = inRoute(this.routes, p.topic);
    if (p.qos > 0) {
      const known = this.inByRemote.get(p.packetId!);
      if (known !== undefined) {
        // The remote sending again what we have: answer again once our broker has it.
        if (known.recorded) this.links.toRemote({ type: 'pubrec', packetId: p.packetId! });
        return;
      }
    }
    const packet: PublishPacket = { type: 'publish', topic: toLocal(route, p.topic), payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, dup: false };
    const props = copyProperties(p.properties);
    if (props !== undefined) packet.properties = props;
    this.received++;
    if (p.qos === 0) {
      this.links.toLocal(packet);
      return;
    }
    const e: InFlight = { remoteId: p.packetId!, localId: 0, packet, recorded: false };
    this.inByRemote.set(e.remoteId, e);
    if (this.up && this.inWaiting.length === 0 && this.localInflight() < this.localWindow) this.sendIn(e, false);
    else this.inWaiting.push(e);
  }

  remotePubrel(id: number): void {
    const e = this.inByRemote.get(id);
    if (e !== undefined && !e.recorded) return; // cannot be: PUBREL comes after our PUBREC
    if (e !== undefined) this.inByRemote.delete(id);
    this.links.toRemote({ type: 'pubcomp', packetId: id });
  }

  localPuback(id: number, reasonCode: number): void {
    const e = this.inByLocal.get(id);
    if (e === undefined) {
      this.localControl.delete(id);
      return;
    }
    if (reasonCode >= 0x80) return this.refusedIn(e, reasonCode);
    this.inByLocal.delete(id);
    if (e.remoteId !== 0) {
      this.inByRemote.delete(e.remoteId);
      this.links.toRemote({ type: 'puback', packetId: e.remoteId });
    }
    this.pumpIn();
  }

  localPubrec(id: number, reasonCode: number): void {
    const e = this.inByLocal.get(id);
    if (e === undefined) {
      this.links.toLocal({ type: 'pubrel', packetId: id });
      return;
    }
    if (reasonCode >= 0x80) return this.refusedIn(e, reasonCode);
    this.inByLocal.delete(id);
    this.localReleased.add(id);
    this.links.toLocal({ type: 'pubrel', packetId: id });
    if (e.remoteId !== 0) {
      e.recorded = true;
      this.links.toRemote({ type: 'pubrec', packetId: e.remoteId });
    }
  }

  localPubcomp(id: number): void {
    this.localReleased.delete(id);
    this.pumpIn();
  }

  private refusedIn(e: InFlight, reasonCode: number): void {
    // Not stored by our broker: keep it (the remote keeps it too) and send it again after a reconnect.
    this.inByLocal.delete(e.localId);
    e.localId = 0;
    this.inWaiting.unshift(e);
    this.links.localRefused(`our broker refused a message on ${e.packet.topic} (reason 0x${reasonCode.toString(16)})`);
  }

  private forgetIn(e: InFlight): void {
    if (e.localId !== 0) this.inByLocal.delete(e.localId);
    const i = this.inWaiting.indexOf(e);
    if (i >= 0) this.inWaiting.splice(i, 1);
  }

  private localInflight(): number {
    return this.inByLocal.size + this.localReleased.size;
  }

  private sendIn(e: InFlight, again: boolean): void {
    if (e.localId === 0) {
      e.localId = this.allocLocal();
      this.inByLocal.set(e.localId, e);
    }
    const p = e.packet;
    p.packetId = e.localId;
    p.dup = again;
    this.links.toLocal(p);
  }

  private pumpIn(): void {
    if (!this.up || this.inWaiting.length === 0) return;
    let i = 0;
    const waiting = this.inWaiting;
    while (i < waiting.length && this.localInflight() < this.localWindow) this.sendIn(waiting[i++]!, false);
    if (i > 0) this.inWaiting = waiting.slice(i);
  }

  // ---- packet ids --------------------------------------------------------------------------

  /** An id for one of our own packets to the remote (SUBSCRIBE, a notification). */
  remoteControlId(): number {
    const id = this.allocRemote();
    this.remoteControl.add(id);
    return id;
  }

  localControlId(): number {
    const id = this.allocLocal();
    this.localControl.add(id);
    return id;
  }

  private allocRemote(): number {
    for (;;) {
      const id = this.nextRemoteId;
      this.nextRemoteId = id === MAX_ID ? 1 : id + 1;
      if (!this.outByRemote.has(id) && !this.remoteControl.has(id)) return id;
    }
  }

  private allocLocal(): number {
    for (;;) {
      const id = this.nextLocalId;
      this.nextLocalId = id === MAX_ID ? 1 : id + 1;
      if (!this.inByLocal.has(id) && !this.localReleased.has(id) && !this.localControl.has(id)) return id;
    }
  }
}
