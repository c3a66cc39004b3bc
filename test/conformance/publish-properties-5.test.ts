/**
 * 5.0 PUBLISH properties (section 3.3.2.3) and Subscription Identifiers on delivery (section
 * 3.3.4), the broker's side: what it forwards unaltered, what it counts down, what it refuses
 * (malformed UTF-8 is the codec's), which identifiers each copy carries. The message expiry
 * tests move the clock (Date only) rather than wait for it.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { Properties, PublishPacket, QoS, Subscription } from '../../src/core/codec/types.js';
import { connect, until, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());
afterEach(() => {
  vi.useRealTimers();
});

let n = 0;
async function client(extra: Parameters<typeof connect>[1] = {}): Promise<TestClient> {
  return (await connect(broker, { clientId: `props-${++n}`, protocolVersion: 5, ...extra })).client;
}

function sub5(topicFilter: string, qos: QoS): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 };
}

/** Three subscribers of `filter`: QoS 0, QoS 2, and a shared subscription at QoS 1. */
async function threeSubscribers(filter: string): Promise<TestClient[]> {
  const s0 = await client();
  await s0.subscribe(filter, 0);
  const s2 = await client();
  await s2.subscribe(filter, 2);
  const shared = await client();
  await shared.subscribe(`$share/props/${filter}`, 1);
  return [s0, s2, shared];
}

/** A PUBLISH QoS 0 to 't' with the raw property bytes `props`. */
function rawPublishWith(props: number[]): Buffer {
  const body = [0, 1, 0x74, props.length, ...props, 0x78];
  return Buffer.from([0x30, body.length, ...body]);
}

/** Sends `bytes` from a fresh client and expects DISCONNECT `code`, then the close. */
async function refused(bytes: Buffer, code: number): Promise<void> {
  const c = await client();
  c.sendRaw(bytes);
  expect((await c.expect('disconnect')).reasonCode).toBe(code);
  await c.expectClosed();
}

describe('forwarded unaltered', () => {
  // [MQTT-3.3.2-4] the Payload Format Indicator reaches every subscriber as sent (1, and an
  // explicit 0), whatever their QoS, shared subscriptions included; absent stays absent.
  it('5.0: sends the Payload Format Indicator unaltered to every subscriber', async () => {
    const subs = await threeSubscribers('pfi');
    const pub = await client();
    pub.publish('pfi', 'text', { qos: 2, properties: { payloadFormatIndicator: 1 } });
    pub.publish('pfi', Buffer.from([0xff]), { qos: 1, properties: { payloadFormatIndicator: 0 } });
    pub.publish('pfi', 'none', { qos: 1 });
    for (const s of subs) {
      const got = [await s.expect('publish'), await s.expect('publish'), await s.expect('publish')];
      for (const p of got) await s.ack(p);
      expect(got.map((p) => p.properties?.payloadFormatIndicator)).toEqual([1, 0, undefined]);
    }
  });

  // [MQTT-3.3.2-15] Response Topic, [MQTT-3.3.2-16] Correlation Data, [MQTT-3.3.2-17] every
  // User Property, [MQTT-3.3.2-18] in their order (a repeated key included), [MQTT-3.3.2-20]
  // Content Type: each subscriber, whatever its QoS, shared or not, gets them as sent.
  it('5.0: sends Response Topic, Correlation Data, User Properties in order and Content Type unaltered', async () => {
    const props: Properties = {
      contentType: 'application/vnd.mqt+json; charset=utf-8',
      responseTopic: 'reply/ü/to',
      correlationData: Buffer.from([0, 1, 2, 0xfe, 0xff]),
      userProperties: [
        ['z', 'last letter'],
        ['a', '1'],
        ['z', 'again'],
        ['', ''],
        ['ключ', 'значение'],
      ],
    };
    const subs = await threeSubscribers('app');
    const pub = await client();
    pub.publish('app', '{}', { qos: 2, properties: props });
    for (const s of subs) expect((await s.receive()).properties).toEqual(props);
  });

  // [MQTT-3.3.2-14] a Response Topic is a Topic Name: one with wildcards is a Protocol Error
  // (DISCONNECT 0x82), and nothing is delivered.
  it('5.0: refuses a Response Topic with wildcards', async () => {
    const watcher = await client();
    await watcher.subscribe('#');
    for (const responseTopic of ['reply/+', 'reply/#']) {
      const pub = await client();
      pub.publish('t', 'x', { properties: { responseTopic } });
      expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
      await pub.expectClosed();
    }
    await watcher.expectNothing();
  });

  // [MQTT-3.3.2-13] the Response Topic and [MQTT-3.3.2-19] the Content Type are UTF-8 strings:
  // ill-formed UTF-8 in either is a Malformed Packet (DISCONNECT 0x81).
  it('5.0: closes on a Response Topic or Content Type that is not UTF-8', async () => {
    // 0x08 Response Topic, 0x03 Content Type; 'a' then a bad continuation byte.
    await refused(rawPublishWith([0x08, 0, 2, 0xc3, 0x28]), ReasonCode.MalformedPacket);
    await refused(rawPublishWith([0x03, 0, 2, 0xc3, 0x28]), ReasonCode.MalformedPacket);
    // An encoded surrogate (U+D800) is ill-formed too.
    await refused(rawPublishWith([0x08, 0, 3, 0xed, 0xa0, 0x80]), ReasonCode.MalformedPacket);
    await refused(rawPublishWith([0x03, 0, 3, 0xed, 0xa0, 0x80]), ReasonCode.MalformedPacket);
  });
});

