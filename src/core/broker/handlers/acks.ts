/** PUBACK, PUBREC, PUBREL, PUBCOMP: the acknowledgement half of the QoS 1 and 2 flows. */
import { ReasonCode } from '../../codec/constants.js';
import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../../codec/types.js';
import type { HandlerConnection } from '../types.js';

/** QoS 1 outgoing: the subscriber has it (5.0 section 4.3.2). */
export function handlePuback(conn: HandlerConnection, packet: PubackPacket): void {
  conn.session!.acknowledge(packet.packetId, 1);
}

/**
 * QoS 2 outgoing, first half: answer PUBREL [MQTT-4.3.3-4]. An unknown id gets PUBREL with
 * 0x92 in 5.0 so the client can finish its side.
 */
export function handlePubrec(conn: HandlerConnection, packet: PubrecPacket): void {
  const known = conn.session!.received(packet.packetId, packet.reasonCode ?? 0);
  if ((packet.reasonCode ?? 0) >= 0x80) return;
  conn.send({ type: 'pubrel', packetId: packet.packetId, reasonCode: known ? ReasonCode.Success : ReasonCode.PacketIdentifierNotFound });
}

/** QoS 2 outgoing, done. */
export function handlePubcomp(conn: HandlerConnection, packet: PubcompPacket): void {
  conn.session!.acknowledge(packet.packetId, 2);
}

/**
 * QoS 2 incoming, second half: forget the packet id and answer PUBCOMP [MQTT-4.3.3-11]; an
 * id we do not hold gets 0x92 in 5.0 (3.1.1 just completes).
 */
export function handlePubrel(conn: HandlerConnection, packet: PubrelPacket): void {
  const known = conn.session!.releaseIncoming(packet.packetId);
  conn.send({ type: 'pubcomp', packetId: packet.packetId, reasonCode: known ? ReasonCode.Success : ReasonCode.PacketIdentifierNotFound });
}
