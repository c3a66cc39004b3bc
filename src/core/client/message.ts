/**
 * A message as `mqt sub` received it: what every output form (mosquitto's -F engine, the
 * default and terminal views, the --json record) is computed from. Built once per message
 * from MQTT.js's packet, so the formatters are pure functions of plain data.
 */
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt';
import type { Properties, QoS } from '../codec/types.js';
import { receivedNow, type ReceivedTime } from './time-format.js';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** The packet identifier; 0 for QoS 0, as mosquitto's %m prints it. */
  messageId: number;
  /** MQTT 5 properties by our codec's names (src/core/codec/types.ts); absent when there are none. */
  properties?: Properties;
  received: ReceivedTime;
}

/**
 * Converts MQTT.js's PUBLISH to our message. MQTT.js (through mqtt-packet) groups user
 * properties by key and calls the subscription identifier singular; we keep the codec's
 * forms: [key, value] pairs and a number[]. `topic` is the one MQTT.js's 'message' event
 * gives: for a PUBLISH that names its topic by Topic Alias only, packet.topic is empty.
 */
export function messageFromPacket(packet: IPublishPacket, received: ReceivedTime = receivedNow(), topic: string = packet.topic): ReceivedMessage {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
  const message: ReceivedMessage = {
    topic,
    payload,
    qos: packet.qos,
    retain: packet.retain,
    messageId: packet.qos > 0 ? (packet.messageId ?? 0) : 0,
    received,
  };
  const properties = packet.properties ? propertiesFromPacket(packet.properties) : undefined;
  if (properties) message.properties = properties;
  return message;
}

function propertiesFromPacket(p: NonNullable<IPublishPacket['properties']>): Properties | undefined {
  const out: Properties = {};
  let any = false;
  if (p.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
    any = true;
  }
  if (p.messageExpiryInterval !== undefined) {
    out.messageExpiryInterval = p.messageExpiryInterval;
    any = true;
  }
  if (p.contentType !== undefined) {
    out.contentType = p.contentType;
    any = true;
  }
  if (p.responseTopic !== undefined) {
    out.responseTopic = p.responseTopic;
    any = true;
  }
  if (p.correlationData !== undefined) {
    out.correlationData = Buffer.isBuffer(p.correlationData) ? p.correlationData : Buffer.from(String(p.correlationData), 'utf8');
    any = true;
  }
  if (p.subscriptionIdentifier !== undefined) {
    out.subscriptionIdentifiers = Array.isArray(p.subscriptionIdentifier) ? [...p.subscriptionIdentifier] : [p.subscriptionIdentifier];
    any = true;
  }
  if (p.topicAlias !== undefined) {
    out.topicAlias = p.topicAlias;
    any = true;
  }
  if (p.userProperties !== undefined) {
    const pairs: [string, string][] = [];
    for (const [key, value] of Object.entries(p.userProperties)) {
      if (Array.isArray(value)) for (const v of value) pairs.push([key, String(v)]);
      else pairs.push([key, String(value)]);
    }
    if (pairs.length > 0) {
      out.userProperties = pairs;
      any = true;
    }
  }
  return any ? out : undefined;
}

/**
 * Whether `bytes` can go to a terminal as text: well-formed UTF-8 with no control
 * characters except tab, newline and carriage return. ESC, DEL and the C1 controls
 * (U+0080–U+009F, encoded C2 80–C2 9F) are refused because a terminal acts on them: a
 * payload could otherwise move the cursor, retitle the window or hide what came before.
 */
export function isPrintableUtf8(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20) {
      if (b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
    } else if (b === 0x7f) {
      return false;
    } else if (b === 0xc2) {
      const next = bytes[i + 1];
      if (next !== undefined && next >= 0x80 && next <= 0x9f) return false;
    }
  }
  return isUtf8(bytes);
}
