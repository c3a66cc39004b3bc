/**
 * CONNECT, as a list of steps: check the client id and will, authenticate (the one step that
 * may wait), take over an existing connection, open or resume the session, answer CONNACK,
 * then re-send what the session still owes the client.
 */
import { randomBytes } from 'node:crypto';
import { ReasonCode } from '../../codec/constants.js';
import { encode } from '../../codec/encode.js';
import { MqttError } from '../../codec/errors.js';
import type { ConnectPacket, Properties } from '../../codec/types.js';
import { isValidTopicName } from '../../topic/validate.js';
import { addConnackAuth, startConnectAuth } from '../enhanced-auth.js';
import { authenticateResult, isPromise } from '../hooks.js';
import { detachPayload, detachProperties } from '../message.js';
import { NEVER_EXPIRES } from '../session-record.js';
import { State, type HandlerConnection } from '../types.js';

/** The 3.1/3.1.1 CONNACKs that accept: the same four bytes for every client, never mutated. */
const CONNACK_V3_NEW = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const CONNACK_V3_RESUMED = Buffer.from([0x20, 0x02, 0x01, 0x00]);

export function handleConnect(conn: HandlerConnection, packet: ConnectPacket): Promise<void> | void {
  conn.state = State.Connecting;
  const props = packet.properties;
  const method = props?.authenticationMethod;
  const enhanced = method !== undefined && conn.broker.hooks.enhancedAuth !== undefined;
  // An enhanced authentication stays on the CONNECT clock until its CONNACK (enhanced-auth.ts).
  if (!enhanced) conn.broker.connectArrived(conn);
  conn.protocolVersion = packet.protocolVersion;
  // A bridge (protocol level | 0x80): known before its will is judged, which may be its $SYS state.
  if (packet.bridge === true) conn.bridge = true;
  if (props?.requestProblemInformation === 0) conn.problemInfo = false;
  // Known before anything is answered: a refusing CONNACK must fit it too [MQTT-3.2.2-19].
  conn.maxOutgoingPacket = props?.maximumPacketSize ?? 268_435_460;
  const assigned = checkClientId(conn, packet);
  checkWill(conn, packet);
  // [MQTT-4.12.0-1] without an enhancedAuth hook no method is supported: a client that names one
  // must not believe it was authenticated by it. 0x8C Bad authentication method, and the connection closes.
  if (method !== undefined && !enhanced) {
    complete(conn, packet, assigned, ReasonCode.BadAuthenticationMethod, `authentication method ${JSON.stringify(method)} is not supported`);
    return;
  }
  // use_identity_as_username: the certificate's CN replaces what the client sent, password dropped, as mosquitto does.
  const identity = conn.transport?.listener.useIdentityAsUsername === true;
  const username = identity ? certificateName(conn) : packet.username;
  conn.username = username;
  // A client that names a method is judged by enhancedAuth alone; authenticate is not asked.
  if (method !== undefined) return startConnectAuth(conn, packet, assigned, method, identity ? undefined : packet.password, acceptedByEnhancedAuth);
  const result = conn.broker.hooks.authenticate(conn, username, identity ? undefined : packet.password);
  if (isPromise(result)) return result.then((r) => authorizeWill(conn, packet, assigned, authenticateResult(r)));
  return authorizeWill(conn, packet, assigned, authenticateResult(result));
}

/**
 * Once authenticated, a will must be a message its client may publish (authorizePublish), or
 * CONNECT is refused: 5.0 CONNACK 0x87 Not authorized, 3.1.1 5. It is asked again when the
 * will is published (will.ts): the rights may have changed by then. (mosquitto 2.0.11 accepts
 * the CONNECT and only drops the will when publishing it; mosquitto 1.x, EMQX and VerneMQ refuse.)
 */
function authorizeWill(conn: HandlerConnection, packet: ConnectPacket, assigned: boolean, code: number): Promise<void> | void {
  const will = conn.will;
  if (will === undefined || code !== ReasonCode.Success || conn.state !== State.Connecting) return complete(conn, packet, assigned, code);
  const allowed = conn.broker.hooks.authorizePublish(conn, will.topic, will.qos, will.retain);
  if (isPromise(allowed)) return allowed.then((ok) => willAnswered(conn, packet, assigned, ok));
  return willAnswered(conn, packet, assigned, allowed);
}

/** The enhanced authentication succeeded: the will is judged, then CONNACK (with the method, connackProperties). */
function acceptedByEnhancedAuth(conn: HandlerConnection, packet: ConnectPacket, assigned: boolean): Promise<void> | void {
  return authorizeWill(conn, packet, assigned, ReasonCode.Success);
}

