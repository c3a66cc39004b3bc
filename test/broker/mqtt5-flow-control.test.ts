/** 5.0 Receive Maximum and Maximum Packet Size, in both directions. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { PublishPacket } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

/** Every PUBLISH that arrives until the client has been silent for 100 ms. */
async function publishesUntilQuiet(client: TestClient): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (;;) {
    try {
      got.push(await client.expect('publish', 100));
    } catch {
      return got;
    }
  }
}

describe('Receive Maximum', () => {
  // [MQTT-3.3.4-9] no more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum.
  it('keeps at most the client’s Receive Maximum in flight and sends the rest as acks come', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { receiveMaximum: 2 } });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 5; i++) pub.publish('t', String(i), { qos: i % 2 === 0 ? 1 : 2 });
    const a = await sub.expect('publish');
    const b = await sub.expect('publish');
    await sub.expectNothing();
    expect([a.payload.toString(), b.payload.toString()]).toEqual(['0', '1']);
    // One QoS 1 ack frees one slot.
    sub.send({ type: 'puback', packetId: a.packetId!, reasonCode: 0 });
    const c = await sub.expect('publish');
    expect(c.payload.toString()).toBe('2');
    await sub.expectNothing();
    // A QoS 2 delivery holds its slot until PUBCOMP, not PUBREC.
    sub.send({ type: 'pubrec', packetId: b.packetId!, reasonCode: 0 });
    await sub.expect('pubrel');
    await sub.expectNothing();
    sub.send({ type: 'pubcomp', packetId: b.packetId!, reasonCode: 0 });
    const d = await sub.expect('publish');
    expect(d.payload.toString()).toBe('3');
    await sub.expectNothing();
    await sub.ack(d);
    const e = await sub.expect('publish');
    expect(e.payload.toString()).toBe('4');
    await sub.ack(c);
    await sub.ack(e);
    await sub.expectNothing();
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });

  // [MQTT-4.9.0-2] the window counts QoS 1 and 2 only: QoS 0 goes out while QoS 1 fills it.
  // (With the window full the broker MAY hold QoS 0 back too; it must still deliver it.)
  it('does not count QoS 0 against the window', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { receiveMaximum: 1 } });
    await sub.subscribe(['q1', 'q0'], 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('q1', 'a', { qos: 1 });
    for (let i = 0; i < 3; i++) pub.publish('q0', `z${i}`, { qos: 0 });
    const first = await sub.expect('publish');
    expect(first.payload.toString()).toBe('a');
    for (let i = 0; i < 3; i++) expect((await sub.expect('publish')).payload.toString()).toBe(`z${i}`);
    pub.publish('q1', 'b', { qos: 1 });
    pub.publish('q0', 'late', { qos: 0 });
    const whileFull = await publishesUntilQuiet(sub);
    expect(whileFull.map((m) => m.payload.toString())).not.toContain('b');
    await sub.ack(first);
    const afterAck = await publishesUntilQuiet(sub);
    expect([...whileFull, ...afterAck].map((m) => m.payload.toString()).sort()).toEqual(['b', 'late']);
    for (const m of afterAck) await sub.ack(m);
  });

  // The broker's maxInflight also caps clients that announce nothing (3.1.1 has no Receive Maximum).
  it('3.1.1: caps in-flight messages at maxInflight', async () => {
    broker = createBroker({ maxInflight: 3 });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 6; i++) pub.publish('t', String(i), { qos: 1 });
    const first = [await sub.expect('publish'), await sub.expect('publish'), await sub.expect('publish')];
    await sub.expectNothing();
    for (const m of first) await sub.ack(m);
    for (let i = 3; i < 6; i++) expect((await sub.receive()).payload.toString()).toBe(String(i));
  });

  // [MQTT-3.3.4-7] a client sending more unacknowledged QoS 2 than the broker's Receive Maximum: DISCONNECT 0x93.
  it('disconnects a client that exceeds the broker’s Receive Maximum', async () => {
    broker = createBroker({ receiveMaximum: 2 });
    const { client: pub, connack } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.receiveMaximum).toBe(2);
    for (let i = 1; i <= 3; i++) pub.publish('t', 'x', { qos: 2, packetId: i });
    await pub.expect('pubrec');
    await pub.expect('pubrec');
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.ReceiveMaximumExceeded);
    await pub.expectClosed();
  });
});

