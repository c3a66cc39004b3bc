/**
 * The MQTT 5 property table (5.0 section 2.2.2.2, table 2-4): identifier, name, wire type and
 * the packets that may carry it. The codec, the CLI's `-D` flag and the man pages all read it.
 */
import { PacketType, ReasonCode, WILL_PROPERTIES } from './constants.js';
import { MqttError } from './errors.js';
import type { Properties } from './types.js';
import { varintLength, writeVarint } from './varint.js';
import type { Reader } from './reader.js';
import { binaryLength, utf8Length, writeBinary, writeU16, writeU32, writeUtf8Measured } from './writer.js';

export type PropertyType = 'byte' | 'two-byte' | 'four-byte' | 'varint' | 'utf8' | 'binary' | 'pair';

export interface PropertyInfo {
  id: number;
  /** camelCase spec name, the key in `Properties`. */
  name: keyof Properties;
  type: PropertyType;
  /** Packet type numbers (and WILL_PROPERTIES) that may carry it. */
  allowedIn: readonly number[];
  /** May appear more than once in one packet. */
  repeatable: boolean;
  /** Values the spec allows, when it limits them: a value outside is a Protocol Error. */
  check?: (value: number) => boolean;
  /** Position in PROPERTIES (ascending id): the bit used in masks. */
  index: number;
}

const {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH,
} = PacketType;
const WILL = WILL_PROPERTIES;
const zeroOrOne = (v: number): boolean => v === 0 || v === 1;
const nonZero = (v: number): boolean => v !== 0;

type Row = [number, keyof Properties, PropertyType, number[], boolean?, ((v: number) => boolean)?];

const ROWS: Row[] = [
  [0x01, 'payloadFormatIndicator', 'byte', [PUBLISH, WILL], false, zeroOrOne],
  [0x02, 'messageExpiryInterval', 'four-byte', [PUBLISH, WILL]],
  [0x03, 'contentType', 'utf8', [PUBLISH, WILL]],
  [0x08, 'responseTopic', 'utf8', [PUBLISH, WILL]],
  [0x09, 'correlationData', 'binary', [PUBLISH, WILL]],
  // [MQTT-3.8.2.1.2] a subscription identifier of 0 is a Protocol Error. Repeatable on PUBLISH only.
  [0x0b, 'subscriptionIdentifiers', 'varint', [PUBLISH, SUBSCRIBE], true, nonZero],
  [0x11, 'sessionExpiryInterval', 'four-byte', [CONNECT, CONNACK, DISCONNECT]],
  [0x12, 'assignedClientIdentifier', 'utf8', [CONNACK]],
  [0x13, 'serverKeepAlive', 'two-byte', [CONNACK]],
  [0x15, 'authenticationMethod', 'utf8', [CONNECT, CONNACK, AUTH]],
  [0x16, 'authenticationData', 'binary', [CONNECT, CONNACK, AUTH]],
  [0x17, 'requestProblemInformation', 'byte', [CONNECT], false, zeroOrOne],
  [0x18, 'willDelayInterval', 'four-byte', [WILL]],
  [0x19, 'requestResponseInformation', 'byte', [CONNECT], false, zeroOrOne],
  [0x1a, 'responseInformation', 'utf8', [CONNACK]],
  [0x1c, 'serverReference', 'utf8', [CONNACK, DISCONNECT]],
  [0x1f, 'reasonString', 'utf8', [CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH]],
  // [MQTT-3.1.2-... / 3.2.2.3.3] a Receive Maximum of 0 is a Protocol Error.
  [0x21, 'receiveMaximum', 'two-byte', [CONNECT, CONNACK], false, nonZero],
  [0x22, 'topicAliasMaximum', 'two-byte', [CONNECT, CONNACK]],
  // [MQTT-3.3.2-8] a Topic Alias of 0 is not permitted: Topic Alias invalid (0x94).
  [0x23, 'topicAlias', 'two-byte', [PUBLISH], false, nonZero],
  [0x24, 'maximumQoS', 'byte', [CONNACK], false, zeroOrOne],
  [0x25, 'retainAvailable', 'byte', [CONNACK], false, zeroOrOne],
  [0x26, 'userProperties', 'pair', [CONNECT, CONNACK, PUBLISH, WILL, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH], true],
  // A Maximum Packet Size of 0 is a Protocol Error (5.0 sections 3.1.2.11.4, 3.2.2.3.6).
  [0x27, 'maximumPacketSize', 'four-byte', [CONNECT, CONNACK], false, nonZero],
  [0x28, 'wildcardSubscriptionAvailable', 'byte', [CONNACK], false, zeroOrOne],
  [0x29, 'subscriptionIdentifiersAvailable', 'byte', [CONNACK], false, zeroOrOne],
  [0x2a, 'sharedSubscriptionAvailable', 'byte', [CONNACK], false, zeroOrOne],
];

