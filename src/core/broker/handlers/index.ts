/**
 * Packet dispatch with state gating: CONNECT first and only once [MQTT-3.1.0-1] [MQTT-3.1.0-2],
 * and nothing a server never receives. A handler returns a promise only when a hook it
 * awaited answered asynchronously; the connection then holds later packets in order.
 */
import { ReasonCode } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { Packet } from '../../codec/types.js';
import { State, type HandlerConnection } from '../types.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect, noteDisconnect } from './disconnect.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handlePingreq } from './ping.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function dispatch(conn: HandlerConnection, packet: Packet): Promise<void> | void {
  if (conn.state !== State.Connected) {
    if (packet.type === 'connect' && conn.state === State.New) return handleConnect(conn, packet);
    // An enhanced authentication under way (the only time a packet is read between CONNECT and
    // CONNACK): AUTH goes on with it, DISCONNECT gives it up, anything else is refused [MQTT-3.1.2-30].
    if (conn.state === State.Connecting) {
      if (packet.type === 'auth') return handleAuth(conn, packet);
      if (packet.type === 'disconnect') return handleDisconnect(conn, packet);
    }
    // [MQTT-3.1.0-1] the first packet must be CONNECT; [MQTT-3.1.0-2] a second one is a Protocol Error.
    throw new MqttError(ReasonCode.ProtocolError, `${packet.type.toUpperCase()} before CONNACK`);
  }
  switch (packet.type) {
    case 'publish':
      return handlePublish(conn, packet);
    case 'puback':
      return handlePuback(conn, packet);
    case 'pubrec':
      return handlePubrec(conn, packet);
    case 'pubrel':
      return handlePubrel(conn, packet);
    case 'pubcomp':
      return handlePubcomp(conn, packet);
    case 'subscribe':
      return handleSubscribe(conn, packet);
    case 'unsubscribe':
      return handleUnsubscribe(conn, packet);
    case 'pingreq':
      return handlePingreq(conn);
    case 'disconnect':
      return handleDisconnect(conn, packet);
    case 'auth':
      return handleAuth(conn, packet);
    case 'connect':
      throw new MqttError(ReasonCode.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]');
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP go from server to client only.
      throw new MqttError(ReasonCode.ProtocolError, `a client may not send ${packet.type.toUpperCase()}`);
  }
}

/** A DISCONNECT that arrived while earlier packets are held: its will rule counts at once. */
export function noteHeldDisconnect(conn: HandlerConnection, packet: Packet & { type: 'disconnect' }): void {
  noteDisconnect(conn, packet);
}
