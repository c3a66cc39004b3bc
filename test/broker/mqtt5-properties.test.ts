/**
 * 5.0 properties on the way through the broker, Request Problem Information, and the
 * broker's own DISCONNECT with a reason code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { Packet, Properties } from '../../src/core/codec/types.js';
import { connect, tryConnect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

describe('forwarded properties', () => {
  // [MQTT-3.3.2-4] payload format indicator, [MQTT-3.3.2-15] response topic, [MQTT-3.3.2-16] correlation data,
  // [MQTT-3.3.2-17] [MQTT-3.3.2-18] user properties in order, [MQTT-3.3.2-20] content type: all unaltered.
  it('forwards application properties unchanged, to every subscriber and on every QoS', async () => {
    broker = createBroker();
    const props: Properties = {
      payloadFormatIndicator: 1,
      contentType: 'application/json',
      responseTopic: 'reply/to/me',
      correlationData: Buffer.from([0, 1, 2, 255]),
      userProperties: [
        ['b', '2'],
        ['a', '1'],
        ['b', 'again'],
      ],
    };
    const { client: s0 } = await connect(broker, { clientId: 's0', protocolVersion: 5 });
    await s0.subscribe('t', 0);
    const { client: s2 } = await connect(broker, { clientId: 's2', protocolVersion: 5 });
    await s2.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', '{}', { qos: 2, properties: props });
    expect((await s0.expect('publish')).properties).toEqual(props);
    expect((await s2.receive()).properties).toEqual(props);
  });

  it('keeps them for a queued message and a retained one', async () => {
    broker = createBroker();
    const props: Properties = { contentType: 'text/plain', userProperties: [['k', 'v']] };
    const away = { clientId: 'away', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
    const { client: sub } = await connect(broker, away);
    await sub.subscribe('t', 1);
    sub.kill();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { qos: 1, retain: true, properties: props });
    await pub.expect('puback');
    const { client: back } = await connect(broker, away);
    expect((await back.receive()).properties).toEqual(props);
    const { client: late } = await connect(broker, { clientId: 'late', protocolVersion: 5 });
    await late.subscribe('t');
    expect((await late.expect('publish')).properties).toEqual(props);
  });
});

describe('Request Problem Information', () => {
  // [MQTT-3.1.2-29] with 0 the broker may still explain on DISCONNECT; ours stays silent, as asked.
  it('leaves the reason string out when the client asks for no problem information', async () => {
    broker = createBroker();
    const { client: quiet } = await connect(broker, { clientId: 'quiet', protocolVersion: 5, properties: { requestProblemInformation: 0 } });
    quiet.publish('bad/#', 'x');
    const d = await quiet.expect('disconnect');
    expect(d.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    expect(d.properties?.reasonString).toBeUndefined();
  });

  it('sends a reason string by default', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { clientId: 'talk', protocolVersion: 5 });
    client.publish('bad/#', 'x');
    const d = await client.expect('disconnect');
    expect(d.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    expect(d.properties?.reasonString).toMatch(/.+/);
  });

  it('leaves the reason string out of a refusing CONNACK too', async () => {
    broker = createBroker({ hooks: { authenticate: () => false } });
    const { connack: quiet } = await tryConnect(broker, { clientId: 'q', protocolVersion: 5, properties: { requestProblemInformation: 0 } });
    expect(quiet.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    expect(quiet.properties?.reasonString).toBeUndefined();
    const { connack: talk } = await tryConnect(broker, { clientId: 't', protocolVersion: 5 });
    expect(talk.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    expect(talk.properties?.reasonString).toMatch(/.+/);
  });
});

describe('reason strings and the client’s Maximum Packet Size', () => {
  // [MQTT-3.14.2-3] no Reason String that would make the DISCONNECT larger than the client accepts.
  it('leaves the reason string out of a DISCONNECT that would exceed it', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { clientId: 'tiny', protocolVersion: 5, properties: { maximumPacketSize: 16 } });
    client.publish('bad/#', 'x');
    const d = await client.expect('disconnect');
    expect(d.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    expect(d.properties?.reasonString).toBeUndefined();
  });

  // [MQTT-3.2.2-19] the same for a CONNACK that refuses the connection.
  it('leaves the reason string out of a refusing CONNACK that would exceed it', async () => {
    broker = createBroker({ hooks: { authenticate: () => false } });
    const { connack } = await tryConnect(broker, { clientId: 'tiny', protocolVersion: 5, properties: { maximumPacketSize: 16 } });
    expect(connack.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    expect(connack.properties?.reasonString).toBeUndefined();
  });

  it('keeps the reason string when the packet still fits', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { clientId: 'roomy', protocolVersion: 5, properties: { maximumPacketSize: 1000 } });
    client.publish('bad/#', 'x');
    expect((await client.expect('disconnect')).properties?.reasonString).toMatch(/.+/);
  });
});

describe('server DISCONNECT', () => {
  // 5.0 section 4.13.2: on a Protocol Error the server sends DISCONNECT with the reason, then closes
  // [MQTT-4.13.1-1].
  it.each<[string, Packet, number]>([
    ['AUTH without an authentication method', { type: 'auth', reasonCode: 0 }, ReasonCode.ProtocolError],
    ['a CONNACK from the client', { type: 'connack', sessionPresent: false, reasonCode: 0 }, ReasonCode.ProtocolError],
    ['a SUBACK from the client', { type: 'suback', packetId: 1, reasonCodes: [0] }, ReasonCode.ProtocolError],
    ['PUBLISH QoS 2 above maxQoS 1', { type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 2, retain: false, dup: false, packetId: 1 }, ReasonCode.QoSNotSupported],
  ])('answers %s with DISCONNECT and the reason code', async (_name, packet, code) => {
    broker = createBroker({ maxQoS: 1 });
    const { client } = await connect(broker, { protocolVersion: 5 });
    client.send(packet);
    expect((await client.expect('disconnect')).reasonCode).toBe(code);
    await client.expectClosed();
  });

  // [MQTT-3.3.4-6] a PUBLISH from a client must not carry a Subscription Identifier.
  it('treats a client PUBLISH with a subscription identifier as a Protocol Error', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    const { client } = await connect(broker, { clientId: 'x', protocolVersion: 5 });
    client.publish('t', 'x', { properties: { subscriptionIdentifiers: [3] } });
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await sub.expectNothing();
  });

  // [MQTT-3.3.2-14] the Response Topic is a topic name: wildcards are a Protocol Error.
  it('treats a Response Topic with wildcards as a Protocol Error', async () => {
    broker = createBroker();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t');
    const { client } = await connect(broker, { clientId: 'x', protocolVersion: 5 });
    client.publish('t', 'x', { properties: { responseTopic: 'replies/#' } });
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await sub.expectNothing();
  });

  // 5.0 section 3.14.2.2.2: a Session Expiry Interval of 0 in CONNECT may not become non-zero at
  // DISCONNECT (a sentence with no statement number). The Protocol Error closes the connection
  // after DISCONNECT 0x82 [MQTT-4.13.1-1]; no normal DISCONNECT, so the will goes out [MQTT-3.1.2-8].
  it('treats DISCONNECT raising the session expiry from 0 as a Protocol Error', async () => {
    broker = createBroker();
    const { client: watcher } = await connect(broker, { clientId: 'w' });
    await watcher.subscribe('will');
    const { client } = await connect(broker, {
      clientId: 'x',
      protocolVersion: 5,
      will: { topic: 'will', payload: Buffer.from('w'), qos: 0, retain: false },
    });
    client.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await client.expectClosed();
    // Not a normal disconnection: the will goes out, and the session did not survive.
    expect((await watcher.expect('publish')).topic).toBe('will');
    expect((broker.inspect.session('x') !== undefined)).toBe(false);
  });

  it('accepts DISCONNECT changing a non-zero session expiry', async () => {
    broker = createBroker();
    const { client } = await connect(broker, { clientId: 'x', protocolVersion: 5, properties: { sessionExpiryInterval: 10 } });
    await client.disconnect({ reasonCode: 0, properties: { sessionExpiryInterval: 3600 } });
    expect(broker.inspect.session('x')?.expiryInterval).toBe(3600);
  });

  it('sends DISCONNECT 0x8B to 5.0 clients when the broker closes', async () => {
    broker = createBroker();
    const { client: c5 } = await connect(broker, { clientId: 'a', protocolVersion: 5 });
    const { client: c4 } = await connect(broker, { clientId: 'b' });
    await broker.close();
    expect((await c5.expect('disconnect')).reasonCode).toBe(ReasonCode.ServerShuttingDown);
    await c5.expectClosed();
    await c4.expectClosed();
    expect(c4.received).toEqual([]);
  });
});