function willAnswered(conn: HandlerConnection, packet: ConnectPacket, assigned: boolean, allowed: boolean): Promise<void> | void {
  if (allowed) return complete(conn, packet, assigned, ReasonCode.Success);
  return complete(conn, packet, assigned, ReasonCode.NotAuthorized, `not authorized to publish its will on ${JSON.stringify(conn.will?.topic)}`);
}

/** The client certificate's subject CN; without one, mosquitto 2 answers bad user name or password (handle_connect.c). */
function certificateName(conn: HandlerConnection): string {
  const cert = conn.transport?.peerCertificate;
  const cn = cert?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (typeof name !== 'string' || name === '') {
    throw new MqttError(ReasonCode.BadUserNameOrPassword, cert === undefined ? 'no client certificate to take the username from' : 'the client certificate has no CN');
  }
  return name;
}

/**
 * An empty client id gets one assigned (returned in 5.0 as Assigned Client Identifier) unless a
 * 3.1.1 client asks to keep the session: then 0x02 identifier rejected [MQTT-3.1.3-8]. 3.1
 * requires an id [MQTT 3.1 section 3.1].
 */
function checkClientId(conn: HandlerConnection, packet: ConnectPacket): boolean {
  if (packet.clientId.length > 0) {
    conn.clientId = packet.clientId;
    return false;
  }
  if (packet.protocolVersion === 3 || (packet.protocolVersion === 4 && !packet.clean)) {
    throw new MqttError(ReasonCode.ClientIdentifierNotValid, 'an empty client id needs clean session');
  }
  conn.clientId = `mqt-${randomBytes(8).toString('hex')}`;
  return true;
}

function checkWill(conn: HandlerConnection, packet: ConnectPacket): void {
  const will = packet.will;
  if (will === undefined) return;
  const config = conn.broker.config;
  // The will topic is a topic name, without wildcards: 3.1.1 [MQTT-4.7.1-1], 5.0 [MQTT-4.7.0-1].
  if (!isValidTopicName(will.topic)) throw new MqttError(ReasonCode.TopicNameInvalid, `invalid will topic ${JSON.stringify(will.topic)}`);
  if (will.qos > config.maxQoS) throw new MqttError(ReasonCode.QoSNotSupported, `will QoS ${will.qos} is above the maximum ${config.maxQoS}`);
  if (will.retain && !config.retainAvailable) throw new MqttError(ReasonCode.RetainNotSupported, 'retained messages are not available');
  if (config.maxTopicLevels !== 0 && !isValidTopicName(will.topic, config.maxTopicLevels)) {
    throw new MqttError(ReasonCode.TopicNameInvalid, `will topic has more than ${config.maxTopicLevels} levels (maxTopicLevels)`);
  }
  if (config.messageSizeLimit !== 0 && will.payload.length > config.messageSizeLimit) {
    // As mosquitto: 5.0 0x95 Packet too large, 3.1.1 5 not authorized.
    const code = packet.protocolVersion === 5 ? ReasonCode.PacketTooLarge : ReasonCode.NotAuthorized;
    throw new MqttError(code, `will payload of ${will.payload.length} bytes is above messageSizeLimit ${config.messageSizeLimit}`);
  }
  // The will outlives this read: its payload must not pin the socket chunk.
  conn.will = { ...will, payload: detachPayload(will.payload, true) };
  if (will.properties !== undefined) conn.will.properties = detachProperties({ ...will.properties }, true);
}

function complete(conn: HandlerConnection, packet: ConnectPacket, assigned: boolean, code: number, why = 'authentication failed'): Promise<void> | void {
  if (conn.state !== State.Connecting) return; // closed while authenticating
  if (code !== ReasonCode.Success) {
    conn.refuse(code, why);
    return;
  }
  const broker = conn.broker;
  const config = broker.config;
  const v5 = packet.protocolVersion === 5;

  // Keep-alive: a 5.0 client asking for more than we allow (or none) is told Server Keep Alive.
  let keepalive = packet.keepalive;
  let serverKeepAlive: number | undefined;
  if (v5 && (keepalive === 0 || keepalive > config.maxKeepalive) && config.maxKeepalive < 65_535) {
    keepalive = serverKeepAlive = config.maxKeepalive;
  }
  // The 5.0 CONNACK is encoded before any session is touched: one the client's Maximum Packet
  // Size cannot hold must not go out [MQTT-3.1.2-24], so the CONNECT is refused with 0x95 (sent
  // bare if even that fits) and nothing is taken over or opened. Session Present is patched in.
  let connack: Buffer | undefined;
  if (v5) {
    connack = encode({ type: 'connack', sessionPresent: false, reasonCode: ReasonCode.Success, properties: connackProperties(conn, assigned, serverKeepAlive, false) }, 5);
    // Too large: the same CONNACK without the properties that only restate their defaults.
    if (connack.length > conn.maxOutgoingPacket) {
      connack = encode({ type: 'connack', sessionPresent: false, reasonCode: ReasonCode.Success, properties: connackProperties(conn, assigned, serverKeepAlive, true) }, 5);
    }
    if (connack.length > conn.maxOutgoingPacket) {
      conn.refuse(ReasonCode.PacketTooLarge, `the CONNACK of ${connack.length} bytes exceeds the client's Maximum Packet Size of ${conn.maxOutgoingPacket}`);
      return;
    }
  }

  // In a cluster the client may be held by another node: it lets go (and hands its session
  // over) before this node takes the client.
  const lasting = v5 ? (packet.properties?.sessionExpiryInterval ?? 0) > 0 : !packet.clean;
  const claiming = broker.claim(conn, packet.clean, lasting);
  if (claiming !== undefined) {
    return claiming.then(
      () => {
        if (conn.state === State.Connecting) open(conn, packet, connack, keepalive);
        else broker.claimAbandoned(conn.clientId);
      },
      (err: unknown) => {
        broker.claimAbandoned(conn.clientId);
        conn.refuse(ReasonCode.ServerUnavailable, err instanceof Error ? err.message : String(err));
      },
    );
  }
  open(conn, packet, connack, keepalive);
}

