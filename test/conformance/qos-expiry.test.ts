/**
 * MQTT 5.0 [MQTT-4.3.3-7] and [MQTT-4.3.3-13]: message expiry never breaks an exactly-once flow
 * already started. As the sender, once the broker has sent a QoS 2 PUBLISH it does not apply the
 * message's expiry to it: it re-sends it (DUP 1) on resume and answers its PUBREC with PUBREL.
 * As the receiver, it completes a publisher's QoS 2 flow whose message has expired meanwhile:
 * PUBREC again for a re-sent PUBLISH (no second delivery), PUBCOMP 0x00 for the PUBREL; also
 * across a restart on a store. Each case waits for a 1 s expiry to pass, so they run concurrently.
 */
import { describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { brokerFor, connect, until, type TestClient } from '../helpers/broker-client.js';

/** Past a message expiry interval of 1 s: the rule is about what happens after it. */
const expired = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1300));

const persistent = (clientId: string): Partial<ConnectPacket> => ({ clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });

async function sync(c: TestClient): Promise<void> {
  c.send({ type: 'pingreq' });
  await c.expect('pingresp');
}

describe.concurrent('5.0: message expiry inside a QoS 2 flow', () => {
  // [MQTT-4.3.3-7] the PUBLISH went out: its expiry passing while the client is away does not
  // drop it; it comes again with DUP 1 and its id, and its PUBREC gets PUBREL; the PUBREL, too,
  // comes again after another reconnect, and PUBCOMP ends the flow.
  it('broker as sender: a QoS 2 PUBLISH already sent is re-sent and completed after its expiry passed, across reconnects', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub'));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'short-lived', { qos: 2, properties: { messageExpiryInterval: 1 } });
    const sent = await sub.expect('publish');
    expect(sent.properties?.messageExpiryInterval).toBe(1);
    sub.kill();
    await expired();

    let { client: c } = await connect(broker, persistent('sub'));
    const again = await c.expect('publish');
    expect(again).toMatchObject({ packetId: sent.packetId, dup: true, qos: 2 });
    expect(again.payload.toString()).toBe('short-lived');
    c.send({ type: 'pubrec', packetId: sent.packetId!, reasonCode: 0 });
    expect(await c.expect('pubrel')).toEqual({ type: 'pubrel', packetId: sent.packetId, reasonCode: 0 });
    c.kill();
    ({ client: c } = await connect(broker, persistent('sub')));
    expect(await c.expect('pubrel')).toEqual({ type: 'pubrel', packetId: sent.packetId, reasonCode: 0 });
    c.send({ type: 'pubcomp', packetId: sent.packetId!, reasonCode: 0 });
    await sync(c);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
    await c.expectNothing();
  });

  // [MQTT-4.3.3-7] online: the PUBREC of a message that expired after it was sent still gets PUBREL.
  it('broker as sender: a PUBREC that comes after the message expired still gets PUBREL, then PUBCOMP ends it', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'short-lived', { qos: 2, properties: { messageExpiryInterval: 1 } });
    const sent = await sub.expect('publish');
    await expired();
    sub.send({ type: 'pubrec', packetId: sent.packetId!, reasonCode: 0 });
    expect(await sub.expect('pubrel')).toEqual({ type: 'pubrel', packetId: sent.packetId, reasonCode: 0 });
    sub.send({ type: 'pubcomp', packetId: sent.packetId!, reasonCode: 0 });
    await sync(sub);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });

  // [MQTT-4.3.3-13] the broker as receiver continues the sequence of a message that has expired:
  // online, and across a reconnect of the publisher's persistent session (a re-sent PUBLISH gets
  // PUBREC and is not delivered again; the PUBREL gets PUBCOMP 0x00, the id still held).
  it('broker as receiver: a publisher completes its QoS 2 flows after the message expired, online and across a reconnect', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, persistent('pub'));
    pub.publish('t', 'online', { qos: 2, packetId: 1, properties: { messageExpiryInterval: 1 } });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 1, reasonCode: 0 });
    pub.publish('t', 'away', { qos: 2, packetId: 2, properties: { messageExpiryInterval: 1 } });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 2, reasonCode: 0 });
    const delivered = [await sub.expect('publish'), await sub.expect('publish')];
    expect(delivered.map((m) => m.payload.toString())).toEqual(['online', 'away']);
    for (const m of delivered) await sub.ack(m);
    await expired();

    pub.send({ type: 'pubrel', packetId: 1, reasonCode: 0 });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 1, reasonCode: 0 });
    pub.kill();
    await until(() => broker.inspect.session('pub')?.connected === false);
    const { client: back, connack } = await connect(broker, persistent('pub'));
    expect(connack.sessionPresent).toBe(true);
    back.publish('t', 'away', { qos: 2, packetId: 2, dup: true, properties: { messageExpiryInterval: 1 } });
    expect(await back.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 2, reasonCode: 0 });
    back.send({ type: 'pubrel', packetId: 2, reasonCode: 0 });
    expect(await back.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 2, reasonCode: 0 });
    await sub.expectNothing();
  });

  // [MQTT-4.3.3-7] [MQTT-4.3.3-13] the same across a broker restart on a store, with the expiry
  // passing while the broker is down: the PUBLISH in flight comes again, the released one's PUBREL
  // comes again, the publisher's held ids still complete; and [MQTT-4.4.0-2] the delivery its
  // client refused with PUBACK 0x80 does not come back.
  it('across a broker restart on a store: both sides complete the flows of messages that expired while it was down', async (ctx) => {
    const store = new MemoryStore();
    const first = createBroker({ store });
    ctx.onTestFinished(() => first.close());
    await first.ready();
    const { client: sub } = await connect(first, persistent('sub'));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(first, persistent('pub'));
    pub.publish('t', 'a', { qos: 2, packetId: 1, properties: { messageExpiryInterval: 1 } });
    await pub.expect('pubrec');
    pub.publish('t', 'b', { qos: 2, packetId: 2, properties: { messageExpiryInterval: 1 } });
    await pub.expect('pubrec');
    pub.publish('t', 'c', { qos: 1, packetId: 3 });
    await pub.expect('puback');
    const [a, b, c] = [await sub.expect('publish'), await sub.expect('publish'), await sub.expect('publish')];
    sub.send({ type: 'pubrec', packetId: b.packetId!, reasonCode: 0 });
    await sub.expect('pubrel');
    sub.send({ type: 'puback', packetId: c.packetId!, reasonCode: 0x80 });
    await sync(sub);
    sub.kill();
    pub.kill();
    await until(() => first.inspect.session('sub')?.connected === false && first.inspect.session('pub')?.connected === false);
    await first.close();
    await expired();

    const second = brokerFor(ctx, { store });
    await second.ready();
    const { client: back, connack } = await connect(second, persistent('sub'));
    expect(connack.sessionPresent).toBe(true);
    const again = [await back.next(), await back.next()];
    expect(again).toMatchObject([
      { type: 'publish', packetId: a.packetId, dup: true, qos: 2 },
      { type: 'pubrel', packetId: b.packetId },
    ]);
    await back.expectNothing();
    const { client: pubBack } = await connect(second, persistent('pub'));
    pubBack.send({ type: 'pubrel', packetId: 1, reasonCode: 0 });
    expect(await pubBack.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 1, reasonCode: 0 });
    pubBack.publish('t', 'b', { qos: 2, packetId: 2, dup: true, properties: { messageExpiryInterval: 1 } });
    expect(await pubBack.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 2, reasonCode: 0 });
    pubBack.send({ type: 'pubrel', packetId: 2, reasonCode: 0 });
    expect(await pubBack.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 2, reasonCode: 0 });
    await back.expectNothing();
  });
});