describe('Message Expiry Interval', () => {
  // [MQTT-3.3.2-5] a copy whose interval passed before its onward delivery started is deleted:
  // one queued behind a full Receive Maximum window, one queued for an offline session; one
  // whose interval has not passed still goes.
  it('5.0: deletes a subscriber’s copy whose interval passed before delivery started', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const away = { clientId: 'exp-away', clean: false, properties: { sessionExpiryInterval: 600 } };
    const offline = await client(away);
    await offline.subscribe('exp/t', 1);
    offline.kill();
    await until(() => broker.inspect.session('exp-away')?.connected === false);
    const sub = await client({ properties: { receiveMaximum: 1 } });
    await sub.subscribe('exp/t', 1);
    const pub = await client();
    pub.publish('exp/t', 'holds the window', { qos: 1 });
    pub.publish('exp/t', 'expires', { qos: 1, properties: { messageExpiryInterval: 5 } });
    pub.publish('exp/t', 'lives', { qos: 1, properties: { messageExpiryInterval: 600 } });
    const first = await sub.expect('publish');
    expect(first.payload.toString()).toBe('holds the window');
    await sub.expectNothing(30);
    vi.setSystemTime(Date.now() + 10_000);
    await sub.ack(first);
    const next = await sub.receive();
    expect(next.payload.toString()).toBe('lives');
    await sub.expectNothing(30);
    const back = await client(away);
    const got = [await back.receive(), await back.receive()];
    expect(got.map((p) => p.payload.toString())).toEqual(['holds the window', 'lives']);
    await back.expectNothing(30);
  });

  // [MQTT-3.3.2-6] the interval sent on is the one received minus the time the message waited
  // in the broker: 60 s sent, 20 s spent queued, 40 s left (a live delivery: the full 60).
  it('5.0: sends the received interval minus the time the message waited', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const live = await client();
    await live.subscribe('left/t', 1);
    const away = { clientId: 'left-away', clean: false, properties: { sessionExpiryInterval: 600 } };
    const offline = await client(away);
    await offline.subscribe('left/t', 1);
    offline.kill();
    await until(() => broker.inspect.session('left-away')?.connected === false);
    const pub = await client();
    pub.publish('left/t', 'x', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    expect((await live.receive()).properties?.messageExpiryInterval).toBe(60);
    vi.setSystemTime(Date.now() + 20_000);
    const back = await client(away);
    expect((await back.receive()).properties?.messageExpiryInterval).toBe(40);
    // The retained copy counts down the same way.
    const late = await client();
    await late.subscribe('left/t', 1);
    expect((await late.receive()).properties?.messageExpiryInterval).toBe(40);
    vi.setSystemTime(Date.now() + 41_000);
    const later = await client();
    await later.subscribe('left/t', 1);
    await later.expectNothing(30);
  });
});

