/**
 * MQTT 3.1.1 and 5.0 section 4.3 (QoS levels and protocol flows), the broker on both sides of
 * each flow: as the sender towards a subscriber (packet ids, DUP, what stays unacknowledged and
 * until when) and as the receiver of a client's PUBLISH (the acknowledgement, and when a packet
 * id starts a new message). The ids differ between the versions: 3.1.1 has one statement per
 * side and QoS (4.3.1-1, 4.3.2-1/-2, 4.3.3-1/-2), 5.0 one per duty (4.3.1-1 … 4.3.3-12).
 * Section 4.3.3-7 and -13 (message expiry in a QoS 2 flow) are in qos-expiry.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../src/core/codec/types.js';
import { SessionRecord, type Delivery } from '../../src/core/broker/session-record.js';
import { brokerFor, connect, until, type TestClient } from '../helpers/broker-client.js';

const VERSIONS = [4, 5] as const;

/** The reason code field of an ack in `v` (absent in 3.1.1). */
const ok = (v: ProtocolVersion): { reasonCode?: number } => (v === 5 ? { reasonCode: 0 } : {});

/** A session that outlives its connection, in either version. */
const persistent = (clientId: string, v: ProtocolVersion): Partial<ConnectPacket> =>
  v === 5 ? { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } } : { clientId, protocolVersion: 4, clean: false };

/** One round trip, so that every packet sent before it has been handled. */
async function sync(c: TestClient): Promise<void> {
  c.send({ type: 'pingreq' });
  await c.expect('pingresp');
}

/** `n` packets of `type`, in the order they arrive. */
async function take<T extends Packet['type']>(c: TestClient, type: T, n: number): Promise<Extract<Packet, { type: T }>[]> {
  const out: Extract<Packet, { type: T }>[] = [];
  for (let i = 0; i < n; i++) out.push(await c.expect(type));
  return out;
}

describe.each(VERSIONS)('v%i, QoS 0', (v) => {
  // 3.1.1 and 5.0 [MQTT-4.3.1-1] the broker sends QoS 0 with DUP 0: also a message that came in
  // at QoS 1 with DUP 1 (its publisher re-sending it) and goes out at QoS 0.
  it('the broker sends every QoS 0 PUBLISH with DUP 0', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: v });
    await sub.subscribe('t', 0);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'zero');
    pub.publish('t', 'one again', { qos: 1, dup: true });
    await pub.expect('puback');
    pub.publish('t', 'two again', { qos: 2, dup: true });
    await pub.expect('pubrec');
    for (const payload of ['zero', 'one again', 'two again']) {
      const m = await sub.expect('publish');
      expect(m).toMatchObject({ qos: 0, dup: false });
      expect(m.packetId).toBeUndefined();
      expect(m.payload.toString()).toBe(payload);
    }
  });
});

describe.each(VERSIONS)('v%i, QoS 1, broker to subscriber', (v) => {
  // 3.1.1 [MQTT-4.3.2-1]; 5.0 [MQTT-4.3.2-1] an unused packet id for each new message,
  // [MQTT-4.3.2-2] QoS 1 and DUP 0, [MQTT-4.3.2-3] unacknowledged until its PUBACK: re-sent on
  // resume with DUP 1 and its id, and no longer once PUBACK came.
  it('each new message gets an unused packet id, DUP 0, and stays unacknowledged until its PUBACK', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub', v));
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    for (let i = 0; i < 4; i++) pub.publish('t', `m${i}`, { qos: 1 });
    const first = await take(sub, 'publish', 4);
    for (const m of first) expect(m).toMatchObject({ qos: 1, dup: false });
    const ids = first.map((m) => m.packetId!);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toBeGreaterThan(0);
    // One acknowledged, three still in flight: a new message gets none of theirs.
    sub.send({ type: 'puback', packetId: ids[1]!, ...ok(v) });
    await sync(sub);
    expect(broker.inspect.session('sub')!.inflight).toBe(3);
    pub.publish('t', 'm4', { qos: 1 });
    const fifth = await sub.expect('publish');
    expect([ids[0], ids[2], ids[3]]).not.toContain(fifth.packetId);
    expect(fifth).toMatchObject({ qos: 1, dup: false });

    sub.kill();
    const { client: back, connack } = await connect(broker, persistent('sub', v));
    expect(connack.sessionPresent).toBe(true);
    const again = await take(back, 'publish', 4);
    expect(again.map((m) => [m.packetId, m.dup, m.payload.toString()])).toEqual([
      [ids[0], true, 'm0'],
      [ids[2], true, 'm2'],
      [ids[3], true, 'm3'],
      [fifth.packetId, true, 'm4'],
    ]);
    for (const m of again) back.send({ type: 'puback', packetId: m.packetId!, ...ok(v) });
    await sync(back);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
    back.kill();
    const { client: third } = await connect(broker, persistent('sub', v));
    await third.expectNothing();
  });
});

