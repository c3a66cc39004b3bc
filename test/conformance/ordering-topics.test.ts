/**
 * MQTT 3.1.1 and 5.0 section 4.6 (message ordering), the broker's side. 4.6.0-1 … -4 are written
 * as the client's rules; a server delivering to an Ordered Topic follows them too (3.1.1
 * [MQTT-4.6.0-6] "it MUST follow the rules listed above"; 5.0 "in addition to the rules listed
 * above"), so they are checked here on what the broker sends: re-sent PUBLISHes in their
 * original order, PUBACK and PUBREC in the order the PUBLISHes came (also while an asynchronous
 * authorizePublish hook answers out of order), PUBREL in the order the PUBRECs came. Then every
 * topic is ordered: per publisher, topic and QoS, each subscriber sees the order of publication,
 * whether it reads at once, has a window of 1, its socket backed up, or was away.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket, QoS } from '../../src/core/codec/types.js';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { brokerFor, connect, openValveClient, until, type TestClient } from '../helpers/broker-client.js';

const VERSIONS = [4, 5] as const;

const ok = (v: ProtocolVersion): { reasonCode?: number } => (v === 5 ? { reasonCode: 0 } : {});

const persistent = (clientId: string, v: ProtocolVersion, properties: ConnectPacket['properties'] = {}): Partial<ConnectPacket> =>
  v === 5 ? { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60, ...properties } } : { clientId, protocolVersion: 4, clean: false };

async function take<T extends Packet['type']>(c: TestClient, type: T, n: number): Promise<Extract<Packet, { type: T }>[]> {
  const out: Extract<Packet, { type: T }>[] = [];
  for (let i = 0; i < n; i++) out.push(await c.expect(type));
  return out;
}

describe.each(VERSIONS)('v%i: what the broker sends, in order', (v) => {
  // 3.1.1 and 5.0 [MQTT-4.6.0-1] PUBLISHes re-sent on resume go in the order they were first sent
  // (QoS 1 and 2 mixed; some acknowledged in between, some released to PUBREL), and again so on a
  // second resume.
  it('re-sends unacknowledged PUBLISHes in the order they were first sent', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, persistent('sub', v));
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    for (let i = 0; i < 10; i++) pub.publish('t', `m${i}`, { qos: (1 + (i % 2)) as QoS });
    const first = await take(sub, 'publish', 10);
    expect(first.map((m) => m.payload.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    // m2 (QoS 1) acknowledged, m3 (QoS 2) released: neither is a PUBLISH to re-send.
    sub.send({ type: 'puback', packetId: first[2]!.packetId!, ...ok(v) });
    sub.send({ type: 'pubrec', packetId: first[3]!.packetId!, ...ok(v) });
    await sub.expect('pubrel');
    const owed = first.filter((_, i) => i !== 2 && i !== 3).map((m) => [m.packetId, true, m.payload.toString()]);
    let c = sub;
    for (let round = 0; round < 2; round++) {
      c.kill();
      ({ client: c } = await connect(broker, persistent('sub', v)));
      // Eight PUBLISHes and the PUBREL for m3, wherever it falls: the PUBLISHes keep their order.
      const again: Packet[] = [];
      for (let k = 0; k < 9; k++) again.push(await c.next());
      expect(again.filter((p) => p.type === 'pubrel')).toHaveLength(1);
      const publishes = again.filter((p): p is PublishPacket => p.type === 'publish');
      expect(publishes.map((m) => [m.packetId, m.dup, m.payload.toString()])).toEqual(owed);
    }
  });

  // [MQTT-4.6.0-1] [MQTT-4.4.0-1] also after a broker restart on a store: in flight (one released
  // to PUBREL) and queued behind a window of 3, the PUBLISHes come back in the order first sent.
  it('re-sends in the original order after a restart on a store', async (ctx) => {
    const store = new MemoryStore();
    const window = v === 5 ? {} : { maxInflight: 3 };
    const first = createBroker({ store, ...window });
    ctx.onTestFinished(() => first.close());
    await first.ready();
    const session = persistent('sub', v, { receiveMaximum: 3 });
    const { client: sub } = await connect(first, session);
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(first, { clientId: 'pub', protocolVersion: v });
    for (let i = 0; i < 6; i++) {
      pub.publish('t', `m${i}`, { qos: (1 + (i % 2)) as QoS });
      await pub.expect(i % 2 === 0 ? 'puback' : 'pubrec');
    }
    const sent = await take(sub, 'publish', 3);
    expect(sent.map((m) => m.payload.toString())).toEqual(['m0', 'm1', 'm2']);
    sub.send({ type: 'pubrec', packetId: sent[1]!.packetId!, ...ok(v) });
    await sub.expect('pubrel');
    sub.kill();
    await until(() => first.inspect.session('sub')?.connected === false);
    await first.close();

    const second = brokerFor(ctx, { store, ...window });
    await second.ready();
    const { client: back, connack } = await connect(second, session);
    expect(connack.sessionPresent).toBe(true);
    const got = await readAll(back, 5);
    expect(got.map((m) => [m.payload.toString(), m.dup])).toEqual([
      ['m0', true],
      ['m2', true],
      ['m3', false],
      ['m4', false],
      ['m5', false],
    ]);
    expect([got[0]!.packetId, got[1]!.packetId]).toEqual([sent[0]!.packetId, sent[2]!.packetId]);
  });

  // [MQTT-4.6.0-2] PUBACKs and [MQTT-4.6.0-3] PUBRECs go in the order the PUBLISHes came, even when
  // an asynchronous authorizePublish answers the later ones first; deliveries keep that order too.
  it('acknowledges PUBLISHes in the order they came, whatever order authorizePublish answers in', async (ctx) => {
    let asked = 0;
    // The first publish waits longest for its answer, the tenth not at all.
    const authorizePublish = (): Promise<boolean> => new Promise((resolve) => setTimeout(() => resolve(true), 40 - 4 * ++asked));
    const broker = brokerFor(ctx, { hooks: { authorizePublish } });
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: v });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    for (let id = 1; id <= 10; id++) pub.publish('t', `m${id}`, { qos: (1 + (id % 2)) as QoS, packetId: id });
    const acks: [string, number][] = [];
    for (let i = 0; i < 10; i++) {
      const p = await pub.next();
      if (p.type !== 'puback' && p.type !== 'pubrec') throw new Error(`expected puback or pubrec, got ${p.type}`);
      acks.push([p.type, p.packetId]);
    }
    // Odd ids went at QoS 2, even ones at QoS 1.
    expect(acks).toEqual(Array.from({ length: 10 }, (_, k) => [(k + 1) % 2 === 1 ? 'pubrec' : 'puback', k + 1]));
    const delivered = await take(sub, 'publish', 10);
    expect(delivered.map((m) => m.payload.toString())).toEqual(Array.from({ length: 10 }, (_, k) => `m${k + 1}`));
  });

  // [MQTT-4.6.0-4] PUBRELs go in the order the PUBRECs came, not in the order of the PUBLISHes.
  it('sends PUBRELs in the order the PUBRECs came', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: v });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: v });
    for (let i = 0; i < 5; i++) pub.publish('t', `m${i}`, { qos: 2 });
    const ids = (await take(sub, 'publish', 5)).map((m) => m.packetId!);
    const recOrder = [ids[2]!, ids[0]!, ids[4]!, ids[1]!, ids[3]!];
    for (const id of recOrder) sub.send({ type: 'pubrec', packetId: id, ...ok(v) });
    expect((await take(sub, 'pubrel', 5)).map((r) => r.packetId)).toEqual(recOrder);
  });
});

/** A subscriber on `o/#` at QoS 2 that reads and acknowledges every message at once. */
async function reader(broker: Broker, clientId: string, v: ProtocolVersion, extra: Partial<ConnectPacket> = {}): Promise<TestClient> {
  const { client } = await connect(broker, { clientId, protocolVersion: v, ...extra });
  await client.subscribe('o/#', 2);
  return client;
}

