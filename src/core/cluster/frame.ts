/**
 * The bytes between nodes: a message forwarded to another node (one Buffer, encoded once per
 * message and node kind, decoded with the payload left as a view), and the small control
 * messages of the cluster's channels (JSON, validated: a bad one is dropped, never thrown).
 *
 * Message frame, version 1:
 *   u8 version | u8 flags (bits 0-1 QoS, 2 retain, 3 normal, 4 properties follow)
 *   u16 len + origin node id | f64 origin message id | f64 expiresAt (ms, 0 never)
 *   u16 len + topic | u16 len + publisher id | u16 count, then u16 len + each share group
 *   [MQTT 5.0 property block of a PUBLISH, as on the wire, without messageExpiryInterval,
 *    topicAlias, subscriptionIdentifiers] | payload: the rest
 */
import { PacketType } from '../codec/constants.js';
import { measuredMask, propertiesLength, propertyByName, readProperties, writeProperties } from '../codec/properties.js';
import { Reader } from '../codec/reader.js';
import type { Properties, QoS } from '../codec/types.js';
import type { StoredMessage } from '../store/types.js';

export const FRAME_VERSION = 1;

/** A message as a store keeps it (its id is the origin's, below), and where it goes on the node it is sent to. */
export interface MessageFrame extends Omit<StoredMessage, 'id'> {
  /** The node that first routed the message. */
  readonly origin: string;
  /** Its id there: origin#originId is the message's identity across nodes. */
  readonly originId: number;
  /** Deliver to the node's non-shared subscriptions. */
  readonly normal: boolean;
  /** Share groups (`$share/g/f`) where one member on the node gets it. */
  readonly shares: readonly string[];
}

export class FrameError extends Error {
  constructor(message: string) {
    super(`bad cluster frame: ${message}`);
    this.name = 'FrameError';
  }
}

const NO_SHARES: readonly string[] = [];

// Per-hop properties a frame never carries: the expiry travels as expiresAt, aliases and
// subscription identifiers belong to one connection. Masked out after measuring (no copy).
const bit = (name: string): number => 1 << propertyByName(name)!.index;
const EXPIRY = bit('messageExpiryInterval');
const ALIAS = bit('topicAlias');
const SUB_IDS = bit('subscriptionIdentifiers');

export function encodeFrame(f: MessageFrame): Buffer {
  const origin = Buffer.byteLength(f.origin);
  const topic = Buffer.byteLength(f.topic);
  const publisher = Buffer.byteLength(f.publisherId);
  if (origin > 0xffff || topic > 0xffff || publisher > 0xffff) throw new FrameError('a string is longer than 65,535 bytes');
  let sharesLen = 2;
  for (const s of f.shares) sharesLen += 2 + Buffer.byteLength(s);
  if (!Number.isSafeInteger(f.originId) || f.originId < 0) throw new FrameError(`origin message id ${f.originId} is not an integer from 0 to 2^53`);
  if (!Number.isFinite(f.expiresAt) || f.expiresAt < 0) throw new FrameError(`expiresAt ${f.expiresAt} is not a time in ms`);
  if (f.shares.length > 0xffff) throw new FrameError('more than 65,535 share groups');
  const props = f.properties;
  let propsLen = props === undefined ? 0 : propertiesLength(props, PacketType.PUBLISH);
  let propsMask = measuredMask;
  if ((propsMask & (EXPIRY | ALIAS | SUB_IDS)) !== 0) {
    if ((propsMask & EXPIRY) !== 0) propsLen -= 5;
    if ((propsMask & ALIAS) !== 0) propsLen -= 3;
    if ((propsMask & SUB_IDS) !== 0) for (const id of props!.subscriptionIdentifiers!) propsLen -= 1 + varintLength(id);
    propsMask &= ~(EXPIRY | ALIAS | SUB_IDS);
  }
  const hasProps = props !== undefined && propsLen > 0;
  const propsBlock = hasProps ? varintLength(propsLen) + propsLen : 0;
  const size = 2 + 2 + origin + 16 + 2 + topic + 2 + publisher + sharesLen + propsBlock + f.payload.length;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  buf[pos++] = FRAME_VERSION;
  buf[pos++] = (f.qos & 3) | (f.retain ? 4 : 0) | (f.normal ? 8 : 0) | (hasProps ? 16 : 0);
  pos = writeString(buf, pos, f.origin, origin);
  buf.writeDoubleBE(f.originId, pos);
  buf.writeDoubleBE(f.expiresAt, pos + 8);
  pos += 16;
  pos = writeString(buf, pos, f.topic, topic);
  pos = writeString(buf, pos, f.publisherId, publisher);
  buf.writeUInt16BE(f.shares.length, pos);
  pos += 2;
  for (const s of f.shares) {
    const len = Buffer.byteLength(s);
    if (len > 0xffff) throw new FrameError('a share group is longer than 65,535 bytes');
    pos = writeString(buf, pos, s, len);
  }
  if (hasProps) pos = writeProperties(buf, pos, props, propsLen, propsMask);
  f.payload.copy(buf, pos);
  return buf;
}

