/**
 * MQTT 5.0 shared subscriptions (section 4.8.2): the `$share/{ShareName}/{filter}` syntax, the
 * granted QoS of each member, one member per message, and what becomes of a message a member
 * was given when that member goes away or refuses it. Each scenario runs against our broker
 * (in-process) and, as the reference, against a real mosquitto over TCP.
 */
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, PublishPacket, QoS, Subscription } from '../../src/core/codec/types.js';
import { connect, TestClient } from '../helpers/broker-client.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';

const gate = needPeers('mosquitto');

/** A broker a scenario runs against: how to connect a 5.0 client to it. */
interface Target {
  readonly name: string;
  connect(packet: Partial<ConnectPacket>): Promise<TestClient>;
  /** Ours only: the broker, to look inside. */
  readonly broker?: Broker;
}

let ours: Broker;
let mosquitto: RunningMosquitto | undefined;
beforeAll(async () => {
  ours = createBroker();
  if (!gate.skip) mosquitto = await startMosquitto();
});
afterAll(async () => {
  await ours.close();
  await mosquitto?.stop();
});

const CONNECT = { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' } as const;

const OURS: Target = {
  name: 'our broker',
  get broker() {
    return ours;
  },
  connect: async (packet) => (await connect(ours, { ...CONNECT, ...packet })).client,
};

const MOSQUITTO: Target = {
  name: 'mosquitto',
  connect: async (packet) => {
    gate.check();
    const socket = netConnect({ host: '127.0.0.1', port: mosquitto!.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new TestClient(socket, 5);
    client.send({ ...CONNECT, ...packet } as ConnectPacket);
    const connack = await client.expect('connack');
    if (connack.reasonCode !== 0) throw new Error(`mosquitto refused the CONNECT with 0x${connack.reasonCode.toString(16)}`);
    return client;
  },
};

const TARGETS = gate.skip ? [OURS] : [OURS, MOSQUITTO];

function sub(topicFilter: string, qos: QoS): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 };
}

let n = 0;
/** A client id and topic no other test (or earlier run against the same mosquitto) uses. */
const unique = (what: string): string => `${what}-${process.pid}-${n++}`;

/** A persistent session that outlives its connection by a minute. */
const persistent = (clientId: string): Partial<ConnectPacket> => ({ clientId, clean: false, properties: { sessionExpiryInterval: 60 } });

/** Waits until a PUBLISH is answered: the publisher's PUBACK, or the PUBREC → PUBREL → PUBCOMP of QoS 2. */
async function published(pub: TestClient, topic: string, payload: string, qos: 1 | 2): Promise<void> {
  const id = pub.publish(topic, payload, { qos });
  if (qos === 1) {
    expect((await pub.expect('puback')).packetId).toBe(id);
    return;
  }
  expect((await pub.expect('pubrec')).packetId).toBe(id);
  pub.send({ type: 'pubrel', packetId: id, reasonCode: 0 });
  expect((await pub.expect('pubcomp')).packetId).toBe(id);
}

/**
 * Every PUBLISH `c` receives until it falls silent, each acknowledged as it comes (PUBACK, or
 * PUBREC and then PUBCOMP for the PUBREL that follows while later PUBLISHes keep arriving).
 */
async function drain(c: TestClient): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (;;) {
    const p = await c.next(120).catch(() => undefined);
    if (p === undefined) return got;
    if (p.type === 'publish') {
      got.push(p);
      if (p.qos === 1) c.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
      if (p.qos === 2) c.send({ type: 'pubrec', packetId: p.packetId!, reasonCode: 0 });
    } else if (p.type === 'pubrel') {
      c.send({ type: 'pubcomp', packetId: p.packetId, reasonCode: 0 });
    } else {
      throw new Error(`expected PUBLISH or PUBREL, got ${JSON.stringify(p)}`);
    }
  }
}

