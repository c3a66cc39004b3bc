/**
 * The stored records as keys and values of bytes, for a key-value medium (lmdb-store.ts). Keys
 * sort by kind, then client id (0x00 ends it: MQTT strings hold no U+0000 [MQTT-1.5.4-2]), then
 * sequence, so a session's deliveries read back in order. A message or will travels as the
 * MQTT 5 PUBLISH that carries it, through our own codec: every property kept as it is on the wire.
 */
import { encode } from '../codec/encode.js';
import { Parser } from '../codec/parser.js';
import type { Properties, PublishPacket, QoS } from '../codec/types.js';
import type { StoredClient, StoredDelivery, StoredMessage, StoredSession, StoredSubscription, StoredWill } from './types.js';

/** Bump when a record's layout changes; a store of another version is refused at open. */
export const FORMAT_VERSION = 1;

export const KEY_VERSION = Buffer.from('V');
const MESSAGE = 0x6d; // m
const DELIVERY = 0x64; // d
const INCOMING = 0x69; // i
const SESSION = 0x73; // s
const RETAINED = 0x72; // r

export type RecordKind = 'version' | 'message' | 'delivery' | 'incoming' | 'session' | 'retained' | 'unknown';

export function kindOf(key: Buffer): RecordKind {
  switch (key[0]) {
    case 0x56:
      return key.length === 1 ? 'version' : 'unknown';
    case MESSAGE:
      return 'message';
    case DELIVERY:
      return 'delivery';
    case INCOMING:
      return 'incoming';
    case SESSION:
      return 'session';
    case RETAINED:
      return 'retained';
    default:
      return 'unknown';
  }
}

export function messageKey(id: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = MESSAGE;
  k.writeDoubleBE(id, 1);
  return k;
}

/** kind byte + client id + 0x00 + `tail` bytes. */
function clientKey(kind: number, clientId: string, tail: number): { key: Buffer; at: number } {
  const n = Buffer.byteLength(clientId);
  const key = Buffer.allocUnsafe(2 + n + tail);
  key[0] = kind;
  key.write(clientId, 1, 'utf8');
  key[1 + n] = 0;
  return { key, at: 2 + n };
}

export function deliveryKey(clientId: string, seq: number): Buffer {
  const { key, at } = clientKey(DELIVERY, clientId, 8);
  key.writeDoubleBE(seq, at);
  return key;
}

export function incomingKey(clientId: string, packetId: number): Buffer {
  const { key, at } = clientKey(INCOMING, clientId, 2);
  key.writeUInt16BE(packetId, at);
  return key;
}

export function sessionKey(clientId: string): Buffer {
  return Buffer.concat([Buffer.of(SESSION), Buffer.from(clientId, 'utf8')]);
}

export function retainedKey(topic: string): Buffer {
  return Buffer.concat([Buffer.of(RETAINED), Buffer.from(topic, 'utf8')]);
}

/** The client id of a delivery or incoming key, and the offset of what follows it. */
function splitClientKey(key: Buffer): { clientId: string; at: number } {
  const end = key.indexOf(0, 1);
  if (end < 0) throw new Error('a record key without its client id end');
  return { clientId: key.toString('utf8', 1, end), at: end + 1 };
}

export function decodeIncomingKey(key: Buffer): { clientId: string; packetId: number } {
  const { clientId, at } = splitClientKey(key);
  return { clientId, packetId: key.readUInt16BE(at) };
}

// ---- messages: expiresAt, publisher id, then the PUBLISH --------------------------------------

function publishBytes(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties: Properties | undefined): Buffer {
  const packet: PublishPacket = { type: 'publish', topic, payload, qos, retain, dup: false };
  if (qos > 0) packet.packetId = 1;
  if (properties !== undefined) packet.properties = properties;
  return encode(packet, 5);
}

/** One parser for every stored PUBLISH: each value is one whole packet, so it ends every call clean. */
let parser = new Parser({ protocolVersion: 5 });

function readPublish(buf: Buffer): PublishPacket {
  let packets;
  try {
    packets = parser.push(buf);
  } catch (err) {
    parser = new Parser({ protocolVersion: 5 });
    throw err;
  }
  if (parser.buffered !== 0) {
    parser = new Parser({ protocolVersion: 5 });
    throw new Error('a stored message cut short');
  }
  const p = packets[0];
  if (packets.length !== 1 || p === undefined || p.type !== 'publish') throw new Error('a stored message that is not one PUBLISH');
  return p;
}

export function encodeMessage(m: StoredMessage): Buffer {
  const publisher = Buffer.from(m.publisherId, 'utf8');
  const head = Buffer.allocUnsafe(10);
  head.writeDoubleBE(m.expiresAt, 0);
  head.writeUInt16BE(publisher.length, 8);
  return Buffer.concat([head, publisher, publishBytes(m.topic, m.payload, m.qos, m.retain, m.properties)]);
}

