import { ReasonCode } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { DisconnectPacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

/**
 * A normal DISCONNECT discards the will [MQTT-3.14.4-3], except 5.0 reason 0x04 "Disconnect
 * with Will Message". A 5.0 client may change its Session Expiry Interval here, but not from 0
 * to more [MQTT-3.14.2-2].
 */
export function handleDisconnect(conn: Connection, packet: DisconnectPacket): void {
  const session = conn.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && session !== null) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      throw new MqttError(ReasonCode.ProtocolError, 'session expiry changed from 0 at DISCONNECT [MQTT-3.14.2-2]');
    }
    session.expiryInterval = expiry;
  }
  const withWill = packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
  if (!withWill) conn.will = undefined;
  conn.close(withWill ? 'disconnect with will' : 'disconnect', withWill);
}