describe('shared subscription filters, our broker', () => {
  // [MQTT-4.8.2-1] a shared filter starts with $share/ and names a ShareName of one character
  // or more; [MQTT-4.8.2-2] the ShareName holds no '/', '+' or '#' and is followed by '/' and a
  // Topic Filter. Each malformed one is refused with 0x8F; the well-formed ones are granted.
  // (Ours only: mosquitto 2.0 grants $share//a, $share/g, $share/g/ and $share/+/a, and answers
  // $share/g+/a with DISCONNECT 0x81.)
  it('refuses $share filters without a ShareName, with + or # in it, or without a filter after it', async () => {
    const c = await OURS.connect({ clientId: unique('syntax') });
    const bad = ['$share//a', '$share/g', '$share/g/', '$share/g+/a', '$share/g#/a', '$share/+/a', '$share/#/a', '$share/#'];
    const good = ['$share/g/a', '$share/g/#', '$share/gg/+/b', '$share/g/a/#'];
    const suback = await c.trySubscribe([...bad, ...good].map((f) => sub(f, 1)));
    expect(suback.reasonCodes).toEqual([...bad.map(() => ReasonCode.TopicFilterInvalid), ...good.map(() => 1)]);
    await c.disconnect({ reasonCode: 0 });
  });

  // [MQTT-4.8.2-3]: the granted QoS is what the broker granted, not what was asked: with a
  // maximum QoS of 1, a member that asked for 2 is granted 1 and receives QoS 2 messages at 1.
  it('a member granted less than it asked for receives at what was granted', async () => {
    const capped = createBroker({ maxQoS: 1 });
    try {
      const m = (await connect(capped, { ...CONNECT, clientId: 'capped' })).client;
      expect((await m.subscribe(sub('$share/c/capped', 2))).reasonCodes).toEqual([1]);
      // The broker's own publish: a client may not send QoS 2 to a broker whose maximum is 1.
      capped.publishMessage('capped', 'x', { qos: 2 });
      const got = await m.receive();
      expect([got.qos, got.payload.toString()]).toEqual([1, 'x']);
    } finally {
      await capped.close();
    }
  });
});

