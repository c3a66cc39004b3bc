/**
 * MQTT 3.1.1 and 5.0 [MQTT-4.5.0-1] (message receipt): a message the broker takes ownership of is
 * added to the session of every client with a matching subscription: online or offline (a
 * persistent session keeps it for the client's return), the publisher's own (no No Local), and
 * one copy for a client whose several filters match it, at the highest QoS they grant; in 5.0
 * that copy carries the identifier of each matching subscription. A client with no matching
 * subscription gets nothing.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, until } from '../helpers/broker-client.js';

const persistent = (clientId: string, v: ProtocolVersion): Partial<ConnectPacket> =>
  v === 5 ? { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } } : { clientId, protocolVersion: 4, clean: false };

describe.each([4, 5] as const)('v%i: every matching session', (v) => {
  // [MQTT-4.5.0-1]
  it('adds a message to the session of every client with a matching subscription, online or not, once per client', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: online } = await connect(broker, { clientId: 'online', protocolVersion: v });
    await online.subscribe('m/+', 1);
    const { client: offline } = await connect(broker, persistent('offline', v));
    await offline.subscribe('m/x', 1);
    offline.kill();
    await until(() => broker.inspect.session('offline')?.connected === false);
    const { client: overlap } = await connect(broker, { clientId: 'overlap', protocolVersion: v });
    // Two SUBSCRIBEs, so that in 5.0 each filter has its own subscription identifier.
    await overlap.subscribe('m/#', 0, v === 5 ? { subscriptionIdentifiers: [1] } : undefined);
    await overlap.subscribe('+/x', 1, v === 5 ? { subscriptionIdentifiers: [2] } : undefined);
    const { client: other } = await connect(broker, { clientId: 'other', protocolVersion: v });
    await other.subscribe(['m/y', 'x/#', 'm'], 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    await pub.subscribe('#', 1);

    const id = pub.publish('m/x', 'hello', { qos: 1 });
    // The publisher's PUBACK and its own copy, in whichever order they come.
    const toPub = [await pub.next(), await pub.next()];
    expect(toPub.find((p) => p.type === 'puback')).toMatchObject({ packetId: id });
    const own = toPub.find((p): p is PublishPacket => p.type === 'publish');
    expect(own).toMatchObject({ topic: 'm/x', qos: 1 });
    await pub.ack(own!);

    const toOnline = await online.receive();
    expect([toOnline.topic, toOnline.payload.toString(), toOnline.qos]).toEqual(['m/x', 'hello', 1]);
    const toOverlap = await overlap.receive();
    expect([toOverlap.topic, toOverlap.payload.toString(), toOverlap.qos]).toEqual(['m/x', 'hello', 1]);
    if (v === 5) expect([...(toOverlap.properties?.subscriptionIdentifiers ?? [])].sort()).toEqual([1, 2]);
    expect(broker.inspect.session('offline')!.queued).toBe(1);
    await Promise.all([online, pub, overlap, other].map((c) => c.expectNothing()));

    const { client: back, connack } = await connect(broker, persistent('offline', v));
    expect(connack.sessionPresent).toBe(true);
    const kept = await back.receive();
    expect([kept.topic, kept.payload.toString(), kept.qos]).toEqual(['m/x', 'hello', 1]);
    await back.expectNothing();
  });
});
