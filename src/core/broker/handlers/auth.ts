import { ReasonCode } from '../../codec/constants.js';
import { MqttError } from '../../codec/errors.js';
import type { AuthPacket } from '../../codec/types.js';
import type { HandlerConnection } from '../types.js';

/**
 * Enhanced authentication (5.0 section 4.12) is not offered: no CONNECT can have named an
 * Authentication Method we accepted, so an AUTH is a Protocol Error (5.0 section 3.15).
 */
export function handleAuth(_conn: HandlerConnection, _packet: AuthPacket): void {
  throw new MqttError(ReasonCode.ProtocolError, 'AUTH without an agreed authentication method');
}
