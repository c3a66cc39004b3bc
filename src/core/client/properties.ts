/**
 * MQTT 5 properties a client sets on the command line (`-D <packet> <name> <value>`, as in
 * mosquitto's client_props.c), checked against the codec's one property table, and their
 * translation into the shape MQTT.js expects. Pure functions: no flags, no I/O.
 */
import { PacketType, WILL_PROPERTIES } from '../codec/constants.js';
import { PROPERTIES, type PropertyInfo } from '../codec/properties.js';
import type { Properties } from '../codec/types.js';

/** Packets a client may put properties on, by the names mosquitto's `-D` uses. */
export const PROPERTY_PACKETS = {
  connect: PacketType.CONNECT,
  publish: PacketType.PUBLISH,
  subscribe: PacketType.SUBSCRIBE,
  unsubscribe: PacketType.UNSUBSCRIBE,
  disconnect: PacketType.DISCONNECT,
  will: WILL_PROPERTIES,
} as const;
export type PropertyPacket = keyof typeof PROPERTY_PACKETS;
export const PROPERTY_PACKET_NAMES = Object.keys(PROPERTY_PACKETS) as PropertyPacket[];

/** Properties grouped by the packet that carries them. */
export type PacketProperties = Partial<Record<PropertyPacket, Properties>>;

/** A property value or name the user typed that cannot be sent; the message says why. */
export class PropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyError';
  }
}

/**
 * Properties the table allows in a packet but only a server sends there. The table is the
 * codec's, which serves both roles; a client-side flag must not offer these.
 */
const SERVER_ONLY: Partial<Record<PropertyPacket, readonly (keyof Properties)[]>> = {
  // [MQTT-3.3.4-6] a PUBLISH from a client to the server must not carry a Subscription Identifier.
  publish: ['subscriptionIdentifiers'],
  // 5.0 section 3.14.2.2.5: Server Reference is how a server redirects a client.
  disconnect: ['serverReference'],
};

/**
 * mosquitto's spelling of a property: kebab case, singular for the repeatable ones
 * (`message-expiry-interval`, `user-property`, `subscription-identifier`).
 */
