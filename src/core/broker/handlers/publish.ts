/**
 * Incoming PUBLISH, the hot path: resolve the topic alias, check, authorize, route, acknowledge.
 * Synchronous unless a user's authorizePublish hook answers with a promise.
 */
import { ReasonCode } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { Properties, PublishPacket } from '../../codec/types.js';
import { isValidTopicName } from '../../topic/validate.js';
import { isPromise } from '../hooks.js';
import type { HandlerConnection } from '../types.js';

// Acknowledgements with the packet id patched in by the outbox: nothing allocated per ack.
const PUBACK = Buffer.from([0x40, 0x02, 0, 0]);
const PUBREC = Buffer.from([0x50, 0x02, 0, 0]);

export function handlePublish(conn: HandlerConnection, packet: PublishPacket): Promise<void> | void {
  const stats = conn.stats;
  stats.publishReceived++;
  stats.publishBytesReceived += packet.payload.length;
  const v5 = conn.protocolVersion === 5;
  let topic = packet.topic;
  const props = packet.properties;
  if (v5 && props !== undefined) {
    if (props.topicAlias !== undefined) topic = resolveAlias(conn, topic, props.topicAlias);
    // [MQTT-3.3.4-6] Subscription Identifiers go from server to client only.
    if (props.subscriptionIdentifiers !== undefined) throw new MqttError(ReasonCode.ProtocolError, 'subscription identifier in a client PUBLISH');
    // [MQTT-3.3.2-14] a Response Topic is a topic name: no wildcards.
    if (props.responseTopic !== undefined && !isValidTopicName(props.responseTopic)) {
      throw new MqttError(ReasonCode.ProtocolError, `invalid response topic ${JSON.stringify(props.responseTopic)}`);
    }
  }
  const trace = conn.broker.publishTrace;
  if (trace !== undefined) trace.received(conn, topic, packet.qos, packet.retain, packet.dup, packet.packetId ?? 0, packet.payload.length);
  // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-1] at least one character.
  if (!isValidTopicName(topic)) throw new MqttError(ReasonCode.TopicNameInvalid, `invalid topic name ${JSON.stringify(topic)}`);
  const broker = conn.broker;
  const qos = packet.qos;
  // [MQTT-3.2.2-11] a QoS above the Maximum QoS announced in CONNACK.
  if (qos > broker.config.maxQoS) throw new MqttError(ReasonCode.QoSNotSupported, `QoS ${qos} is above the maximum ${broker.config.maxQoS}`);
  // [MQTT-3.2.2-14] retain when CONNACK said Retain Available 0.
  if (packet.retain && !broker.config.retainAvailable) throw new MqttError(ReasonCode.RetainNotSupported, 'retained messages are not available');

  const session = conn.session!;
  const packetId = packet.packetId ?? 0;
  if (qos === 2) {
    if (session.hasIncoming(packetId)) {
      // [MQTT-4.3.3-10] a re-sent PUBLISH before PUBREL: acknowledge again, deliver nothing new.
      conn.sendWithId(PUBREC, 2, packetId);
      return;
    }
    if (session.incomingCount() >= broker.config.receiveMaximum) {
      // [MQTT-3.3.4-9] more unacknowledged QoS 2 publishes than Receive Maximum allows.
      throw new MqttError(ReasonCode.ReceiveMaximumExceeded, 'receive maximum exceeded');
    }
  }

  const config = broker.config;
  // Limits refuse the message, not the connection: the topic is well-formed, only not accepted
  // here (5.0 PUBACK/PUBREC 0x90 "not accepted by this Server"); too large a payload is 0x83
  // Implementation specific error, as mosquitto.conf(5) documents for message_size_limit (0x95,
  // which mosquitto 2.0.11 sends, is not a PUBACK reason code). 3.1.1 acknowledges and drops, as
  // it does for a refused publish.
  if (config.maxTopicLevels !== 0 && !isValidTopicName(topic, config.maxTopicLevels)) {
    accept(conn, packet, topic, false, ReasonCode.TopicNameInvalid);
    return;
  }
  if (config.messageSizeLimit !== 0 && packet.payload.length > config.messageSizeLimit) {
    accept(conn, packet, topic, false, ReasonCode.ImplementationSpecificError);
    return;
  }

  // A store that cannot write: acknowledge nothing it could not keep. MQTT 5 hears why; an MQTT 3
  // client is not read until the store can write again (its PUBLISH waits, in order).
  if (qos > 0) {
    const blocked = broker.storeBlocked();
    if (blocked !== undefined) {
      if (v5) {
        conn.send({ type: qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode: ReasonCode.QuotaExceeded });
        return;
      }
      return blocked.then(() => handlePublish(conn, packet));
    }
  }

  // The hooks in force now: setHooks() may have replaced them since the last packet.
  const allowed = broker.hooks.authorizePublish(conn, topic, qos, packet.retain);
  if (isPromise(allowed)) return allowed.then((ok) => accept(conn, packet, topic, ok, ReasonCode.NotAuthorized));
  accept(conn, packet, topic, allowed, ReasonCode.NotAuthorized);
}

