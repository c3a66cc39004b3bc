/**
 * 5.0 flow control (section 4.9) and Receive Maximum on PUBLISH (section 3.3.4), the broker's
 * side: its send quota towards a client (starts at the client's Receive Maximum, counts QoS 1
 * and 2 only, comes back on PUBACK, PUBCOMP and a failed PUBREC), everything else flowing while
 * that quota is 0, and the client's quota towards the broker.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { Packet, PublishPacket } from '../../src/core/codec/types.js';
import { beforePing, connect, until, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());

let n = 0;
async function client(extra: Parameters<typeof connect>[1] = {}): Promise<TestClient> {
  return (await connect(broker, { clientId: `flow-${++n}`, protocolVersion: 5, ...extra })).client;
}

const payloads = (ps: Packet[]) => ps.map((p) => (p.type === 'publish' ? p.payload.toString() : p.type));

describe('send quota', () => {
  // [MQTT-4.9.0-1] the quota starts above 0 and at most at the client's Receive Maximum: with
  // 3, a resumed session owing six messages gets exactly three at once, live or queued alike.
  it('5.0: starts the send quota at the client’s Receive Maximum, not above, not at 0', async () => {
    const session = { clientId: 'flow-initial', clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 3 } };
    const first = await client(session);
    await first.subscribe('init/t', 1);
    first.kill();
    await until(() => broker.inspect.session('flow-initial')?.connected === false);
    const pub = await client();
    for (let i = 0; i < 6; i++) pub.publish('init/t', String(i), { qos: 1 });
    for (let i = 0; i < 6; i++) await pub.expect('puback');
    const back = await client(session);
    const got = (await beforePing(back)) as PublishPacket[];
    expect(payloads(got)).toEqual(['0', '1', '2']);
    for (const p of got) await back.ack(p);
    const rest = (await beforePing(back)) as PublishPacket[];
    expect(payloads(rest)).toEqual(['3', '4', '5']);
    for (const p of rest) await back.ack(p);
  });

  // [MQTT-4.9.0-2] at quota 0 no further QoS 1 or 2 PUBLISH goes out; a PUBACK, a PUBCOMP
  // (not the PUBREC before it) and a PUBREC with a failure code each give one back.
  // [MQTT-3.3.4-9] so at most Receive Maximum QoS 1/2 PUBLISH packets are unacknowledged.
  it('5.0: sends no QoS 1/2 PUBLISH at quota 0; PUBACK, PUBCOMP and a failed PUBREC free one', async () => {
    const sub = await client({ clientId: 'flow-quota', properties: { receiveMaximum: 2 } });
    await sub.subscribe('quota/t', 2);
    const pub = await client();
    const qos = [2, 2, 1, 2, 1] as const;
    qos.forEach((q, i) => pub.publish('quota/t', String(i), { qos: q }));
    // Routed once acknowledged to the publisher: from then on the subscriber's PINGREQ is a fence.
    expect(payloads(await beforePing(pub))).toEqual(['pubrec', 'pubrec', 'puback', 'pubrec', 'puback']);
    const a = (await beforePing(sub)) as PublishPacket[];
    expect(payloads(a)).toEqual(['0', '1']);
    // PUBREC 0x00 for '0': PUBREL comes, the slot stays taken.
    sub.send({ type: 'pubrec', packetId: a[0]!.packetId!, reasonCode: 0 });
    expect(payloads(await beforePing(sub))).toEqual(['pubrel']);
    // PUBREC 0x80 for '1': that delivery ends (no PUBREL), its slot is free: '2' comes.
    sub.send({ type: 'pubrec', packetId: a[1]!.packetId!, reasonCode: ReasonCode.UnspecifiedError });
    const b = (await beforePing(sub)) as PublishPacket[];
    expect(payloads(b)).toEqual(['2']);
    // PUBCOMP for '0' frees its slot: '3'.
    sub.send({ type: 'pubcomp', packetId: a[0]!.packetId!, reasonCode: 0 });
    const c = (await beforePing(sub)) as PublishPacket[];
    expect(payloads(c)).toEqual(['3']);
    // PUBACK for '2' frees one: '4'.
    sub.send({ type: 'puback', packetId: b[0]!.packetId!, reasonCode: 0 });
    const d = (await beforePing(sub)) as PublishPacket[];
    expect(payloads(d)).toEqual(['4']);
    await sub.ack(c[0]!);
    await sub.ack(d[0]!);
    expect(await beforePing(sub)).toEqual([]);
    expect(broker.inspect.session('flow-quota')!.inflight).toBe(0);
  });

  // [MQTT-3.3.4-9] [MQTT-4.9.0-2] retained messages sent because of a SUBSCRIBE count against
  // the same quota: with Receive Maximum 1, one of three at a time.
  it('5.0: sends retained messages on SUBSCRIBE within the send quota', async () => {
    const pub = await client();
    for (const t of ['a', 'b', 'c']) pub.publish(`kept/${t}`, t, { qos: 1, retain: true });
    expect(payloads(await beforePing(pub))).toEqual(['puback', 'puback', 'puback']);
    const sub = await client({ properties: { receiveMaximum: 1 } });
    await sub.subscribe('kept/#', 1);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const one = (await beforePing(sub)) as PublishPacket[];
      expect(one).toHaveLength(1);
      got.push(one[0]!.payload.toString());
      await sub.ack(one[0]!);
    }
    expect(got.sort()).toEqual(['a', 'b', 'c']);
    expect(await beforePing(sub)).toEqual([]);
  });

  // [MQTT-4.9.0-3] [MQTT-3.3.4-10] while the broker's quota towards the client is 0 it answers
  // everything else at once: PUBACK, PUBREC and PUBCOMP for the client's own publishes, PUBREL
  // for a delivery in flight, SUBACK, UNSUBACK, PINGRESP; QoS 0 messages are delivered (5.0
  // section 4.9 lets a broker hold them too: ours sends them, in order, once what is ahead of
  // them in the queue has gone out). The held QoS 1 message waits for a slot.
  it('5.0: keeps answering every other packet while its send quota to the client is 0', async () => {
    const sub = await client({ properties: { receiveMaximum: 1 } });
    await sub.subscribe('zero/#', 2);
    const pub = await client();
    pub.publish('zero/held', 'in flight', { qos: 2 });
    pub.publish('zero/qos0', 'live 0', { qos: 0 });
    expect(payloads(await beforePing(pub))).toEqual(['pubrec']);
    const inFlight = await sub.expect('publish');
    expect(inFlight.payload.toString()).toBe('in flight');
    expect(payloads(await beforePing(sub))).toEqual(['live 0']);
    pub.publish('zero/held', 'waits', { qos: 1 });
    await pub.expect('puback');
    // The quota is 0 from here on: only non-PUBLISH packets and QoS 0 may arrive.
    sub.publish('own/1', 'x', { qos: 1, packetId: 101 });
    expect(await sub.expect('puback')).toMatchObject({ packetId: 101 });
    sub.publish('own/2', 'x', { qos: 2, packetId: 102 });
    expect(await sub.expect('pubrec')).toMatchObject({ packetId: 102 });
    sub.send({ type: 'pubrel', packetId: 102, reasonCode: 0 });
    expect(await sub.expect('pubcomp')).toMatchObject({ packetId: 102 });
    const suback = await sub.subscribe('other/t', 1);
    expect(suback.reasonCodes).toEqual([1]);
    sub.send({ type: 'unsubscribe', packetId: 103, topicFilters: ['other/t'] });
    expect(await sub.expect('unsuback')).toMatchObject({ packetId: 103 });
    sub.send({ type: 'pingreq' });
    expect((await sub.next()).type).toBe('pingresp');
    // The delivery in flight is QoS 2: its PUBREC gets PUBREL now, the slot stays taken.
    sub.send({ type: 'pubrec', packetId: inFlight.packetId!, reasonCode: 0 });
    expect(payloads(await beforePing(sub))).toEqual(['pubrel']);
    // QoS 0 published behind the held QoS 1 message comes after it, once PUBCOMP frees the slot.
    pub.publish('zero/qos0', 'after 1', { qos: 0 });
    await beforePing(pub);
    expect(await beforePing(sub)).toEqual([]);
    sub.send({ type: 'pubcomp', packetId: inFlight.packetId!, reasonCode: 0 });
    const rest = await beforePing(sub);
    expect(payloads(rest)).toEqual(['waits', 'after 1']);
    await sub.ack(rest[0] as PublishPacket);
  });

  // [MQTT-4.9.0-3] the other way round: the client has used up the broker's Receive Maximum
  // (QoS 2 PUBLISH packets without PUBREL); the broker still answers PINGREQ, SUBSCRIBE and
  // PUBREL, and routes the client's QoS 0 and QoS 1 messages.
  it('5.0: keeps answering a client that has used up the broker’s Receive Maximum', async () => {
    const b = createBroker({ receiveMaximum: 2 });
    onTestFinished(() => b.close());
    const { client: watcher } = await connect(b, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('full/#', 1);
    const { client: pub, connack } = await connect(b, { clientId: 'pub', protocolVersion: 5 });
    expect(connack.properties?.receiveMaximum).toBe(2);
    pub.publish('full/2a', 'a', { qos: 2, packetId: 1 });
    pub.publish('full/2b', 'b', { qos: 2, packetId: 2 });
    expect(payloads(await beforePing(pub))).toEqual(['pubrec', 'pubrec']);
    const sa = await pub.subscribe('full/back', 0);
    expect(sa.reasonCodes).toEqual([0]);
    pub.publish('full/0', 'zero', { qos: 0 });
    pub.publish('full/1', 'one', { qos: 1, packetId: 3 });
    expect(await pub.expect('puback')).toMatchObject({ packetId: 3 });
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await watcher.receive()).payload.toString());
    expect(seen).toEqual(['a', 'b', 'zero', 'one']);
    pub.send({ type: 'pubrel', packetId: 1, reasonCode: 0 });
    expect(await pub.expect('pubcomp')).toMatchObject({ packetId: 1, reasonCode: 0 });
    // A slot is free again: a third QoS 2 is accepted.
    pub.publish('full/2c', 'c', { qos: 2, packetId: 4 });
    expect(await pub.expect('pubrec')).toMatchObject({ packetId: 4 });
  });
});

describe('the client’s Receive Maximum duties, as the broker enforces them', () => {
  // [MQTT-3.3.4-7] a client sending more unacknowledged QoS 2 PUBLISH packets than the
  // broker's Receive Maximum: DISCONNECT 0x93 Receive Maximum exceeded, and the one too many is
  // not delivered.
  it('5.0: disconnects with 0x93 a client that exceeds the broker’s Receive Maximum', async () => {
    const b = createBroker({ receiveMaximum: 2 });
    onTestFinished(() => b.close());
    const { client: watcher } = await connect(b, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('over/#', 0);
    const { client: pub } = await connect(b, { clientId: 'pub', protocolVersion: 5 });
    for (let i = 1; i <= 3; i++) pub.publish(`over/${i}`, 'x', { qos: 2, packetId: i });
    expect(payloads([await pub.next(), await pub.next()])).toEqual(['pubrec', 'pubrec']);
    expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.ReceiveMaximumExceeded);
    await pub.expectClosed();
    expect([(await watcher.expect('publish')).topic, (await watcher.expect('publish')).topic]).toEqual(['over/1', 'over/2']);
    await watcher.expectNothing(30);
  });
});

