import { ReasonCode } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { DisconnectPacket } from '../../codec/types.js';
import type { HandlerConnection } from '../types.js';

/**
 * What a DISCONNECT says about the session, applied the moment it arrives, even while earlier
 * packets wait (held back, or a hook pending): a normal DISCONNECT discards the will
 * [MQTT-3.14.4-3], except 5.0 reason 0x04 "Disconnect with Will Message". A 5.0 client may
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
  if (packet.reasonCode !== ReasonCode.DisconnectWithWillMessage) conn.will = undefined;
}

/** DISCONNECT in turn: note it, then close (cleanly unless the client asked for its will). */
export function handleDisconnect(conn: HandlerConnection, packet: DisconnectPacket): void {
  noteDisconnect(conn, packet);
  const withWill = packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
  conn.close(withWill ? 'disconnect with will' : 'disconnect', withWill);
}
