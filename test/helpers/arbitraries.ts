/**
 * fast-check generators of VALID packets in mqt's decoded form, for each protocol version.
 *
 * Every generated packet follows the decoded-object conventions exactly, so the property
 * `parse(encode(p))` deep-equals `p` holds for it. The reason-code lists are copied from the
 * spec's per-packet tables (not from src/core/codec/constants.ts), so the generators stay an
 * independent oracle of what is valid.
 *
 * `{ mqttPacket: true }` narrows the generators to what mqtt-packet 9 can represent; every such
 * narrowing is marked `MQTT-PACKET RESTRICTION` below with the reason. Our own round-trip
 * property uses the unrestricted generators.
 */
import fc from 'fast-check';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  PingreqPacket,
  PingrespPacket,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from '../../src/core/codec/types.js';

export interface ArbOptions {
  /** Restrict to packets mqtt-packet 9 can generate and parse faithfully (differential tests only). */
  mqttPacket?: boolean;
}

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
type PropertyName = keyof Properties;

// ---------------------------------------------------------------------------------------------
// Reason codes, per packet, from the MQTT 5.0 sections named. DISCONNECT follows 3.14.2.1,
// which (unlike table 2-6) does not list 0x8C Bad authentication method.

/** 3.1.1 section 3.2.2.3 (3.1 has the same six codes). */
const CONNACK_RETURN_CODES_V3 = [0, 1, 2, 3, 4, 5] as const;
/** 3.2.2.2 */
const CONNACK_CODES_V5 = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
] as const;
/** 3.4.2.1 and 3.5.2.1 */
const PUBACK_PUBREC_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99] as const;
/** 3.6.2.1 and 3.7.2.1 */
const PUBREL_PUBCOMP_CODES = [0x00, 0x92] as const;
/** 3.9.3 */
const SUBACK_CODES_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2] as const;
/** 3.1.1 section 3.9.3; MQTT 3.1 had no failure code 0x80, so version 3 grants QoS only. */
const SUBACK_CODES_V4 = [0x00, 0x01, 0x02, 0x80] as const;
const SUBACK_CODES_V3 = [0x00, 0x01, 0x02] as const;
/** 3.11.3 */
const UNSUBACK_CODES_V5 = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91] as const;
/** 3.14.2.1 */
const DISCONNECT_CODES = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95,
  0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
] as const;
/** 3.15.2.1 */
const AUTH_CODES = [0x00, 0x18, 0x19] as const;

// ---------------------------------------------------------------------------------------------
// Strings: valid UTF-8 only. No U+0000 [MQTT-1.5.4-2], no surrogate halves [MQTT-1.5.4-1], and no
// control characters or non-characters, which a receiver may treat as malformed (1.5.4).

const codePoint = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0x7ff }) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0x800, max: 0xfffd })
      .filter((c) => (c < 0xd800 || c > 0xdfff) && (c < 0xfdd0 || c > 0xfdef)),
  },
  // Four-byte UTF-8, a surrogate pair in JavaScript.
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10fffd }).filter((c) => (c & 0xfffe) !== 0xfffe) },
);
const anyChar = codePoint.map((c) => String.fromCodePoint(c));
/** A character allowed inside a topic level: not a separator, not a wildcard. */
const levelChar = anyChar.filter((c) => c !== '/' && c !== '+' && c !== '#');

export function arbUtf8(minLength = 0, maxLength = 16): fc.Arbitrary<string> {
  return fc.string({ unit: anyChar, minLength, maxLength });
}

const level = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: levelChar, minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('sport', 'tennis', 'player1', '$SYS', 'héllo', '温度', '😀') },
);

/** A topic name: at least one character, no wildcards [MQTT-3.3.2-2]; empty levels are legal. */
export const arbTopicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

/** A topic filter with '#' only as the last level and '+' filling whole levels ([MQTT-4.7.1-1], [MQTT-4.7.1-2] in 5.0). */
export const arbTopicFilter: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof({ weight: 4, arbitrary: level }, { weight: 1, arbitrary: fc.constant('+') }), { maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

/** `$share/{ShareName}/{filter}`: the share name has no '/', '+' or '#' and is not empty [MQTT-4.8.2-1, MQTT-4.8.2-2]. */
const arbSharedFilter: fc.Arbitrary<string> = fc
  .tuple(fc.string({ unit: levelChar, minLength: 1, maxLength: 6 }), arbTopicFilter)
  .map(([group, filter]) => `$share/${group}/${filter}`);

// ---------------------------------------------------------------------------------------------
// Binary data.

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export function arbBytes(maxLength: number): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ maxLength }).map(toBuffer);
}

