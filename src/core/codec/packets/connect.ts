/** CONNECT and CONNACK: decode and encode side by side (3.1.1 sections 3.1-3.2, 5.0 sections 3.1-3.2). */
import { PacketType, ReasonCode, WILL_PROPERTIES } from '../constants.js';
import { MqttError } from '../errors.js';
import { measuredMask, propertiesLength, readProperties, writeProperties } from '../properties.js';
import type { Reader } from '../reader.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from '../types.js';
import { varintLength, writeVarint } from '../varint.js';
import { checkByte, checkQos, checkReasonCode, malformed } from './common.js';
import { binaryLength, utf8Length, writeBinary, writeU16, writeUtf8 } from '../writer.js';


const FLAG_CLEAN = 0x02;
const FLAG_WILL = 0x04;
const FLAG_WILL_RETAIN = 0x20;
const FLAG_PASSWORD = 0x40;
const FLAG_USERNAME = 0x80;

export function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = r.utf8();
  const levelByte = r.u8();
  // The top bit marks a bridge (mosquitto's try_private); the level is the other seven, as mosquitto reads it.
  const level = levelByte & 0x7f;
  let protocolVersion: ProtocolVersion;
  if (protocolName === 'MQTT' && (level === 4 || level === 5)) protocolVersion = level;
  else if (protocolName === 'MQIsdp' && level === 3) protocolVersion = 3;
  else {
    // [MQTT-3.1.2-2] an unsupported level is answered with CONNACK 0x01 (3.1.1) / 0x84 (5.0);
    // 5.0 section 3.1.2.1 lets a server answer a wrong protocol name the same way.
    throw new MqttError(ReasonCode.UnsupportedProtocolVersion, `unsupported protocol ${JSON.stringify(protocolName)} level ${levelByte}`);
  }
  const flags = r.u8();
  // [MQTT-3.1.2-3] the reserved flag must be 0.
  if ((flags & 0x01) !== 0) throw malformed('CONNECT reserved flag is set');
  const hasWill = (flags & FLAG_WILL) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & FLAG_WILL_RETAIN) !== 0;
  if (!hasWill && (willQos !== 0 || willRetain)) {
    // No will, so no will QoS or retain: 3.1.1 [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15], 5.0 [MQTT-3.1.2-11] [MQTT-3.1.2-13].
    throw malformed('CONNECT has will QoS or will retain without a will');
  }
  // Will QoS 3 is not allowed: 3.1.1 [MQTT-3.1.2-14], 5.0 [MQTT-3.1.2-12].
  if (willQos === 3) throw malformed('CONNECT will QoS is 3');
  const hasUsername = (flags & FLAG_USERNAME) !== 0;
  const hasPassword = (flags & FLAG_PASSWORD) !== 0;
  // 3.1.1 [MQTT-3.1.2-22]: before 5.0 a password needs a user name; 5.0 allows one without.
  if (protocolVersion < 5 && hasPassword && !hasUsername) throw malformed('CONNECT has a password flag without a user name flag');

  const keepalive = r.u16();
  const properties = protocolVersion === 5 ? readProperties(r, PacketType.CONNECT) : undefined;
  if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
    // 5.0 section 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
    throw new MqttError(ReasonCode.ProtocolError, 'authentication data without an authentication method');
  }
  const clientId = r.utf8();
  const packet: ConnectPacket = { type: 'connect', protocolVersion, clean: (flags & FLAG_CLEAN) !== 0, keepalive, clientId };
  if (hasWill) {
    const willProperties = protocolVersion === 5 ? readProperties(r, WILL_PROPERTIES) : undefined;
    const will: Will = { topic: r.utf8(), payload: r.binary(), qos: willQos as QoS, retain: willRetain };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.utf8();
  if (hasPassword) packet.password = r.binary();
  if (properties !== undefined) packet.properties = properties;
  if (levelByte !== level) packet.bridge = true;
  return packet;
}