export function kebabName(info: PropertyInfo): string {
  if (info.name === 'userProperties') return 'user-property';
  if (info.name === 'subscriptionIdentifiers') return 'subscription-identifier';
  // 'QoS' is one word (maximumQoS → maximum-qos, as mosquitto spells it).
  return info.name.replace('QoS', 'Qos').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The properties a client may set on `packet`, in table order. */
export function clientProperties(packet: PropertyPacket): PropertyInfo[] {
  const type = PROPERTY_PACKETS[packet];
  const serverOnly = SERVER_ONLY[packet] ?? [];
  return PROPERTIES.filter((p) => p.allowedIn.includes(type) && !serverOnly.includes(p.name));
}

export function isPropertyPacket(word: string): word is PropertyPacket {
  return Object.hasOwn(PROPERTY_PACKETS, word);
}

/** Finds a property of `packet` by its kebab (mosquitto) or camelCase (spec) name. */
export function findProperty(packet: PropertyPacket, name: string): PropertyInfo {
  const allowed = clientProperties(packet);
  const found = allowed.find((p) => kebabName(p) === name || p.name === name);
  if (found !== undefined) return found;
  const elsewhere = PROPERTIES.find((p) => kebabName(p) === name || p.name === name);
  const list = allowed.map(kebabName).join(', ');
  if (elsewhere === undefined) throw new PropertyError(`'${name}' is not an MQTT 5 property; ${packet} takes ${list}`);
  throw new PropertyError(`${kebabName(elsewhere)} cannot be sent in ${packet}; ${packet} takes ${list}`);
}

/** How many words follow the property name: a user property is a key and a value. */
export function valueCount(info: PropertyInfo): 1 | 2 {
  return info.type === 'pair' ? 2 : 1;
}

const INTEGER_MAX: Record<string, number> = { byte: 0xff, 'two-byte': 0xffff, 'four-byte': 0xffff_ffff, varint: 268_435_455 };

/** Turns the typed words into the value the codec's Properties holds, checking range and the spec's limits. */
export function parseValue(info: PropertyInfo, words: readonly string[]): unknown {
  const label = kebabName(info);
  switch (info.type) {
    case 'byte':
    case 'two-byte':
    case 'four-byte':
    case 'varint': {
      const text = words[0] ?? '';
      const max = INTEGER_MAX[info.type]!;
      const n = Number(text);
      if (!/^\d+$/.test(text) || n > max) throw new PropertyError(`${label} must be a whole number from 0 to ${max}, got '${text}'`);
      // The spec's own limits (a topic alias or receive maximum of 0, a flag byte other than 0 or 1).
      if (info.check !== undefined && !info.check(n)) throw new PropertyError(`${label} may not be ${n} (MQTT 5 section 2.2.2.2)`);
      return n;
    }
    case 'utf8':
      return words[0] ?? '';
    case 'binary':
      return Buffer.from(words[0] ?? '', 'utf8');
    case 'pair':
      return [words[0] ?? '', words[1] ?? ''] as [string, string];
  }
}

/**
 * Adds one value to `target`. Repeatable properties collect (user properties in the order
 * given); any other property set twice is an error rather than a silent last-one-wins.
 */
export function addProperty(target: Properties, info: PropertyInfo, value: unknown, packet: PropertyPacket): void {
  const record = target as Record<string, unknown>;
  if (info.name === 'userProperties') {
    ((record.userProperties ??= []) as [string, string][]).push(value as [string, string]);
    return;
  }
  if (info.name === 'subscriptionIdentifiers') {
    // [MQTT-3.8.2.1.2] SUBSCRIBE carries at most one Subscription Identifier.
    if (record.subscriptionIdentifiers !== undefined) throw new PropertyError(`${packet} carries at most one subscription-identifier`);
    record.subscriptionIdentifiers = [value as number];
    return;
  }
  if (record[info.name] !== undefined) throw new PropertyError(`${packet} ${kebabName(info)} was given more than once`);
  record[info.name] = value;
}

/**
 * Reads a flat list of `-D` words: `<packet> <name> <value>` triples, with two value words
 * for user-property (`-D publish user-property unit celsius`). yargs collects every word up
 * to the next flag, so the list is parsed with the grammar, not cut into threes.
 */
export function parsePropertyWords(words: readonly string[]): PacketProperties {
  const result: PacketProperties = {};
  let i = 0;
  while (i < words.length) {
    const packet = words[i]!;
    if (!isPropertyPacket(packet)) {
      const hint = i === 0 ? '' : ' (a word after -D is read as part of it: put positional arguments before -D)';
      throw new PropertyError(`'${packet}' is not a packet that takes properties; use one of ${PROPERTY_PACKET_NAMES.join(', ')}${hint}`);
    }
    const name = words[i + 1];
    if (name === undefined) throw new PropertyError(`-D ${packet} needs a property name and a value`);
    const info = findProperty(packet, name);
    const n = valueCount(info);
    const values = words.slice(i + 2, i + 2 + n);
    if (values.length < n) {
      throw new PropertyError(`-D ${packet} ${kebabName(info)} needs ${n === 2 ? 'a key and a value' : 'a value'}`);
    }
    addProperty((result[packet] ??= {}), info, parseValue(info, values), packet);
    i += 2 + n;
  }
  return result;
}

/**
 * Merges property sets for one packet (e.g. `-D publish …` and `--content-type`), with the
 * same rule as addProperty: user properties add up, anything else set twice is an error.
 */
export function mergeProperties(packet: PropertyPacket, ...sets: (Properties | undefined)[]): Properties | undefined {
  let merged: Properties | undefined;
  for (const set of sets) {
    if (set === undefined) continue;
    for (const [name, value] of Object.entries(set)) {
      if (value === undefined) continue;
      const info = PROPERTIES.find((p) => p.name === name);
      if (info === undefined) throw new PropertyError(`'${name}' is not an MQTT 5 property`);
      merged ??= {};
      if (info.name === 'userProperties') {
        for (const pair of value as [string, string][]) addProperty(merged, info, pair, packet);
      } else if (info.name === 'subscriptionIdentifiers') {
        for (const id of value as number[]) addProperty(merged, info, id, packet);
      } else {
        addProperty(merged, info, value, packet);
      }
    }
  }
  return merged;
}

/** MQTT.js's user properties: an object of key → value, or → values when a key repeats. */
export type MqttJsUserProperties = Record<string, string | string[]>;

/**
 * The codec's Properties in MQTT.js's shape, which differs in four ways: user properties
 * are an object (the order of different keys is lost; values of one key keep theirs), the
 * subscription identifier is singular, and the 0/1 flag bytes are booleans.
 */
export function toMqttJsProperties(props: Properties | undefined): Record<string, unknown> | undefined {
  if (props === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    switch (name) {
      case 'userProperties': {
        const users: MqttJsUserProperties = {};
        for (const [k, v] of value as [string, string][]) {
          const prev = users[k];
          users[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        out.userProperties = users;
        break;
      }
      case 'subscriptionIdentifiers': {
        const ids = value as number[];
        out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
        break;
      }
      case 'payloadFormatIndicator':
      case 'requestProblemInformation':
      case 'requestResponseInformation':
        out[name] = value === 1;
        break;
      default:
        out[name] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
