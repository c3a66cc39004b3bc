/**
 * SUBSCRIBE: validate each filter, ask authorizeSubscribe, store, answer SUBACK, then send
 * the retained messages the subscription asks for (5.0 section 3.8.4).
 */
import { ReasonCode } from '../../codec/constants.js';
import { encode } from '../../codec/encode.js';
import { MqttError } from '../../codec/errors.js';
import type { QoS, SubackPacket, SubscribePacket, Subscription } from '../../codec/types.js';
import { MAX_TOPIC_LEVELS, parseSubscriptionFilter } from '../../topic/validate.js';
import { isPromise } from '../hooks.js';
import type { Message } from '../message.js';
import { reasonString } from '../reason-string.js';
import type { HandlerConnection, MaybePromise, SessionHandle, SubscriptionOptions } from '../types.js';

export function handleSubscribe(conn: HandlerConnection, packet: SubscribePacket): Promise<void> | void {
  const v5 = conn.protocolVersion === 5;
  const subs = packet.subscriptions;
  const ids = packet.properties?.subscriptionIdentifiers;
  const subscriptionIds = ids !== undefined && ids.length > 0 ? [ids[0]!] : undefined;
  const broker = conn.broker;
  // maxTopicLevels makes a deeper filter invalid here: SUBACK 0x8F "not allowed", 3.1.1 0x80.
  const maxLevels = broker.config.maxTopicLevels === 0 ? MAX_TOPIC_LEVELS : Math.min(broker.config.maxTopicLevels, MAX_TOPIC_LEVELS);
  const results: MaybePromise<QoS | false>[] = [];
  const shared: boolean[] = [];
  // Why each invalid filter is invalid (undefined: valid), for the 5.0 SUBACK's Reason String.
  const invalid: (string | undefined)[] = [];
  let async = false;
  for (const sub of subs) {
    let parsed;
    try {
      parsed = parseSubscriptionFilter(sub.topicFilter, maxLevels);
    } catch (err) {
      results.push(false);
      shared.push(false);
      invalid.push(err instanceof Error && err.message !== '' ? err.message : `Topic filter ${JSON.stringify(sub.topicFilter)} is invalid`);
      continue;
    }
    invalid.push(undefined);
    const isShared = parsed.shareGroup !== undefined;
    // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
    if (isShared && sub.noLocal === true) throw new MqttError(ReasonCode.ProtocolError, 'No Local on a shared subscription');
    shared.push(isShared);
    const qos = (sub.qos > broker.config.maxQoS ? broker.config.maxQoS : sub.qos) as QoS;
    // The hooks in force now: setHooks() may have replaced them since the last packet.
    const r = broker.hooks.authorizeSubscribe(conn, sub.topicFilter, qos);
    if (isPromise(r)) async = true;
    results.push(r);
  }
  if (!async) return finish(conn, packet, results as (QoS | false)[], invalid, shared, subscriptionIds, v5);
  return Promise.all(results).then((granted) => finish(conn, packet, granted, invalid, shared, subscriptionIds, v5));
}

