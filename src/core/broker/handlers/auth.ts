import type { AuthPacket } from '../../codec/types.js';
import { receiveAuth } from '../enhanced-auth.js';
import type { HandlerConnection } from '../types.js';

/**
 * AUTH (5.0 section 3.15): a step of the enhanced authentication its CONNECT opened, or a
 * re-authentication after CONNACK; from a client whose CONNECT named no Authentication Method,
 * a Protocol Error [MQTT-4.12.0-7]. The exchange is enhanced-auth.ts.
 */
export function handleAuth(conn: HandlerConnection, packet: AuthPacket): Promise<void> | void {
  return receiveAuth(conn, packet);
}
