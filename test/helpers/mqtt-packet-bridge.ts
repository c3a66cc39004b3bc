/**
 * Conversion between mqt's Packet objects and mqtt-packet 9's objects, so mqtt-packet can
 * serve as a second implementation in differential tests.
 *
 * mqtt-packet's names and quirks (read from its parser.js, writeToStream.js and constants.js):
 * - `cmd` for the type, `messageId` for the packet id; CONNECT has `protocolId` ('MQTT' or
 *   'MQIsdp') and `protocolVersion`; SUBSCRIBE entries are `{ topic, qos, nl, rap, rh }`;
 *   UNSUBSCRIBE has `unsubscriptions`; SUBACK and the 5.0 UNSUBACK carry their codes in `granted`;
 *   CONNACK has `returnCode` in 3.1/3.1.1 and `reasonCode` in 5.0.
 * - The one-byte flag properties (payloadFormatIndicator, requestResponseInformation,
 *   requestProblemInformation, retainAvailable, wildcard/subscriptionIdentifiers/sharedSubscription
 *   Available) are booleans; maximumQoS stays a number.
 * - `subscriptionIdentifier` (singular) is a number, or a number[] when repeated.
 * - `userProperties` is an object `{ key: value | value[] }`: the order across different keys is
 *   lost (and integer-like keys sort first), the order within one key is kept. Compare with
 *   `normalizeUserPropertyOrder` on both sides.
 * - The writer emits properties in the insertion order of the properties object.
 */
import mqtt from 'mqtt-packet';
import type { IConnackPacket, IConnectPacket, IPublishPacket, Packet as MqttPacket, UserProperties } from 'mqtt-packet';
import type { Packet, Properties, ProtocolVersion, QoS, Subscription, Will } from '../../src/core/codec/types.js';

