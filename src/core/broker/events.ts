/** Observe-only broker events: nothing correct may depend on a listener. */
import type { Message } from './message.js';
import type { ClientInfo } from './types.js';

export interface BrokerEvents {
  /** A client completed CONNECT and got CONNACK 0. */
  client: [client: ClientInfo, sessionPresent: boolean];
  /** A connection ended; `reason` says how, e.g. 'disconnect', 'socket closed', 'keep-alive timeout'. */
  disconnect: [client: ClientInfo, reason: string];
  /** A message was accepted for routing. */
  publish: [message: Message, client: ClientInfo | undefined];
  /** A subscription was granted (qos) or refused (a reason code >= 0x80). */
  subscribe: [client: ClientInfo, topicFilter: string, result: number];
  unsubscribe: [client: ClientInfo, topicFilter: string];
  /** A last will was published. */
  will: [client: ClientInfo, message: Message];
  /** A connection was closed for a protocol error or refused at CONNECT. */
  clientError: [client: ClientInfo | undefined, error: Error];
  /** A message was dropped for a session: queue full, client too slow, or too large for it. */
  drop: [clientId: string, message: Message, why: string];
}
