/**
 * The two JSON forms of a received message:
 * - mosquittoJson: mosquitto_sub's %j / %J objects (client/sub_client_output.c json_print,
 *   cJSON build), field for field, for scripts written against mosquitto_sub -F.
 * - jsonRecord: `mqt sub --json`, our own one-object-per-line record with a stable schema.
 */
import { isUtf8 } from 'node:buffer';
import type { Properties } from '../codec/types.js';
import type { ReceivedMessage } from './message.js';
import { isoUtc, mosquittoTimestamp } from './time-format.js';

/** An object whose keys keep their order and may repeat, as cJSON objects do (user properties). */
class Entries {
  constructor(readonly list: [string, unknown][]) {}
}

function tabs(n: number): string {
  return '\t'.repeat(n);
}

/**
 * Serialises like cJSON: compact (cJSON_PrintUnformatted), or pretty (cJSON_Print: tabs,
 * `"key":<TAB>value`, arrays on one line with ", "). Strings escape as JSON.stringify does,
 * which matches cJSON for every character; numbers use JavaScript's shortest form.
 */
function cjson(value: unknown, depth: number, pretty: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    return `[${value.map((v) => cjson(v, depth + 1, pretty)).join(pretty ? ', ' : ',')}]`;
  }
  const list = value instanceof Entries ? value.list : Object.entries(value as Record<string, unknown>);
  if (!pretty) return `{${list.map(([k, v]) => `${JSON.stringify(k)}:${cjson(v, depth + 1, false)}`).join(',')}}`;
  const inner = list.map(([k, v]) => `${tabs(depth + 1)}${JSON.stringify(k)}:\t${cjson(v, depth + 1, true)}`);
  return inner.length === 0 ? `{\n${tabs(depth)}}` : `{\n${inner.join(',\n')}\n${tabs(depth)}}`;
}

/** mosquitto's property names (mosquitto_property_identifier_to_string), in its %j layout. */
function mosquittoProperties(p: Properties): Entries | undefined {
  const list: [string, unknown][] = [];
  if (p.payloadFormatIndicator !== undefined) list.push(['payload-format-indicator', p.payloadFormatIndicator]);
  if (p.messageExpiryInterval !== undefined) list.push(['message-expiry-interval', p.messageExpiryInterval]);
  if (p.contentType !== undefined) list.push(['content-type', p.contentType]);
  if (p.responseTopic !== undefined) list.push(['response-topic', p.responseTopic]);
  // mosquitto hands the binary to cJSON as a C string; UTF-8 text is what it means to show.
  if (p.correlationData !== undefined) list.push(['correlation-data', p.correlationData.toString('utf8')]);
  // One key per identifier, repeated when several subscriptions matched, as mosquitto prints them.
  for (const id of p.subscriptionIdentifiers ?? []) list.push(['subscription-identifier', id]);
  if (p.topicAlias !== undefined) list.push(['topic-alias', p.topicAlias]);
  if (p.userProperties && p.userProperties.length > 0) list.push(['user-properties', new Entries(p.userProperties.map(([k, v]) => [k, v]))]);
  return list.length > 0 ? new Entries(list) : undefined;
}

/**
 * mosquitto's %j (`escaped` true: the payload as a JSON string) or %J (`escaped` false: the
 * payload must itself be JSON and is embedded as a value). Returns undefined when %J gets a
 * payload that is not JSON; the caller reports it as mosquitto does and prints nothing.
 *
 * An empty payload is `null` (mosquitto has no payload pointer then). For %j a payload that is
 * not UTF-8 becomes an array of byte values, as mosquitto 2.0.20 does for non-printable
 * payloads; mosquitto decides by ASCII isprint() (its own TODO asks for UTF-8), we by UTF-8
 * validity, so "Ċ" stays a string.
 */
export function mosquittoJson(message: ReceivedMessage, escaped: boolean, pretty: boolean): string | undefined {
  let payload: unknown = null;
  if (message.payload.length > 0) {
    if (escaped) {
      payload = isUtf8(message.payload) ? message.payload.toString('utf8') : [...message.payload];
    } else {
      if (!isUtf8(message.payload)) return undefined;
      try {
        payload = JSON.parse(message.payload.toString('utf8'));
      } catch {
        return undefined;
      }
    }
  }
  const list: [string, unknown][] = [
    ['tst', mosquittoTimestamp(message.received)],
    ['topic', message.topic],
    ['qos', message.qos],
    ['retain', message.retain ? 1 : 0],
    ['payloadlen', message.payload.length],
  ];
  if (message.qos > 0) list.push(['mid', message.messageId]);
  const properties = message.properties ? mosquittoProperties(message.properties) : undefined;
  if (properties) list.push(['properties', properties]);
  list.push(['payload', payload]);
  return cjson(new Entries(list), 0, pretty);
}

/** Binary data as text: UTF-8 when it is valid UTF-8, else base64 (and the caller says so). */
function textOrBase64(bytes: Buffer): { text: string; base64: boolean } {
  return isUtf8(bytes) ? { text: bytes.toString('utf8'), base64: false } : { text: bytes.toString('base64'), base64: true };
}

/** Properties for --json: our codec's camelCase names; binary values as UTF-8 or base64. */
function recordProperties(p: Properties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    if (value === undefined) continue;
    if (Buffer.isBuffer(value)) {
      const { text, base64 } = textOrBase64(value);
      out[key] = text;
      if (base64) out[`${key}Encoding`] = 'base64';
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * One line of `mqt sub --json` (without the newline):
 * `{"topic","payload","encoding"?,"qos","retain","received","messageId"?,"properties"?}`.
 * `payload` is the UTF-8 text, or base64 with `"encoding":"base64"` when the bytes are not
 * valid UTF-8. `received` is ISO 8601 in UTC. `messageId` is present for QoS 1 and 2.
 * `properties` holds the MQTT 5 properties by camelCase spec name: userProperties as ordered
 * [key, value] pairs, subscriptionIdentifiers as a number array, correlationData as text or
 * base64 (then with "correlationDataEncoding":"base64").
 */
export function jsonRecord(message: ReceivedMessage): string {
  const { text, base64 } = textOrBase64(message.payload);
  const record: Record<string, unknown> = { topic: message.topic, payload: text };
  if (base64) record.encoding = 'base64';
  record.qos = message.qos;
  record.retain = message.retain;
  record.received = isoUtc(message.received);
  if (message.qos > 0) record.messageId = message.messageId;
  if (message.properties) record.properties = recordProperties(message.properties);
  return JSON.stringify(record);
}