export const PROPERTIES: readonly PropertyInfo[] = ROWS.map(([id, name, type, allowedIn, repeatable, check], index) => ({
  id, name, type, allowedIn, repeatable: repeatable ?? false, ...(check ? { check } : {}), index,
}));

const BY_ID: (PropertyInfo | undefined)[] = [];
const BY_NAME: Record<string, PropertyInfo> = Object.create(null);
/** ALLOWED[type] has bit `index` set for each property that type may carry. */
const ALLOWED: number[] = new Array(17).fill(0);
for (const info of PROPERTIES) {
  BY_ID[info.id] = info;
  BY_NAME[info.name] = info;
  for (const t of info.allowedIn) ALLOWED[t]! |= 1 << info.index;
}

export function propertyByName(name: string): PropertyInfo | undefined {
  return BY_NAME[name];
}
export function propertyById(id: number): PropertyInfo | undefined {
  return BY_ID[id];
}

function malformed(message: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, message);
}

/**
 * Reads a property length and the properties after it for a packet of `type`. Returns
 * undefined when there are none, so decoded packets carry `properties` only when it says something.
 */
export function readProperties(r: Reader, type: number): Properties | undefined {
  const len = r.varint();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw malformed('property length runs past the end of the packet');
  const outerEnd = r.end;
  r.end = end; // the properties may not read into what follows them
  const allowed = ALLOWED[type]!;
  const props: Record<string, unknown> = {};
  let seen = 0;
  while (r.pos < end) {
    const id = r.varint();
    const info = BY_ID[id];
    // 5.0 section 2.2.2.2: an identifier not valid for the packet type makes it Malformed.
    if (info === undefined || (allowed & (1 << info.index)) === 0) {
      throw malformed(`property 0x${id.toString(16).padStart(2, '0')} is not allowed in this packet`);
    }
    const bit = 1 << info.index;
    const repeatable = info.repeatable && !(info.id === 0x0b && type === SUBSCRIBE);
    if ((seen & bit) !== 0 && !repeatable) {
      throw new MqttError(ReasonCode.ProtocolError, `property ${info.name} appears more than once`);
    }
    seen |= bit;
    switch (info.type) {
      case 'byte':
      case 'two-byte':
      case 'four-byte':
      case 'varint': {
        const v = info.type === 'byte' ? r.u8() : info.type === 'two-byte' ? r.u16() : info.type === 'four-byte' ? r.u32() : r.varint();
        if (info.check !== undefined && !info.check(v)) {
          // A Topic Alias of 0 has its own reason code, 0x94 (5.0 section 3.3.2.3.4); other bad values are Protocol Errors.
          throw new MqttError(info.id === 0x23 ? ReasonCode.TopicAliasInvalid : ReasonCode.ProtocolError, `property ${info.name} may not be ${v}`);
        }
        if (info.id === 0x0b) {
          const list = props[info.name] as number[] | undefined;
          if (list === undefined) props[info.name] = [v];
          else list.push(v);
        } else {
          props[info.name] = v;
        }
        break;
      }
      case 'utf8':
        props[info.name] = r.utf8();
        break;
      case 'binary':
        props[info.name] = r.binary();
        break;
      case 'pair': {
        const key = r.utf8();
        const value = r.utf8();
        const list = props[info.name] as [string, string][] | undefined;
        if (list === undefined) props[info.name] = [[key, value]];
        else list.push([key, value]);
        break;
      }
    }
  }
  r.end = outerEnd;
  return props as Properties;
}

