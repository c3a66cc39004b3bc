/** SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (3.1.1 sections 3.8-3.11, 5.0 sections 3.8-3.11). */
import { PacketType, ReasonCode } from '../constants.js';
import { MqttError } from '../errors.js';
import { measuredMask, propertiesLength, readProperties, writeProperties } from '../properties.js';
import type { Reader } from '../reader.js';
import type {
  ProtocolVersion, QoS, SubackPacket, SubscribePacket, Subscription, UnsubackPacket, UnsubscribePacket,
} from '../types.js';
import { varintLength, writeVarint } from '../varint.js';
import { utf8Length, writeUtf8 } from '../writer.js';
import { checkByte, checkDecodedPacketId, checkPacketId, checkQos, checkReasonCode, malformed } from './common.js';

export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packetId = checkDecodedPacketId(r.u16());
  const properties = version === 5 ? readProperties(r, PacketType.SUBSCRIBE) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining() > 0) {
    const topicFilter = r.utf8();
    const options = r.u8();
    const qos = options & 0x03;
    // 3.1.1 [MQTT-3-8.3-4] makes QoS 3 malformed; 5.0 section 3.8.3.1 calls it a Protocol Error.
    if (qos === 3) {
      if (version === 5) throw new MqttError(ReasonCode.ProtocolError, 'subscription QoS is 3');
      throw malformed('subscription QoS is 3');
    }
    if (version === 5) {
      // [MQTT-3.8.3-5] bits 7 and 6 of the subscription options are reserved.
      if ((options & 0xc0) !== 0) throw malformed('subscription options reserved bits are set');
      const retainHandling = (options >> 4) & 0x03;
      // 5.0 section 3.8.3.1: a Retain Handling of 3 is a Protocol Error.
      if (retainHandling === 3) throw new MqttError(ReasonCode.ProtocolError, 'retain handling 3');
      subscriptions.push({
        topicFilter,
        qos: qos as QoS,
        noLocal: (options & 0x04) !== 0,
        retainAsPublished: (options & 0x08) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      });
    } else {
      // [MQTT-3-8.3-4] the upper six bits of the requested QoS byte are reserved.
      if ((options & 0xfc) !== 0) throw malformed('requested QoS reserved bits are set');
      subscriptions.push({ topicFilter, qos: qos as QoS });
    }
  }
  // [MQTT-3.8.3-3] a SUBSCRIBE carries at least one topic filter.
  if (subscriptions.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'SUBSCRIBE without topic filters');
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  const id = checkPacketId(p.packetId);
  const subs = p.subscriptions;
  if (subs.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3]');
  let len = 2;
  let propsLen = 0;
  let propsMask = 0;
  if (version === 5) {
    propsLen = propertiesLength(p.properties, PacketType.SUBSCRIBE);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  for (const s of subs) {
    checkQos(s.qos, 'subscription');
    len += 3 + utf8Length(s.topicFilter);
  }
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = (PacketType.SUBSCRIBE << 4) | 0x02; // [MQTT-3.8.1-1]
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = id >>> 8;
  buf[pos++] = id & 0xff;
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen, propsMask);
  for (const s of subs) {
    pos = writeUtf8(buf, pos, s.topicFilter, utf8Length(s.topicFilter));
    let options: number = s.qos;
    if (version === 5) {
      const rh = s.retainHandling ?? 0;
      if (rh !== 0 && rh !== 1 && rh !== 2) throw new MqttError(ReasonCode.ProtocolError, `retain handling must be 0, 1 or 2, got ${String(rh)}`);
      options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (rh << 4);
    }
    buf[pos++] = options;
  }
  return buf;
}

/** SUBACK and UNSUBACK (5.0) end in one reason code per topic filter. */
function readReasonCodes(r: Reader, packet: string): number[] {
  const codes: number[] = [];
  while (r.remaining() > 0) codes.push(checkReasonCode(r.u8(), packet));
  return codes;
}

export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packetId = checkDecodedPacketId(r.u16());
  const properties = version === 5 ? readProperties(r, PacketType.SUBACK) : undefined;
  const reasonCodes = readReasonCodes(r, version === 5 ? 'suback' : 'suback-v3');
  if (reasonCodes.length === 0) throw malformed('SUBACK without reason codes');
  const packet: SubackPacket = { type: 'suback', packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function encodeAckWithCodes(type: number, packetId: number, codes: number[] | undefined, props: SubackPacket['properties'], version: ProtocolVersion): Buffer {
  const id = checkPacketId(packetId);
  let len = 2;
  let propsLen = 0;
  let propsMask = 0;
  if (version === 5) {
    propsLen = propertiesLength(props, type);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  if (codes !== undefined) len += codes.length;
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = type << 4;
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = id >>> 8;
  buf[pos++] = id & 0xff;
  if (version === 5) pos = writeProperties(buf, pos, props, propsLen, propsMask);
  if (codes !== undefined) for (const c of codes) buf[pos++] = checkByte(c, 'reason code');
  return buf;
}

export function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  if (p.reasonCodes.length === 0) throw malformed('SUBACK needs one reason code per topic filter');
  return encodeAckWithCodes(PacketType.SUBACK, p.packetId, p.reasonCodes, p.properties, version);
}

export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = checkDecodedPacketId(r.u16());
  const properties = version === 5 ? readProperties(r, PacketType.UNSUBSCRIBE) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining() > 0) topicFilters.push(r.utf8());
  // [MQTT-3.10.3-2] an UNSUBSCRIBE carries at least one topic filter.
  if (topicFilters.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'UNSUBSCRIBE without topic filters');
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const id = checkPacketId(p.packetId);
  if (p.topicFilters.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]');
  let len = 2;
  let propsLen = 0;
  let propsMask = 0;
  if (version === 5) {
    propsLen = propertiesLength(p.properties, PacketType.UNSUBSCRIBE);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  for (const f of p.topicFilters) len += 2 + utf8Length(f);
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = (PacketType.UNSUBSCRIBE << 4) | 0x02; // [MQTT-3.10.1-1]
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = id >>> 8;
  buf[pos++] = id & 0xff;
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen, propsMask);
  for (const f of p.topicFilters) pos = writeUtf8(buf, pos, f, utf8Length(f));
  return buf;
}

export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packetId = checkDecodedPacketId(r.u16());
  const packet: UnsubackPacket = { type: 'unsuback', packetId };
  if (version === 5) {
    const properties = readProperties(r, PacketType.UNSUBACK);
    packet.reasonCodes = readReasonCodes(r, 'unsuback');
    if (packet.reasonCodes.length === 0) throw malformed('UNSUBACK without reason codes');
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}

export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  if (version === 5 && (p.reasonCodes === undefined || p.reasonCodes.length === 0)) {
    throw malformed('a 5.0 UNSUBACK needs one reason code per topic filter');
  }
  return encodeAckWithCodes(PacketType.UNSUBACK, p.packetId, version === 5 ? p.reasonCodes : undefined, p.properties, version);
}