describe('packet ids the broker allocates', () => {
  // 3.1.1 [MQTT-4.3.2-1] [MQTT-4.3.3-1] / 5.0 [MQTT-4.3.2-1] [MQTT-4.3.3-1]: "unused" holds past
  // the wrap at 65535: the ids still waiting for PUBACK, PUBREC or PUBCOMP are skipped.
  it('wraps at 65535 and skips every id still in flight', () => {
    const record = new SessionRecord('s');
    const d = {} as Delivery;
    record.inflight = new Map([
      [0xfffe, d],
      [0xffff, d],
      [1, d],
      [3, d],
    ]);
    record.nextPacketId = 0xfffe;
    expect([record.allocatePacketId(), record.allocatePacketId(), record.allocatePacketId()]).toEqual([2, 4, 5]);
  });
});

describe.each(VERSIONS)('v%i, QoS 1, publisher to broker', (v) => {
  // 3.1.1 [MQTT-4.3.2-2]; 5.0 [MQTT-4.3.2-4] PUBACK with the PUBLISH's packet id, and
  // [MQTT-4.3.2-5] after PUBACK a PUBLISH with the same id is a new message, DUP 1 or not.
  it('a packet id reused after its PUBACK is a new message and is delivered again', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: v });
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'same', { qos: 1, packetId: 5 });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 5, ...ok(v) });
    expect((await sub.receive()).payload.toString()).toBe('same');
    pub.publish('t', 'same', { qos: 1, packetId: 5, dup: true });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 5, ...ok(v) });
    expect((await sub.receive()).payload.toString()).toBe('same');
    pub.publish('t', 'other', { qos: 1, packetId: 5 });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 5, ...ok(v) });
    expect((await sub.receive()).payload.toString()).toBe('other');
    await sub.expectNothing();
  });
});

describe.each(VERSIONS)('v%i, QoS 2, broker to subscriber', (v) => {
  // 3.1.1 [MQTT-4.3.3-1]: the sender's whole duty. 5.0: [MQTT-4.3.3-1] an unused id,
  // [MQTT-4.3.3-2] QoS 2 DUP 0, [MQTT-4.3.3-3] unacknowledged until PUBREC (re-sent on resume),
  // [MQTT-4.3.3-4] PUBREL with the same id on PUBREC, [MQTT-4.3.3-5] PUBREL unacknowledged until
  // PUBCOMP (re-sent on resume), [MQTT-4.3.3-6] the PUBLISH never again once PUBREL went out.
  it('PUBLISH until PUBREC, then PUBREL until PUBCOMP, never the PUBLISH again after PUBREL', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub', v));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'x', { qos: 2 });
    pub.publish('t', 'y', { qos: 2 });
    const [x, y] = await take(sub, 'publish', 2);
    expect(x).toMatchObject({ qos: 2, dup: false });
    expect(y).toMatchObject({ qos: 2, dup: false });
    expect(x!.packetId).not.toBe(y!.packetId);

    // No PUBREC yet: both PUBLISHes come again, DUP 1, same ids.
    sub.kill();
    let { client: c } = await connect(broker, persistent('sub', v));
    const again = await take(c, 'publish', 2);
    expect(again.map((m) => [m.packetId, m.dup])).toEqual([
      [x!.packetId, true],
      [y!.packetId, true],
    ]);

    c.send({ type: 'pubrec', packetId: x!.packetId!, ...ok(v) });
    expect(await c.expect('pubrel')).toEqual({ type: 'pubrel', packetId: x!.packetId, ...ok(v) });
    // 5.0: any reason code below 0x80 asks for PUBREL (0x10 No matching subscribers here).
    c.send({ type: 'pubrec', packetId: y!.packetId!, ...(v === 5 ? { reasonCode: ReasonCode.NoMatchingSubscribers } : {}) });
    expect(await c.expect('pubrel')).toEqual({ type: 'pubrel', packetId: y!.packetId, ...ok(v) });

    // PUBREL out, no PUBCOMP: on resume the PUBRELs come again, and no PUBLISH.
    c.kill();
    ({ client: c } = await connect(broker, persistent('sub', v)));
    const rels = await take(c, 'pubrel', 2);
    expect(rels.map((r) => r.packetId)).toEqual([x!.packetId, y!.packetId]);
    await c.expectNothing();
    for (const r of rels) c.send({ type: 'pubcomp', packetId: r.packetId, ...ok(v) });
    await sync(c);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
    c.kill();
    ({ client: c } = await connect(broker, persistent('sub', v)));
    await c.expectNothing();
  });
});