describe('Subscription Identifiers', () => {
  // [MQTT-3.3.4-3] a message delivered through a subscription with an identifier carries it;
  // one delivered through a subscription without carries none.
  it('5.0: sends the Subscription Identifier of the matching subscription', async () => {
    const withId = await client();
    await withId.subscribe([sub5('sid3/#', 1)], 0, { subscriptionIdentifiers: [77] });
    const without = await client();
    await without.subscribe('sid3/#', 1);
    const pub = await client();
    pub.publish('sid3/a', 'x', { qos: 1 });
    expect((await withId.receive()).properties?.subscriptionIdentifiers).toEqual([77]);
    expect((await without.receive()).properties?.subscriptionIdentifiers).toBeUndefined();
  });

  // [MQTT-3.3.4-4] overlapping subscriptions of one client: one copy, carrying the identifiers
  // of every matching subscription that has one (order not significant), none of the others.
  it('5.0: puts every matching subscription’s identifier in the single copy', async () => {
    const sub = await client();
    await sub.subscribe([sub5('sid4/+/c', 0)], 0, { subscriptionIdentifiers: [1] });
    await sub.subscribe([sub5('sid4/#', 1)], 0, { subscriptionIdentifiers: [2] });
    await sub.subscribe([sub5('sid4/b/+', 2)]);
    await sub.subscribe([sub5('sid4/other', 1)], 0, { subscriptionIdentifiers: [3] });
    const pub = await client();
    pub.publish('sid4/b/c', 'x', { qos: 2 });
    const m = await sub.receive();
    expect(m.qos).toBe(2);
    expect([...m.properties!.subscriptionIdentifiers!].sort()).toEqual([1, 2]);
    await sub.expectNothing(30);
  });

  // [MQTT-3.3.4-5] when the broker sends several copies, each carries the identifier of its own
  // matching subscription: one client with a shared and an ordinary subscription gets two
  // copies (one per subscription, ids 10 and 11), and two clients get theirs (12, 13).
  it('5.0: gives each of several copies the identifier of its own subscription', async () => {
    const both = await client();
    await both.subscribe([sub5('$share/sid/sid5/t', 1)], 0, { subscriptionIdentifiers: [10] });
    await both.subscribe([sub5('sid5/+', 1)], 0, { subscriptionIdentifiers: [11] });
    const a = await client();
    await a.subscribe([sub5('sid5/#', 1)], 0, { subscriptionIdentifiers: [12] });
    const b = await client();
    await b.subscribe([sub5('sid5/t', 1)], 0, { subscriptionIdentifiers: [13] });
    const pub = await client();
    pub.publish('sid5/t', 'x', { qos: 1 });
    const copies: PublishPacket[] = [await both.receive(), await both.receive()];
    expect(copies.map((p) => p.properties?.subscriptionIdentifiers).sort()).toEqual([[10], [11]]);
    expect((await a.receive()).properties?.subscriptionIdentifiers).toEqual([12]);
    expect((await b.receive()).properties?.subscriptionIdentifiers).toEqual([13]);
    await both.expectNothing(30);
  });

  // [MQTT-3.3.4-6] a client's PUBLISH must not carry a Subscription Identifier: the broker
  // treats one as a Protocol Error (DISCONNECT 0x82) and delivers nothing.
  it('5.0: refuses a client PUBLISH that carries a Subscription Identifier', async () => {
    const watcher = await client();
    await watcher.subscribe('sid6');
    const pub = await client();
    pub.publish('sid6', 'x', { properties: { subscriptionIdentifiers: [1] } });
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.ProtocolError);
    await pub.expectClosed();
    await watcher.expectNothing();
  });
});