/** Large buffers are filled from a seed, which is far cheaper than drawing every byte. */
function arbLargeBytes(min: number, max: number): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.integer({ min, max }), fc.integer()).map(([length, seed]) => {
    const b = Buffer.allocUnsafe(length);
    let x = seed | 1;
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  });
}

/** Mostly 0–300 bytes; sometimes enough for a 2-byte (>= 128) or 3-byte (>= 16,384) Remaining Length. */
export const arbPayload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 24, arbitrary: arbBytes(300) },
  { weight: 3, arbitrary: arbLargeBytes(128, 2_000) },
  { weight: 1, arbitrary: arbLargeBytes(16_384, 20_000) },
);

// ---------------------------------------------------------------------------------------------
// Numbers.

const arbQos = fc.constantFrom<QoS>(0, 1, 2);
export const arbPacketId = fc.oneof(fc.integer({ min: 1, max: 0xffff }), fc.constantFrom(1, 0xff, 0x100, 0xffff));
const u16 = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 0xffff));
const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 1, 0xffff_ffff));
const flag = fc.constantFrom(0, 1);
/** Variable byte integers, biased to the edges of each encoded length. */
const varIntId = fc.oneof(
  fc.integer({ min: 1, max: 268_435_455 }),
  fc.constantFrom(1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455),
);

// ---------------------------------------------------------------------------------------------
// MQTT 5 properties.

function arbUserProperties(opts: ArbOptions): fc.Arbitrary<[string, string][]> {
  // Keys come partly from a small pool, so repeated keys (legal: 3.1.2.11.8) are common.
  const key = fc.oneof(fc.constantFrom('a', 'k', 'région', '😀', ''), arbUtf8(0, 10));
  const pairs = fc.array(fc.tuple(key, arbUtf8(0, 12)), { minLength: 1, maxLength: 5 });
  if (!opts.mqttPacket) return pairs;
  // MQTT-PACKET RESTRICTION: its parser tests the stored value of a repeated key for truthiness
  // (`if (result[name][key])`), so when the first value of a repeated key is '' the later value
  // overwrites it instead of both being kept. Keep such lists out of the differential test.
  return pairs.filter((list) => {
    const seen = new Map<string, string>();
    for (const [k, v] of list) {
      const first = seen.get(k);
      if (first === '') return false;
      if (first === undefined) seen.set(k, v);
    }
    return true;
  });
}

function propertyArbs(opts: ArbOptions, subscriptionIds: 'many' | 'one'): { [K in PropertyName]-?: fc.Arbitrary<NonNullable<Properties[K]>> } {
  return {
    payloadFormatIndicator: flag,
    messageExpiryInterval: u32,
    contentType: arbUtf8(0, 16),
    responseTopic: arbTopicName, // a Topic Name, so no wildcards [MQTT-3.3.2-14]
    correlationData: arbBytes(24),
    subscriptionIdentifiers:
      subscriptionIds === 'many'
        ? fc.array(varIntId, { minLength: 1, maxLength: 3 })
        : varIntId.map((id) => [id]), // at most one on SUBSCRIBE (3.8.2.1.2)
    sessionExpiryInterval: u32,
    assignedClientIdentifier: arbUtf8(0, 23),
    serverKeepAlive: u16,
    authenticationMethod: arbUtf8(0, 12),
    authenticationData: arbBytes(24),
    requestProblemInformation: flag,
    willDelayInterval: u32,
    requestResponseInformation: flag,
    responseInformation: arbUtf8(0, 16),
    serverReference: arbUtf8(0, 16),
    reasonString: arbUtf8(0, 16),
    receiveMaximum: fc.integer({ min: 1, max: 0xffff }), // 0 is a Protocol Error (3.1.2.11.3)
    topicAliasMaximum: u16,
    topicAlias: fc.integer({ min: 1, max: 0xffff }), // 0 is not permitted [MQTT-3.3.2-8]
    maximumQoS: flag, // only 0 or 1 may be sent (3.2.2.3.4)
    retainAvailable: flag,
    userProperties: arbUserProperties(opts),
    maximumPacketSize: fc.integer({ min: 1, max: 0xffff_ffff }), // 0 is a Protocol Error (3.1.2.11.4)
    wildcardSubscriptionAvailable: flag,
    subscriptionIdentifiersAvailable: flag,
    sharedSubscriptionAvailable: flag,
  };
}

