/**
 * MQTT 5.0 sections 3.1.0, 3.1.2 (protocol name and level, Clean Start, session state), 3.1.3
 * (client identifiers) and 3.1.4 (CONNECT actions: checks, CONNACK, what a refused CONNECT
 * leaves unprocessed), over the in-process packet client.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker, CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, tryConnect, until } from '../helpers/broker-client.js';

const v5 = (clientId: string, extra: Partial<ConnectPacket> = {}): Partial<ConnectPacket> => ({ protocolVersion: 5, clientId, ...extra });
/** A session that outlives its connection by a minute. */
const keep = (clientId: string, clean: boolean): Partial<ConnectPacket> => v5(clientId, { clean, properties: { sessionExpiryInterval: 60 } });

function start(ctx: TestContext, options: CreateBrokerOptions = {}): Broker {
  return brokerFor(ctx, options);
}

/** A 5.0 CONNECT's bytes with the protocol name and level replaced. */
function connectAs(name: string, level: number, clientId: string): Buffer {
  const bytes = encode({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId }, 5);
  expect(bytes.subarray(2, 8)).toEqual(Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54]));
  const head = Buffer.from([0, name.length, ...Buffer.from(name), level]);
  const body = Buffer.concat([head, bytes.subarray(9)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

describe('MQTT 5.0 packet order and protocol (3.1.0, 3.1.2.1, 3.1.2.2)', () => {
  // [MQTT-3.1.0-1] the first packet must be CONNECT: anything else is not answered, and closes.
  it('closes a connection whose first packet is not CONNECT, answering nothing and routing nothing [MQTT-3.1.0-1]', async (ctx) => {
    const broker = start(ctx);
    const { client: sub } = await connect(broker, v5('sub'));
    await sub.subscribe('#');
    for (const first of [
      encode({ type: 'publish', topic: 'early', payload: Buffer.from('x'), qos: 1, packetId: 1, retain: true, dup: false, properties: {} }, 5),
      encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] }, 5),
      encode({ type: 'pingreq' }, 5),
    ]) {
      const client = openClient(broker, 5);
      client.sendRaw(first);
      await client.expectClosed();
    }
    await sub.expectNothing();
    expect(broker.inspect.retainedCount()).toBe(0);
    expect(broker.inspect.sessionCount()).toBe(1);
  });

  // [MQTT-3.1.2-1] a protocol name other than "MQTT": the connection is closed (after a CONNACK the server may send).
  it('closes a connection whose protocol name is not MQTT [MQTT-3.1.2-1]', async (ctx) => {
    const broker = start(ctx);
    for (const name of ['MQTX', 'mqtt', 'MQIsdp']) {
      // Parsed as 3.1.1: the refusal is in the form every version reads (code 1, Unacceptable protocol version).
      const client = openClient(broker, 4);
      client.sendRaw(connectAs(name, 5, `name-${name}`));
      expect(await client.expect('connack')).toMatchObject({ sessionPresent: false, reasonCode: 1 });
      await client.expectClosed();
    }
    expect(broker.inspect.sessionCount()).toBe(0);
    const client = openClient(broker, 5);
    client.sendRaw(connectAs('MQTT', 5, 'the-real-one'));
    expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.Success);
  });

  // [MQTT-3.1.2-2] a level that is not 5 (nor another we serve): refused, then closed.
  it('closes a connection whose protocol level is not one it serves [MQTT-3.1.2-2]', async (ctx) => {
    const broker = start(ctx);
    for (const level of [0, 2, 6, 7, 0x7f]) {
      const client = openClient(broker, 4);
      client.sendRaw(connectAs('MQTT', level, `level-${level}`));
      expect(await client.expect('connack')).toMatchObject({ sessionPresent: false, reasonCode: 1 });
      await client.expectClosed();
    }
    expect(broker.inspect.sessionCount()).toBe(0);
  });
});

