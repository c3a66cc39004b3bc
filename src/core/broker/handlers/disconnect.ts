import { ReasonCode, reasonCodeName } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { DisconnectPacket } from '../../codec/types.js';
import type { HandlerConnection } from '../types.js';

/**
 * What a DISCONNECT says about the session, applied the moment it arrives, even while earlier
 * packets wait (held back, or a hook pending): a normal DISCONNECT (3.1.1, or 5.0 code 0x00)
 * discards the will [MQTT-3.14.4-3]; any other 5.0 code keeps it, to be published at the close
 * [MQTT-3.1.2-8]: 0x04 "Disconnect with Will Message" asks for that, and a client that leaves
 * with an error (0x80 and up) has not left normally. A 5.0 client may
 * change its Session Expiry Interval here, but not from 0 to more (5.0 section 3.14.2.2.2).
 * Applying it twice changes nothing.
 */
export function noteDisconnect(conn: HandlerConnection, packet: DisconnectPacket): void {
  const session = conn.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && session !== null) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      throw new MqttError(ReasonCode.ProtocolError, 'session expiry changed from 0 at DISCONNECT (MQTT 5.0 section 3.14.2.2.2)');
    }
    session.expiryInterval = expiry;
  }
  if (isNormal(packet)) conn.will = undefined;
}

/** 3.1.1's DISCONNECT, or 5.0's with code 0x00 (also when the code is left out). */
function isNormal(packet: DisconnectPacket): boolean {
  return (packet.reasonCode ?? ReasonCode.NormalDisconnection) === ReasonCode.NormalDisconnection;
}

/** DISCONNECT in turn: note it, then close (cleanly unless the client asked for its will or left with an error). */
export function handleDisconnect(conn: HandlerConnection, packet: DisconnectPacket): void {
  noteDisconnect(conn, packet);
  if (isNormal(packet)) {
    conn.close('disconnect', false);
    return;
  }
  const code = packet.reasonCode!;
  conn.close(code === ReasonCode.DisconnectWithWillMessage ? 'disconnect with will' : `disconnect 0x${code.toString(16)} (${reasonCodeName(code, 'disconnect')})`, true);
}