describe('Maximum Packet Size', () => {
  // [MQTT-3.1.2-24] [MQTT-3.1.2-25] a PUBLISH larger than the client accepts is not sent; the next one is.
  it('does not send a message larger than the client’s Maximum Packet Size', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { maximumPacketSize: 100 } });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', Buffer.alloc(200, 1), { qos: 1 });
    pub.publish('t', Buffer.alloc(20, 2), { qos: 0 });
    pub.publish('t', Buffer.alloc(300, 3), { qos: 0 });
    pub.publish('t', 'small', { qos: 1 });
    const a = await sub.expect('publish');
    expect(a.payload).toEqual(Buffer.alloc(20, 2));
    const b = await sub.receive();
    expect(b.payload.toString()).toBe('small');
    await sub.expectNothing();
    expect(broker.inspect.droppedCount()).toBe(2);
    // [MQTT-3.1.2-25] the broker behaves as if it had sent it: nothing stays in flight.
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });

  // The limit applies to a message's whole packet, properties included.
  it('counts properties such as subscription identifiers in the size', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { maximumPacketSize: 40 } });
    await sub.subscribe('t', 0, { subscriptionIdentifiers: [1] });
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    // 2 + topic (3) + property length (1) + payload 30 = 36 bytes without properties: too large with them.
    pub.publish('t', Buffer.alloc(30), { properties: { userProperties: [['k', 'v']] } });
    pub.publish('t', Buffer.alloc(5));
    const m = await sub.expect('publish');
    expect(m.payload.length).toBe(5);
    await sub.expectNothing();
  });

  // [MQTT-3.2.2-15] the client must not exceed the broker's maximum; 5.0 section 4.13: DISCONNECT 0x95.
  it('disconnects with 0x95 a client that sends a packet above the broker’s maxPacketSize', async () => {
    broker = createBroker({ maxPacketSize: 100 });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    const { client: pub, connack } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.maximumPacketSize).toBe(100);
    pub.publish('t', Buffer.alloc(50));
    pub.publish('t', Buffer.alloc(200));
    expect((await sub.expect('publish')).payload.length).toBe(50);
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.PacketTooLarge);
    await pub.expectClosed();
    await sub.expectNothing();
  });

  it('3.1.1: closes the connection of a client that sends a packet above maxPacketSize', async () => {
    broker = createBroker({ maxPacketSize: 100 });
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', Buffer.alloc(200));
    await pub.expectClosed();
    expect(pub.received).toEqual([]);
  });
});

describe('Receive Maximum across a resumed session', () => {
  // [MQTT-3.3.4-9] [MQTT-4.4.0-1] a client that comes back with a smaller Receive Maximum gets
  // its unacknowledged messages re-sent (DUP, same packet ids) no more than that many at a time.
  it('re-sends at most the new Receive Maximum, the rest as acks free room, then the queue', async () => {
    broker = createBroker();
    const session = { clientId: 'sub', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 10 } };
    const first = await connect(broker, session);
    await first.client.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 6; i++) pub.publish('t', String(i), { qos: 1 });
    const unacked: PublishPacket[] = [];
    for (let i = 0; i < 6; i++) unacked.push(await first.client.expect('publish'));
    first.client.kill();
    // Two more while away: queued behind the six in flight.
    for (let i = 6; i < 8; i++) pub.publish('t', String(i), { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const again = await connect(broker, { ...session, clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } });
    expect(again.connack.sessionPresent).toBe(true);
    const got: PublishPacket[] = [await again.client.expect('publish'), await again.client.expect('publish')];
    await again.client.expectNothing();
    for (let n = 2; n < 8; n++) {
      await again.client.ack(got[n - 2]!);
      got.push(await again.client.expect('publish'));
      await again.client.expectNothing(50);
    }
    await again.client.ack(got[6]!);
    await again.client.ack(got[7]!);
    expect(got.map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    // The six owed from before come back as duplicates with their packet ids; the queued two are new.
    expect(got.slice(0, 6).map((p) => [p.dup, p.packetId])).toEqual(unacked.map((p) => [true, p.packetId]));
    expect(got.slice(6).every((p) => !p.dup)).toBe(true);
    await again.client.expectNothing();
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });
});
