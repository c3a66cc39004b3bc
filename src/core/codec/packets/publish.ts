/**
 * PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP, which share one shape
 * (3.1.1 sections 3.3-3.7, 5.0 sections 3.3-3.7).
 */
import { PacketType, ReasonCode } from '../constants.js';
import { MqttError } from '../errors.js';
import { measuredMask, propertiesLength, readProperties, writeProperties } from '../properties.js';
import type { Reader } from '../reader.js';
import type { AckPacket, ProtocolVersion, PublishPacket, QoS } from '../types.js';
import { varintLength, writeVarint } from '../varint.js';
import { utf8Length, writeUtf8 } from '../writer.js';
import { checkByte, checkDecodedPacketId, checkPacketId, checkQos, checkReasonCode, malformed } from './common.js';

export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  // [MQTT-3.3.1-4] a PUBLISH must not have both QoS bits set.
  if (qos === 3) throw malformed('PUBLISH QoS is 3');
  const topic = r.utf8();
  // [MQTT-3.3.2-2] a topic name never holds wildcards, whoever sends it.
  if (topic.includes('+') || topic.includes('#')) {
    throw new MqttError(ReasonCode.TopicNameInvalid, `wildcard in PUBLISH topic ${JSON.stringify(topic)}`);
  }
  let packetId: number | undefined;
  if (qos > 0) packetId = checkDecodedPacketId(r.u16());
  const properties = version === 5 ? readProperties(r, PacketType.PUBLISH) : undefined;
  if (version === 5 && topic.length === 0 && properties?.topicAlias === undefined) {
    // 5.0 section 3.3.2.3.4: a zero-length topic needs a Topic Alias.
    throw new MqttError(ReasonCode.ProtocolError, 'PUBLISH with an empty topic and no topic alias');
  }
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: r.rest(),
    qos: qos as QoS,
    retain: (flags & 0x01) !== 0,
    dup: (flags & 0x08) !== 0,
  };
  if (packetId !== undefined) packet.packetId = packetId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const qos = p.qos;
  checkQos(qos, 'PUBLISH');
  const topicLen = utf8Length(p.topic);
  const payload = p.payload;
  let len = 2 + topicLen + payload.length;
  if (qos > 0) {
    checkPacketId(p.packetId);
    len += 2;
  }
  let propsLen = 0;
  let propsMask = 0;
  if (version === 5) {
    propsLen = propertiesLength(p.properties, PacketType.PUBLISH);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  let pos = writeVarint(buf, 1, len);
  pos = writeUtf8(buf, pos, p.topic, topicLen);
  if (qos > 0) {
    const id = p.packetId!;
    buf[pos++] = id >>> 8;
    buf[pos++] = id & 0xff;
  }
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen, propsMask);
  buf.set(payload, pos);
  return buf;
}

type AckName = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const ACK_TYPES: Record<AckName, number> = {
  puback: PacketType.PUBACK,
  pubrec: PacketType.PUBREC,
  pubrel: PacketType.PUBREL,
  pubcomp: PacketType.PUBCOMP,
};

export function decodeAck<T extends AckName>(r: Reader, name: T, version: ProtocolVersion): AckPacket<T> {
  const packet: AckPacket<T> = { type: name, packetId: checkDecodedPacketId(r.u16()) };
  if (version === 5) {
    // 5.0 section 3.4.2.1: a Remaining Length of 2 means reason code 0 and no properties;
    // below 4 there is no property length.
    packet.reasonCode = r.remaining() > 0 ? checkReasonCode(r.u8(), name) : ReasonCode.Success;
    if (r.remaining() > 0) {
      const properties = readProperties(r, ACK_TYPES[name]);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  return packet;
}

export function encodeAck(p: AckPacket<AckName>, version: ProtocolVersion): Buffer {
  const type = ACK_TYPES[p.type];
  const id = checkPacketId(p.packetId);
  // PUBREL's fixed header flags are 0010 [MQTT-3.6.1-1].
  const first = (type << 4) | (type === PacketType.PUBREL ? 0x02 : 0);
  const reasonCode = version === 5 && p.reasonCode !== undefined ? checkByte(p.reasonCode, 'reason code') : 0;
  const propsLen = version === 5 ? propertiesLength(p.properties, type) : 0;
  const propsMask = measuredMask;
  if (propsLen === 0) {
    // The shortest form the spec allows: no reason code when it is 0, no property length when empty.
    const buf = Buffer.allocUnsafe(reasonCode === 0 ? 4 : 5);
    buf[0] = first;
    buf[1] = reasonCode === 0 ? 2 : 3;
    buf[2] = id >>> 8;
    buf[3] = id & 0xff;
    if (reasonCode !== 0) buf[4] = reasonCode;
    return buf;
  }
  const len = 3 + varintLength(propsLen) + propsLen;
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = first;
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = id >>> 8;
  buf[pos++] = id & 0xff;
  buf[pos++] = reasonCode;
  writeProperties(buf, pos, p.properties, propsLen, propsMask);
  return buf;
}