/** Properties allowed per packet (MQTT 5.0 table 2-4 / section 2.2.2.2). */
const ALLOWED: Record<string, readonly PropertyName[]> = {
  connect: [
    'sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum', 'requestResponseInformation',
    'requestProblemInformation', 'userProperties', 'authenticationMethod', 'authenticationData',
  ],
  will: [
    'willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic',
    'correlationData', 'userProperties',
  ],
  connack: [
    'sessionExpiryInterval', 'receiveMaximum', 'maximumQoS', 'retainAvailable', 'maximumPacketSize',
    'assignedClientIdentifier', 'topicAliasMaximum', 'reasonString', 'userProperties', 'wildcardSubscriptionAvailable',
    'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable', 'serverKeepAlive', 'responseInformation',
    'serverReference', 'authenticationMethod', 'authenticationData',
  ],
  publish: [
    'payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData',
    'userProperties', 'subscriptionIdentifiers', 'contentType',
  ],
  ack: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifiers', 'userProperties'],
  suback: ['reasonString', 'userProperties'],
  unsubscribe: ['userProperties'],
  unsuback: ['reasonString', 'userProperties'],
  disconnect: ['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
};

/**
 * A non-empty property set for `packet`, or undefined (about a third of the time) so that
 * packets without properties, and the short forms they allow, are common.
 */
export function arbProperties(packet: keyof typeof ALLOWED, opts: ArbOptions = {}): fc.Arbitrary<Properties | undefined> {
  const all = propertyArbs(opts, packet === 'subscribe' ? 'one' : 'many');
  const model: Partial<Record<PropertyName, fc.Arbitrary<unknown>>> = {};
  for (const name of ALLOWED[packet] ?? []) model[name] = all[name];
  const set = fc.record(model, { requiredKeys: [] }).map((raw): Properties | undefined => {
    // Copy into a plain object: fc.record may hand out null-prototype objects.
    const props: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) if (value !== undefined) props[name] = value;
    // Authentication Data without Authentication Method is a Protocol Error (3.1.2.11.10, 3.2.2.3.18).
    if (props.authenticationData !== undefined && props.authenticationMethod === undefined) delete props.authenticationData;
    return Object.keys(props).length > 0 ? (props as Properties) : undefined;
  });
  return fc.option(set, { freq: 3, nil: undefined });
}

/** A payload that is UTF-8 when the Payload Format Indicator says so (3.3.2.3.2). */
function payloadFor(props: Properties | undefined, binary: Buffer, text: string): Buffer {
  return props?.payloadFormatIndicator === 1 ? Buffer.from(text, 'utf8') : binary;
}

function withProperties<T extends object>(packet: T, properties: Properties | undefined): T & { properties?: Properties } {
  return properties === undefined ? packet : { ...packet, properties };
}

// ---------------------------------------------------------------------------------------------
// Packets.