export function encodeConnect(p: ConnectPacket): Buffer {
  const v = p.protocolVersion;
  if (v !== 3 && v !== 4 && v !== 5) throw new MqttError(ReasonCode.UnsupportedProtocolVersion, `protocol version must be 3, 4 or 5, got ${String(v)}`);
  if (!Number.isInteger(p.keepalive) || p.keepalive < 0 || p.keepalive > 0xffff) throw malformed('keepalive must be 0 to 65535');
  const nameLen = v === 3 ? 6 : 4;
  let len = 2 + nameLen + 1 + 1 + 2;
  let propsLen = 0;
  let propsMask = 0;
  if (v === 5) {
    propsLen = propertiesLength(p.properties, PacketType.CONNECT);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  const clientIdLen = utf8Length(p.clientId);
  len += 2 + clientIdLen;
  const will = p.will;
  let willTopicLen = 0;
  let willPropsLen = 0;
  let willPropsMask = 0;
  if (will !== undefined) {
    checkQos(will.qos, 'will');
    if (v === 5) {
      willPropsLen = propertiesLength(will.properties, WILL_PROPERTIES);
      willPropsMask = measuredMask;
      len += varintLength(willPropsLen) + willPropsLen;
    }
    willTopicLen = utf8Length(will.topic);
    len += 2 + willTopicLen + binaryLength(will.payload);
  }
  let usernameLen = 0;
  if (p.username !== undefined) {
    usernameLen = utf8Length(p.username);
    len += 2 + usernameLen;
  }
  if (p.password !== undefined) {
    if (v < 5 && p.username === undefined) throw malformed('a password needs a user name before MQTT 5 [MQTT-3.1.2-22]');
    len += binaryLength(p.password);
  }

  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = PacketType.CONNECT << 4;
  let pos = writeVarint(buf, 1, len);
  pos = writeUtf8(buf, pos, v === 3 ? 'MQIsdp' : 'MQTT', nameLen);
  buf[pos++] = p.bridge === true ? v | 0x80 : v;
  let flags = p.clean ? FLAG_CLEAN : 0;
  if (will !== undefined) flags |= FLAG_WILL | (will.qos << 3) | (will.retain ? FLAG_WILL_RETAIN : 0);
  if (p.password !== undefined) flags |= FLAG_PASSWORD;
  if (p.username !== undefined) flags |= FLAG_USERNAME;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepalive);
  if (v === 5) pos = writeProperties(buf, pos, p.properties, propsLen, propsMask);
  pos = writeUtf8(buf, pos, p.clientId, clientIdLen);
  if (will !== undefined) {
    if (v === 5) pos = writeProperties(buf, pos, will.properties, willPropsLen, willPropsMask);
    pos = writeUtf8(buf, pos, will.topic, willTopicLen);
    pos = writeBinary(buf, pos, will.payload);
  }
  if (p.username !== undefined) pos = writeUtf8(buf, pos, p.username, usernameLen);
  if (p.password !== undefined) pos = writeBinary(buf, pos, p.password);
  return buf;
}

export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8();
  // [MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are reserved and 0.
  if ((flags & 0xfe) !== 0) throw malformed('CONNACK reserved flags are set');
  const code = r.u8();
  const packet: ConnackPacket = { type: 'connack', sessionPresent: flags === 1, reasonCode: version === 5 ? checkReasonCode(code, 'connack') : code };
  if (version === 5) {
    const properties = readProperties(r, PacketType.CONNACK);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}

export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  let len = 2;
  let propsLen = 0;
  let propsMask = 0;
  if (version === 5) {
    propsLen = propertiesLength(p.properties, PacketType.CONNACK);
    propsMask = measuredMask;
    len += varintLength(propsLen) + propsLen;
  }
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = PacketType.CONNACK << 4;
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = p.sessionPresent ? 1 : 0;
  buf[pos++] = checkByte(p.reasonCode, 'CONNACK reason code');
  if (version === 5) writeProperties(buf, pos, p.properties, propsLen, propsMask);
  return buf;
}
