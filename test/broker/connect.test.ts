/**
 * CONNECT and CONNACK: ordering, client identifiers, protocol versions, authentication,
 * takeover and the 5.0 CONNACK properties.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { connect, openClient, tryConnect } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

function start(options: CreateBrokerOptions = {}): Broker {
  broker = createBroker(options);
  return broker;
}

describe('packet order', () => {
  // [MQTT-3.1.0-1] the first packet from a client must be CONNECT.
  it('closes a connection whose first packet is not CONNECT, without a CONNACK', async () => {
    start();
    const client = openClient(broker);
    client.send({ type: 'pingreq' });
    await client.expectClosed();
    expect(client.received).toEqual([]);
  });

  // [MQTT-3.1.0-1]
  it('closes a connection that starts with PUBLISH and routes nothing', async () => {
    start();
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#');
    const client = openClient(broker);
    client.publish('t', 'x');
    await client.expectClosed();
    await sub.expectNothing();
  });

  // [MQTT-3.1.0-2] a second CONNECT is a Protocol Error: the 3.1.1 connection is closed.
  it('3.1.1: a second CONNECT closes the connection', async () => {
    start();
    const { client } = await connect(broker);
    client.send({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c' });
    await client.expectClosed();
    expect(client.received).toEqual([]);
  });

  // [MQTT-3.1.0-2] in 5.0 with DISCONNECT 0x82 first.
  it('5.0: a second CONNECT gets DISCONNECT 0x82 and a close', async () => {
    start();
    const { client } = await connect(broker, { protocolVersion: 5 });
    client.send({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' });
    expect((await client.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await client.expectClosed();
  });
});

describe('client identifier', () => {
  // [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16] an empty id is assigned one, returned in CONNACK.
  it('5.0: an empty client id gets an Assigned Client Identifier', async () => {
    start();
    const { connack } = await connect(broker, { protocolVersion: 5, clientId: '' });
    expect(connack.reasonCode).toBe(0);
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/.+/);
    expect((broker.inspect.session(assigned!) !== undefined)).toBe(true);
    const { connack: second } = await connect(broker, { protocolVersion: 5, clientId: '' });
    expect(second.properties?.assignedClientIdentifier).not.toBe(assigned);
  });

  // 5.0 drops 3.1.1's clean-session condition: Clean Start 0 with an empty id is allowed too.
  it('5.0: an empty client id with clean start 0 is assigned one as well', async () => {
    start();
    const { connack } = await connect(broker, { protocolVersion: 5, clientId: '', clean: false });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
  });

  // [MQTT-3.1.3-6] 3.1.1 accepts an empty id with clean session 1.
  it('3.1.1: an empty client id with clean session 1 is accepted', async () => {
    start();
    const { client, connack } = await connect(broker, { clientId: '', clean: true });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    expect((await client.subscribe('a')).reasonCodes).toEqual([0]);
  });

  // [MQTT-3.1.3-8] an empty id with clean session 0: CONNACK 0x02 identifier rejected, then close.
  it('3.1.1: an empty client id with clean session 0 is rejected with 0x02', async () => {
    start();
    const { client, connack } = await tryConnect(broker, { clientId: '', clean: false });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 2 });
    await client.expectClosed();
    expect(broker.inspect.sessionCount()).toBe(0);
  });
});

describe('will checks at CONNECT', () => {
  // [MQTT-3.2.2-12] a will QoS above what the server supports: CONNACK 0x9B.
  it('5.0: refuses a will QoS above maxQoS with 0x9B', async () => {
    start({ maxQoS: 1 });
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false } });
    expect(connack.reasonCode).toBe(ReasonCode.QoSNotSupported);
    await client.expectClosed();
  });

  // [MQTT-3.2.2-13] a retained will when Retain Available is 0: CONNACK 0x9A.
  it('5.0: refuses a retained will when retain is not available with 0x9A', async () => {
    start({ retainAvailable: false });
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true } });
    expect(connack.reasonCode).toBe(ReasonCode.RetainNotSupported);
    await client.expectClosed();
  });

  // 5.0 section 3.1.3.3: the will topic is a topic name: no wildcards. (5.0's 3.1.3-11 is its UTF-8 rule,
  // test/conformance/connect-5-wire.test.ts.)
  it('5.0: refuses a will topic with wildcards with 0x90', async () => {
    start();
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, will: { topic: 'w/#', payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(connack.reasonCode).toBe(ReasonCode.TopicNameInvalid);
    await client.expectClosed();
  });
});

describe('protocol versions', () => {
  // MQTT 3.1 (protocol name MQIsdp, level 3) on the same listener as 3.1.1 and 5.0.
  it('3.1: connects, subscribes and receives from 3.1.1 and 5.0 publishers', async () => {
    start();
    const { client: sub, connack } = await connect(broker, { protocolVersion: 3, clientId: 'old' });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    expect((await sub.subscribe('v/+', 1)).reasonCodes).toEqual([1]);
    const { client: p4 } = await connect(broker, { clientId: 'p4' });
    const { client: p5 } = await connect(broker, { clientId: 'p5', protocolVersion: 5 });
    p4.publish('v/4', 'four', { qos: 1 });
    expect((await sub.receive()).payload.toString()).toBe('four');
    p5.publish('v/5', 'five', { qos: 1, properties: { userProperties: [['k', 'v']] } });
    const m = await sub.receive();
    expect(m).toMatchObject({ topic: 'v/5', qos: 1 });
    expect(m.properties).toBeUndefined();
  });

  // [MQTT-3.1.2-2] an unsupported protocol level: CONNACK 0x01 (the form every version reads), then close.
  it('answers an unsupported protocol level with CONNACK code 1 and closes', async () => {
    start();
    const client = openClient(broker);
    const bytes = encode({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'x' }, 4);
    // Fixed header (2) + protocol name length (2) + 'MQTT' (4): the level byte follows.
    expect(bytes[8]).toBe(4);
    bytes[8] = 6;
    client.sendRaw(bytes);
    expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 1 });
    await client.expectClosed();
  });
});

describe('authentication hook', () => {
  // [MQTT-4.12.0-1] without an enhancedAuth hook no method is supported: naming one is refused, not ignored.
  it('5.0: a CONNECT naming an Authentication Method is CONNACK 0x8C and a close; authenticate is never asked', async () => {
    const asked: string[] = [];
    start({
      hooks: {
        authenticate: (c) => {
          asked.push(c.clientId);
          return true;
        },
      },
    });
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, clientId: 'scram', properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('client-first') } });
    expect(connack).toMatchObject({ sessionPresent: false, reasonCode: ReasonCode.BadAuthenticationMethod });
    await client.expectClosed();
    expect(asked).toEqual([]);
    expect(broker.inspect.sessionCount()).toBe(0);
    // Without a method the same client is let in.
    const { connack: ok } = await connect(broker, { protocolVersion: 5, clientId: 'scram' });
    expect(ok.reasonCode).toBe(0);
  });

  // 3.1.1 section 3.2.2.3: 4 bad user name or password.
  it('3.1.1: a refusal (false) is CONNACK 4 and a close', async () => {
    start({ hooks: { authenticate: (_c, username, password) => username === 'u' && password?.toString() === 'right' } });
    const { client, connack } = await tryConnect(broker, { clientId: 'x', username: 'u', password: Buffer.from('wrong') });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 4 });
    await client.expectClosed();
    const { connack: ok } = await connect(broker, { clientId: 'y', username: 'u', password: Buffer.from('right') });
    expect(ok.reasonCode).toBe(0);
  });

  // 3.1.1 section 3.2.2.3: 5 not authorized.
  it('3.1.1: a refusal with 0x87 is CONNACK 5', async () => {
    start({ hooks: { authenticate: () => ReasonCode.NotAuthorized } });
    const { client, connack } = await tryConnect(broker);
    expect(connack.reasonCode).toBe(5);
    await client.expectClosed();
  });

  // 5.0 section 3.2.2.2: 0x86 bad user name or password, 0x87 not authorized.
  it('5.0: refusals are CONNACK 0x86 and 0x87', async () => {
    start({ hooks: { authenticate: (c) => (c.clientId === 'bad' ? false : ReasonCode.NotAuthorized) } });
    const { client: a, connack: ca } = await tryConnect(broker, { protocolVersion: 5, clientId: 'bad' });
    expect(ca).toMatchObject({ sessionPresent: false, reasonCode: ReasonCode.BadUserNameOrPassword });
    await a.expectClosed();
    const { client: b, connack: cb } = await tryConnect(broker, { protocolVersion: 5, clientId: 'other' });
    expect(cb.reasonCode).toBe(ReasonCode.NotAuthorized);
    await b.expectClosed();
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // A refused connection has no session and no will: nothing is published for it.
  it('publishes no will for a refused connection', async () => {
    start({ hooks: { authenticate: (c) => c.clientId !== 'refused' } });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('will/#');
    const { client, connack } = await tryConnect(broker, { clientId: 'refused', will: { topic: 'will/x', payload: Buffer.from('w'), qos: 0, retain: false } });
    expect(connack.reasonCode).toBe(4);
    await client.expectClosed();
    await sub.expectNothing(200);
  });

  it('waits for an asynchronous hook and then handles packets sent behind CONNECT, in order', async () => {
    const seen: string[] = [];
    start({
      hooks: {
        authenticate: async (c) => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          seen.push(c.clientId);
          return c.clientId !== 'no';
        },
      },
    });
    const client = openClient(broker, 5);
    // CONNECT, SUBSCRIBE and PINGREQ in one write: the last two wait for the hook.
    client.sendRaw(
      Buffer.concat([
        encode({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'yes' }, 5),
        encode({ type: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 'a', qos: 1 }] }, 5),
        encode({ type: 'pingreq' }, 5),
      ]),
    );
    expect((await client.expect('connack')).reasonCode).toBe(0);
    expect(await client.expect('suback')).toMatchObject({ packetId: 3, reasonCodes: [1] });
    await client.expect('pingresp');
    const { client: refused, connack } = await tryConnect(broker, { protocolVersion: 5, clientId: 'no' });
    expect(connack.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    await refused.expectClosed();
    expect(seen).toEqual(['yes', 'no']);
  });

  // [MQTT-3.1.4-5] nothing sent after a refused CONNECT is processed.
  it.each([
    ['synchronous', (c: { clientId: string }) => c.clientId !== 'refused'],
    ['asynchronous', async (c: { clientId: string }) => c.clientId !== 'refused'],
  ])('ignores packets pipelined behind a CONNECT the %s hook refuses', async (_kind, authenticate) => {
    start({ hooks: { authenticate } });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#');
    const client = openClient(broker);
    client.sendRaw(
      Buffer.concat([
        encode({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'refused' }, 4),
        encode({ type: 'publish', topic: 'sneaky', payload: Buffer.from('x'), qos: 0, retain: true, dup: false }, 4),
      ]),
    );
    expect((await client.expect('connack')).reasonCode).toBe(4);
    await client.expectClosed();
    await sub.expectNothing();
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  it('gives the hook the user name and password', async () => {
    const calls: [string, string | undefined, string | undefined][] = [];
    start({
      hooks: {
        authenticate: (c, username, password) => {
          calls.push([c.clientId, username, password?.toString()]);
          return true;
        },
      },
    });
    await connect(broker, { clientId: 'a', username: 'alice', password: Buffer.from('pw') });
    await connect(broker, { clientId: 'b', protocolVersion: 5, password: Buffer.from('only') });
    expect(calls).toEqual([
      ['a', 'alice', 'pw'],
      ['b', undefined, 'only'],
    ]);
  });
});

describe('session takeover', () => {
  // 5.0 [MQTT-3.1.4-3] a second connection with the same client id closes the first, saying why with 0x8E.
  it('5.0: the old connection gets DISCONNECT 0x8E and is closed', async () => {
    start();
    const { client: first } = await connect(broker, { protocolVersion: 5, clientId: 'same' });
    const { client: second, connack } = await connect(broker, { protocolVersion: 5, clientId: 'same' });
    expect(connack.reasonCode).toBe(0);
    expect((await first.expect('disconnect')).reasonCode).toBe(ReasonCode.SessionTakenOver);
    await first.expectClosed();
    second.send({ type: 'pingreq' });
    await second.expect('pingresp');
  });

  // 3.1.1 [MQTT-3.1.4-2]: there is no server DISCONNECT; the old connection is just closed.
  it('3.1.1: the old connection is closed without a packet, the new one works', async () => {
    start();
    const { client: first } = await connect(broker, { clientId: 'same', clean: false });
    await first.subscribe('t', 1);
    const { client: second, connack } = await connect(broker, { clientId: 'same', clean: false });
    expect(connack).toEqual({ type: 'connack', sessionPresent: true, reasonCode: 0 });
    await first.expectClosed();
    expect(first.received).toEqual([]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'after', { qos: 1 });
    expect((await second.receive()).payload.toString()).toBe('after');
  });
});

describe('CONNACK properties (5.0 section 3.2.2.3)', () => {
  it('announces what the broker offers by default', async () => {
    start();
    const { connack } = await connect(broker, { protocolVersion: 5 });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({
      retainAvailable: 1,
      wildcardSubscriptionAvailable: 1,
      subscriptionIdentifiersAvailable: 1,
      sharedSubscriptionAvailable: 1,
      topicAliasMaximum: 65_535,
      receiveMaximum: 65_535,
    });
    // [MQTT-3.2.2-9] Maximum QoS is only sent when it is below 2; no keep-alive override by default.
    expect(connack.properties?.maximumQoS).toBeUndefined();
    expect(connack.properties?.serverKeepAlive).toBeUndefined();
    expect(connack.properties?.assignedClientIdentifier).toBeUndefined();
  });

  // [MQTT-3.2.2-9] a server without QoS 2 (or 1) says so.
  it('announces the configured limits', async () => {
    start({ maxQoS: 1, retainAvailable: false, topicAliasMaximum: 5, receiveMaximum: 20, maxPacketSize: 4096 });
    const { connack } = await connect(broker, { protocolVersion: 5 });
    expect(connack.properties).toMatchObject({
      maximumQoS: 1,
      retainAvailable: 0,
      topicAliasMaximum: 5,
      receiveMaximum: 20,
      maximumPacketSize: 4096,
    });
  });

  it('sends no properties to 3.1.1 clients', async () => {
    start({ maxQoS: 1 });
    const { connack } = await connect(broker);
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
  });

  // [MQTT-3.2.2-21] Server Keep Alive replaces a keep-alive above the maximum, or none.
  it('sends Server Keep Alive when the client asks for more than maxKeepalive', async () => {
    start({ maxKeepalive: 30 });
    const { connack: high } = await connect(broker, { protocolVersion: 5, clientId: 'high', keepalive: 60 });
    expect(high.properties?.serverKeepAlive).toBe(30);
    const { connack: none } = await connect(broker, { protocolVersion: 5, clientId: 'none', keepalive: 0 });
    expect(none.properties?.serverKeepAlive).toBe(30);
    // [MQTT-3.2.2-22] a keep-alive within the limit stands: no Server Keep Alive.
    const { connack: low } = await connect(broker, { protocolVersion: 5, clientId: 'low', keepalive: 10 });
    expect(low.properties?.serverKeepAlive).toBeUndefined();
  });
});

describe('after a client leaves', () => {
  /** Connects, leaves with DISCONNECT, closes its end; returns a weak reference to the broker's connection. */
  async function connectAndLeave(clientId: string): Promise<WeakRef<object>> {
    const { client } = await connect(broker, { clientId });
    const conn = broker.inspect.connections().find((c) => c.clientId === clientId);
    if (conn === undefined) throw new Error(`no connection for ${clientId}`);
    const ref = new WeakRef(conn);
    client.send({ type: 'disconnect' });
    await client.expectClosed();
    client.stream.destroy();
    return ref;
  }

  // Brokers serve many one-shot clients (mosquitto_pub, mqt pub, scripts): a closed connection
  // and its session must be garbage at once, not held for the second the broker gives a slow
  // peer to read its last packet before it cuts the socket.
  it('holds nothing of a connection that has closed', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    start();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 20; i++) refs.push(await connectAndLeave(`leaver-${i}`));
    expect(broker.inspect.connectionCount()).toBe(0);
    expect(broker.inspect.sessionCount()).toBe(0);
    // WeakRefs hold their targets until the current job ends; the closes finish on setImmediate.
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });
});
