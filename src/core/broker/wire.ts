/**
 * The outgoing wire form of a PUBLISH for one connection: the shared template when nothing
 * differs per subscriber (encode once, patch the packet id), else a 5.0 PUBLISH with that
 * subscriber's subscription ids, remaining expiry and topic alias.
 *
 * Topic aliases towards the client (5.0 section 3.3.2.3.4) are ours to assign. The table here
 * and the client's must never differ: an alias counts as set only once a PUBLISH carrying it
 * has been queued for the socket, and numbers are never reused, so a message is never shown
 * to the client under another topic.
 */
import type { Properties, ProtocolVersion, QoS } from '../codec/types.js';
import { packetIdOffset, type Message } from './message.js';
import type { Outbox } from './outbox.js';

/** A connection's outgoing side as the wire form needs it. */
export interface WireState {
  readonly protocolVersion: ProtocolVersion;
  readonly outbox: Outbox;
  /** Largest packet the client accepts [MQTT-3.1.2-25]. */
  maxOutgoingPacket: number;
  /** Topic Alias Maximum the client announced; 0 for none. */
  outAliasMax: number;
  /** Aliases the client holds, by topic. */
  outAliases: Map<string, number> | undefined;
}

/**
 * Queues one PUBLISH for `w`. Returns false, sending nothing, when the packet is larger than
 * the client accepts [MQTT-3.1.2-25].
 */
export function writePublish(w: WireState, msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean {
  const v = w.protocolVersion;
  if (v === 5 && (subscriptionIds !== undefined || w.outAliasMax > 0 || msg.expiresAt !== 0)) {
    return writePublishV5(w, msg, qos, retain, subscriptionIds, packetId, dup, now);
  }
  if (dup) {
    const buf = msg.encodeFor(v, qos, retain, undefined, packetId, msg.topic, true);
    if (buf.length > w.maxOutgoingPacket) return false;
    w.outbox.push(buf);
    return true;
  }
  const template = msg.template(v, qos, retain);
  if (template.length > w.maxOutgoingPacket) return false;
  if (qos === 0) w.outbox.push(template);
  else w.outbox.pushWithId(template, packetIdOffset(template), packetId);
  return true;
}

/** A 5.0 PUBLISH with per-subscriber fields: subscription ids, remaining expiry, topic alias. */
function writePublishV5(w: WireState, msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean {
  let props: Properties | undefined = msg.properties;
  if (subscriptionIds !== undefined || msg.expiresAt !== 0) {
    props = { ...msg.properties };
    if (subscriptionIds !== undefined) props.subscriptionIdentifiers = subscriptionIds;
    // [MQTT-3.3.2-6] the expiry interval sent on is what is left of it.
    if (msg.expiresAt !== 0) props.messageExpiryInterval = msg.remainingExpiry(now);
  }
  let topic = msg.topic;
  let assigned = 0;
  if (w.outAliasMax > 0) {
    const aliases = (w.outAliases ??= new Map());
    const alias = aliases.get(topic);
    if (alias !== undefined) {
      // The client holds it: the topic can go.
      topic = '';
      props = { ...props, topicAlias: alias };
    } else if (aliases.size < w.outAliasMax) {
      // First come, first served, up to the client's maximum; numbered by the table's size, which
      // only grows (an alias is never given up), so a number is never given to a second topic.
      assigned = aliases.size + 1;
      props = { ...props, topicAlias: assigned };
    }
  }
  const buf = msg.encodeFor(5, qos, retain, props, packetId, topic, dup);
  // Too large: nothing goes out, so an alias assigned for it was never set on the client's side.
  // One the client already holds stays as it is on both sides.
  if (buf.length > w.maxOutgoingPacket) return false;
  if (assigned !== 0) w.outAliases!.set(msg.topic, assigned);
  w.outbox.push(buf);
  return true;
}