/**
 * Reads `n` messages from `c`, acknowledging each as it comes (PUBACK, PUBREC; PUBCOMP for each
 * PUBREL), with the broker's packets interleaved as they may be, until every flow is complete.
 */
async function readAll(c: TestClient, n: number): Promise<PublishPacket[]> {
  const v = c.version;
  const out: PublishPacket[] = [];
  let releasing = 0;
  while (out.length < n || releasing > 0) {
    const p = await c.next();
    if (p.type === 'publish') {
      out.push(p);
      if (p.qos === 1) c.send({ type: 'puback', packetId: p.packetId!, ...ok(v) });
      if (p.qos === 2) {
        releasing++;
        c.send({ type: 'pubrec', packetId: p.packetId!, ...ok(v) });
      }
    } else if (p.type === 'pubrel') {
      releasing--;
      c.send({ type: 'pubcomp', packetId: p.packetId, ...ok(v) });
    } else {
      throw new Error(`expected publish or pubrel, got ${p.type}`);
    }
  }
  return out;
}

/**
 * Per publisher, topic and QoS, the sequence numbers `c` received: each list must be the whole
 * 0, 1, 2, … of what was published (QoS 1 and 2) or an increasing part of it (QoS 0).
 */
function streams(messages: PublishPacket[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of messages) {
    const [publisher, seq] = m.payload.toString().split(':') as [string, string];
    const key = `${publisher} ${m.topic} q${m.qos}`;
    out.set(key, [...(out.get(key) ?? []), Number(seq)]);
  }
  return out;
}