/**
 * Set by propertiesLength: which properties are present (bit = PropertyInfo.index). The
 * encoder measures then writes straight after, so one module-level slot saves an object
 * per packet; callers that measure twice (CONNECT and its will) copy it between calls.
 */
export let measuredMask = 0;

function invalid(name: string, why: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, `property ${name} ${why}`);
}

function checkInteger(info: PropertyInfo, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(info.name, `must be an integer from 0 to ${max}, got ${String(v)}`);
  }
  if (info.check !== undefined && !info.check(v)) {
    throw new MqttError(ReasonCode.ProtocolError, `property ${info.name} may not be ${v}`);
  }
  return v;
}

/** Bytes the properties of a packet of `type` take, without the property length itself. */
export function propertiesLength(props: Properties | undefined, type: number): number {
  measuredMask = 0;
  if (props === undefined) return 0;
  const allowed = ALLOWED[type]!;
  let len = 0;
  let mask = 0;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const info = BY_NAME[name];
    if (info === undefined) throw invalid(name, 'is not an MQTT 5 property');
    if ((allowed & (1 << info.index)) === 0) throw invalid(name, 'is not allowed in this packet');
    mask |= 1 << info.index;
    switch (info.type) {
      case 'byte':
        checkInteger(info, value, 0xff);
        len += 2;
        break;
      case 'two-byte':
        checkInteger(info, value, 0xffff);
        len += 3;
        break;
      case 'four-byte':
        checkInteger(info, value, 0xffffffff);
        len += 5;
        break;
      case 'varint': {
        const list = value as number[];
        if (!Array.isArray(list)) throw invalid(name, 'must be an array of numbers');
        if (type === SUBSCRIBE && list.length > 1) {
          throw new MqttError(ReasonCode.ProtocolError, 'SUBSCRIBE carries at most one subscription identifier');
        }
        for (const v of list) len += 1 + varintLength(checkInteger(info, v, 268_435_455));
        break;
      }
      case 'utf8':
        if (typeof value !== 'string') throw invalid(name, 'must be a string');
        len += 3 + utf8Length(value);
        break;
      case 'binary':
        if (!Buffer.isBuffer(value)) throw invalid(name, 'must be a Buffer');
        len += 1 + binaryLength(value);
        break;
      case 'pair':
        if (!Array.isArray(value)) throw invalid(name, 'must be an array of [key, value] pairs');
        for (const pair of value as [string, string][]) {
          len += 5 + utf8Length(pair[0]) + utf8Length(pair[1]);
        }
        break;
    }
  }
  measuredMask = mask;
  return len;
}

/** Writes the properties selected by `mask` in ascending identifier order; `len` excludes the length prefix. */
export function writeProperties(buf: Buffer, pos: number, props: Properties | undefined, len: number, mask: number): number {
  pos = writeVarint(buf, pos, len);
  if (props === undefined) return pos;
  const values = props as Record<string, unknown>;
  while (mask !== 0) {
    const index = 31 - Math.clz32(mask & -mask);
    mask &= mask - 1;
    const info = PROPERTIES[index]!;
    const value = values[info.name];
    switch (info.type) {
      case 'byte':
        buf[pos++] = info.id;
        buf[pos++] = value as number;
        break;
      case 'two-byte':
        buf[pos++] = info.id;
        pos = writeU16(buf, pos, value as number);
        break;
      case 'four-byte':
        buf[pos++] = info.id;
        pos = writeU32(buf, pos, value as number);
        break;
      case 'varint':
        for (const v of value as number[]) {
          buf[pos++] = info.id;
          pos = writeVarint(buf, pos, v);
        }
        break;
      case 'utf8': {
        buf[pos++] = info.id;
        pos = writeUtf8Measured(buf, pos, value as string);
        break;
      }
      case 'binary':
        buf[pos++] = info.id;
        pos = writeBinary(buf, pos, value as Buffer);
        break;
      case 'pair':
        for (const [k, v] of value as [string, string][]) {
          buf[pos++] = info.id;
          pos = writeUtf8Measured(buf, pos, k);
          pos = writeUtf8Measured(buf, pos, v);
        }
        break;
    }
  }
  return pos;
}
