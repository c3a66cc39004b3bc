/**
 * Packet type numbers, flag masks and the one reason-code table of mqt.
 * The table serves errors, `sub -F`, CLI exit codes and the man pages alike, so a
 * code is named in exactly one place.
 */

/** The control packet type, as carried in the high nibble of the first byte. */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketTypeNumber = (typeof PacketType)[keyof typeof PacketType];

/** Packet type names as used in `Packet.type`, indexed by type number. */
export const PACKET_NAMES = [
  '',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

/** Pseudo packet type for the will properties inside CONNECT (used by the property table). */
export const WILL_PROPERTIES = 16;

/** Largest value of a variable byte integer, and so of Remaining Length (256 MiB - 1). */
export const MAX_VARINT = 268_435_455;

/**
 * MQTT 5 reason codes by spec name. Several share a number (0x00 is Success, Normal
 * disconnection and Granted QoS 0): the number is what goes on the wire, the name is for people.
 */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;
export type ReasonCodeNumber = (typeof ReasonCode)[keyof typeof ReasonCode];

export interface ReasonCodeInfo {
  code: number;
  /** The spec's name, as a person reads it. */
  name: string;
  /** Packets that may carry this code in MQTT 5. */
  packets: readonly string[];
}

const ACKS = ['puback', 'pubrec'] as const;

/** MQTT 5.0 section 2.4, table 2-6, row for row. */
export const REASON_CODES: readonly ReasonCodeInfo[] = [
  { code: 0x00, name: 'Success', packets: ['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback', 'auth'] },
  { code: 0x00, name: 'Normal disconnection', packets: ['disconnect'] },
  { code: 0x00, name: 'Granted QoS 0', packets: ['suback'] },
  { code: 0x01, name: 'Granted QoS 1', packets: ['suback'] },
  { code: 0x02, name: 'Granted QoS 2', packets: ['suback'] },
  { code: 0x04, name: 'Disconnect with Will Message', packets: ['disconnect'] },
  { code: 0x10, name: 'No matching subscribers', packets: ACKS },
  { code: 0x11, name: 'No subscription existed', packets: ['unsuback'] },
  { code: 0x18, name: 'Continue authentication', packets: ['auth'] },
  { code: 0x19, name: 'Re-authenticate', packets: ['auth'] },
  { code: 0x80, name: 'Unspecified error', packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'] },
  { code: 0x81, name: 'Malformed Packet', packets: ['connack', 'disconnect'] },
  { code: 0x82, name: 'Protocol Error', packets: ['connack', 'disconnect'] },
  { code: 0x83, name: 'Implementation specific error', packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'] },
  { code: 0x84, name: 'Unsupported Protocol Version', packets: ['connack'] },
  { code: 0x85, name: 'Client Identifier not valid', packets: ['connack'] },
  { code: 0x86, name: 'Bad User Name or Password', packets: ['connack'] },
  { code: 0x87, name: 'Not authorized', packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'] },
  { code: 0x88, name: 'Server unavailable', packets: ['connack'] },
  { code: 0x89, name: 'Server busy', packets: ['connack', 'disconnect'] },
  { code: 0x8a, name: 'Banned', packets: ['connack'] },
  { code: 0x8b, name: 'Server shutting down', packets: ['disconnect'] },
  { code: 0x8c, name: 'Bad authentication method', packets: ['connack', 'disconnect'] },
  { code: 0x8d, name: 'Keep Alive timeout', packets: ['disconnect'] },
  { code: 0x8e, name: 'Session taken over', packets: ['disconnect'] },
  { code: 0x8f, name: 'Topic Filter invalid', packets: ['suback', 'unsuback', 'disconnect'] },
  { code: 0x90, name: 'Topic Name invalid', packets: ['connack', 'puback', 'pubrec', 'disconnect'] },
  { code: 0x91, name: 'Packet Identifier in use', packets: ['puback', 'pubrec', 'suback', 'unsuback'] },
  { code: 0x92, name: 'Packet Identifier not found', packets: ['pubrel', 'pubcomp'] },
  { code: 0x93, name: 'Receive Maximum exceeded', packets: ['disconnect'] },
  { code: 0x94, name: 'Topic Alias invalid', packets: ['disconnect'] },
  { code: 0x95, name: 'Packet too large', packets: ['connack', 'disconnect'] },
  { code: 0x96, name: 'Message rate too high', packets: ['disconnect'] },
  { code: 0x97, name: 'Quota exceeded', packets: ['connack', 'puback', 'pubrec', 'suback', 'disconnect'] },
  { code: 0x98, name: 'Administrative action', packets: ['disconnect'] },
  { code: 0x99, name: 'Payload format invalid', packets: ['connack', 'puback', 'pubrec', 'disconnect'] },
  { code: 0x9a, name: 'Retain not supported', packets: ['connack', 'disconnect'] },
  { code: 0x9b, name: 'QoS not supported', packets: ['connack', 'disconnect'] },
  { code: 0x9c, name: 'Use another server', packets: ['connack', 'disconnect'] },
  { code: 0x9d, name: 'Server moved', packets: ['connack', 'disconnect'] },
  { code: 0x9e, name: 'Shared Subscriptions not supported', packets: ['suback', 'disconnect'] },
  { code: 0x9f, name: 'Connection rate exceeded', packets: ['connack', 'disconnect'] },
  { code: 0xa0, name: 'Maximum connect time', packets: ['disconnect'] },
  { code: 0xa1, name: 'Subscription Identifiers not supported', packets: ['suback', 'disconnect'] },
  { code: 0xa2, name: 'Wildcard Subscriptions not supported', packets: ['suback', 'disconnect'] },
];

/** MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3). */
export const CONNACK_RETURN_CODES_V3: readonly string[] = [
  'Connection Accepted',
  'Connection Refused, unacceptable protocol version',
  'Connection Refused, identifier rejected',
  'Connection Refused, Server unavailable',
  'Connection Refused, bad user name or password',
  'Connection Refused, not authorized',
];

/**
 * The name of a reason code, chosen by the packet that carries it when the number is
 * shared. Unknown codes get a hex label rather than nothing.
 */
export function reasonCodeName(code: number, packet?: string): string {
  let fallback: string | undefined;
  for (const info of REASON_CODES) {
    if (info.code !== code) continue;
    if (packet === undefined || info.packets.includes(packet)) return info.name;
    fallback ??= info.name;
  }
  return fallback ?? `Unknown reason code 0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * For each packet that carries reason codes, which codes it may carry: ALLOWED_REASON_CODES[packet][code]
 * is 1 when the spec's table lists the code for that packet (5.0 table 2-6; 3.1.1 SUBACK [MQTT-3.9.3-2]).
 */
export const ALLOWED_REASON_CODES: Readonly<Record<string, Uint8Array>> = (() => {
  const table: Record<string, Uint8Array> = {};
  for (const info of REASON_CODES) {
    for (const packet of info.packets) (table[packet] ??= new Uint8Array(256))[info.code] = 1;
  }
  const suback3 = new Uint8Array(256);
  for (const code of [0, 1, 2, 0x80]) suback3[code] = 1;
  table['suback-v3'] = suback3;
  return table;
})();
