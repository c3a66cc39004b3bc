/**
 * Enhanced authentication (MQTT 5.0 section 4.12): the AUTH exchange a CONNECT naming an
 * Authentication Method opens, and re-authentication after CONNACK. The `enhancedAuth` hook
 * (types.ts) decides each step; this file keeps the exchange's place and writes the packets.
 *
 * One record per connection that named a method, in a WeakMap: connections without one carry
 * nothing, and the record goes with its connection. The phases:
 *
 *   Deciding  the hook was asked and has not answered (during CONNECT the connection holds its
 *             input meanwhile; after CONNACK other traffic goes on)
 *   Awaiting  we sent AUTH 0x18 and wait for the client's AUTH 0x18
 *   Done      authenticated; AUTH 0x19 may start a re-authentication
 *
 * Before CONNACK the whole exchange stays on the CONNECT clock (connectTimeoutMs from the
 * connection's opening, broker.ts); after it the keep-alive judges the client as always.
 */
import { ALLOWED_REASON_CODES, ReasonCode } from '../codec/constants.js';
import { encode } from '../codec/encode.js';
import { MqttError } from '../codec/errors.js';
import type { AuthPacket, ConnectPacket, Properties } from '../codec/types.js';
import { isPromise } from './hooks.js';
import { State, type AuthAnswer, type AuthRequest, type HandlerConnection } from './types.js';

const enum Phase {
  Deciding,
  Awaiting,
  Done,
}

/** What CONNECT does once the exchange succeeded: its will checked, then CONNACK (connect.ts). */
export type Accepted = (conn: HandlerConnection, packet: ConnectPacket, assigned: boolean) => Promise<void> | void;

interface Exchange {
  readonly method: string;
  phase: Phase;
  /** The hook's own state between the steps of one exchange. */
  state: unknown;
  /** The CONNECT being answered; undefined once CONNACK is out. */
  connect: ConnectPacket | undefined;
  assigned: boolean;
  accepted: Accepted;
  /** Authentication Data for the success CONNACK. */
  successData: Buffer | undefined;
}

const exchanges = new WeakMap<HandlerConnection, Exchange>();

/**
 * CONNECT named `method` and a hook exists: the first step. `accepted` is called on success
 * (a module function, so nothing is made per connection but the record).
 */
export function startConnectAuth(conn: HandlerConnection, packet: ConnectPacket, assigned: boolean, method: string, password: Buffer | undefined, accepted: Accepted): Promise<void> | void {
  const ex: Exchange = { method, phase: Phase.Deciding, state: undefined, connect: packet, assigned, accepted, successData: undefined };
  exchanges.set(conn, ex);
  return ask(conn, ex, { step: 'connect', method, data: packet.properties?.authenticationData, password, state: undefined });
}

/** An AUTH from the client, before CONNACK (answering ours) or after it (re-authentication). */
export function receiveAuth(conn: HandlerConnection, packet: AuthPacket): Promise<void> | void {
  const ex = exchanges.get(conn);
  // [MQTT-4.12.0-7] a client whose CONNECT named no method sends no AUTH.
  if (ex === undefined) throw new MqttError(ReasonCode.ProtocolError, 'AUTH without an Authentication Method in CONNECT');
  const method = packet.properties?.authenticationMethod;
  // [MQTT-4.12.0-5] [MQTT-4.12.1-1] every AUTH names the method of the CONNECT.
  if (method !== ex.method) {
    throw new MqttError(ReasonCode.ProtocolError, `AUTH with authentication method ${method === undefined ? 'missing' : JSON.stringify(method)}, not the CONNECT's ${JSON.stringify(ex.method)}`);
  }
  const data = packet.properties?.authenticationData;
  switch (packet.reasonCode) {
    case ReasonCode.ContinueAuthentication:
      // [MQTT-4.12.0-3] the client's 0x18 answers ours, and only ours.
      if (ex.phase !== Phase.Awaiting) throw new MqttError(ReasonCode.ProtocolError, 'AUTH 0x18 with no AUTH from the server to answer');
      return ask(conn, ex, { step: 'continue', method, data, password: undefined, state: ex.state });
    case ReasonCode.ReAuthenticate:
      // [MQTT-4.12.1-1] re-authentication only after CONNACK, and one at a time.
      if (conn.state !== State.Connected) throw new MqttError(ReasonCode.ProtocolError, 'AUTH 0x19 (re-authenticate) before CONNACK');
      if (ex.phase !== Phase.Done) throw new MqttError(ReasonCode.ProtocolError, 'AUTH 0x19 (re-authenticate) while an authentication is under way');
      return ask(conn, ex, { step: 'reauthenticate', method, data, password: undefined, state: undefined });
    default:
      // 0x00 Success is the server's to send (5.0 section 3.15.2.1).
      throw new MqttError(ReasonCode.ProtocolError, `AUTH with reason code 0x${packet.reasonCode.toString(16).padStart(2, '0')} from a client`);
  }
}