describe('MQTT 5.0 Clean Start and session state (3.1.2.4, 3.1.2.11.2)', () => {
  // [MQTT-3.1.2-4] [MQTT-3.1.4-4] Clean Start 1: the existing session (subscriptions, queue) is discarded.
  it('Clean Start 1 discards the existing session and starts a new one [MQTT-3.1.2-4] [MQTT-3.1.4-4]', async (ctx) => {
    const broker = start(ctx);
    const { client: first } = await connect(broker, keep('cs1', false));
    await first.subscribe('t', 1);
    first.kill();
    await until(() => broker.inspect.session('cs1')?.connected === false);
    const { client: pub } = await connect(broker, v5('pub'));
    pub.publish('t', 'queued', { qos: 1 });
    await pub.expect('puback');
    expect(broker.inspect.session('cs1')?.queued).toBe(1);
    const { client: again, connack } = await connect(broker, keep('cs1', true));
    expect(connack.sessionPresent).toBe(false);
    expect(broker.inspect.session('cs1')).toMatchObject({ subscriptions: [], queued: 0, inflight: 0 });
    await again.expectNothing();
    pub.publish('t', 'after', { qos: 1 });
    await pub.expect('puback');
    await again.expectNothing();
  });

  // [MQTT-3.1.2-5] Clean Start 0 with a session: resumed, subscriptions and queued messages included.
  it('Clean Start 0 resumes the existing session: Session Present 1, its subscriptions and what it queued [MQTT-3.1.2-5]', async (ctx) => {
    const broker = start(ctx);
    const { client: first } = await connect(broker, keep('cs0', false));
    await first.subscribe('t', 1);
    const { client: pub } = await connect(broker, v5('pub'));
    // One delivery left unacknowledged, one queued while away.
    pub.publish('t', 'in-flight', { qos: 1 });
    expect((await first.expect('publish')).payload.toString()).toBe('in-flight');
    first.kill();
    await until(() => broker.inspect.session('cs0')?.connected === false);
    pub.publish('t', 'queued', { qos: 1 });
    await pub.expect('puback');
    const { client: back, connack } = await connect(broker, keep('cs0', false));
    expect(connack.sessionPresent).toBe(true);
    const resent = await back.receive();
    expect([resent.payload.toString(), resent.dup]).toEqual(['in-flight', true]);
    expect((await back.receive()).payload.toString()).toBe('queued');
    pub.publish('t', 'live', { qos: 1 });
    expect((await back.receive()).payload.toString()).toBe('live');
  });

  // [MQTT-3.1.2-5] the resumed state includes the client's own QoS 2 publishes awaiting PUBREL:
  // re-sent after the reconnect, one is not delivered twice; its PUBREL is answered.
  it('Clean Start 0 resumes the incoming QoS 2 state: a PUBLISH re-sent after reconnecting is not delivered again [MQTT-3.1.2-5]', async (ctx) => {
    const broker = start(ctx);
    const { client: sub } = await connect(broker, v5('sub'));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, keep('q2', false));
    pub.publish('t', 'once', { qos: 2, packetId: 42 });
    expect(await pub.expect('pubrec')).toMatchObject({ packetId: 42, reasonCode: 0 });
    expect((await sub.receive()).payload.toString()).toBe('once');
    pub.kill();
    await until(() => broker.inspect.session('q2')?.connected === false);
    expect(broker.inspect.session('q2')?.incomingQos2).toBe(1);
    const { client: back, connack } = await connect(broker, keep('q2', false));
    expect(connack.sessionPresent).toBe(true);
    back.publish('t', 'once', { qos: 2, packetId: 42, dup: true });
    expect(await back.expect('pubrec')).toMatchObject({ packetId: 42, reasonCode: 0 });
    back.send({ type: 'pubrel', packetId: 42, reasonCode: 0 });
    expect(await back.expect('pubcomp')).toMatchObject({ packetId: 42, reasonCode: 0 });
    await sub.expectNothing();
    expect(broker.inspect.session('q2')?.incomingQos2).toBe(0);
  });

  // [MQTT-3.1.2-6] Clean Start 0 with no session: a new session, Session Present 0, kept as asked.
  it('Clean Start 0 without a session creates a new session [MQTT-3.1.2-6]', async (ctx) => {
    const broker = start(ctx);
    expect(broker.inspect.session('fresh')).toBeUndefined();
    const { client, connack } = await connect(broker, keep('fresh', false));
    expect(connack.sessionPresent).toBe(false);
    expect(broker.inspect.session('fresh')).toMatchObject({ connected: true, expiryInterval: 60, subscriptions: [] });
    await client.subscribe('t', 1);
    client.kill();
    await until(() => broker.inspect.session('fresh')?.connected === false);
    const { connack: back } = await connect(broker, keep('fresh', false));
    expect(back.sessionPresent).toBe(true);
    expect(broker.inspect.session('fresh')?.subscriptions.map((s) => s.topicFilter)).toEqual(['t']);
  });

  // [MQTT-3.1.2-23] expiry > 0: the session state is kept after the connection closes; 0: it is not.
  it('keeps the session state after the connection closes only while the Session Expiry Interval is above 0 [MQTT-3.1.2-23]', async (ctx) => {
    const broker = start(ctx);
    const { client: kept } = await connect(broker, keep('kept', true));
    await kept.subscribe('t', 1);
    const { client: gone } = await connect(broker, v5('gone', { clean: true }));
    await gone.subscribe('t', 1);
    kept.kill();
    await gone.disconnect();
    await until(() => broker.inspect.session('kept')?.connected === false);
    expect(broker.inspect.session('gone')).toBeUndefined();
    const { client: pub } = await connect(broker, v5('pub'));
    pub.publish('t', 'while-away', { qos: 1 });
    await pub.expect('puback');
    expect(broker.inspect.session('kept')?.queued).toBe(1);
    const { client: back, connack } = await connect(broker, keep('kept', false));
    expect(connack.sessionPresent).toBe(true);
    expect((await back.receive()).payload.toString()).toBe('while-away');
    const { connack: none } = await connect(broker, v5('gone', { clean: false }));
    expect(none.sessionPresent).toBe(false);
  });
});

