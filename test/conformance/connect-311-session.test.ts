/**
 * MQTT 3.1.1 sessions as CONNECT sets them up: Clean Session 0 resumes or creates a session
 * and keeps it (3.1.2-4, -5), Clean Session 1 discards it and lasts as long as the connection
 * (3.1.2-6), retained messages outlive sessions (3.1.2-7), client identifiers (3.1.3-2, -5 … -9)
 * and what CONNECT does to an existing connection and session (3.1.4-2, -3). Each rule for
 * MQTT 3.1 (MQIsdp) as well as 3.1.1, where 3.1 has it.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect, tryConnect, until } from '../helpers/broker-client.js';

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1', 3],
  ['3.1.1', 4],
];

describe('3.1.1 section 3.1.2.4: Clean Session', () => {
  for (const [name, v] of VERSIONS) {
    // [MQTT-3.1.2-4] Clean Session 0 with no session for the id: a new one is created (session
    // present 0); it is kept after the connection ends, gracefully or not, and the next Clean
    // Session 0 CONNECT resumes it: session present 1, the subscription still there.
    it(`MQTT ${name}: clean session 0 creates a session, keeps it after the connection and resumes it`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client, connack } = await connect(broker, { protocolVersion: v, clientId: 'keep', clean: false });
      expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      await client.subscribe('s/+', 1);
      await client.disconnect();
      expect(broker.inspect.session('keep')).toBeDefined();
      const { client: again, connack: resumed } = await connect(broker, { protocolVersion: v, clientId: 'keep', clean: false });
      expect(resumed).toEqual({ type: 'connack', sessionPresent: true, reasonCode: 0 });
      // Not subscribed again: the session's subscription delivers.
      const { client: pub } = await connect(broker, { clientId: 'pub' });
      pub.publish('s/1', 'one', { qos: 1 });
      expect((await again.receive()).payload.toString()).toBe('one');
      // A connection lost without DISCONNECT keeps the session too.
      again.kill();
      await again.closedPromise;
      const { client: third, connack: afterKill } = await connect(broker, { protocolVersion: v, clientId: 'keep', clean: false });
      expect(afterKill.sessionPresent).toBe(true);
      pub.publish('s/2', 'two', { qos: 1 });
      expect((await third.receive()).payload.toString()).toBe('two');
    });

    // [MQTT-3.1.2-5] while a Clean Session 0 client is away, QoS 1 and QoS 2 messages matching its
    // subscriptions are stored in its session, and delivered when it comes back.
    it(`MQTT ${name}: stores QoS 1 and QoS 2 messages for a disconnected clean session 0 client`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { protocolVersion: v, clientId: 'away', clean: false });
      await client.subscribe([{ topicFilter: 'q1', qos: 1 }, { topicFilter: 'q2', qos: 2 }]);
      await client.disconnect();
      const { client: pub } = await connect(broker, { clientId: 'pub' });
      pub.publish('q1', 'first', { qos: 1 });
      await pub.expect('puback');
      pub.publish('q2', 'second', { qos: 2 });
      const rec = await pub.expect('pubrec');
      pub.send({ type: 'pubrel', packetId: rec.packetId });
      await pub.expect('pubcomp');
      pub.publish('other', 'not subscribed', { qos: 1 });
      await pub.expect('puback');
      expect(broker.inspect.session('away')?.queued).toBe(2);
      const { client: back, connack } = await connect(broker, { protocolVersion: v, clientId: 'away', clean: false });
      expect(connack.sessionPresent).toBe(true);
      const a = await back.receive();
      const b = await back.receive();
      expect([a.topic, a.qos, a.payload.toString()]).toEqual(['q1', 1, 'first']);
      expect([b.topic, b.qos, b.payload.toString()]).toEqual(['q2', 2, 'second']);
      await back.expectNothing(50);
    });

    // [MQTT-3.1.2-6] Clean Session 1 discards any previous session and starts a new one (session
    // present 0, no subscription, nothing of the queue); that session lasts as long as the
    // connection, and nothing of it is reused by a later session.
    it(`MQTT ${name}: clean session 1 discards the previous session, and its own ends with the connection`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { protocolVersion: v, clientId: 'cs', clean: false });
      await client.subscribe('old', 1);
      await client.disconnect();
      const { client: pub } = await connect(broker, { clientId: 'pub' });
      pub.publish('old', 'queued', { qos: 1 });
      await pub.expect('puback');
      const { client: clean, connack } = await connect(broker, { protocolVersion: v, clientId: 'cs', clean: true });
      expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      await clean.expectNothing(50); // the queued message went with the old session
      pub.publish('old', 'after', { qos: 1 });
      await pub.expect('puback');
      await clean.expectNothing(50); // and so did its subscription
      await clean.subscribe('new', 1);
      clean.kill();
      await clean.closedPromise;
      await until(() => broker.inspect.session('cs') === undefined, 2000, "the clean session's end with its connection");
      // A Clean Session 0 CONNECT now finds nothing to resume: no 'new' subscription either.
      const { client: later, connack: fresh } = await connect(broker, { protocolVersion: v, clientId: 'cs', clean: false });
      expect(fresh.sessionPresent).toBe(false);
      pub.publish('new', 'x', { qos: 1 });
      await pub.expect('puback');
      await later.expectNothing(50);
    });

    // [MQTT-3.1.2-4] the resumed session holds the server's half of an unfinished QoS 2 receipt
    // (the packet id answered with PUBREC): the re-sent PUBLISH is not delivered again.
    // [MQTT-3.1.2-6] a Clean Session 1 session reuses none of it: the same packet id is a new message.
    it(`MQTT ${name}: an unfinished incoming QoS 2 id is kept by clean session 0 and forgotten by clean session 1`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client: watcher } = await connect(broker, { clientId: 'watcher' });
      await watcher.subscribe('q2', 0);
      const { client } = await connect(broker, { protocolVersion: v, clientId: 'sender', clean: false });
      client.publish('q2', 'first', { qos: 2, packetId: 5 });
      expect(await client.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 5 });
      expect((await watcher.expect('publish')).payload.toString()).toBe('first');
      client.kill();
      await client.closedPromise;
      // Resumed: the re-sent PUBLISH (DUP) is answered but not delivered twice; PUBREL completes it.
      const { client: resumed, connack } = await connect(broker, { protocolVersion: v, clientId: 'sender', clean: false });
      expect(connack.sessionPresent).toBe(true);
      resumed.publish('q2', 'first', { qos: 2, packetId: 5, dup: true });
      expect(await resumed.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 5 });
      await watcher.expectNothing(50);
      // Left unfinished again, then Clean Session 1: id 5 starts a new message.
      resumed.kill();
      await resumed.closedPromise;
      const { client: clean } = await connect(broker, { protocolVersion: v, clientId: 'sender', clean: true });
      clean.publish('q2', 'second', { qos: 2, packetId: 5 });
      expect(await clean.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 5 });
      expect((await watcher.expect('publish')).payload.toString()).toBe('second');
      clean.send({ type: 'pubrel', packetId: 5 });
      expect(await clean.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 5 });
    });

    // [MQTT-3.1.2-7] retained messages are not session state: they stay when the session that
    // published them ends (Clean Session 1 connection closed, or a Clean Session 0 session discarded).
    it(`MQTT ${name}: retained messages stay when the publisher's session ends`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client: a } = await connect(broker, { protocolVersion: v, clientId: 'a', clean: true });
      a.publish('r/a', 'from a clean session', { qos: 1, retain: true });
      await a.expect('puback');
      await a.disconnect();
      const { client: b } = await connect(broker, { protocolVersion: v, clientId: 'b', clean: false });
      b.publish('r/b', 'from a kept session', { qos: 0, retain: true });
      await b.disconnect();
      // b's session is discarded by a Clean Session 1 CONNECT, then that one ends too.
      const { client: b2 } = await connect(broker, { protocolVersion: v, clientId: 'b', clean: true });
      b2.kill();
      await b2.closedPromise;
      await until(() => broker.inspect.session('a') === undefined && broker.inspect.session('b') === undefined, 2000, 'both sessions ended');
      const { client: sub } = await connect(broker, { clientId: 'sub' });
      await sub.subscribe('r/#', 1);
      const got = [await sub.receive(), await sub.receive()].map((m) => [m.topic, m.payload.toString(), m.retain]).sort();
      expect(got).toEqual([
        ['r/a', 'from a clean session', true],
        ['r/b', 'from a kept session', true],
      ]);
    });
  }
});

describe('3.1.1 section 3.1.3.1: client identifier', () => {
  // [MQTT-3.1.3-2] the client id identifies the session: each id has its own, and a CONNECT finds
  // the state of its own id only.
  it('keeps one session per client id and resumes the one named', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: a } = await connect(broker, { clientId: 'alpha', clean: false });
    await a.subscribe('for/alpha', 1);
    const { client: b } = await connect(broker, { clientId: 'beta', clean: false });
    await b.subscribe('for/beta', 1);
    await a.disconnect();
    await b.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('for/alpha', 'A', { qos: 1 });
    pub.publish('for/beta', 'B', { qos: 1 });
    const { client: b2 } = await connect(broker, { clientId: 'beta', clean: false });
    const m = await b2.receive();
    expect([m.topic, m.payload.toString()]).toEqual(['for/beta', 'B']);
    await b2.expectNothing(50);
    const { client: a2 } = await connect(broker, { clientId: 'alpha', clean: false });
    const n = await a2.receive();
    expect([n.topic, n.payload.toString()]).toEqual(['for/alpha', 'A']);
  });

  // [MQTT-3.1.3-5] client ids of 1 to 23 bytes of 0-9, a-z, A-Z are allowed (3.1.1 and 3.1).
  it('accepts client ids of 1 to 23 characters from 0-9a-zA-Z', async (ctx) => {
    const broker = brokerFor(ctx);
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const ids = ['0', 'Z', alphabet.slice(0, 23), alphabet.slice(23, 46), alphabet.slice(39, 62)];
    for (const [, v] of VERSIONS) {
      for (const id of ids) {
        expect(id.length).toBeLessThanOrEqual(23);
        const { client, connack } = await tryConnect(broker, { protocolVersion: v, clientId: id, clean: false });
        expect(connack, `${id} (level ${v})`).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
        expect(broker.inspect.session(id)).toBeDefined();
        client.kill();
        await client.closedPromise;
        // End it, so the next version starts without a session.
        const { client: clean } = await connect(broker, { protocolVersion: v, clientId: id, clean: true });
        await clean.disconnect();
      }
    }
  });

  // [MQTT-3.1.3-6] a zero-byte client id (3.1.1, Clean Session 1) is given a unique id of its own,
  // and the CONNECT is processed as if the client had sent it: two such clients are two
  // sessions, neither takes the other over, each gets what it subscribed to.
  it('3.1.1: gives each client with a zero-byte client id a unique id of its own', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: one } = await connect(broker, { clientId: '', clean: true });
    const { client: two } = await connect(broker, { clientId: '', clean: true });
    expect(broker.inspect.sessionCount()).toBe(2);
    const ids = broker.inspect.sessions().map((s) => s.clientId);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id.length).toBeGreaterThan(0);
    await one.subscribe('one', 0);
    await two.subscribe('two', 0);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('one', '1');
    pub.publish('two', '2');
    expect((await one.expect('publish')).payload.toString()).toBe('1');
    expect((await two.expect('publish')).payload.toString()).toBe('2');
    await one.expectNothing(50);
    expect(one.closed || two.closed).toBe(false);
  });

  // [MQTT-3.1.3-8] a zero-byte client id with Clean Session 0: CONNACK 0x02 (identifier rejected),
  // then the connection is closed; no session is made. MQTT 3.1 requires an id: rejected the same way.
  it('rejects a zero-byte client id with clean session 0 (and any zero-byte id in 3.1) with 0x02 and closes', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [v, clean] of [
      [4, false],
      [3, false],
      [3, true],
    ] as const) {
      const { client, connack } = await tryConnect(broker, { protocolVersion: v, clientId: '', clean });
      expect(connack, `level ${v}, clean ${clean}`).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 2 });
      await client.expectClosed();
    }
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-3.1.3-9] a client id the server rejects (here by the authenticate hook, the broker's
  // way to reject ids): CONNACK 0x02, then close; the id gets no session and takes nothing over.
  it('answers a client id the server rejects with CONNACK 0x02 and closes, leaving the holder of the id alone', async (ctx) => {
    const broker = brokerFor(ctx, {
      hooks: { authenticate: (_c, username) => (username === 'intruder' ? ReasonCode.ClientIdentifierNotValid : true) },
    });
    const { client: holder } = await connect(broker, { clientId: 'taken', clean: false });
    for (const [, v] of VERSIONS) {
      const { client, connack } = await tryConnect(broker, { protocolVersion: v, clientId: 'taken', username: 'intruder' });
      expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 2 });
      await client.expectClosed();
    }
    holder.send({ type: 'pingreq' });
    await holder.expect('pingresp');
    expect(broker.inspect.sessionCount()).toBe(1);
  });
});

describe('3.1.1 section 3.1.4: CONNECT of an id already in use', () => {
  for (const [name, v] of VERSIONS) {
    // [MQTT-3.1.4-2] a CONNECT with the client id of a connected client: the server disconnects the
    // existing client (3.1.1 has no server DISCONNECT: the connection just closes, with no packet).
    it(`MQTT ${name}: disconnects the client already connected with the same id`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client: first } = await connect(broker, { protocolVersion: v, clientId: 'dup', clean: true });
      const { client: second, connack } = await connect(broker, { protocolVersion: v, clientId: 'dup', clean: true });
      expect(connack.reasonCode).toBe(0);
      await first.expectClosed();
      expect(broker.inspect.connectionCount()).toBe(1);
      second.send({ type: 'pingreq' });
      await second.expect('pingresp');
    });
  }

  // [MQTT-3.1.4-3] the Clean Session processing of section 3.1.2.4 happens only once CONNECT
  // validation succeeded: a refused Clean Session 1 CONNECT leaves the stored session (and its
  // queue) alone, and takes over no one; an accepted one discards it.
  it('processes clean session only for a CONNECT that is accepted', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: (_c, username) => username !== 'wrong' } });
    const { client } = await connect(broker, { clientId: 'kept', clean: false });
    await client.subscribe('k', 1);
    await client.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('k', 'waiting', { qos: 1 });
    await pub.expect('puback');
    const { client: refused, connack } = await tryConnect(broker, { clientId: 'kept', clean: true, username: 'wrong' });
    expect(connack.reasonCode).toBe(4);
    await refused.expectClosed();
    expect(broker.inspect.session('kept')?.queued).toBe(1);
    // Still there: resumed with its message.
    const { client: back, connack: resumed } = await connect(broker, { clientId: 'kept', clean: false });
    expect(resumed.sessionPresent).toBe(true);
    expect((await back.receive()).payload.toString()).toBe('waiting');
    // A refused CONNECT does not disconnect the connected holder of the id either.
    const { client: again } = await tryConnect(broker, { clientId: 'kept', clean: true, username: 'wrong' });
    await again.expectClosed();
    back.send({ type: 'pingreq' });
    await back.expect('pingresp');
    // An accepted Clean Session 1 CONNECT discards it.
    const { connack: cleaned } = await connect(broker, { clientId: 'kept', clean: true });
    expect(cleaned.sessionPresent).toBe(false);
    await back.expectClosed();
    pub.publish('k', 'gone', { qos: 1 });
    await pub.expect('puback');
    expect(broker.inspect.session('kept')?.subscriptions ?? []).toEqual([]);
  });
});
