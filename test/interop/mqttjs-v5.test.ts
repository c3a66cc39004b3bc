/**
 * MQTT.js 5.0 features through our broker: topic aliases both ways, subscription identifiers,
 * shared subscriptions, message and session expiry, forwarded properties.
 */
import type { Packet } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { brokerPerTest } from '../helpers/start-broker.js';
import { closeAll, openClient } from './mqttjs-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const v5 = { protocolVersion: 5 } as const;

/** The topic and alias of every PUBLISH a client writes, as they go on the wire. */
function recordPublishes(client: { on(event: 'packetsend', cb: (p: Packet) => void): unknown }): { topic: string; alias: number | undefined }[] {
  const sent: { topic: string; alias: number | undefined }[] = [];
  client.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish') sent.push({ topic: p.topic.toString(), alias: p.properties?.topicAlias });
  });
  return sent;
}

describe('MQTT.js 5.0 features through our broker', () => {
  const server = brokerPerTest(closeAll);

  // 5.0 section 3.3.2.3.4: the broker assigns aliases to a client that allows them
  // (Topic Alias Maximum in CONNECT), never above that maximum [MQTT-3.3.2-10].
  it('topic aliases, broker to client: the broker assigns them and MQTT.js resolves them', async () => {
    const sub = await openClient(server.url, { ...v5, properties: { topicAliasMaximum: 1 } });
    await sub.client.subscribeAsync('mj/alias/#', { qos: 1 });
    const pub = await openClient(server.url, v5);
    for (const t of ['mj/alias/a', 'mj/alias/a', 'mj/alias/b', 'mj/alias/a']) await pub.client.publishAsync(t, t, { qos: 1 });
    const got = await sub.take(4);
    expect(got.map((m) => m.topic)).toEqual(['mj/alias/a', 'mj/alias/a', 'mj/alias/b', 'mj/alias/a']);
    expect(got.map((m) => m.payload)).toEqual(got.map((m) => m.topic));
    // First use: topic and alias; later uses: the alias alone (an empty topic on the wire).
    expect(got.map((m) => [m.packet.topic, m.packet.properties?.topicAlias])).toEqual([
      ['mj/alias/a', 1],
      ['', 1],
      ['mj/alias/b', undefined], // the maximum of 1 is used up
      ['', 1],
    ]);
  });

  it('topic aliases, broker to client: none to a client that did not allow them', async () => {
    const sub = await openClient(server.url, v5);
    await sub.client.subscribeAsync('mj/noalias', { qos: 0 });
    const pub = await openClient(server.url, v5);
    for (let i = 0; i < 2; i++) await pub.client.publishAsync('mj/noalias', 'x', { qos: 1 });
    for (const m of await sub.take(2)) expect(m.packet.properties?.topicAlias).toBeUndefined();
  });

  // [MQTT-3.3.2-12] a topic alias from the client sets, then stands for, the topic.
  it.each([
    ['autoAssignTopicAlias', { autoAssignTopicAlias: true }, undefined],
    ['autoUseTopicAlias', { autoUseTopicAlias: true }, 7],
  ] as const)('topic aliases, client to broker: MQTT.js %s', async (_name, option, firstAlias) => {
    const sub = await openClient(server.url, v5);
    await sub.client.subscribeAsync('mj/c2b/#', { qos: 1 });
    const pub = await openClient(server.url, { ...v5, ...option });
    expect(pub.connack.properties?.topicAliasMaximum).toBeGreaterThan(0);
    const sent = recordPublishes(pub.client);
    // autoUseTopicAlias only reuses an alias the application set once.
    await pub.client.publishAsync('mj/c2b/t', 'one', { qos: 1, ...(firstAlias ? { properties: { topicAlias: firstAlias } } : {}) });
    await pub.client.publishAsync('mj/c2b/t', 'two', { qos: 1 });
    await pub.client.publishAsync('mj/c2b/t', 'three', { qos: 0 });
    expect(sent[0]).toMatchObject({ topic: 'mj/c2b/t' });
    expect(sent[0]!.alias).toBeGreaterThan(0);
    expect(sent.slice(1)).toEqual([
      { topic: '', alias: sent[0]!.alias },
      { topic: '', alias: sent[0]!.alias },
    ]);
    const got = await sub.take(3);
    expect(got.map((m) => `${m.topic} ${m.payload}`)).toEqual(['mj/c2b/t one', 'mj/c2b/t two', 'mj/c2b/t three']);
    // The alias belongs to the publisher's connection and is not forwarded [MQTT-3.3.2-4 note].
    for (const m of got) expect(m.packet.properties?.topicAlias).toBeUndefined();
  });

  // [MQTT-3.3.4-3] the subscription identifier travels with each matching message;
  // [MQTT-3.3.4-4] overlapping subscriptions carry all of theirs.
  it('subscription identifiers on received messages', async () => {
    const sub = await openClient(server.url, v5);
    await sub.client.subscribeAsync('mj/sid/#', { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await sub.client.subscribeAsync('mj/sid/+/x', { qos: 1, properties: { subscriptionIdentifier: 300 } });
    await sub.client.subscribeAsync('mj/nosid/#', { qos: 1 });
    const pub = await openClient(server.url, v5);
    await pub.client.publishAsync('mj/sid/a', '1', { qos: 1 });
    await pub.client.publishAsync('mj/sid/a/x', '2', { qos: 1 });
    await pub.client.publishAsync('mj/nosid/a', '3', { qos: 1 });
    const [one, two, three] = await sub.take(3);
    expect(one!.packet.properties?.subscriptionIdentifier).toBe(5);
    const both = two!.packet.properties?.subscriptionIdentifier;
    expect(Array.isArray(both) ? [...both].sort((a, b) => a - b) : both).toEqual([5, 300]);
    expect(two!.packet.qos).toBe(1); // one copy, not two [MQTT-3.3.4-2]
    expect(three!.packet.properties?.subscriptionIdentifier).toBeUndefined();
    await sub.expectNothing(100);
  });

  // 5.0 section 4.8.2: a shared subscription's messages go to one member at a time, in turn.
  it('shared subscriptions: two members of $share/g/… get the messages alternately', async () => {
    const a = await openClient(server.url, { ...v5, clientId: 'mj-share-a' });
    const b = await openClient(server.url, { ...v5, clientId: 'mj-share-b' });
    await a.client.subscribeAsync('$share/g/mj/shared/+', { qos: 1 });
    await b.client.subscribeAsync('$share/g/mj/shared/+', { qos: 1 });
    const pub = await openClient(server.url, v5);
    for (let i = 0; i < 6; i++) await pub.client.publishAsync('mj/shared/t', String(i), { qos: 1 });
    const [gotA, gotB] = await Promise.all([a.take(3), b.take(3)]);
    const payloadsA = gotA.map((m) => Number(m.payload));
    const payloadsB = gotB.map((m) => Number(m.payload));
    expect([...payloadsA, ...payloadsB].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // Alternating: one member has the even messages and the other the odd ones.
    expect(new Set(payloadsA.map((n) => n % 2)).size).toBe(1);
    expect(new Set(payloadsB.map((n) => n % 2)).size).toBe(1);
    await Promise.all([a.expectNothing(100), b.expectNothing(0)]);
    // No retained messages to shared subscriptions (5.0 section 4.8.2). PUBACK means stored.
    await pub.client.publishAsync('mj/shared/r', 'kept', { qos: 1, retain: true });
    const c = await openClient(server.url, { ...v5, clientId: 'mj-share-c' });
    await c.client.subscribeAsync('$share/h/mj/shared/+', { qos: 1 });
    await c.expectNothing(150);
  });

  // [MQTT-3.3.2-5] an expired message is not delivered; [MQTT-3.3.2-6] the rest goes on
  // with what is left of its expiry interval.
  it('message expiry: a message that expires while its subscriber is away is not delivered', async () => {
    const options = { ...v5, clientId: 'mj-expiry', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await openClient(server.url, options);
    await first.client.subscribeAsync('mj/exp', { qos: 1 });
    await first.end();
    const pub = await openClient(server.url, v5);
    await pub.client.publishAsync('mj/exp', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync('mj/exp', 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.client.publishAsync('mj/exp', 'forever', { qos: 1 });
    await sleep(1100);
    const back = await openClient(server.url, options);
    expect(back.connack.sessionPresent).toBe(true);
    const got = await back.take(2);
    expect(got.map((m) => m.payload)).toEqual(['long', 'forever']);
    const left = got[0]!.packet.properties?.messageExpiryInterval;
    expect(left).toBeGreaterThanOrEqual(58);
    expect(left).toBeLessThanOrEqual(59);
    expect(got[1]!.packet.properties?.messageExpiryInterval).toBeUndefined();
    await back.expectNothing(100);
  });

  // [MQTT-3.1.2-23] the session outlives the connection for Session Expiry Interval seconds, no longer.
  it('session expiry: after the interval the session is gone (session present false)', async () => {
    const short = { ...v5, clientId: 'mj-se-short', clean: false, properties: { sessionExpiryInterval: 1 } };
    const long = { ...v5, clientId: 'mj-se-long', clean: false, properties: { sessionExpiryInterval: 60 } };
    for (const o of [short, long]) {
      const c = await openClient(server.url, o);
      await c.client.subscribeAsync('mj/se', { qos: 1 });
      await c.end();
    }
    await sleep(1300);
    const shortBack = await openClient(server.url, short);
    const longBack = await openClient(server.url, long);
    expect(shortBack.connack.sessionPresent).toBe(false);
    expect(longBack.connack.sessionPresent).toBe(true);
    // The expired session's subscription went with it.
    const pub = await openClient(server.url, v5);
    await pub.client.publishAsync('mj/se', 'after', { qos: 1 });
    expect((await longBack.next()).payload).toBe('after');
    await shortBack.expectNothing(100);
  });

  // [MQTT-3.8.3-3] No Local: a client's own messages are not sent back to it.
  it('no local', async () => {
    const c = await openClient(server.url, v5);
    await c.client.subscribeAsync('mj/nl', { qos: 1, nl: true });
    await c.client.publishAsync('mj/nl', 'mine', { qos: 1 });
    const other = await openClient(server.url, v5);
    await other.client.publishAsync('mj/nl', 'theirs', { qos: 1 });
    expect((await c.next()).payload).toBe('theirs');
    await c.expectNothing(100);
  });

  // [MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published; [MQTT-3.3.1-9] [MQTT-3.3.1-11] Retain Handling.
  it('retain as published and retain handling', async () => {
    const pub = await openClient(server.url, v5);
    await pub.client.publishAsync('mj/rh/a', 'kept', { qos: 1, retain: true });
    const never = await openClient(server.url, v5);
    await never.client.subscribeAsync('mj/rh/#', { qos: 1, rh: 2 });
    const rap = await openClient(server.url, v5);
    await rap.client.subscribeAsync('mj/rh/#', { qos: 1, rap: true, rh: 1 });
    const retained = await rap.next();
    expect(retained.packet.retain).toBe(true);
    // rh 1: not again when the subscription already exists.
    await rap.client.subscribeAsync('mj/rh/#', { qos: 1, rap: true, rh: 1 });
    await pub.client.publishAsync('mj/rh/a', 'live', { qos: 1, retain: true });
    const live = await rap.next();
    expect(live).toMatchObject({ payload: 'live' });
    expect(live.packet.retain).toBe(true); // as published
    const plain = await never.next();
    expect(plain).toMatchObject({ payload: 'live' });
    expect(plain.packet.retain).toBe(false); // without Retain As Published
    await Promise.all([rap.expectNothing(100), never.expectNothing(0)]);
  });

  // [MQTT-3.1.2-25] a message larger than the client's Maximum Packet Size is not sent to it.
  it('maximum packet size: a message too large for the client is not sent to it', async () => {
    const small = await openClient(server.url, { ...v5, properties: { maximumPacketSize: 100 } });
    await small.client.subscribeAsync('mj/mps', { qos: 1 });
    const pub = await openClient(server.url, v5);
    await pub.client.publishAsync('mj/mps', 'x'.repeat(200), { qos: 1 });
    await pub.client.publishAsync('mj/mps', 'fits', { qos: 1 });
    expect((await small.next()).payload).toBe('fits');
    await small.expectNothing(100);
  });

  // [MQTT-3.3.4-9] the broker keeps at most the client's Receive Maximum QoS 1/2 messages unacknowledged.
  it('receive maximum: no more in flight than the client allows, the rest as acks come', async () => {
    const held: (() => void)[] = [];
    const sub = await openClient(server.url, {
      ...v5,
      properties: { receiveMaximum: 2 },
      // Hold every acknowledgement until the test lets it go.
      customHandleAcks: (_topic, _message, _packet, done) => held.push(() => done(0)),
    });
    // MQTT.js reads no further while an ack is held, so the wire is watched with a parser of its own.
    let onWire = 0;
    const wire = mqttPacket.parser({ protocolVersion: 5 });
    wire.on('packet', (p) => {
      if (p.cmd === 'publish') onWire++;
    });
    sub.client.stream.on('data', (chunk: Buffer) => wire.parse(chunk));
    await sub.client.subscribeAsync('mj/rm', { qos: 1 });
    const pub = await openClient(server.url, v5);
    for (let i = 0; i < 5; i++) await pub.client.publishAsync('mj/rm', String(i), { qos: 1 });
    await sleep(150);
    expect(onWire).toBe(2);
    // Each ack let go makes room for one more.
    held.shift()!();
    await sleep(100);
    expect(onWire).toBe(3);
    const deadline = Date.now() + 3000;
    while (sub.messages.length < 5 && Date.now() < deadline) {
      while (held.length > 0) held.shift()!();
      await sleep(10);
    }
    expect(sub.messages.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4']);
    expect(onWire).toBe(5);
  });

  // [MQTT-3.3.2-17] [MQTT-3.3.2-18] user properties, in order, and [MQTT-3.3.2-4] the other
  // application properties reach the subscriber unchanged.
  it('user properties and the other publish properties are forwarded unchanged', async () => {
    const sub = await openClient(server.url, v5);
    await sub.client.subscribeAsync('mj/props', { qos: 2 });
    const pub = await openClient(server.url, v5);
    const properties = {
      payloadFormatIndicator: true,
      contentType: 'application/json',
      responseTopic: 'mj/reply',
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { region: 'eu', tag: ['a', 'b'] },
    };
    await pub.client.publishAsync('mj/props', '{"x":1}', { qos: 2, properties });
    const msg = await sub.next();
    expect(msg.payload).toBe('{"x":1}');
    expect(msg.packet.properties).toMatchObject({ ...properties, correlationData: Buffer.from([1, 2, 3]) });
  });
});