describe('MQTT 5.0 client identifiers (3.1.3.1)', () => {
  // [MQTT-3.1.3-2] the client id names the session state: each id its own, the same id the same.
  it('keeps session state per client id [MQTT-3.1.3-2]', async (ctx) => {
    const broker = start(ctx);
    const { client: a } = await connect(broker, keep('id-a', true));
    await a.subscribe('only/a', 1);
    const { client: b } = await connect(broker, keep('id-b', true));
    await b.subscribe('only/b', 1);
    a.kill();
    b.kill();
    await until(() => broker.inspect.connectedCount() === 0);
    const { client: pub } = await connect(broker, v5('pub'));
    pub.publish('only/a', 'for-a', { qos: 1 });
    pub.publish('only/b', 'for-b', { qos: 1 });
    await pub.expect('puback');
    await pub.expect('puback');
    const { client: backB } = await connect(broker, keep('id-b', false));
    expect((await backB.receive()).payload.toString()).toBe('for-b');
    await backB.expectNothing();
    const { client: backA } = await connect(broker, keep('id-a', false));
    expect((await backA.receive()).payload.toString()).toBe('for-a');
    await backA.expectNothing();
  });

  // [MQTT-3.1.3-5] 1 to 23 bytes of 0-9a-zA-Z must be allowed.
  it('allows client ids of 1 to 23 characters from 0-9, a-z, A-Z [MQTT-3.1.3-5]', async (ctx) => {
    const broker = start(ctx);
    const chars = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const ids = ['0', 'Z', chars.slice(0, 23), chars.slice(23, 46), chars.slice(39, 62), 'a1B2c3D4e5F6g7H8i9J0kLm'];
    for (const id of ids) {
      expect(id.length).toBeLessThanOrEqual(23);
      const { connack } = await tryConnect(broker, v5(id));
      expect([id, connack.reasonCode]).toEqual([id, ReasonCode.Success]);
      expect(broker.inspect.session(id)?.connected).toBe(true);
    }
  });

  // [MQTT-3.1.3-6] a zero-length id gets a unique id; [MQTT-3.1.3-7] the CONNECT is processed as
  // that id's, and CONNACK carries it as Assigned Client Identifier.
  it('assigns a unique client id to an empty one, returns it, and treats the connection as that id [MQTT-3.1.3-6] [MQTT-3.1.3-7]', async (ctx) => {
    const broker = start(ctx);
    const { client, connack } = await connect(broker, v5('', { clean: false, properties: { sessionExpiryInterval: 60 } }));
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^.+$/);
    expect(broker.inspect.session(assigned!)).toMatchObject({ connected: true, expiryInterval: 60 });
    const { connack: other } = await connect(broker, v5(''));
    expect(other.properties?.assignedClientIdentifier).toMatch(/^.+$/);
    expect(other.properties?.assignedClientIdentifier).not.toBe(assigned);
    await client.subscribe('t', 1);
    client.kill();
    await until(() => broker.inspect.session(assigned!)?.connected === false);
    // The assigned id is a client id like any other: its session resumes under it.
    const { connack: back } = await connect(broker, keep(assigned!, false));
    expect(back.sessionPresent).toBe(true);
    expect(back.properties?.assignedClientIdentifier).toBeUndefined();
    expect(broker.inspect.session(assigned!)?.subscriptions.map((s) => s.topicFilter)).toEqual(['t']);
  });

  // [MQTT-3.1.3-8] a client id the server rejects: CONNACK 0x85 (which it may send), then the close.
  it('answers a rejected client id with CONNACK 0x85 and closes [MQTT-3.1.3-8]', async (ctx) => {
    const broker = start(ctx, { hooks: { authenticate: (c) => (c.clientId.startsWith('bad-') ? ReasonCode.ClientIdentifierNotValid : true) } });
    const { client, connack } = await tryConnect(broker, v5('bad-id'));
    expect(connack).toMatchObject({ sessionPresent: false, reasonCode: ReasonCode.ClientIdentifierNotValid });
    await client.expectClosed();
    expect(broker.inspect.session('bad-id')).toBeUndefined();
    expect((await tryConnect(broker, v5('good-id'))).connack.reasonCode).toBe(ReasonCode.Success);
  });
});

