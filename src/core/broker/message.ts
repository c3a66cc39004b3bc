/**
 * One application message inside the broker, shared by every subscriber it goes to. The
 * encoded PUBLISH is cached on it, so a fan-out encodes once per distinct wire form
 * (protocol family, QoS, retain flag) and only patches the packet id per subscriber.
 */
import { encode } from '../codec/encode.js';
import type { Properties, ProtocolVersion, PublishPacket, QoS } from '../codec/types.js';

export class Message {
  /** Wall-clock time after which the message is dropped (MQTT 5 Message Expiry), 0 for never. */
  expiresAt = 0;
  /**
   * The broker's id for this message, unique within one broker's life (0 for messages made
   * outside a broker): what a store keys the message by, so sessions that owe it refer to one
   * stored copy.
   */
  id = 0;
  /**
   * In a cluster, the node that first routed it and its id there ('' and 0: this node, `id`):
   * the message's identity across nodes, which a session moving between nodes dedupes by.
   */
  origin = '';
  originId = 0;
  /** Stored deliveries that refer to it by id: the store keeps its own record of it while this is above 0. */
  storedRefs = 0;
  /** One stored delivery carries it in its record (the first to be stored). */
  inlined = false;
  /** The payload is a buffer of its own (or a slab slice), not a view into a socket chunk. */
  private detached = false;
  /** Single-entry encode cache: covers one-to-one routing without allocating a table. */
  private cacheKey = -1;
  private cacheBuf: Buffer | undefined = undefined;
  private cacheMore: (Buffer | undefined)[] | undefined = undefined;

  constructor(
    readonly topic: string,
    public payload: Buffer,
    readonly qos: QoS,
    readonly retain: boolean,
    /** Properties forwarded unchanged: no topic alias, subscription ids or expiry (set per delivery). */
    readonly properties: Properties | undefined,
    /** Client id of the publisher, for No Local; '' for the broker's own messages. */
    readonly publisherId: string,
  ) {}

  /**
   * Makes the payload a buffer of its own when it is a small view of a large socket chunk:
   * called when the message outlives the read that brought it (queued, in flight, retained),
   * so 1,000 queued 10-byte messages hold 10 KB, not 1,000 read chunks. Once per message.
   */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.payload = detachPayload(this.payload);
    const props = this.properties;
    if (props !== undefined) detachProperties(props);
  }

  /** Seconds left before expiry, at least 1 while alive; -1 when the message never expires. */
  remainingExpiry(now: number): number {
    if (this.expiresAt === 0) return -1;
    return Math.max(0, Math.ceil((this.expiresAt - now) / 1000));
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }

  /**
   * The PUBLISH bytes for a subscriber of `version` at `qos` with `retain`, packet id 1 as a
   * placeholder (see packetIdOffset). Only for deliveries that carry nothing per subscriber:
   * no subscription ids, no topic alias, no expiry.
   */
  template(version: ProtocolVersion, qos: QoS, retain: boolean): Buffer {
    const key = (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    if (key === this.cacheKey) return this.cacheBuf!;
    let buf: Buffer | undefined;
    if (this.cacheKey === -1) {
      buf = this.encodeFor(version, qos, retain, undefined, 1);
      this.cacheKey = key;
      this.cacheBuf = buf;
      return buf;
    }
    const more = (this.cacheMore ??= []);
    buf = more[key];
    if (buf === undefined) more[key] = buf = this.encodeFor(version, qos, retain, undefined, 1);
    return buf;
  }

  /** A PUBLISH for one subscriber, for deliveries that need per-subscriber fields. */
  encodeFor(version: ProtocolVersion, qos: QoS, retain: boolean, properties: Properties | undefined, packetId: number, topic: string = this.topic, dup = false): Buffer {
    const packet: PublishPacket = { type: 'publish', topic, payload: this.payload, qos, retain, dup };
    if (qos > 0) packet.packetId = packetId;
    const props = properties ?? this.properties;
    if (props !== undefined) packet.properties = props;
    return encode(packet, version);
  }

  /** Frees the cached encodings, e.g. before the message waits a long time in a queue. */
  dropCache(): void {
    this.cacheKey = -1;
    this.cacheBuf = undefined;
    this.cacheMore = undefined;
  }
}

/**
 * Where the packet id sits in an encoded QoS > 0 PUBLISH: after the fixed header and the
 * topic, whatever the version (the properties come after it).
 */
export function packetIdOffset(publish: Buffer): number {
  let pos = 1;
  while ((publish[pos]! & 0x80) !== 0) pos++;
  pos++;
  const topicLength = (publish[pos]! << 8) | publish[pos + 1]!;
  return pos + 2 + topicLength;
}

/**
 * Binary properties (Correlation Data, Authentication Data) are views of the read chunk like
 * payloads: copied out in place, on a properties object the broker owns.
 */
export function detachProperties(props: Properties, alone = false): Properties {
  if (props.correlationData !== undefined) props.correlationData = detachPayload(props.correlationData, alone);
  if (props.authenticationData !== undefined) props.authenticationData = detachPayload(props.authenticationData, alone);
  return props;
}

/**
 * A payload that is a small view of a large socket chunk would pin the whole chunk while the
 * message waits (retained, queued). Copy it out when it is kept for long.
 *
 * Buffer.from copies a small payload into Node's shared 8 KiB pool: a slab, not a chunk each.
 * That suits queued messages, which leave in about the order they came, so a slab empties
 * together. A will or a retained value may stay for days while everything around it in its
 * slab was garbage a moment later, and the slab stays with it (a soak of 10,000 clients
 * reconnecting showed ArrayBuffer memory climbing to ~15 MB that way): `alone` gives such a
 * copy a buffer of its own size.
 */
export function detachPayload(payload: Buffer, alone = false): Buffer {
  if (payload.byteLength >= payload.buffer.byteLength / 2) return payload;
  if (!alone) return Buffer.from(payload);
  const copy = Buffer.allocUnsafeSlow(payload.byteLength);
  payload.copy(copy);
  return copy;
}
