/** PINGREQ, PINGRESP, DISCONNECT and AUTH (3.1.1 sections 3.12-3.14, 5.0 sections 3.12-3.15). */
import { PacketType, ReasonCode } from '../constants.js';
import { measuredMask, propertiesLength, readProperties, writeProperties } from '../properties.js';
import type { Reader } from '../reader.js';
import type { AuthPacket, DisconnectPacket, PingreqPacket, PingrespPacket, ProtocolVersion, Properties } from '../types.js';
import { varintLength, writeVarint } from '../varint.js';
import { checkByte, checkReasonCode } from './common.js';

const PINGREQ_BYTES = Buffer.from([PacketType.PINGREQ << 4, 0]);
const PINGRESP_BYTES = Buffer.from([PacketType.PINGRESP << 4, 0]);

// Decoded pings carry no state, but callers may mutate packets: hand out a fresh object each time.
export function decodePingreq(): PingreqPacket {
  return { type: 'pingreq' };
}
export function decodePingresp(): PingrespPacket {
  return { type: 'pingresp' };
}
export function encodePingreq(): Buffer {
  return Buffer.from(PINGREQ_BYTES);
}
export function encodePingresp(): Buffer {
  return Buffer.from(PINGRESP_BYTES);
}

/** DISCONNECT and AUTH share a body in 5.0: an optional reason code, then optional properties. */
function readReasonAndProperties(r: Reader, type: number): { reasonCode: number; properties?: Properties } {
  const reasonCode = r.remaining() > 0 ? checkReasonCode(r.u8(), type === PacketType.AUTH ? 'auth' : 'disconnect') : ReasonCode.Success;
  // 5.0 sections 3.14.2.2.1 and 3.15.2.2.1: below a Remaining Length of 2 the property length is 0.
  const properties = r.remaining() > 0 ? readProperties(r, type) : undefined;
  return properties === undefined ? { reasonCode } : { reasonCode, properties };
}

export function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  if (version < 5) return { type: 'disconnect' };
  return { type: 'disconnect', ...readReasonAndProperties(r, PacketType.DISCONNECT) };
}

export function decodeAuth(r: Reader): AuthPacket {
  return { type: 'auth', ...readReasonAndProperties(r, PacketType.AUTH) };
}

function encodeReasonAndProperties(type: number, reasonCode: number | undefined, props: Properties | undefined): Buffer {
  const isDisconnect = type === PacketType.DISCONNECT;
  const code = reasonCode === undefined ? 0 : checkByte(reasonCode, 'reason code');
  const propsLen = propertiesLength(props, type);
  const propsMask = measuredMask;
  // The shortest form: nothing for code 0 without properties; for DISCONNECT also the code
  // alone (5.0 section 3.14.2.2.1). AUTH may omit the property length only with code 0 (3.15.2.1).
  if (propsLen === 0) {
    if (code === 0) return Buffer.from([type << 4, 0]);
    if (isDisconnect) return Buffer.from([type << 4, 1, code]);
  }
  const len = 1 + varintLength(propsLen) + propsLen;
  const buf = Buffer.allocUnsafe(1 + varintLength(len) + len);
  buf[0] = type << 4;
  let pos = writeVarint(buf, 1, len);
  buf[pos++] = code;
  writeProperties(buf, pos, props, propsLen, propsMask);
  return buf;
}

export function encodeDisconnect(p: DisconnectPacket, version: ProtocolVersion): Buffer {
  if (version < 5) return Buffer.from([PacketType.DISCONNECT << 4, 0]);
  return encodeReasonAndProperties(PacketType.DISCONNECT, p.reasonCode, p.properties);
}

export function encodeAuth(p: AuthPacket): Buffer {
  return encodeReasonAndProperties(PacketType.AUTH, p.reasonCode, p.properties);
}