describe('MQTT 5.0 CONNECT actions (3.1.4)', () => {
  // [MQTT-3.1.4-2] further checks (authentication, authorization of the will) that fail: the connection is closed.
  it('closes the connection when authentication or the will authorization fails [MQTT-3.1.4-2]', async (ctx) => {
    const broker = start(ctx, {
      hooks: {
        authenticate: (_c, username) => username !== 'intruder',
        authorizePublish: (_c, topic) => topic !== 'forbidden',
      },
    });
    const { client: a, connack: ca } = await tryConnect(broker, v5('a', { username: 'intruder' }));
    expect(ca.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    await a.expectClosed();
    const { client: b, connack: cb } = await tryConnect(broker, v5('b', { will: { topic: 'forbidden', payload: Buffer.from('w'), qos: 0, retain: false } }));
    expect(cb.reasonCode).toBe(ReasonCode.NotAuthorized);
    await b.expectClosed();
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-3.1.4-5] an accepted CONNECT is acknowledged with CONNACK 0x00 Success.
  it('acknowledges an accepted CONNECT with CONNACK reason code 0x00 [MQTT-3.1.4-5]', async (ctx) => {
    const broker = start(ctx);
    const client = openClient(broker, 5);
    client.send({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'ok' });
    const connack = await client.expect('connack');
    expect(connack).toMatchObject({ type: 'connack', sessionPresent: false, reasonCode: 0x00 });
    client.send({ type: 'pingreq' });
    await client.expect('pingresp');
  });

  // [MQTT-3.1.4-6] after a refused CONNECT nothing the client sent behind it is processed: no
  // PUBLISH routed or retained, no SUBSCRIBE answered, no PINGREQ answered. The refusals: a
  // synchronous hook, an asynchronous one, one that fails, and the broker's own check of the will.
  for (const [kind, options, extra] of [
    ['a synchronous authenticate hook', { hooks: { authenticate: (c: { clientId: string }) => c.clientId !== 'refused' } }, {}],
    ['an asynchronous authenticate hook', { hooks: { authenticate: async (c: { clientId: string }) => c.clientId !== 'refused' } }, {}],
    ['an authenticate hook that fails (rejects)', { hooks: { authenticate: (c: { clientId: string }) => (c.clientId === 'refused' ? Promise.reject(new Error('user database down')) : true) } }, {}],
    ['the will check', {}, { will: { topic: 'bad/#', payload: Buffer.from('w'), qos: 0, retain: false } }],
  ] as [string, CreateBrokerOptions, Partial<ConnectPacket>][]) {
    it(`processes nothing sent after a CONNECT that ${kind} refuses [MQTT-3.1.4-6]`, async (ctx) => {
      const broker = start(ctx, options);
      const { client: sub } = await connect(broker, v5('sub'));
      await sub.subscribe('#', 1);
      const client = openClient(broker, 5);
      client.sendRaw(
        Buffer.concat([
          encode({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'refused', ...extra }, 5),
          encode({ type: 'publish', topic: 'sneaky', payload: Buffer.from('x'), qos: 1, packetId: 1, retain: true, dup: false }, 5),
          encode({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: '#', qos: 0 }] }, 5),
          encode({ type: 'pingreq' }, 5),
        ]),
      );
      const connack = await client.expect('connack');
      expect(connack.reasonCode).toBeGreaterThanOrEqual(0x80);
      // Nothing else comes back: no PUBACK, SUBACK or PINGRESP.
      await client.expectClosed();
      await sub.expectNothing();
      expect(broker.inspect.retainedCount()).toBe(0);
      expect(broker.inspect.session('refused')).toBeUndefined();
      expect(broker.inspect.subscriptionCount()).toBe(1);
    });
  }
});