/** The CONNECT is accepted: takeover, the session opened or resumed, CONNACK, then what the session owes. */
function open(conn: HandlerConnection, packet: ConnectPacket, connack: Buffer | undefined, keepalive: number): void {
  const broker = conn.broker;
  const config = broker.config;
  const v5 = packet.protocolVersion === 5;
  const props = packet.properties;
  // Takeover [MQTT-3.1.4-2] [MQTT-3.1.4-3]: the old connection is closed, with DISCONNECT 0x8E in 5.0.
  broker.takeover(conn);
  // 3.1.1: clean session 0 keeps the session for good; 5.0: as long as Session Expiry says.
  const expiryInterval = v5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;
  const { present } = broker.openSession(conn, packet.clean, expiryInterval);
  conn.startKeepalive(keepalive);

  conn.sendQuota = Math.min(config.maxInflight, props?.receiveMaximum ?? 65_535);
  conn.outAliasMax = v5 ? (props?.topicAliasMaximum ?? 0) : 0;

  // [MQTT-3.2.2-2] [MQTT-3.2.2-3] session present only when a stored session resumes.
  if (connack !== undefined) {
    // The Connect Acknowledge Flags follow the fixed header, whose length byte count varies.
    if (present) connack[fixedHeaderLength(connack)] = 1;
    conn.sendBytes(connack);
  } else {
    conn.sendBytes(present ? CONNACK_V3_RESUMED : CONNACK_V3_NEW);
  }
  conn.state = State.Connected;
  broker.sessionOnline(conn, present);
  // CONNACK, and what a resumed session re-sends, go out now rather than at the end of the
  // tick: the client waits for it, and waiting for the tick's batch adds a turn of the event
  // loop to every connect (measured: ~10 µs of a 70 µs CONNECT-to-CONNACK). It is one write per
  // connect; a client that sent more behind its CONNECT gets the answers in the tick's write.
  conn.flush();
}

/** Bytes of a packet's fixed header: the type byte and the remaining length's 1 to 4 bytes. */
function fixedHeaderLength(bytes: Buffer): number {
  let i = 1;
  while ((bytes[i]! & 0x80) !== 0) i++;
  return i + 1;
}

/** What a 5.0 client needs to know about this server (5.0 section 3.2.2.3). */
function connackProperties(conn: HandlerConnection, assigned: boolean, serverKeepAlive: number | undefined, minimal: boolean): Properties {
  const config = conn.broker.config;
  // Said outright, though most equal what their absence means, so a client's log shows them;
  // `minimal` leaves those out for a client whose Maximum Packet Size cannot take them.
  const p: Properties = {};
  if (!minimal || config.receiveMaximum !== 65_535) p.receiveMaximum = config.receiveMaximum;
  if (!minimal || !config.retainAvailable) p.retainAvailable = config.retainAvailable ? 1 : 0;
  if (!minimal || config.topicAliasMaximum !== 0) p.topicAliasMaximum = config.topicAliasMaximum;
  if (!minimal) {
    p.wildcardSubscriptionAvailable = 1;
    p.subscriptionIdentifiersAvailable = 1;
    p.sharedSubscriptionAvailable = 1;
  }
  if (config.maxQoS < 2) p.maximumQoS = config.maxQoS;
  if (config.maxPacketSize < 268_435_460) p.maximumPacketSize = config.maxPacketSize;
  if (assigned) p.assignedClientIdentifier = conn.clientId;
  if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive;
  addConnackAuth(conn, p);
  return p;
}
