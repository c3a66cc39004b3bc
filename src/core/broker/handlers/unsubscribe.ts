import { ReasonCode } from '../../codec/constants.js';
import type { UnsubscribePacket } from '../../codec/types.js';
import type { HandlerConnection } from '../types.js';

/**
 * UNSUBSCRIBE: remove each subscription, then UNSUBACK [MQTT-3.10.4-4], in 5.0 with 0x11 for a
 * filter that was not subscribed. Messages already in flight still complete [MQTT-3.10.4-3].
 */
export function handleUnsubscribe(conn: HandlerConnection, packet: UnsubscribePacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const reasonCodes: number[] = [];
  for (const filter of packet.topicFilters) {
    const had = broker.unsubscribe(session, filter);
    if (had) broker.emit('unsubscribe', conn, filter);
    reasonCodes.push(had ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  conn.send({ type: 'unsuback', packetId: packet.packetId, reasonCodes });
}
