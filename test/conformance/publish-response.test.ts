/**
 * The response to a PUBLISH and the QoS of its delivery (3.1.1 sections 3.3.4-3.3.5, 5.0
 * section 3.3.4): what the broker answers per QoS, the QoS of the one copy overlapping
 * subscriptions get, and a 3.1.1 PUBLISH the broker does not authorize.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import type { ClientInfo } from '../../src/core/broker/types.js';
import type { ProtocolVersion, QoS, Subscription } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1.1', 4],
  ['5.0', 5],
];

let n = 0;
async function client(protocolVersion: ProtocolVersion): Promise<TestClient> {
  return (await connect(broker, { clientId: `resp-${++n}`, protocolVersion })).client;
}

const v5 = (c: TestClient) => (c.version === 5 ? { reasonCode: 0 } : {});

/** The next packet is the PINGRESP to a PINGREQ sent now: nothing else came before it. */
async function nothingBeforePing(c: TestClient): Promise<void> {
  c.send({ type: 'pingreq' });
  expect((await c.next()).type).toBe('pingresp');
}

describe('response per QoS', () => {
  // [MQTT-3.3.4-1] Table 3.4: QoS 0, no response; QoS 1, PUBACK; QoS 2, PUBREC (and PUBCOMP
  // for the PUBREL), each with the PUBLISH's packet id.
  it.each(VERSIONS)('answers QoS 0 with nothing, QoS 1 with PUBACK, QoS 2 with PUBREC (%s)', async (_name, protocolVersion) => {
    const pub = await client(protocolVersion);
    pub.publish('resp/t', 'zero', { qos: 0 });
    await nothingBeforePing(pub);
    pub.publish('resp/t', 'one', { qos: 1, packetId: 0x0102 });
    expect(await pub.expect('puback')).toMatchObject({ packetId: 0x0102 });
    pub.publish('resp/t', 'two', { qos: 2, packetId: 0xfffe });
    expect(await pub.expect('pubrec')).toMatchObject({ packetId: 0xfffe });
    pub.send({ type: 'pubrel', packetId: 0xfffe, ...v5(pub) });
    expect(await pub.expect('pubcomp')).toMatchObject({ packetId: 0xfffe });
    await nothingBeforePing(pub);
  });
});

describe('QoS of overlapping subscriptions', () => {
  function sub(topicFilter: string, qos: QoS, protocolVersion: ProtocolVersion): Subscription | string {
    return protocolVersion === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } : topicFilter;
  }

  // 3.1.1 [MQTT-3.3.5-1] / 5.0 [MQTT-3.3.4-2]: a client whose subscriptions overlap gets the
  // message at the highest QoS they grant (capped by the message's own QoS), as one copy.
  it.each(VERSIONS)('delivers one copy at the highest QoS of the matching subscriptions (%s)', async (name, protocolVersion) => {
    const s = await client(protocolVersion);
    const base = `ovl${name}`;
    await s.subscribe([sub(`${base}/#`, 0, protocolVersion)], 0);
    await s.subscribe([sub(`${base}/+`, 2, protocolVersion)], 2);
    await s.subscribe([sub(`${base}/a`, 1, protocolVersion)], 1);
    const pub = await client(protocolVersion);
    for (const qos of [2, 1, 0] as const) pub.publish(`${base}/a`, String(qos), { qos });
    const got = [await s.expect('publish'), await s.expect('publish'), await s.expect('publish')];
    for (const p of got) await s.ack(p);
    expect(got.map((p) => [p.payload.toString(), p.qos])).toEqual([
      ['2', 2],
      ['1', 1],
      ['0', 0],
    ]);
    await nothingBeforePing(s);
  });
});

describe('3.1.1 unauthorized PUBLISH', () => {
  // [MQTT-3.3.5-2] a 3.1.1 PUBLISH the broker does not authorize gets the ordinary positive
  // acknowledgement (PUBACK; PUBREC, then PUBCOMP), the connection stays open and nothing
  // is delivered; the same with an authorizePublish hook that answers later.
  it.each([
    ['at once', false],
    ['with a promise', true],
  ])('acknowledges a refused 3.1.1 PUBLISH as usual and delivers nothing (hook answering %s)', async (_how, later) => {
    const refuse = (_c: ClientInfo, topic: string) => !topic.startsWith('secret/');
    const b = createBroker({ hooks: { authorizePublish: later ? (c, topic) => Promise.resolve(refuse(c, topic)) : refuse } });
    onTestFinished(() => b.close());
    const { client: watcher } = await connect(b, { clientId: 'watcher' });
    await watcher.subscribe('#', 2);
    const { client: pub } = await connect(b, { clientId: 'pub' });
    pub.publish('secret/0', 'x', { qos: 0 });
    pub.publish('secret/1', 'x', { qos: 1, packetId: 11 });
    pub.publish('secret/2', 'x', { qos: 2, packetId: 12 });
    expect(await pub.expect('puback')).toEqual({ type: 'puback', packetId: 11 });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 12 });
    pub.send({ type: 'pubrel', packetId: 12 });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 12 });
    await nothingBeforePing(pub);
    pub.publish('open/1', 'allowed', { qos: 1 });
    await pub.expect('puback');
    expect((await watcher.receive()).topic).toBe('open/1');
    await nothingBeforePing(watcher);
  });
});