/** Properties mqtt-packet types as 'byte' and hands out as booleans. */
const BOOLEAN_PROPERTIES: ReadonlySet<string> = new Set([
  'payloadFormatIndicator',
  'requestResponseInformation',
  'requestProblemInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

/** Property names both libraries spell alike (everything but the two handled by hand). */
const SAME_NAME: ReadonlySet<string> = new Set([
  'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'sessionExpiryInterval',
  'assignedClientIdentifier', 'serverKeepAlive', 'authenticationMethod', 'authenticationData', 'willDelayInterval',
  'responseInformation', 'serverReference', 'reasonString', 'receiveMaximum', 'topicAliasMaximum', 'topicAlias',
  'maximumQoS', 'maximumPacketSize',
]);

type MqttProperties = Record<string, unknown>;

/** Our property names in ascending identifier order (5.0 table 2-4), the order our encoder writes. */
export const ASCENDING_ID_ORDER: readonly string[] = [
  'payloadFormatIndicator', // 0x01
  'messageExpiryInterval', // 0x02
  'contentType', // 0x03
  'responseTopic', // 0x08
  'correlationData', // 0x09
  'subscriptionIdentifiers', // 0x0B
  'sessionExpiryInterval', // 0x11
  'assignedClientIdentifier', // 0x12
  'serverKeepAlive', // 0x13
  'authenticationMethod', // 0x15
  'authenticationData', // 0x16
  'requestProblemInformation', // 0x17
  'willDelayInterval', // 0x18
  'requestResponseInformation', // 0x19
  'responseInformation', // 0x1A
  'serverReference', // 0x1C
  'reasonString', // 0x1F
  'receiveMaximum', // 0x21
  'topicAliasMaximum', // 0x22
  'topicAlias', // 0x23
  'maximumQoS', // 0x24
  'retainAvailable', // 0x25
  'userProperties', // 0x26
  'maximumPacketSize', // 0x27
  'wildcardSubscriptionAvailable', // 0x28
  'subscriptionIdentifiersAvailable', // 0x29
  'sharedSubscriptionAvailable', // 0x2A
];

/**
 * Our properties as mqtt-packet's. `order`, when given, lists our property names in the order
 * the writer should emit them (names not listed follow in object order).
 */
export function propertiesToMqtt(props: Properties | undefined, order?: readonly string[]): MqttProperties | undefined {
  if (props === undefined) return undefined;
  const names = Object.keys(props);
  if (order !== undefined) names.sort((a, b) => rank(order, a) - rank(order, b));
  const out: MqttProperties = {};
  for (const name of names) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (name === 'userProperties') {
      // Null prototype: a key such as '__proto__' must become an ordinary own property.
      const up: UserProperties = Object.create(null) as UserProperties;
      for (const [k, v] of value as [string, string][]) {
        const prev = up[k];
        up[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      out.userProperties = up;
    } else if (name === 'subscriptionIdentifiers') {
      const ids = value as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (BOOLEAN_PROPERTIES.has(name)) {
      out[name] = value === 1;
    } else if (SAME_NAME.has(name)) {
      out[name] = value;
    } else {
      throw new Error(`bridge: no mqtt-packet name for property ${name}`);
    }
  }
  return out;
}

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}

/** mqtt-packet's properties as ours; undefined when there are none (our decoded convention). */
export function propertiesFromMqtt(obj: MqttProperties | undefined): Properties | undefined {
  if (obj === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(obj)) {
    const value = obj[name];
    if (value === undefined) continue;
    if (name === 'userProperties') {
      const pairs: [string, string][] = [];
      const up = value as UserProperties;
      for (const k of Object.getOwnPropertyNames(up)) {
        const v = up[k];
        if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
        else if (v !== undefined) pairs.push([k, v]);
      }
      out.userProperties = pairs;
    } else if (name === 'subscriptionIdentifier') {
      out.subscriptionIdentifiers = Array.isArray(value) ? value : [value];
    } else if (BOOLEAN_PROPERTIES.has(name)) {
      out[name] = value === true ? 1 : 0;
    } else if (SAME_NAME.has(name)) {
      out[name] = value;
    } else {
      throw new Error(`bridge: unknown mqtt-packet property ${name}`);
    }
  }
  return Object.keys(out).length > 0 ? (out as Properties) : undefined;
}

function withProps<T extends object>(obj: T, props: MqttProperties | Properties | undefined): T {
  if (props !== undefined) (obj as { properties?: unknown }).properties = props;
  return obj;
}

/** Our packet as the object mqtt-packet's `generate(obj, { protocolVersion })` expects. */
export function toMqttPacket(p: Packet, version: ProtocolVersion, order?: readonly string[]): MqttPacket {
  const v5 = version === 5;
  const props = (x: Properties | undefined) => (v5 ? propertiesToMqtt(x, order) : undefined);
  switch (p.type) {
    case 'connect': {
      const obj: IConnectPacket = {
        cmd: 'connect',
        protocolId: p.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
      };
      if (p.username !== undefined) obj.username = p.username;
      if (p.password !== undefined) obj.password = p.password;
      if (p.will !== undefined) {
        const will: NonNullable<IConnectPacket['will']> = {
          topic: p.will.topic,
          payload: p.will.payload,
          qos: p.will.qos,
          retain: p.will.retain,
        };
        obj.will = withProps(will, p.protocolVersion === 5 ? propertiesToMqtt(p.will.properties, order) : undefined);
      }
      return withProps(obj, p.protocolVersion === 5 ? propertiesToMqtt(p.properties, order) : undefined);
    }
    case 'connack': {
      const obj: IConnackPacket = { cmd: 'connack', sessionPresent: p.sessionPresent };
      if (v5) obj.reasonCode = p.reasonCode;
      else obj.returnCode = p.reasonCode;
      return withProps(obj, props(p.properties));
    }
    case 'publish': {
      const obj: IPublishPacket = { cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup };
      if (p.packetId !== undefined) obj.messageId = p.packetId;
      return withProps(obj, props(p.properties));
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      // The writer tests `reasonCode !== 0`, so in 5.0 it must always be a number.
      const obj = { cmd: p.type, messageId: p.packetId, ...(v5 ? { reasonCode: p.reasonCode ?? 0 } : {}) };
      return withProps(obj, props(p.properties)) as MqttPacket;
    }
    case 'subscribe':
      return withProps(
        {
          cmd: 'subscribe' as const,
          messageId: p.packetId,
          subscriptions: p.subscriptions.map((s) =>
            v5 ? { topic: s.topicFilter, qos: s.qos, nl: s.noLocal ?? false, rap: s.retainAsPublished ?? false, rh: s.retainHandling ?? 0 } : { topic: s.topicFilter, qos: s.qos },
          ),
        },
        props(p.properties),
      );
    case 'suback':
      return withProps({ cmd: 'suback' as const, messageId: p.packetId, granted: [...p.reasonCodes] }, props(p.properties));
    case 'unsubscribe':
      return withProps({ cmd: 'unsubscribe' as const, messageId: p.packetId, unsubscriptions: [...p.topicFilters] }, props(p.properties));
    case 'unsuback':
      return withProps({ cmd: 'unsuback' as const, messageId: p.packetId, granted: v5 ? [...(p.reasonCodes ?? [])] : [] }, props(p.properties));
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    case 'disconnect':
      return withProps({ cmd: 'disconnect' as const, ...(v5 ? { reasonCode: p.reasonCode ?? 0 } : {}) }, props(p.properties));
    case 'auth':
      return withProps({ cmd: 'auth' as const, reasonCode: p.reasonCode }, props(p.properties));
  }
}

/** A packet as mqtt-packet's parser emits it: its declared fields plus whatever it sets. */
type Loose = MqttPacket & Record<string, unknown>;

/** A packet emitted by mqtt-packet's parser, in our decoded form. */
export function fromMqttPacket(obj: MqttPacket, version: ProtocolVersion): Packet {
  const o = obj as Loose;
  const v5 = version === 5;
  const props = () => (v5 ? propertiesFromMqtt(o.properties as MqttProperties | undefined) : undefined);
  const packetId = o.messageId as number;
  switch (obj.cmd) {
    case 'connect': {
      const protocolVersion = o.protocolVersion as ProtocolVersion;
      const p: Packet = { type: 'connect', protocolVersion, clean: o.clean as boolean, keepalive: o.keepalive as number, clientId: o.clientId as string };
      if (o.username !== undefined) p.username = o.username as string;
      if (o.password !== undefined) p.password = o.password as Buffer;
      const w = o.will as (Record<string, unknown> & { properties?: MqttProperties }) | undefined;
      if (w !== undefined) {
        const will: Will = { topic: w.topic as string, payload: w.payload as Buffer, qos: w.qos as QoS, retain: w.retain as boolean };
        p.will = withProps(will, protocolVersion === 5 ? propertiesFromMqtt(w.properties) : undefined);
      }
      return withProps(p, protocolVersion === 5 ? propertiesFromMqtt(o.properties as MqttProperties | undefined) : undefined);
    }
    case 'connack':
      return withProps(
        { type: 'connack', sessionPresent: o.sessionPresent as boolean, reasonCode: (v5 ? o.reasonCode : o.returnCode) as number },
        props(),
      );
    case 'publish': {
      const p: Packet = { type: 'publish', topic: o.topic as string, payload: o.payload as Buffer, qos: o.qos as QoS, retain: o.retain as boolean, dup: o.dup as boolean };
      if (p.qos > 0) p.packetId = packetId;
      return withProps(p, props());
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return withProps({ type: obj.cmd, packetId, ...(v5 ? { reasonCode: o.reasonCode as number } : {}) }, props());
    case 'subscribe': {
      const subs = o.subscriptions as { topic: string; qos: QoS; nl?: boolean; rap?: boolean; rh?: 0 | 1 | 2 }[];
      const subscriptions: Subscription[] = subs.map((s) =>
        v5
          ? { topicFilter: s.topic, qos: s.qos, noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling: s.rh ?? 0 }
          : { topicFilter: s.topic, qos: s.qos },
      );
      return withProps({ type: 'subscribe', packetId, subscriptions }, props());
    }
    case 'suback':
      return withProps({ type: 'suback', packetId, reasonCodes: [...(o.granted as number[])] }, props());
    case 'unsubscribe':
      return withProps({ type: 'unsubscribe', packetId, topicFilters: [...(o.unsubscriptions as string[])] }, props());
    case 'unsuback':
      return v5 ? withProps({ type: 'unsuback', packetId, reasonCodes: [...(o.granted as number[])] }, props()) : { type: 'unsuback', packetId };
    case 'pingreq':
    case 'pingresp':
      return { type: obj.cmd };
    case 'disconnect':
      return v5 ? withProps({ type: 'disconnect', reasonCode: o.reasonCode as number }, props()) : { type: 'disconnect' };
    case 'auth':
      return withProps({ type: 'auth', reasonCode: o.reasonCode as number }, props());
  }
}

/**
 * A deep copy of `p` whose user properties (in `properties` and in the will) are stably sorted
 * by key: the order within one key is kept, the order across keys (which mqtt-packet loses) is not.
 */
export function normalizeUserPropertyOrder<T extends Packet>(p: T): T {
  const sortProps = (props: Properties | undefined): Properties | undefined => {
    if (props?.userProperties === undefined) return props;
    const sorted = props.userProperties
      .map((pair, i) => ({ pair, i }))
      .sort((a, b) => (a.pair[0] < b.pair[0] ? -1 : a.pair[0] > b.pair[0] ? 1 : a.i - b.i))
      .map(({ pair }) => pair);
    return { ...props, userProperties: sorted };
  };
  const copy = { ...p } as T & { properties?: Properties; will?: Will };
  if (copy.properties !== undefined) copy.properties = sortProps(copy.properties);
  if (copy.will?.properties !== undefined) copy.will = { ...copy.will, properties: sortProps(copy.will.properties) };
  return copy;
}

/** mqtt-packet's `generate` for our packet. */
export function mqttGenerate(p: Packet, version: ProtocolVersion, order?: readonly string[]): Buffer {
  return mqtt.generate(toMqttPacket(p, version, order), { protocolVersion: version });
}

/** Feed `buf` to a fresh mqtt-packet parser of `version`; collects the packets and the first error. */
export function mqttParse(buf: Buffer, version: ProtocolVersion): { packets: MqttPacket[]; error: Error | undefined } {
  const parser = mqtt.parser({ protocolVersion: version });
  const packets: MqttPacket[] = [];
  let error: Error | undefined;
  parser.on('packet', (packet) => packets.push(packet));
  parser.on('error', (err: Error) => {
    error ??= err;
  });
  parser.parse(buf);
  return { packets, error };
}

/**
 * Whether mqtt-packet can parse our encoding of `p`.
 * MQTT-PACKET RESTRICTION: its parser reads AUTH's reason code unconditionally, so the short
 * AUTH (Remaining Length 0, allowed by 3.15.2.1 when the reason is Success with no properties)
 * fails with 'Invalid auth reason code'.
 */
export function mqttPacketCanParse(p: Packet): boolean {
  return !(p.type === 'auth' && p.reasonCode === 0 && p.properties === undefined);
}
