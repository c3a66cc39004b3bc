import { ReasonCode } from '../../codec/constants.js';
import type { UnsubscribePacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

/**
 * Removes subscriptions and answers UNSUBACK [MQTT-3.10.4-4]; in 5.0 with 0x11 for a filter
 * that was not subscribed. Messages already in flight still complete [MQTT-3.10.4-3].
 */
export function handleUnsubscribe(conn: Connection, packet: UnsubscribePacket): void {
  const session = conn.session!;
  const trie = conn.broker.router.trie;
  const reasonCodes: number[] = [];
  for (const filter of packet.topicFilters) {
    const had = session.subscriptions.delete(filter);
    if (had) {
      trie.remove(filter, session.clientId);
      conn.broker.emit('unsubscribe', conn, filter);
    }
    reasonCodes.push(had ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  conn.send({ type: 'unsuback', packetId: packet.packetId, reasonCodes });
}