/** Routes an allowed PUBLISH and acknowledges it; a refused one is acknowledged with `refusal` in 5.0. */
function accept(conn: HandlerConnection, packet: PublishPacket, topic: string, allowed: boolean, refusal: number): void {
  const qos = packet.qos;
  const packetId = packet.packetId ?? 0;
  const v5 = conn.protocolVersion === 5;
  let matched = 0;
  if (allowed) {
    const props = packet.properties;
    const msg = conn.broker.createMessage(topic, packet.payload, qos, packet.retain, props === undefined ? undefined : forwarded(props), conn.clientId);
    const now = Date.now();
    // [MQTT-3.3.2-5] expiry counts from now; the remaining time goes on with each delivery.
    if (props?.messageExpiryInterval !== undefined) msg.expiresAt = now + props.messageExpiryInterval * 1000;
    matched = conn.broker.publish(msg, conn, now);
  }
  if (qos === 0) return;
  if (qos === 2) conn.session!.addIncoming(packetId);
  if (!v5 || (allowed && matched > 0)) {
    // Before 5.0 a refused publish is still acknowledged (there is no way to say no), as mosquitto does.
    conn.sendWithId(qos === 1 ? PUBACK : PUBREC, 2, packetId);
    return;
  }
  // 5.0: say why. 0x10 "No matching subscribers" is information, not failure.
  const reasonCode = allowed ? ReasonCode.NoMatchingSubscribers : refusal;
  if (!allowed && qos === 2) conn.session!.releaseIncoming(packetId);
  conn.send({ type: qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode });
}

/**
 * Topic aliases from the client (5.0 section 3.3.2.3.4): a topic with an alias sets it, an
 * empty topic uses it. Alias 0 or above our Topic Alias Maximum is 0x94 [MQTT-3.3.2-9].
 */
function resolveAlias(conn: HandlerConnection, topic: string, alias: number): string {
  if (alias > conn.broker.config.topicAliasMaximum) {
    throw new MqttError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is above the maximum ${conn.broker.config.topicAliasMaximum}`);
  }
  const aliases = (conn.inAliases ??= new Map());
  if (topic.length > 0) {
    aliases.set(alias, topic);
    return topic;
  }
  const known = aliases.get(alias);
  // [MQTT-3.3.4-?] an empty topic needs an alias already set on this connection.
  if (known === undefined) throw new MqttError(ReasonCode.ProtocolError, `topic alias ${alias} is not set`);
  return known;
}

/**
 * Properties forwarded to subscribers unchanged [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16]
 * [MQTT-3.3.2-17] [MQTT-3.3.2-18]: all but the topic alias (per connection), the subscription
 * identifiers (per subscriber) and the expiry (recomputed on delivery).
 */
function forwarded(props: Properties): Properties | undefined {
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, messageExpiryInterval: _expiry, ...rest } = props;
  for (const _key in rest) return rest;
  return undefined;
}
