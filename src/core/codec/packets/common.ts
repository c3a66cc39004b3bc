/** Field checks shared by the packet encoders and decoders. */
import { ALLOWED_REASON_CODES, ReasonCode } from '../constants.js';
import { MqttError } from '../errors.js';

export function malformed(message: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, message);
}

/** A packet identifier to be encoded: 1 to 65535. */
export function checkPacketId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffff) {
    throw malformed(`packet identifier must be 1 to 65535, got ${String(id)}`);
  }
  return id;
}

/**
 * A decoded packet identifier. [MQTT-2.3.1-1] packets that need one carry a non-zero one;
 * like mosquitto we treat 0 as a Protocol Error: the bytes parse, the rule is broken.
 */
export function checkDecodedPacketId(id: number): number {
  if (id === 0) throw new MqttError(ReasonCode.ProtocolError, 'packet identifier 0');
  return id;
}

/** A reason code or return code to be encoded: one byte. */
export function checkByte(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw malformed(`${what} must be 0 to 255, got ${String(value)}`);
  }
  return value;
}

export function checkQos(qos: unknown, what: string): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw malformed(`${what} QoS must be 0, 1 or 2, got ${String(qos)}`);
}

/**
 * A decoded reason code must be one the spec lists for the packet: a sender MUST NOT use
 * others ([MQTT-3.9.3-2], 5.0 section 2.4), so one arriving means a broken peer (Protocol Error).
 */
export function checkReasonCode(code: number, packet: string): number {
  if (ALLOWED_REASON_CODES[packet]![code] !== 1) {
    throw new MqttError(ReasonCode.ProtocolError, `reason code 0x${code.toString(16).padStart(2, '0')} is not valid in ${packet.toUpperCase()}`);
  }
  return code;
}
