/** QoS 2 publishing: exactly once, PUBREC/PUBREL/PUBCOMP both ways, re-sending on resume. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { connect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('QoS 2, client to broker', () => {
  // [MQTT-4.3.3-8] PUBREC; [MQTT-4.3.3-11] PUBREL answered with PUBCOMP, same packet id.
  it('answers PUBREC, then PUBCOMP for the PUBREL, and delivers once', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'once', { qos: 2, packetId: 10 });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 10 });
    pub.send({ type: 'pubrel', packetId: 10 });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 10 });
    const m = await sub.receive();
    expect(m).toMatchObject({ qos: 2, dup: false });
    expect(m.payload.toString()).toBe('once');
    await sub.expectNothing();
  });

  // [MQTT-4.3.3-10] a PUBLISH re-sent with the same id before PUBREL is acknowledged again, not delivered again.
  it('does not deliver a re-sent PUBLISH with the same packet id twice before PUBREL', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x', { qos: 2, packetId: 3 });
    expect((await pub.expect('pubrec')).packetId).toBe(3);
    pub.publish('t', 'x', { qos: 2, packetId: 3, dup: true });
    expect((await pub.expect('pubrec')).packetId).toBe(3);
    pub.publish('t', 'x', { qos: 2, packetId: 3, dup: true });
    expect((await pub.expect('pubrec')).packetId).toBe(3);
    await sub.receive();
    await sub.expectNothing();
    pub.send({ type: 'pubrel', packetId: 3 });
    await pub.expect('pubcomp');
    // [MQTT-4.3.3-12] after PUBCOMP the same id starts a new message.
    pub.publish('t', 'y', { qos: 2, packetId: 3 });
    await pub.expect('pubrec');
    expect((await sub.receive()).payload.toString()).toBe('y');
  });

  // The exactly-once state survives a reconnect of a persistent session.
  it('remembers a received id across a reconnect until PUBREL', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', clean: false });
    pub.publish('t', 'x', { qos: 2, packetId: 8 });
    await pub.expect('pubrec');
    pub.kill();
    await sub.receive();
    const { client: again } = await connect(broker, { clientId: 'pub', clean: false });
    again.publish('t', 'x', { qos: 2, packetId: 8, dup: true });
    await again.expect('pubrec');
    again.send({ type: 'pubrel', packetId: 8 });
    await again.expect('pubcomp');
    await sub.expectNothing();
  });

  it('3.1.1: a PUBREL for an unknown id is still completed', async () => {
    broker = createBroker();
    const { client } = await connect(broker);
    client.send({ type: 'pubrel', packetId: 99 });
    expect(await client.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 99 });
  });

  // 5.0 section 3.7.2.1: PUBCOMP 0x92 Packet Identifier not found.
  it('5.0: a PUBREL for an unknown id gets PUBCOMP 0x92', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { protocolVersion: 5 });
    client.send({ type: 'pubrel', packetId: 99, reasonCode: 0 });
    expect(await client.expect('pubcomp')).toMatchObject({ packetId: 99, reasonCode: ReasonCode.PacketIdentifierNotFound });
  });
});

describe('QoS 2, broker to client', () => {
  // [MQTT-4.3.3-1] .. [MQTT-4.3.3-5]: PUBLISH, PUBREC → PUBREL with the same id, PUBCOMP ends it.
  it('runs PUBLISH → PUBREC → PUBREL → PUBCOMP', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x', { qos: 2 });
    const m = await sub.expect('publish');
    expect(m).toMatchObject({ qos: 2, dup: false });
    const inflight = (): number | undefined => broker.inspect.session('sub')?.inflight;
    expect(inflight()).toBe(1);
    sub.send({ type: 'pubrec', packetId: m.packetId! });
    expect(await sub.expect('pubrel')).toEqual({ type: 'pubrel', packetId: m.packetId });
    expect(inflight()).toBe(1);
    sub.send({ type: 'pubcomp', packetId: m.packetId! });
    sub.send({ type: 'pingreq' });
    await sub.expect('pingresp');
    expect(inflight()).toBe(0);
  });

  // [MQTT-4.4.0-1] on resume: PUBLISH again with DUP 1 where no PUBREC came, PUBREL where it did.
  it('re-sends PUBLISH with DUP 1, or PUBREL, when a persistent session resumes', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'one', { qos: 2 });
    pub.publish('t', 'two', { qos: 2 });
    const one = await sub.expect('publish');
    const two = await sub.expect('publish');
    sub.send({ type: 'pubrec', packetId: one.packetId!, reasonCode: 0 });
    expect((await sub.expect('pubrel')).packetId).toBe(one.packetId);
    sub.kill();

    const { client: back, connack } = await connect(broker, { clientId: 'sub', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    // [MQTT-4.3.3-6] once PUBREL went out, the PUBLISH is not sent again.
    expect(await back.expect('pubrel')).toMatchObject({ packetId: one.packetId });
    const again = await back.expect('publish');
    expect(again).toMatchObject({ packetId: two.packetId, dup: true, qos: 2 });
    expect(again.payload.toString()).toBe('two');
    back.send({ type: 'pubcomp', packetId: one.packetId!, reasonCode: 0 });
    await back.ack(again);
    back.send({ type: 'pingreq' });
    await back.expect('pingresp');
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });

  // 5.0 section 4.3.3: a PUBREC with a failure code ends the delivery; no PUBREL follows.
  it('5.0: a PUBREC with a failure code ends the delivery', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'x', { qos: 2 });
    const m = await sub.expect('publish');
    sub.send({ type: 'pubrec', packetId: m.packetId!, reasonCode: ReasonCode.UnspecifiedError });
    await sub.expectNothing();
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
  });

  // 3.1.1 [MQTT-3.8.4-6] (5.0 [MQTT-3.8.4-8], the same rule): min(published QoS, granted QoS).
  it('sends a QoS 2 message to a QoS 1 subscription as QoS 1, and a QoS 1 message to a QoS 2 one as QoS 1', async () => {
    broker = createBroker();
    const { client: s1 } = await connect(broker, { clientId: 's1' });
    await s1.subscribe('t', 1);
    const { client: s2 } = await connect(broker, { clientId: 's2' });
    await s2.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'two', { qos: 2 });
    await pub.expect('pubrec');
    expect((await s1.receive()).qos).toBe(1);
    expect((await s2.receive()).qos).toBe(2);
    pub.publish('t', 'one', { qos: 1 });
    expect((await s2.receive()).qos).toBe(1);
  });
});
