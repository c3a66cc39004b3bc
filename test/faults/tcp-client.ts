/**
 * The packet-level TestClient (test/helpers/broker-client.ts) over a real TCP socket, to the
 * broker or to a FaultProxy in front of it; kill() destroys the socket with no DISCONNECT.
 * Every client opened here is remembered, so a test's afterEach can end whatever it left open.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { TestClient } from '../helpers/broker-client.js';
import type { ConnackPacket, ConnectPacket } from '../../src/core/codec/types.js';

const open = new Set<TestClient>();

/** Opens a TCP connection to 127.0.0.1:port, sends CONNECT (defaults filled in), returns the client and its CONNACK. */
export async function tcpConnect(port: number, packet: Partial<ConnectPacket> = {}): Promise<{ client: TestClient; connack: ConnackPacket; socket: Socket }> {
  const socket = netConnect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const version = packet.protocolVersion ?? 4;
  const client = new TestClient(socket, version);
  open.add(client);
  void client.closedPromise.then(() => open.delete(client));
  client.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId: 'c', ...packet } as ConnectPacket);
  const connack = await client.expect('connack', 5000);
  if (connack.reasonCode !== 0) throw new Error(`CONNACK refused ${JSON.stringify(packet.clientId ?? 'c')} with 0x${connack.reasonCode.toString(16)}`);
  return { client, connack, socket };
}

/** Sends PINGREQ every `ms` while the socket is open, as a client's keep-alive does; returns the stop. */
export function keepPinging(client: TestClient, ms: number): () => void {
  const timer = setInterval(() => {
    if (!client.closed) client.send({ type: 'pingreq' });
  }, ms);
  return () => clearInterval(timer);
}

/** Destroys every client tcpConnect opened that is still open (for afterEach). */
export function killAllClients(): void {
  for (const c of open) c.kill();
  open.clear();
}
