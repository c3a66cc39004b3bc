/**
 * MQTT 3.1.1 and 5.0 section 4.4 (message delivery retry), the broker as the sender: what is
 * unacknowledged is re-sent with its original packet id when the client resumes its session,
 * and at no other time; in 5.0 a PUBACK or PUBREC with a reason code of 0x80 or more ends the
 * delivery, which is then never re-sent.
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const ok = (v: ProtocolVersion): { reasonCode?: number } => (v === 5 ? { reasonCode: 0 } : {});

const persistent = (clientId: string, v: ProtocolVersion, extra: Partial<ConnectPacket> = {}): Partial<ConnectPacket> =>
  v === 5 ? { clientId, protocolVersion: 5, clean: false, ...extra, properties: { sessionExpiryInterval: 60, ...extra.properties } } : { clientId, protocolVersion: 4, clean: false, ...extra };

async function sync(c: TestClient): Promise<void> {
  c.send({ type: 'pingreq' });
  await c.expect('pingresp');
}

/** `n` packets as [type, packet id, dup, payload] in the order they arrive. */
async function packets(c: TestClient, n: number): Promise<[string, number, boolean | undefined, string | undefined][]> {
  const out: [string, number, boolean | undefined, string | undefined][] = [];
  for (let i = 0; i < n; i++) {
    const p = await c.next();
    if (p.type === 'publish') out.push([p.type, p.packetId!, p.dup, p.payload.toString()]);
    else if (p.type === 'pubrel') out.push([p.type, p.packetId, undefined, undefined]);
    else throw new Error(`expected publish or pubrel, got ${p.type}`);
  }
  return out;
}

describe.each([4, 5] as const)('v%i: re-sending on resume', (v) => {
  // 3.1.1 and 5.0 [MQTT-4.4.0-1] on a reconnect with clean session / clean start 0 (and, in 5.0, a
  // session present) the unacknowledged PUBLISHes (DUP 1) and PUBRELs go again with their
  // original packet ids, and never at any other time: not while the connection stays open, not a
  // second time once acknowledged.
  it('re-sends unacknowledged PUBLISH and PUBREL with their original ids on resume, and only then', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub', v));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'one', { qos: 1 });
    pub.publish('t', 'two', { qos: 2 });
    pub.publish('t', 'three', { qos: 2 });
    const [one, two, three] = [await sub.expect('publish'), await sub.expect('publish'), await sub.expect('publish')];
    sub.send({ type: 'pubrec', packetId: three.packetId!, ...ok(v) });
    expect((await sub.expect('pubrel')).packetId).toBe(three.packetId);
    // Nothing goes again while the connection is open.
    await sub.expectNothing(300);

    sub.kill();
    const { client: back, connack } = await connect(broker, persistent('sub', v));
    expect(connack.sessionPresent).toBe(true);
    expect(await packets(back, 3)).toEqual([
      ['publish', one.packetId, true, 'one'],
      ['publish', two.packetId, true, 'two'],
      ['pubrel', three.packetId, undefined, undefined],
    ]);
    await back.expectNothing();
    back.send({ type: 'puback', packetId: one.packetId!, ...ok(v) });
    back.send({ type: 'pubrec', packetId: two.packetId!, ...ok(v) });
    expect((await back.expect('pubrel')).packetId).toBe(two.packetId);
    back.send({ type: 'pubcomp', packetId: two.packetId!, ...ok(v) });
    back.send({ type: 'pubcomp', packetId: three.packetId!, ...ok(v) });
    await sync(back);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
    back.kill();
    const { client: third } = await connect(broker, persistent('sub', v));
    await third.expectNothing();
  });

  // [MQTT-4.4.0-1] a new session (clean session / clean start 1) is not a resume: nothing is re-sent.
  it('re-sends nothing to a client that starts a new session', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub', v));
    await sub.subscribe('t', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    pub.publish('t', 'one', { qos: 1 });
    await sub.expect('publish');
    sub.kill();
    const { client: fresh, connack } = await connect(broker, { ...persistent('sub', v), clean: true });
    expect(connack.sessionPresent).toBe(false);
    await fresh.expectNothing();
  });
});

describe('v5: acknowledgements with a failure code', () => {
  // 5.0 [MQTT-4.4.0-2] a PUBACK or a PUBREC with a reason code of 0x80 or more acknowledges the
  // PUBLISH: no PUBREL follows, it is not re-sent on resume, and it no longer counts against the
  // client's Receive Maximum (1 here), so the next message goes out.
  it('a PUBACK or PUBREC of 0x80 or more ends the delivery: no PUBREL, not re-sent on resume, the window moves on', async (ctx) => {
    const broker = brokerFor(ctx);
    const withWindow = persistent('sub', 5, { properties: { receiveMaximum: 1 } });
    const { client: sub } = await connect(broker, withWindow);
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('t', 'one', { qos: 1 });
    pub.publish('t', 'two', { qos: 2 });
    pub.publish('t', 'three', { qos: 1 });
    const one = await sub.expect('publish');
    expect(one.payload.toString()).toBe('one');
    await sub.expectNothing();
    sub.send({ type: 'puback', packetId: one.packetId!, reasonCode: ReasonCode.UnspecifiedError });
    const two = await sub.expect('publish');
    expect(two.payload.toString()).toBe('two');
    sub.send({ type: 'pubrec', packetId: two.packetId!, reasonCode: ReasonCode.ImplementationSpecificError });
    // The flow is over: the next packet is the next message, not a PUBREL.
    const three = await sub.expect('publish');
    expect(three.payload.toString()).toBe('three');
    await sub.expectNothing();
    expect(broker.inspect.session('sub')!.inflight).toBe(1);

    sub.kill();
    const { client: back, connack } = await connect(broker, withWindow);
    expect(connack.sessionPresent).toBe(true);
    // Only 'three', which was never acknowledged, comes again.
    const again = await back.expect('publish');
    expect([again.packetId, again.dup, again.payload.toString()]).toEqual([three.packetId, true, 'three']);
    await back.expectNothing();
    back.send({ type: 'puback', packetId: again.packetId!, reasonCode: 0x80 });
    await sync(back);
    expect(broker.inspect.session('sub')!.inflight).toBe(0);
    back.kill();
    const { client: third } = await connect(broker, withWindow);
    await third.expectNothing();
  });
});
