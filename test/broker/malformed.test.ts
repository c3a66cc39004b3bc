/**
 * Bad input and bad peers: a malformed packet closes only its own connection, and a client
 * that never reads cannot make the broker grow without bound or stop serving the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { connect, openClient, openValveClient, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

/** Two healthy clients, checked to still exchange a message. */
async function bystanders(): Promise<{ check: () => Promise<void> }> {
  const { client: sub } = await connect(broker, { clientId: 'bystander-sub' });
  await sub.subscribe('ok/#', 1);
  const { client: pub } = await connect(broker, { clientId: 'bystander-pub', protocolVersion: 5 });
  let n = 0;
  return {
    check: async () => {
      const payload = `still here ${n++}`;
      pub.publish('ok/x', payload, { qos: 1 });
      await pub.expect('puback');
      expect((await sub.receive()).payload.toString()).toBe(payload);
    },
  };
}

// 5.0 section 4.13: a malformed packet or protocol violation closes that connection.
describe('malformed packets', () => {
  // [MQTT-4.8.0-1] (3.1.1): a protocol violation closes the connection it came on, only that one.
  it.each([
    ['reserved packet type 0', [0x00, 0x00]],
    ['reserved packet type 15 in 3.1.1', [0xf0, 0x00]],
    ['SUBSCRIBE with fixed-header flags 0000', [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]],
    ['PUBLISH with QoS 3', [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]],
    ['remaining length of five bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['topic length beyond the packet', [0x30, 0x03, 0x00, 0x09, 0x61]],
    ['topic that is not UTF-8', [0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]],
    ['SUBSCRIBE with no topic filter', [0x82, 0x02, 0x00, 0x01]],
    ['SUBSCRIBE with requested QoS 3', [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03]],
    ['PINGREQ with a body', [0xc0, 0x01, 0x00]],
    ['packet id 0 on a QoS 1 PUBLISH', [0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]],
  ])('3.1.1: %s closes the connection; others carry on', async (_name, bytes) => {
    broker = createBroker();
    const others = await bystanders();
    const { client } = await connect(broker, { clientId: 'bad' });
    client.sendRaw(bytes);
    await client.expectClosed();
    expect(client.received).toEqual([]);
    await others.check();
    // The bad client's session is gone with it (clean session), the others' stay.
    expect((broker.inspect.session('bad') !== undefined)).toBe(false);
    expect(broker.inspect.connectionCount()).toBe(2);
  });

  it('5.0: a malformed packet gets DISCONNECT 0x81 first', async () => {
    broker = createBroker();
    const others = await bystanders();
    const { client } = await connect(broker, { clientId: 'bad', protocolVersion: 5 });
    // PUBLISH whose property length runs past the end of the packet.
    client.sendRaw([0x30, 0x05, 0x00, 0x01, 0x61, 0x09, 0x01]);
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await client.expectClosed();
    await others.check();
  });

  it('5.0: a property not allowed on the packet gets DISCONNECT with a failure code', async () => {
    broker = createBroker();
    const others = await bystanders();
    const { client } = await connect(broker, { clientId: 'bad', protocolVersion: 5 });
    // PUBLISH carrying Session Expiry Interval (0x11), a CONNECT/CONNACK/DISCONNECT property.
    client.sendRaw([0x30, 0x0a, 0x00, 0x01, 0x61, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x7a]);
    const d = await client.expect('disconnect');
    expect([ReasonCode.MalformedPacket, ReasonCode.ProtocolError]).toContain(d.reasonCode);
    await client.expectClosed();
    await others.check();
  });

  it('garbage before CONNECT closes the connection without a CONNACK', async () => {
    broker = createBroker();
    const others = await bystanders();
    const client = openClient(broker);
    client.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await client.expectClosed();
    expect(client.received).toEqual([]);
    await others.check();
  });

  it('a packet split into single bytes is still understood', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('a');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (const byte of [0x30, 0x04, 0x00, 0x01, 0x61, 0x7a]) {
      pub.sendRaw([byte]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await sub.expect('publish')).payload.toString()).toBe('z');
  });
});

