import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../../src/core/broker/index.js';
import { connect, type Connection } from '../../../src/core/client/connect.js';
import { Publisher, PublishError } from '../../../src/core/client/publisher.js';
import type { ConnectionOptions, ProtocolLevel } from '../../../src/core/client/types.js';

// Publisher.confirm(): a QoS 0 message is "done" once written, which proves nothing about the
// broker taking it. The PINGREQ behind it answers that: a broker reads in order, so a PINGRESP
// means it read the message without closing the connection for it.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function setup(version: ProtocolLevel): Promise<{ conn: Connection; received: number[] }> {
  const broker = createBroker({ maxPacketSize: 1000 });
  const [address] = await broker.listen({ port: 0, host: '127.0.0.1' });
  const received: number[] = [];
  broker.on('publish', (m) => received.push(m.payload.length));
  const o: ConnectionOptions = {
    transport: 'mqtt', host: '127.0.0.1', port: address!.port, wsPath: '/mqtt', clientId: `confirm-${version}`, keepalive: 60, protocolVersion: version, fallback: false, clean: true, reconnect: false,
  };
  const conn = await connect(o);
  closers.push(async () => {
    await conn.destroy();
    await broker.close();
  });
  return { conn, received };
}

describe('Publisher.confirm', () => {
  it('resolves once the broker has read every QoS 0 message', async () => {
    const { conn, received } = await setup(5);
    const publisher = new Publisher<number>(conn);
    for (let i = 0; i < 20; i++) {
      await publisher.ready();
      publisher.publish('t', Buffer.alloc(100), { qos: 0 }, i);
    }
    await publisher.confirm(5000);
    // Read, and routed: the broker's publish event fired for each before it answered the PINGREQ.
    expect(received).toHaveLength(20);
    publisher.detach();
  });

  it('rejects when the broker closes the connection for a written QoS 0 message (3.1.1: no Maximum Packet Size to check first)', async () => {
    const { conn, received } = await setup(4);
    const publisher = new Publisher<number>(conn);
    await publisher.ready();
    publisher.publish('t', Buffer.alloc(2000), { qos: 0 }, 1);
    await publisher.drain();
    const err = await publisher.confirm(5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toMatch(/^lost the connection to 127\.0\.0\.1:\d+; the message may not have arrived \(at QoS 0 a broker refuses a message by closing the connection\)$/);
    expect(received).toEqual([]);
    publisher.detach();
  });
});