/** The method (and data) a success CONNACK carries [MQTT-4.12.0-5]; nothing for a client that named none [MQTT-4.12.0-6]. */
export function addConnackAuth(conn: HandlerConnection, p: Properties): void {
  const ex = exchanges.get(conn);
  if (ex === undefined) return;
  p.authenticationMethod = ex.method;
  if (ex.successData !== undefined) p.authenticationData = ex.successData;
  ex.successData = undefined;
}

function ask(conn: HandlerConnection, ex: Exchange, request: AuthRequest): Promise<void> | void {
  ex.phase = Phase.Deciding;
  const hook = conn.broker.hooks.enhancedAuth;
  // setHooks() took the hook away mid-exchange: the method is no longer supported.
  const answer = hook === undefined ? { reasonCode: ReasonCode.BadAuthenticationMethod } : hook(conn, request);
  if (!isPromise(answer)) return answered(conn, ex, answer);
  // During CONNECT the connection holds its input until the promise settles and turns a
  // rejection into a refusing CONNACK. After CONNACK nothing waits for the answer: the
  // client's other traffic flows, and a failure is handled here.
  if (conn.state === State.Connecting) return answer.then((a) => answered(conn, ex, a));
  answer.then((a) => answered(conn, ex, a)).catch((err: unknown) => conn.fail(err));
}

function answered(conn: HandlerConnection, ex: Exchange, answer: AuthAnswer): Promise<void> | void {
  // The client left, or the CONNECT clock ran out, while the hook thought: no answer goes out.
  if (conn.state === State.Closed) return;
  const code = checkAnswer(answer);
  const packet = ex.connect;
  if (code === ReasonCode.ContinueAuthentication) {
    ex.state = answer.state;
    ex.phase = Phase.Awaiting;
    // [MQTT-4.12.0-2] more is needed: AUTH 0x18, with the method [MQTT-4.12.0-5].
    sendAuth(conn, ex, ReasonCode.ContinueAuthentication, answer);
    return;
  }
  ex.state = undefined;
  if (code !== ReasonCode.Success) {
    exchanges.delete(conn);
    const why = answer.reasonString ?? 'enhanced authentication failed';
    // [MQTT-4.12.0-4] refused during CONNECT: CONNACK with the code, and close;
    // [MQTT-4.12.1-2] a failed re-authentication: DISCONNECT with the code, and close.
    if (packet !== undefined) conn.refuse(ALLOWED_REASON_CODES['connack']![code] === 1 ? code : ReasonCode.NotAuthorized, why);
    else conn.disconnectWith(ALLOWED_REASON_CODES['disconnect']![code] === 1 ? code : ReasonCode.NotAuthorized, why);
    return;
  }
  ex.phase = Phase.Done;
  if (answer.username !== undefined) conn.username = answer.username;
  if (packet === undefined) {
    // A re-authentication succeeded: AUTH 0x00 (5.0 section 4.12.1).
    sendAuth(conn, ex, ReasonCode.Success, answer);
    return;
  }
  ex.connect = undefined;
  ex.successData = answer.data;
  conn.broker.connectArrived(conn);
  return ex.accepted(conn, packet, ex.assigned);
}

/** The answer's reason code, once it is one a hook may give; a hook's mistake is an error (CONNACK or DISCONNECT 0x83). */
function checkAnswer(answer: AuthAnswer): number {
  const code = (answer as AuthAnswer | undefined)?.reasonCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xff || (code < 0x80 && code !== ReasonCode.Success && code !== ReasonCode.ContinueAuthentication)) {
    throw new Error(`the enhancedAuth hook answered ${JSON.stringify(answer)}: give { reasonCode } with 0x00 (success), 0x18 (continue) or a refusal of 0x80 and up`);
  }
  return code;
}

/**
 * AUTH with the method and data; Reason String and User Properties only when the client asked
 * for problem information [MQTT-3.1.2-29] and they fit in its Maximum Packet Size
 * [MQTT-3.15.2-2] [MQTT-3.15.2-3]. Method and data must fit, or the exchange cannot go on.
 */
function sendAuth(conn: HandlerConnection, ex: Exchange, reasonCode: number, answer: AuthAnswer): void {
  const properties: Properties = { authenticationMethod: ex.method };
  if (answer.data !== undefined) properties.authenticationData = answer.data;
  const bare = encode({ type: 'auth', reasonCode, properties }, 5);
  if (bare.length > conn.maxOutgoingPacket) {
    throw new MqttError(ReasonCode.ImplementationSpecificError, `the AUTH packet (${bare.length} bytes) exceeds the client's Maximum Packet Size of ${conn.maxOutgoingPacket}`);
  }
  let bytes = bare;
  if (conn.problemInfo && (answer.reasonString !== undefined || answer.userProperties !== undefined)) {
    const full: Properties = { ...properties };
    if (answer.reasonString !== undefined) full.reasonString = answer.reasonString;
    if (answer.userProperties !== undefined) full.userProperties = answer.userProperties;
    const withExtras = encode({ type: 'auth', reasonCode, properties: full }, 5);
    if (withExtras.length <= conn.maxOutgoingPacket) bytes = withExtras;
  }
  // An AUTH acknowledges nothing stored: it need not wait for a store's commit.
  conn.sendBytes(bytes, false);
}
