/**
 * The skeleton of a fake MQTT broker on a raw TCP port, written on our codec so that tests of a
 * client (ours or the bench) do not need a broker that behaves. It answers CONNECT, SUBSCRIBE
 * (granting the QoS asked for), UNSUBSCRIBE, PUBREC, PUBREL, PINGREQ and DISCONNECT the plain
 * way and nothing else; a test gives it its misbehaviour through `onPacket`, which sees every
 * packet first and returns true when it has answered the packet itself.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { encode, Parser, type Packet, type ProtocolVersion } from '../../src/core/codec/index.js';

/** One client connection, as `onPacket` and `onClose` see it. */
export interface FakeClient {
  readonly socket: Socket;
  /** From the client's CONNECT; 4 until then. */
  readonly version: ProtocolVersion;
  /** Encodes for this client's version; a no-op once the socket is gone, so late timers are harmless. */
  readonly send: (packet: Packet) => void;
}

export interface FakeBrokerOptions {
  onPacket?: (packet: Packet, client: FakeClient) => boolean;
  onClose?: (client: FakeClient) => void;
}

export interface FakeBroker {
  readonly port: number;
  /** Destroys every connection, then stops listening. */
  close(): Promise<void>;
}

export async function startFakeBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    // Small answers must not wait for Nagle: tests time quiet periods and latencies.
    socket.setNoDelay(true);
    const parser = new Parser();
    const client = {
      socket,
      version: 4 as ProtocolVersion,
      send: (p: Packet): void => {
        if (!socket.destroyed) socket.write(encode(p, client.version));
      },
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      options.onClose?.(client);
    });
    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      // A throw from this handler would take the whole test file down, not just the connection.
      try {
        packets = parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const p of packets) {
        // A connection the test closed mid-chunk must not see the packets after it.
        if (socket.destroyed) return;
        if (p.type === 'connect') client.version = p.protocolVersion;
        if (options.onPacket?.(p, client) === true) continue;
        answer(p, client);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function answer(p: Packet, client: FakeClient): void {
  switch (p.type) {
    case 'connect':
      return client.send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    case 'subscribe':
      return client.send({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) });
    case 'unsubscribe':
      return client.send({ type: 'unsuback', packetId: p.packetId, ...(client.version === 5 ? { reasonCodes: p.topicFilters.map(() => 0) } : {}) });
    case 'pubrec':
      return client.send({ type: 'pubrel', packetId: p.packetId });
    case 'pubrel':
      return client.send({ type: 'pubcomp', packetId: p.packetId });
    case 'pingreq':
      return client.send({ type: 'pingresp' });
    case 'disconnect':
      client.socket.end();
      return;
    default:
  }
}