describe.each(TARGETS.map((t) => [t.name, t] as const))('shared subscriptions, %s', (name, target) => {
  // [MQTT-4.8.2-1]: $share/{ShareName}/ opens a shared subscription: two members of one group
  // get each message once between them, while another group gets its own copy of each.
  it(`${name}: members of one group share the messages; another group gets its own copy`, async () => {
    const topic = unique('sh/split');
    const [a, b, other] = [await target.connect({ clientId: unique('a') }), await target.connect({ clientId: unique('b') }), await target.connect({ clientId: unique('o') })];
    await a.subscribe(sub(`$share/g/${topic}`, 1));
    await b.subscribe(sub(`$share/g/${topic}`, 1));
    await other.subscribe(sub(`$share/h/${topic}`, 1));
    const pub = await target.connect({ clientId: unique('p') });
    for (let i = 0; i < 6; i++) await published(pub, topic, String(i), 1);
    const [ofA, ofB, ofOther] = await Promise.all([drain(a), drain(b), drain(other)]);
    // Both members of g: together exactly the six, each once.
    const got = [...ofA, ...ofB].map((p) => p.payload.toString());
    const otherGot = ofOther.map((p) => p.payload.toString());
    expect(got.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(otherGot).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const c of [a, b, other, pub]) await c.disconnect({ reasonCode: 0 });
  });

  // [MQTT-4.8.2-3]: each member gets a message at the QoS granted to its own subscription (the
  // lower of that and the message's): QoS 2 messages reach a QoS 0 member at 0, a QoS 1 member
  // at 1, a QoS 2 member at 2; and each message goes to one member only.
  it(`${name}: each member receives at its own granted QoS, each message once`, async () => {
    const topic = unique('sh/qos');
    const members: TestClient[] = [];
    for (const qos of [0, 1, 2] as const) {
      const m = await target.connect({ clientId: unique(`q${qos}`) });
      expect((await m.subscribe(sub(`$share/q/${topic}`, qos))).reasonCodes).toEqual([qos]);
      members.push(m);
    }
    const pub = await target.connect({ clientId: unique('qp') });
    for (let i = 0; i < 6; i++) await published(pub, topic, String(i), 2);
    const all: string[] = [];
    const received = await Promise.all(members.map(drain));
    for (const [qos, mine] of received.entries()) {
      // Round robin over three members: each has its turn.
      expect(mine.length).toBeGreaterThan(0);
      for (const p of mine) expect(p.qos).toBe(qos);
      all.push(...mine.map((p) => p.payload.toString()));
    }
    expect(all.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const c of [...members, pub]) await c.disconnect({ reasonCode: 0 });
  });

  // [MQTT-4.8.2-4]: a QoS 2 message whose delivery to a member broke off is completed to that
  // member when it reconnects, from where it stopped: the PUBLISH again (DUP set) when no PUBREC
  // came, the PUBREL again when it did. The other member never gets it.
  it.each(['PUBLISH', 'PUBREL'] as const)(`${name}: a QoS 2 delivery cut off before its PUBREC or PUBCOMP is completed to that member on reconnect (resends %s)`, async (stage) => {
    const topic = unique('sh/resume');
    const aId = unique('ra');
    let a = await target.connect(persistent(aId));
    await a.subscribe(sub(`$share/r/${topic}`, 2));
    const pub = await target.connect({ clientId: unique('rp') });
    await published(pub, topic, 'owed', 2);
    const first = await a.expect('publish');
    expect(first.qos).toBe(2);
    if (stage === 'PUBREL') {
      a.send({ type: 'pubrec', packetId: first.packetId!, reasonCode: 0 });
      await a.expect('pubrel');
    }
    // Only now does a second member join, then the first one's connection breaks.
    const b = await target.connect({ clientId: unique('rb') });
    await b.subscribe(sub(`$share/r/${topic}`, 2));
    a.kill();
    await a.closedPromise;
    await b.expectNothing(150);
    a = await target.connect(persistent(aId));
    if (stage === 'PUBLISH') {
      const again = await a.expect('publish');
      expect(again).toMatchObject({ packetId: first.packetId, dup: true, qos: 2, topic });
      expect(again.payload.toString()).toBe('owed');
      await a.ack(again);
    } else {
      expect((await a.expect('pubrel')).packetId).toBe(first.packetId);
      a.send({ type: 'pubcomp', packetId: first.packetId!, reasonCode: 0 });
    }
    await Promise.all([a.expectNothing(100), b.expectNothing(100)]);
    await a.disconnect({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    for (const c of [b, pub]) await c.disconnect({ reasonCode: 0 });
  });

  // [MQTT-4.8.2-5]: when the member's Session ends before it reconnects, the message it was
  // being sent is sent to no other member: at QoS 2 (the rule), and, as mosquitto does, at QoS 1
  // and 0 too. The session ends with the connection: Session Expiry Interval 0.
  it.each([2, 1, 0] as const)(`${name}: a QoS %i message owed to a member whose session ends goes to no other member`, async (qos) => {
    const topic = unique('sh/end');
    const a = await target.connect({ clientId: unique('ea') });
    await a.subscribe(sub(`$share/e/${topic}`, qos));
    const pub = await target.connect({ clientId: unique('ep') });
    if (qos === 0) pub.publish(topic, 'lost');
    else await published(pub, topic, 'lost', qos);
    expect((await a.expect('publish')).payload.toString()).toBe('lost');
    const b = await target.connect({ clientId: unique('eb') });
    await b.subscribe(sub(`$share/e/${topic}`, qos));
    a.kill();
    await a.closedPromise;
    // The group still works: the next message reaches the member left.
    if (qos === 0) pub.publish(topic, 'next');
    else await published(pub, topic, 'next', qos);
    const next = await b.expect('publish');
    expect(next.payload.toString()).toBe('next');
    await b.ack(next);
    await b.expectNothing(150);
    if (target.broker !== undefined) expect(target.broker.inspect.sessions().filter((s) => s.clientId.startsWith('ea-'))).toEqual([]);
    for (const c of [b, pub]) await c.disconnect({ reasonCode: 0 });
  });

  // [MQTT-4.8.2-6]: a member that answers PUBACK or PUBREC with a code of 0x80 or more has the
  // message discarded: not resent to it (not even after a reconnect), not sent to another member.
  it.each([1, 2] as const)(`${name}: a QoS %i message refused by a member (0x80) is discarded, sent to no one else`, async (qos) => {
    const topic = unique('sh/refuse');
    const aId = unique('xa');
    let a = await target.connect(persistent(aId));
    await a.subscribe(sub(`$share/x/${topic}`, qos));
    const b = await target.connect({ clientId: unique('xb') });
    const pub = await target.connect({ clientId: unique('xp') });
    await published(pub, topic, 'refused', qos);
    const p = await a.expect('publish');
    await b.subscribe(sub(`$share/x/${topic}`, qos));
    a.send({ type: qos === 1 ? 'puback' : 'pubrec', packetId: p.packetId!, reasonCode: ReasonCode.UnspecifiedError });
    // No PUBREL: the QoS 2 flow ended with the PUBREC.
    await Promise.all([a.expectNothing(150), b.expectNothing(150)]);
    if (target.broker !== undefined) expect(target.broker.inspect.session(aId)).toMatchObject({ inflight: 0, queued: 0 });
    a.kill();
    await a.closedPromise;
    a = await target.connect(persistent(aId));
    await Promise.all([a.expectNothing(150), b.expectNothing(150)]);
    await a.disconnect({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    for (const c of [b, pub]) await c.disconnect({ reasonCode: 0 });
  });
});