function finish(
  conn: HandlerConnection,
  packet: SubscribePacket,
  granted: (QoS | false)[],
  invalid: (string | undefined)[],
  shared: boolean[],
  subscriptionIds: number[] | undefined,
  v5: boolean,
): Promise<void> | void {
  const session = conn.session!;
  const broker = conn.broker;
  const reasonCodes: number[] = [];
  const retainedFor: { sub: Subscription; qos: QoS }[] = [];
  const maxSubscriptions = broker.config.maxSubscriptions;
  // 5.0: why filters were refused, for the Reason String (see sendSuback).
  let why: string[] | undefined;
  for (let i = 0; i < packet.subscriptions.length; i++) {
    const sub = packet.subscriptions[i]!;
    const qos = granted[i]!;
    if (qos !== false && maxSubscriptions !== 0 && session.subscriptionCount >= maxSubscriptions && !session.hasSubscription(sub.topicFilter)) {
      // Past maxSubscriptions: 0x97 Quota exceeded (3.1.1: 0x80); replacing a filter held is fine.
      const code = v5 ? ReasonCode.QuotaExceeded : 0x80;
      if (v5) (why ??= []).push(`${JSON.stringify(sub.topicFilter)}: more than ${maxSubscriptions} subscriptions`);
      reasonCodes.push(code);
      broker.emit('subscribe', conn, sub.topicFilter, code);
      continue;
    }
    if (qos === false) {
      // 3.1.1 has one failure code, 0x80 [MQTT-3.9.3-2]; 5.0 says which failure.
      const code = !v5 ? 0x80 : invalid[i] !== undefined ? ReasonCode.TopicFilterInvalid : ReasonCode.NotAuthorized;
      if (v5) (why ??= []).push(invalid[i] ?? `${JSON.stringify(sub.topicFilter)}: not authorized`);
      reasonCodes.push(code);
      broker.emit('subscribe', conn, sub.topicFilter, code);
      continue;
    }
    // A 3.1/3.1.1 bridge cannot ask for No Local or Retain As Published, so it gets both, as from
    // mosquitto: its own messages do not come back to it, and retained ones arrive retained on
    // the other broker. (A 5.0 bridge asks for them itself.)
    const bridged = !v5 && conn.bridge;
    const options: SubscriptionOptions = {
      topicFilter: sub.topicFilter,
      qos,
      noLocal: (bridged && !shared[i]) || sub.noLocal === true,
      retainAsPublished: bridged || (v5 && sub.retainAsPublished === true),
      retainHandling: sub.retainHandling ?? 0,
      subscriptionIds,
    };
    // [MQTT-3.8.4-3] the same filter again replaces the subscription; retained messages are
    // then re-sent unless Retain Handling says otherwise.
    const replaced = broker.subscribe(session, options);
    reasonCodes.push(qos);
    broker.emit('subscribe', conn, sub.topicFilter, qos);
    // [MQTT-3.3.1-9] retained messages on subscribe; none for shared subscriptions (5.0 section 4.8.2).
    const rh = options.retainHandling;
    if (!shared[i] && (rh === 0 || (rh === 1 && !replaced))) retainedFor.push({ sub, qos });
  }
  // [MQTT-3.8.4-1] SUBACK answers with the same packet id, one code per filter [MQTT-3.8.4-6].
  sendSuback(conn, { type: 'suback', packetId: packet.packetId, reasonCodes }, why);
  if (retainedFor.length === 0 || !broker.config.retainAvailable) return;
  const now = Date.now();
  let waiting: Promise<void> | undefined;
  for (const { sub, qos } of retainedFor) {
    const found = broker.retainedFor(sub.topicFilter, now);
    // A store that answers later: the retained messages still go out in the order subscribed.
    if (waiting !== undefined || isPromise(found)) {
      waiting = (waiting ?? Promise.resolve()).then(() => found).then((msgs) => sendRetained(session, msgs, qos, subscriptionIds, Date.now()));
    } else {
      sendRetained(session, found, qos, subscriptionIds, now);
    }
  }
  return waiting;
}

/**
 * A 5.0 SUBACK that refuses a filter says why in its Reason String, unless the client asked for
 * no problem information [MQTT-3.1.2-29] or the string would make the SUBACK larger than the
 * client's Maximum Packet Size [MQTT-3.9.2-1]: then the codes go out alone. (Refusals only, so
 * encoding twice costs nothing on the common path.)
 */
function sendSuback(conn: HandlerConnection, suback: SubackPacket, why: string[] | undefined): void {
  if (why !== undefined && conn.problemInfo) {
    const bytes = encode({ ...suback, properties: { reasonString: reasonString(why.join('; ')) } }, 5);
    if (bytes.length <= conn.maxOutgoingPacket) {
      conn.sendBytes(bytes);
      return;
    }
  }
  conn.send(suback);
}

/** Retained messages go out with the retain flag set [MQTT-3.3.1-9], at most at the granted QoS. */
function sendRetained(session: SessionHandle, msgs: Message[], qos: QoS, subscriptionIds: number[] | undefined, now: number): void {
  for (const msg of msgs) session.deliver(msg, msg.qos < qos ? msg.qos : qos, true, subscriptionIds, now);
}