describe('a client that never reads', () => {
  const KB = Buffer.alloc(1024, 0x2a);

  /** Connects a subscriber to `t` that then stops reading; returns it with the broker's end of its stream. */
  async function stalledSubscriber(qos: 0 | 1 = 0, writableHighWaterMark?: number) {
    const valve = openValveClient(broker, 4, writableHighWaterMark);
    valve.client.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'stalled' });
    expect((await valve.client.expect('connack')).reasonCode).toBe(0);
    await valve.client.subscribe('t', qos);
    valve.server.stalled = true;
    return valve;
  }

  /** Publishes `count` messages in batches, each batch a turn of the event loop apart, so the broker flushes between them. */
  async function flood(pub: TestClient | undefined, count: number, qos: 0 | 1 = 0): Promise<void> {
    for (let sent = 0; sent < count; sent += 20) {
      for (let i = 0; i < 20; i++) {
        if (pub === undefined) broker.publishMessage('t', KB, { qos });
        else pub.publish('t', KB, { qos });
      }
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('drops QoS 0 beyond its buffer and queue, counts the drops, and keeps serving the others', async () => {
    broker = createBroker({ maxClientBuffer: 16 * 1024, maxQueued: 50 });
    const others = await bystanders();
    const { server } = await stalledSubscriber();
    // Messages from the embedding application: nobody to hold back, so they must be dropped.
    await flood(undefined, 2000);
    expect(broker.inspect.droppedCount()).toBeGreaterThan(1500);
    // Bounded: the socket buffer stops near maxClientBuffer, the queue at maxQueued.
    expect(server.writableLength).toBeLessThan(16 * 1024 + 64 * 1024);
    expect(broker.inspect.session('stalled')!.queued).toBeLessThanOrEqual(50);
    await others.check();
  });

  // The second case is Node 22's default: a socket's highWaterMark (64 KiB) above maxClientBuffer,
  // so write() never asks to wait and no 'drain' ever comes; the broker must notice by itself.
  it.each([
    ['the stream asks to wait below the limit', undefined],
    ['the limit is below the stream highWaterMark', 256 * 1024],
  ])('holds a publishing client back instead of growing, and the rest of the broker keeps working (%s)', async (_case, highWaterMark) => {
    broker = createBroker({ maxClientBuffer: 16 * 1024, maxQueued: 100 });
    const others = await bystanders();
    const { client: stalled, server } = await stalledSubscriber(1, highWaterMark);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await flood(pub, 3000, 1);
    expect(server.writableLength).toBeLessThan(16 * 1024 + 64 * 1024);
    expect(broker.inspect.session('stalled')!.queued).toBeLessThanOrEqual(100);
    await others.check();
    // Once it reads again, what was acknowledged to the publisher is delivered: nothing was dropped.
    server.release();
    let expected = 0;
    while (expected < 200) {
      const m = await stalled.expect('publish');
      stalled.send({ type: 'puback', packetId: m.packetId! });
      expected++;
    }
    expect(broker.inspect.droppedCount()).toBe(0);
  });

  it('lets the publisher go after stallTimeoutMs when the reader makes no progress: a dead reader does not stop the others', async () => {
    broker = createBroker({ maxClientBuffer: 16 * 1024, maxQueued: 100, stallTimeoutMs: 300 });
    await stalledSubscriber(1);
    const { client: healthy } = await connect(broker, { clientId: 'healthy' });
    await healthy.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const total = 1000;
    for (let i = 0; i < total; i++) pub.publish('t', KB, { qos: 1 });
    // The healthy subscriber gets every message, although the stalled one holds at most maxQueued.
    let got = 0;
    while (got < total) {
      const m = await healthy.expect('publish', 5000);
      healthy.send({ type: 'puback', packetId: m.packetId! });
      got++;
    }
    expect(broker.inspect.session('stalled')!.queued).toBeLessThanOrEqual(100);
    expect(broker.inspect.droppedCount()).toBeGreaterThan(0);
  });

  // [MQTT-3.1.2-24] the keep-alive counts packets the client sent: one the broker chose not to read yet still counts.
  it('does not time out a publisher whose input the broker holds back', async () => {
    broker = createBroker({ maxClientBuffer: 16 * 1024, maxQueued: 100 });
    await stalledSubscriber();
    const { client: pub } = await connect(broker, { clientId: 'pub', keepalive: 1 });
    await flood(pub, 2000);
    const connection = broker.inspect.connections().find((c) => c.clientId === 'pub')!;
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      pub.send({ type: 'pingreq' });
    }
    expect(pub.closed).toBe(false);
    expect(broker.inspect.connections().includes(connection)).toBe(true);
  });
});
