/**
 * How big a PUBLISH is on the wire, and the two limits it must fit: MQTT's own (a Remaining
 * Length of at most 268,435,455 bytes, 3.1.1 section 2.2.3, 5.0 section 1.5.5) and the
 * broker's Maximum Packet Size from its CONNACK (5.0 section 3.2.2.3.6: the whole packet,
 * fixed header included). A broker that gets a larger packet disconnects with 0x95
 * [MQTT-3.2.2-15 and 4.13.1], so the message is lost while a QoS 0 publisher thinks it went out:
 * the client checks first, as mosquitto_pub does, and sends nothing that cannot fit.
 *
 * The sizes are computed with the codec's own measures (the same ones encode() uses), so they
 * are exact: topic, packet id, properties and payload.
 */
import { MAX_VARINT, PacketType } from '../codec/constants.js';
import { propertiesLength } from '../codec/properties.js';
import type { Properties, QoS } from '../codec/types.js';
import { varintLength } from '../codec/varint.js';
import { utf8Length } from '../codec/writer.js';
import type { ProtocolLevel } from './types.js';

/** The largest Remaining Length MQTT can express: what a whole message holds besides its 2 to 5 header bytes. */
export const MAX_REMAINING_LENGTH = MAX_VARINT;

/** What a PUBLISH holds besides its payload. */
export interface PublishShape {
  topic: string;
  qos: QoS;
  protocolVersion: ProtocolLevel;
  /** MQTT 5 PUBLISH properties in our codec's form (ignored for 3.1 and 3.1.1). */
  properties?: Properties | undefined;
}

/**
 * Bytes of the Remaining Length other than the payload: topic, packet id (QoS 1 and 2), and
 * in MQTT 5 the properties with their length. Throws the codec's MqttError for a property
 * it would not encode.
 */
export function publishOverhead(shape: PublishShape): number {
  let len = 2 + utf8Length(shape.topic) + (shape.qos > 0 ? 2 : 0);
  if (shape.protocolVersion === 5) {
    const props = propertiesLength(shape.properties, PacketType.PUBLISH);
    len += varintLength(props) + props;
  }
  return len;
}

/**
 * The whole PUBLISH in bytes (fixed header, variable header, payload): what a broker's Maximum
 * Packet Size is compared with. Past MQTT's limit the header is counted at its largest (5).
 */
export function publishPacketSize(shape: PublishShape, payloadLength: number): number {
  return packetSizeOf(publishOverhead(shape) + payloadLength);
}

function packetSizeOf(remaining: number): number {
  return 1 + (remaining > MAX_REMAINING_LENGTH ? 4 : varintLength(remaining)) + remaining;
}

/** The largest payload a PUBLISH of this shape can carry at all. */
export function maxPayload(shape: PublishShape): number {
  return Math.max(0, MAX_REMAINING_LENGTH - publishOverhead(shape));
}

/** 2,013 */
const count = (n: number): string => n.toLocaleString('en-US');

/** A size as people read it: bytes below 10 KB, then KB, MB (1024-based, as ls -h and du say). */
export function humanSize(bytes: number): string {
  if (bytes < 10 * 1024) return `${count(bytes)} byte${bytes === 1 ? '' : 's'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * Why a payload of `payloadLength` bytes cannot be sent at all, or undefined when it fits.
 * `what` names it as the user gave it: "'file.bin'", "the message", "--size 300000000".
 */
export function mqttLimitError(what: string, payloadLength: number, shape: PublishShape): string | undefined {
  if (payloadLength <= maxPayload(shape)) return undefined;
  return `${what} is ${humanSize(payloadLength)}; an MQTT message holds at most 256 MB (${count(MAX_REMAINING_LENGTH)} bytes with its headers): nothing sent`;
}

/**
 * Why a PUBLISH of `size` bytes (publishPacketSize) must not go to a broker that announced
 * `maximum` in its CONNACK, or undefined when it fits.
 */
export function brokerLimitError(size: number, maximum: number | undefined): string | undefined {
  if (maximum === undefined || size <= maximum) return undefined;
  return `message of ${count(size)} bytes exceeds the broker's maximum packet size of ${count(maximum)} bytes; nothing sent`;
}