describe.each(VERSIONS)('v%i: ordered topics', (v) => {
  // 3.1.1 [MQTT-4.6.0-5] every topic is an Ordered Topic by default, and [MQTT-4.6.0-6] PUBLISHes
  // go to each subscriber in the order they came from any one client, per topic and QoS. 5.0
  // [MQTT-4.6.0-5] the same order, and [MQTT-4.6.0-6] every topic ordered on non-shared
  // subscriptions. Two publishers interleave on two topics at QoS 0, 1 and 2; the subscribers read
  // at once, through a window of 1 (5.0 Receive Maximum; 3.1.1 the broker's maxInflight), with
  // their socket not read for a while, and after being away (QoS 1 and 2 only are kept for them).
  it('delivers each publisher\'s messages per topic and QoS in the order published, to every kind of subscriber', async (ctx) => {
    // maxClientBuffer: past 200 bytes unwritten, a subscriber's output counts as backed up.
    const broker = brokerFor(ctx, { maxClientBuffer: 200, ...(v === 4 ? { maxInflight: 1 } : {}) });
    const N = 60;
    const fast = await reader(broker, 'fast', v);
    const narrow = await reader(broker, 'narrow', v, v === 5 ? { properties: { receiveMaximum: 1 } } : {});
    const away = await reader(broker, 'away', v, persistent('away', v));
    away.kill();
    const { client: stalled, server } = openValveClient(broker, v);
    stalled.send({ type: 'connect', protocolVersion: v, clean: true, keepalive: 0, clientId: 'stalled' } as ConnectPacket);
    await stalled.expect('connack');
    await stalled.subscribe('o/#', 2);
    server.stalled = true;

    const a = (await connect(broker, { clientId: 'A', protocolVersion: v })).client;
    const b = (await connect(broker, { clientId: 'B', protocolVersion: v })).client;
    const seq = new Map<string, number>();
    const published = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const [who, c] = i % 3 === 0 ? ['B', b] as const : ['A', a] as const;
      const topic = `o/${i % 2}`;
      const qos = (i % 5) % 3 as QoS;
      const key = `${who} ${topic} q${qos}`;
      const n = seq.get(key) ?? 0;
      seq.set(key, n + 1);
      published.set(key, n + 1);
      c.publish(topic, `${who}:${n}`, { qos });
    }
    const whole = (key: string): number[] => Array.from({ length: published.get(key)! }, (_, k) => k);
    const qos12 = [...published.keys()].filter((k) => !k.endsWith('q0'));

    // All read together: a backed-up subscriber may hold the publishers back (backpressure.ts).
    const [fromFast, fromNarrow, fromStalled] = await Promise.all([
      readAll(fast, N),
      readAll(narrow, N),
      (async () => {
        await until(() => broker.inspect.session('stalled')!.queued > 0, 2000, 'a queue for the stalled subscriber');
        server.release();
        return readAll(stalled, N);
      })(),
    ]);
    for (const [who, got] of [['fast', fromFast], ['narrow', fromNarrow], ['stalled', fromStalled]] as const) {
      const lists = streams(got);
      for (const key of published.keys()) expect(lists.get(key), `${key} to ${who}`).toEqual(whole(key));
    }

    const { client: back } = await connect(broker, persistent('away', v));
    const kept = qos12.reduce((sum, k) => sum + published.get(k)!, 0);
    const fromAway = streams(await readAll(back, kept));
    for (const key of qos12) expect(fromAway.get(key), `${key} to the one that was away`).toEqual(whole(key));
    await back.expectNothing();
  });
});