export function arbWill(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<Will> {
  return fc
    .record({
      topic: arbTopicName,
      payload: fc.oneof({ weight: 5, arbitrary: arbBytes(64) }, { weight: 1, arbitrary: arbLargeBytes(128, 1_000) }),
      text: arbUtf8(0, 20),
      qos: arbQos,
      retain: fc.boolean(),
      properties: version === 5 ? arbProperties('will', opts) : fc.constant(undefined),
    })
    .map(({ topic, payload, text, qos, retain, properties }) =>
      withProperties({ topic, payload: payloadFor(properties, payload, text), qos, retain }, properties),
    );
}

export function arbConnect(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<ConnectPacket> {
  return fc
    .record({
      clean: fc.boolean(),
      keepalive: u16,
      // MQTT 3.1 requires 1 to 23 characters (3.1 section 3.1, Client Identifier).
      clientId: version === 3 ? arbUtf8(1, 23) : fc.oneof(arbUtf8(0, 23), fc.constant('')),
      username: fc.option(arbUtf8(0, 16), { nil: undefined }),
      password: fc.option(arbBytes(32), { nil: undefined }),
      will: fc.option(arbWill(version, opts), { nil: undefined }),
      properties: version === 5 ? arbProperties('connect', opts) : fc.constant(undefined),
    })
    .map(({ clean, keepalive, clientId, username, password, will, properties }) => {
      let cleanFlag = clean;
      // A zero-byte ClientId requires CleanSession 1 in 3.1.1 [MQTT-3.1.3-7].
      // MQTT-PACKET RESTRICTION: mqtt-packet's writer refuses an empty clientId with clean = false in
      // 5.0 too ('clientId must be given if cleanSession set to 0'), which 5.0 allows (3.1.3.1).
      if (clientId === '' && (version === 4 || opts.mqttPacket)) cleanFlag = true;
      const packet: ConnectPacket = { type: 'connect', protocolVersion: version, clean: cleanFlag, keepalive, clientId };
      if (username !== undefined) packet.username = username;
      // A password needs a user name in 3.1 and 3.1.1 [MQTT-3.1.2-22]; 5.0 allows it alone (3.1.2.9).
      // MQTT-PACKET RESTRICTION: mqtt-packet's writer refuses it alone in 5.0 too
      // ('Username is required to use password').
      if (password !== undefined && (username !== undefined || (version === 5 && !opts.mqttPacket))) packet.password = password;
      if (will !== undefined) packet.will = will;
      return withProperties(packet, properties);
    });
}

export function arbConnack(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<ConnackPacket> {
  return fc
    .record({
      sessionPresent: fc.boolean(),
      reasonCode: fc.constantFrom<number>(...(version === 5 ? CONNACK_CODES_V5 : CONNACK_RETURN_CODES_V3)),
      properties: version === 5 ? arbProperties('connack', opts) : fc.constant(undefined),
    })
    .map(({ sessionPresent, reasonCode, properties }) => {
      // Session Present is 0 with a refusal [MQTT-3.2.2-4] (3.1.1), [MQTT-3.2.2-6] (5.0);
      // MQTT 3.1 has no Session Present flag at all (its byte is reserved).
      const present = version !== 3 && reasonCode === 0 && sessionPresent;
      return withProperties<ConnackPacket>({ type: 'connack', sessionPresent: present, reasonCode }, properties);
    });
}

export function arbPublish(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<PublishPacket> {
  return fc
    .record({
      topic: arbTopicName,
      emptyTopic: fc.boolean(),
      payload: arbPayload,
      text: arbUtf8(0, 40),
      qos: arbQos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId: arbPacketId,
      properties: version === 5 ? arbProperties('publish', opts) : fc.constant(undefined),
    })
    .map(({ topic, emptyTopic, payload, text, qos, retain, dup, packetId, properties }) => {
      const packet: PublishPacket = {
        type: 'publish',
        // A zero-length Topic Name is allowed only with a Topic Alias (3.3.2.3.4).
        topic: emptyTopic && properties?.topicAlias !== undefined ? '' : topic,
        payload: payloadFor(properties, payload, text),
        qos,
        retain,
        dup: qos > 0 && dup, // DUP is 0 for all QoS 0 messages [MQTT-3.3.1-2]
      };
      if (qos > 0) packet.packetId = packetId;
      return withProperties(packet, properties);
    });
}

export function arbAck<T extends AckType>(type: T, version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<AckPacket<T>> {
  const codes = type === 'puback' || type === 'pubrec' ? PUBACK_PUBREC_CODES : PUBREL_PUBCOMP_CODES;
  return fc
    .record({
      packetId: arbPacketId,
      reasonCode: fc.oneof(fc.constant(0), fc.constantFrom<number>(...codes)),
      properties: version === 5 ? arbProperties('ack', opts) : fc.constant(undefined),
    })
    .map(({ packetId, reasonCode, properties }) => {
      const packet: AckPacket<T> = { type, packetId };
      if (version === 5) packet.reasonCode = reasonCode;
      return withProperties(packet, properties);
    });
}

function arbSubscription(version: ProtocolVersion): fc.Arbitrary<Subscription> {
  if (version !== 5) return fc.record({ topicFilter: arbTopicFilter, qos: arbQos }).map(({ topicFilter, qos }) => ({ topicFilter, qos }));
  return fc
    .record({
      topicFilter: fc.oneof({ weight: 5, arbitrary: arbTopicFilter }, { weight: 1, arbitrary: arbSharedFilter }),
      qos: arbQos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    })
    .map(({ topicFilter, qos, noLocal, retainAsPublished, retainHandling }) => ({
      topicFilter,
      qos,
      // No Local on a Shared Subscription is a Protocol Error [MQTT-3.8.3-4].
      noLocal: noLocal && !topicFilter.startsWith('$share/'),
      retainAsPublished,
      retainHandling,
    }));
}

export function arbSubscribe(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<SubscribePacket> {
  return fc
    .record({
      packetId: arbPacketId,
      // At least one Topic Filter / Subscription Options pair [MQTT-3.8.3-2] (5.0), [MQTT-3.8.3-3] (3.1.1).
      subscriptions: fc.array(arbSubscription(version), { minLength: 1, maxLength: 5 }),
      properties: version === 5 ? arbProperties('subscribe', opts) : fc.constant(undefined),
    })
    .map(({ packetId, subscriptions, properties }) =>
      withProperties<SubscribePacket>({ type: 'subscribe', packetId, subscriptions }, properties),
    );
}

export function arbSuback(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<SubackPacket> {
  const codes = version === 5 ? SUBACK_CODES_V5 : version === 4 ? SUBACK_CODES_V4 : SUBACK_CODES_V3;
  return fc
    .record({
      packetId: arbPacketId,
      reasonCodes: fc.array(fc.constantFrom<number>(...codes), { minLength: 1, maxLength: 6 }),
      properties: version === 5 ? arbProperties('suback', opts) : fc.constant(undefined),
    })
    .map(({ packetId, reasonCodes, properties }) =>
      withProperties<SubackPacket>({ type: 'suback', packetId, reasonCodes }, properties),
    );
}

export function arbUnsubscribe(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<UnsubscribePacket> {
  const filter = version === 5 ? fc.oneof({ weight: 5, arbitrary: arbTopicFilter }, { weight: 1, arbitrary: arbSharedFilter }) : arbTopicFilter;
  return fc
    .record({
      packetId: arbPacketId,
      topicFilters: fc.array(filter, { minLength: 1, maxLength: 5 }), // at least one [MQTT-3.10.3-2]
      properties: version === 5 ? arbProperties('unsubscribe', opts) : fc.constant(undefined),
    })
    .map(({ packetId, topicFilters, properties }) =>
      withProperties<UnsubscribePacket>({ type: 'unsubscribe', packetId, topicFilters }, properties),
    );
}

export function arbUnsuback(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<UnsubackPacket> {
  if (version !== 5) return arbPacketId.map((packetId): UnsubackPacket => ({ type: 'unsuback', packetId }));
  return fc
    .record({
      packetId: arbPacketId,
      reasonCodes: fc.array(fc.constantFrom<number>(...UNSUBACK_CODES_V5), { minLength: 1, maxLength: 6 }),
      properties: arbProperties('unsuback', opts),
    })
    .map(({ packetId, reasonCodes, properties }) =>
      withProperties<UnsubackPacket>({ type: 'unsuback', packetId, reasonCodes }, properties),
    );
}

export const arbPingreq: fc.Arbitrary<PingreqPacket> = fc.constant({ type: 'pingreq' });
export const arbPingresp: fc.Arbitrary<PingrespPacket> = fc.constant({ type: 'pingresp' });

export function arbDisconnect(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<DisconnectPacket> {
  if (version !== 5) return fc.constant<DisconnectPacket>({ type: 'disconnect' });
  return fc
    .record({
      reasonCode: fc.oneof(fc.constant(0), fc.constantFrom<number>(...DISCONNECT_CODES)),
      properties: arbProperties('disconnect', opts),
    })
    .map(({ reasonCode, properties }) => withProperties<DisconnectPacket>({ type: 'disconnect', reasonCode }, properties));
}

/**
 * AUTH (5.0 only): either the short form (Success, no properties) or a packet carrying the
 * Authentication Method, whose omission is a Protocol Error (3.15.2.2.2).
 */
export function arbAuth(opts: ArbOptions = {}): fc.Arbitrary<AuthPacket> {
  const full = fc
    .record({
      reasonCode: fc.constantFrom<number>(...AUTH_CODES),
      method: arbUtf8(0, 12),
      properties: arbProperties('auth', opts),
    })
    .map(({ reasonCode, method, properties }): AuthPacket => ({
      type: 'auth',
      reasonCode,
      properties: { ...properties, authenticationMethod: method },
    }));
  return fc.oneof({ weight: 1, arbitrary: fc.constant<AuthPacket>({ type: 'auth', reasonCode: 0 }) }, { weight: 4, arbitrary: full });
}

/** Any valid packet of `version`; AUTH only in 5.0. */
export function arbPacket(version: ProtocolVersion, opts: ArbOptions = {}): fc.Arbitrary<Packet> {
  const arbs: fc.Arbitrary<Packet>[] = [
    arbConnect(version, opts),
    arbConnack(version, opts),
    arbPublish(version, opts),
    arbPublish(version, opts), // PUBLISH twice: it is the packet that matters most
    arbAck('puback', version, opts),
    arbAck('pubrec', version, opts),
    arbAck('pubrel', version, opts),
    arbAck('pubcomp', version, opts),
    arbSubscribe(version, opts),
    arbSuback(version, opts),
    arbUnsubscribe(version, opts),
    arbUnsuback(version, opts),
    arbPingreq,
    arbPingresp,
    arbDisconnect(version, opts),
  ];
  if (version === 5) arbs.push(arbAuth(opts));
  return fc.oneof(...arbs);
}