export function decodeMessage(id: number, value: Buffer): StoredMessage {
  const expiresAt = value.readDoubleBE(0);
  const n = value.readUInt16BE(8);
  const publisherId = value.toString('utf8', 10, 10 + n);
  const p = readPublish(value.subarray(10 + n));
  // A copy: the value may be a view into the store's memory, valid only until the next read.
  return { id, topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, properties: p.properties, publisherId, expiresAt };
}

export function messageIdOf(key: Buffer): number {
  return key.readDoubleBE(1);
}

// ---- deliveries: flags, message id, packet id, subscription ids ------------------------------

/** Flag of a delivery record that carries its message after the subscription ids. */
const INLINE = 16;

export function encodeDelivery(d: StoredDelivery): Buffer {
  const ids = d.subscriptionIds;
  const n = ids?.length ?? 0;
  const head = 12 + 4 * n;
  const message = d.message === undefined ? undefined : encodeMessage(d.message);
  const buf = Buffer.allocUnsafe(head + (message?.length ?? 0));
  buf[0] = d.qos | (d.retain ? 4 : 0) | (d.released ? 8 : 0) | (message !== undefined ? INLINE : 0);
  buf.writeDoubleBE(d.messageId, 1);
  buf.writeUInt16BE(d.packetId, 9);
  buf[11] = n;
  for (let i = 0; i < n; i++) buf.writeUInt32BE(ids![i]!, 12 + 4 * i);
  if (message !== undefined) message.copy(buf, head);
  return buf;
}

export function decodeDelivery(key: Buffer, value: Buffer): StoredDelivery {
  const { clientId, at } = splitClientKey(key);
  const flags = value[0]!;
  const n = value[11]!;
  let subscriptionIds: number[] | undefined;
  if (n > 0) {
    subscriptionIds = [];
    for (let i = 0; i < n; i++) subscriptionIds.push(value.readUInt32BE(12 + 4 * i));
  }
  const messageId = value.readDoubleBE(1);
  return {
    clientId,
    seq: key.readDoubleBE(at),
    messageId,
    qos: (flags & 3) as QoS,
    retain: (flags & 4) !== 0,
    released: (flags & 8) !== 0,
    packetId: value.readUInt16BE(9),
    subscriptionIds,
    message: (flags & INLINE) !== 0 ? decodeMessage(messageId, value.subarray(12 + 4 * n)) : undefined,
  };
}

// ---- sessions: JSON, written only when a session's own fields change -------------------------

interface SessionJson {
  e: number;
  x: number | null;
  n: number;
  s: StoredSubscription[];
  c: StoredClient | null;
  w: { at: number; from: StoredClient; delay: number; publish: string } | null;
}

export function encodeSession(s: StoredSession): Buffer {
  const will = s.will;
  const json: SessionJson = {
    e: s.expiryInterval,
    x: Number.isFinite(s.expiresAt) ? s.expiresAt : null,
    n: s.nextPacketId,
    s: s.subscriptions,
    c: s.client ?? null,
    w: will === undefined ? null : encodeWill(will),
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

function encodeWill(w: StoredWill): SessionJson['w'] {
  // The delay is not a PUBLISH property: kept beside it.
  const { willDelayInterval, ...props } = w.will.properties ?? {};
  const publish = publishBytes(w.will.topic, w.will.payload, w.will.qos, w.will.retain, Object.keys(props).length > 0 ? props : undefined);
  return { at: w.at, from: w.from, delay: willDelayInterval ?? 0, publish: publish.toString('base64') };
}

export function decodeSession(key: Buffer, value: Buffer): StoredSession {
  const clientId = key.toString('utf8', 1);
  const j = JSON.parse(value.toString('utf8')) as SessionJson;
  let will: StoredWill | undefined;
  if (j.w !== null) {
    const p = readPublish(Buffer.from(j.w.publish, 'base64'));
    const properties: Properties = { ...p.properties };
    if (j.w.delay > 0) properties.willDelayInterval = j.w.delay;
    const w = { topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, ...(Object.keys(properties).length > 0 ? { properties } : {}) };
    will = { will: w, from: j.w.from, at: j.w.at };
  }
  return {
    clientId,
    expiryInterval: j.e,
    expiresAt: j.x === null ? Infinity : j.x,
    nextPacketId: j.n,
    subscriptions: j.s.map((s) => ({ ...s, subscriptionIds: s.subscriptionIds ?? undefined })),
    client: j.c ?? undefined,
    will,
  };
}

export function retainedTopicOf(key: Buffer): string {
  return key.toString('utf8', 1);
}

export function encodeVersion(): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(FORMAT_VERSION, 0);
  return b;
}