describe.each(VERSIONS)('v%i, QoS 2, publisher to broker', (v) => {
  // 3.1.1 [MQTT-4.3.3-2]: the receiver's whole duty. 5.0: [MQTT-4.3.3-8] PUBREC with the
  // PUBLISH's id, [MQTT-4.3.3-10] until PUBREL a PUBLISH with that id gets PUBREC again and is not
  // delivered again, [MQTT-4.3.3-11] PUBREL is answered by PUBCOMP with its id, [MQTT-4.3.3-12]
  // after PUBCOMP the same id (the same payload, DUP 1 even) is a new message, delivered again.
  it('a packet id reused after its PUBCOMP is a new message and is delivered again', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: v });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'same', { qos: 2, packetId: 9 });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 9, ...ok(v) });
    expect((await sub.receive()).payload.toString()).toBe('same');
    pub.publish('t', 'same', { qos: 2, packetId: 9, dup: true });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 9, ...ok(v) });
    await sub.expectNothing();
    pub.send({ type: 'pubrel', packetId: 9, ...ok(v) });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 9, ...ok(v) });

    pub.publish('t', 'same', { qos: 2, packetId: 9, dup: true });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 9, ...ok(v) });
    expect((await sub.receive()).payload.toString()).toBe('same');
    pub.send({ type: 'pubrel', packetId: 9, ...ok(v) });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 9, ...ok(v) });
    await sub.expectNothing();
  });
});

describe('v5, QoS 2, publisher to broker, refused', () => {
  // 5.0 [MQTT-4.3.3-9] after a PUBREC with a reason code of 0x80 or more, a PUBLISH with that id is
  // a new message: the broker holds no id (a PUBREL for it is 0x92), and the very same PUBLISH
  // re-sent with DUP 1 is judged again, here allowed, and delivered.
  it('a packet id refused with PUBREC 0x87 starts a new message when it comes again', async (ctx) => {
    let asked = 0;
    const broker = brokerFor(ctx, { hooks: { authorizePublish: () => ++asked > 1 } });
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'x', { qos: 2, packetId: 4 });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 4, reasonCode: ReasonCode.NotAuthorized });
    expect(broker.inspect.session('pub')!.incomingQos2).toBe(0);
    pub.send({ type: 'pubrel', packetId: 4, reasonCode: 0 });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 4, reasonCode: ReasonCode.PacketIdentifierNotFound });
    await sub.expectNothing();

    pub.publish('t', 'x', { qos: 2, packetId: 4, dup: true });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 4, reasonCode: 0 });
    expect(asked).toBe(2);
    expect((await sub.receive()).payload.toString()).toBe('x');
    pub.send({ type: 'pubrel', packetId: 4, reasonCode: 0 });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 4, reasonCode: 0 });
    await until(() => broker.inspect.session('pub')!.incomingQos2 === 0);
  });
});