function writeString(buf: Buffer, pos: number, s: string, len: number): number {
  buf.writeUInt16BE(len, pos);
  buf.write(s, pos + 2, len, 'utf8');
  return pos + 2 + len;
}

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

// The decoder's cursor: module-level so reading a frame creates no closures (one frame at a time).
let at = 0;

function need(buf: Buffer, n: number): void {
  if (at + n > buf.length) throw new FrameError(`cut short at byte ${at} of ${buf.length}`);
}

function readString(buf: Buffer): string {
  need(buf, 2);
  const len = buf.readUInt16BE(at);
  at += 2;
  need(buf, len);
  const s = buf.toString('utf8', at, at + len);
  at += len;
  return s;
}

const reader = new Reader();

/** Reads a frame; the payload is a view into `buf`. Throws FrameError on anything malformed. */
export function decodeFrame(buf: Buffer): MessageFrame {
  if (buf.length < 2) throw new FrameError(`${buf.length} bytes, shorter than its header`);
  if (buf[0] !== FRAME_VERSION) throw new FrameError(`format version ${buf[0]}, this node reads ${FRAME_VERSION}`);
  const flags = buf[1]!;
  if ((flags & 3) === 3) throw new FrameError('QoS 3');
  if ((flags & ~31) !== 0) throw new FrameError(`unknown flags 0x${flags.toString(16)}`);
  const qos = (flags & 3) as QoS;
  at = 2;
  const origin = readString(buf);
  need(buf, 16);
  const originId = buf.readDoubleBE(at);
  const expiresAt = buf.readDoubleBE(at + 8);
  if (!Number.isSafeInteger(originId) || originId < 0) throw new FrameError(`origin message id ${originId}`);
  if (!Number.isFinite(expiresAt) || expiresAt < 0) throw new FrameError(`expiresAt ${expiresAt}`);
  at += 16;
  const topic = readString(buf);
  const publisherId = readString(buf);
  need(buf, 2);
  const count = buf.readUInt16BE(at);
  at += 2;
  let shares = NO_SHARES;
  if (count > 0) {
    const list: string[] = [];
    for (let i = 0; i < count; i++) list.push(readString(buf));
    shares = list;
  }
  let properties: Properties | undefined;
  if ((flags & 16) !== 0) {
    if (at >= buf.length) throw new FrameError(`cut short at byte ${at} of ${buf.length}`);
    reader.reset(buf, at, buf.length);
    try {
      properties = readProperties(reader, PacketType.PUBLISH);
    } catch (err) {
      reader.release();
      throw new FrameError(`properties: ${(err as Error).message}`);
    }
    at = reader.pos;
    reader.release(); // hold no frame past its decoding
  }
  return { origin, originId, topic, payload: buf.subarray(at), qos, retain: (flags & 4) !== 0, properties, publisherId, expiresAt, normal: (flags & 8) !== 0, shares };
}

/** Control messages between nodes, on the cluster's channels. */
export type Control =
  | { t: 'interest'; node: string; deltas: { filter: string; count: number }[] }
  | { t: 'hello'; node: string }
  | { t: 'bye'; node: string }
  | { t: 'req'; id: string; from: string; op: 'release' | 'drop' | 'sync' | 'kick' | 'clients' | 'stats'; clientId?: string; discard?: boolean; reason?: string }
  | { t: 'res'; id: string; from: string; ok: boolean; error?: string; data?: unknown };

export function encodeControl(c: Control): Buffer {
  return Buffer.from(JSON.stringify(c));
}

const OPS = new Set(['release', 'drop', 'sync', 'kick', 'clients', 'stats']);

/** Undefined for anything that is not a valid control message. */
export function decodeControl(buf: Buffer | string): Control | undefined {
  let v: unknown;
  try {
    v = JSON.parse(typeof buf === 'string' ? buf : buf.toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const c = v as Record<string, unknown>;
  const str = (k: string): boolean => typeof c[k] === 'string';
  const optStr = (k: string): boolean => c[k] === undefined || typeof c[k] === 'string';
  switch (c.t) {
    case 'interest':
      if (!str('node') || !Array.isArray(c.deltas)) return undefined;
      for (const d of c.deltas as unknown[]) {
        const e = d as Record<string, unknown> | null;
        if (e === null || typeof e !== 'object' || typeof e.filter !== 'string' || typeof e.count !== 'number' || !Number.isInteger(e.count) || e.count < 0) return undefined;
      }
      return c as Control;
    case 'hello':
    case 'bye':
      return str('node') ? (c as Control) : undefined;
    case 'req':
      if (!str('id') || !str('from') || typeof c.op !== 'string' || !OPS.has(c.op) || !optStr('clientId') || !optStr('reason')) return undefined;
      if (c.discard !== undefined && typeof c.discard !== 'boolean') return undefined;
      return c as Control;
    case 'res':
      if (!str('id') || !str('from') || typeof c.ok !== 'boolean' || !optStr('error')) return undefined;
      return c as Control;
    default:
      return undefined;
  }
}
