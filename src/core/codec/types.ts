/**
 * The decoded form of every MQTT control packet. Field names are the spec's, in camelCase.
 * Payloads, passwords, correlation and authentication data are Buffers.
 */

export type QoS = 0 | 1 | 2;
export type ProtocolVersion = 3 | 4 | 5;

/** MQTT 5 properties by camelCase spec name. Only the ones allowed on a packet may be present. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four-byte integer
  contentType?: string; // 0x03 UTF-8 string
  responseTopic?: string; // 0x08 UTF-8 string
  correlationData?: Buffer; // 0x09 binary data
  /** 0x0B variable byte integer; repeatable on PUBLISH, at most one on SUBSCRIBE. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11 four-byte integer
  assignedClientIdentifier?: string; // 0x12 UTF-8 string
  serverKeepAlive?: number; // 0x13 two-byte integer
  authenticationMethod?: string; // 0x15 UTF-8 string
  authenticationData?: Buffer; // 0x16 binary data
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 four-byte integer
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A UTF-8 string
  serverReference?: string; // 0x1C UTF-8 string
  reasonString?: string; // 0x1F UTF-8 string
  receiveMaximum?: number; // 0x21 two-byte integer
  topicAliasMaximum?: number; // 0x22 two-byte integer
  topicAlias?: number; // 0x23 two-byte integer
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  /** 0x26 UTF-8 string pairs, in wire order; a key may repeat. */
  userProperties?: [string, string][];
  maximumPacketSize?: number; // 0x27 four-byte integer
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifiersAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0 ("MQTT"). */
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1, 3.1.1) or Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: Will;
  properties?: Properties;
  /**
   * The protocol level byte had 0x80 set: a broker's bridge (mosquitto's try_private). Decoded
   * for 3.1, 3.1.1 and 5.0 (mosquitto 2.0 sets it on a 5.0 bridge too); encoded when true.
   */
  bridge?: boolean;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** The 3.1.1 return code (0-5) or the 5.0 reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  /** 5.0 only; 0 when the packet omits it. */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  /** 5.0 subscription options; decoded as false/false/0 when absent on the wire. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** Granted QoS (0, 1, 2) or a failure code (0x80, or a 5.0 reason code), one per filter. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0 only: one per topic filter. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}
export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only; 0 (normal disconnection) when the packet omits it. */
  reasonCode?: number;
  properties?: Properties;
}

/** 5.0 only. */
export interface AuthPacket {
  type: 'auth';
  /** 0 when the packet omits it. */
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketName = Packet['type'];
