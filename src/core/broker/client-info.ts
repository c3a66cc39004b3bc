/**
 * A copy of what hooks see of a client, for when its connection is gone: a pending will, an
 * offline session. Holding the Connection itself would keep its socket, parser and outbox.
 */
import type { ClientInfo } from './types.js';

export function clientSnapshot(client: ClientInfo): ClientInfo {
  const copy: ClientInfo = { clientId: client.clientId, protocolVersion: client.protocolVersion, username: client.username, remoteAddress: client.remoteAddress };
  if (client.transport !== undefined) (copy as { transport: unknown }).transport = client.transport;
  if (client.bridge === true) (copy as { bridge: boolean }).bridge = true;
  return copy;
}
