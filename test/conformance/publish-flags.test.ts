/**
 * The PUBLISH fixed header (3.1.1 and 5.0 section 3.3.1: DUP and QoS) and PUBREL's reserved
 * flags (section 3.6.1), the broker's side in both versions: what it sets on what it sends,
 * and what it closes on. One broker for the file; every test has client ids of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ConnectPacket, ProtocolVersion } from '../../src/core/codec/types.js';
import { connect } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1.1', 4],
  ['5.0', 5],
];

/** A persistent session's CONNECT fields for either version (5.0 needs an expiry above 0). */
function persistent(clientId: string, protocolVersion: ProtocolVersion): Partial<ConnectPacket> {
  return protocolVersion === 5 ? { clientId, protocolVersion, clean: false, properties: { sessionExpiryInterval: 60 } } : { clientId, protocolVersion, clean: false };
}

/** A PUBLISH's fixed header and body for a 't' topic in either version (5.0: empty properties). */
function rawPublish(firstByte: number, protocolVersion: ProtocolVersion, packetId?: number): Buffer {
  const body = [0, 1, 0x74, ...(packetId === undefined ? [] : [packetId >> 8, packetId & 0xff]), ...(protocolVersion === 5 ? [0] : []), 0x78];
  return Buffer.from([firstByte, body.length, ...body]);
}

describe('DUP', () => {
  // [MQTT-3.3.1-1] a PUBLISH the broker re-delivers (a persistent session resumed with it
  // unacknowledged) carries DUP 1, with the same packet id; the first sending had DUP 0.
  it.each(VERSIONS)('re-delivers an unacknowledged QoS 1 and QoS 2 PUBLISH with DUP 1 (%s)', async (name, protocolVersion) => {
    const id = `dup-sub-${name}`;
    const { client: sub } = await connect(broker, persistent(id, protocolVersion));
    await sub.subscribe(`dup/${name}/#`, 2);
    const { client: pub } = await connect(broker, { clientId: `dup-pub-${name}`, protocolVersion });
    pub.publish(`dup/${name}/1`, 'one', { qos: 1 });
    pub.publish(`dup/${name}/2`, 'two', { qos: 2 });
    const first = [await sub.expect('publish'), await sub.expect('publish')];
    expect(first.map((p) => [p.qos, p.dup])).toEqual([
      [1, false],
      [2, false],
    ]);
    sub.kill();
    const { client: back, connack } = await connect(broker, persistent(id, protocolVersion));
    expect(connack.sessionPresent).toBe(true);
    const again = [await back.expect('publish'), await back.expect('publish')];
    expect(again.map((p) => [p.topic, p.qos, p.dup, p.packetId])).toEqual(first.map((p) => [p.topic, p.qos, true, p.packetId]));
    for (const p of again) await back.ack(p);
    await back.expectNothing(50);
    back.kill();
    pub.kill();
  });

  // [MQTT-3.3.1-2] every QoS 0 PUBLISH the broker sends has DUP 0: a QoS 1 message sent with
  // DUP 1 reaching a QoS 0 subscription, and a QoS 0 PUBLISH that arrived (wrongly) with DUP 1.
  it.each(VERSIONS)('sends every QoS 0 PUBLISH with DUP 0, whatever the DUP of what came in (%s)', async (name, protocolVersion) => {
    const { client: sub } = await connect(broker, { clientId: `dup0-sub-${name}`, protocolVersion });
    await sub.subscribe('dup0/t', 0);
    const { client: pub } = await connect(broker, { clientId: `dup0-pub-${name}`, protocolVersion });
    pub.publish('dup0/t', 'resent', { qos: 1, dup: true });
    await pub.expect('puback');
    const a = await sub.expect('publish');
    expect(a).toMatchObject({ qos: 0, dup: false });
    // 0x38: PUBLISH, DUP 1, QoS 0: the flag is wrong, the message still goes on without it.
    const body = [0, 6, ...Buffer.from('dup0/t'), ...(protocolVersion === 5 ? [0] : []), 0x78];
    pub.sendRaw(Buffer.from([0x38, body.length, ...body]));
    const b = await sub.expect('publish');
    expect(b).toMatchObject({ qos: 0, dup: false });
    await pub.disconnect();
    await sub.disconnect();
  });

  // [MQTT-3.3.1-3] DUP is not propagated: a PUBLISH that came in with DUP 1 goes to its
  // subscribers (QoS 1 and QoS 2) as a first sending, DUP 0.
  it.each(VERSIONS)('does not pass an incoming DUP 1 on to subscribers (%s)', async (name, protocolVersion) => {
    const { client: sub } = await connect(broker, { clientId: `dupin-sub-${name}`, protocolVersion });
    await sub.subscribe('dupin/#', 2);
    const { client: pub } = await connect(broker, { clientId: `dupin-pub-${name}`, protocolVersion });
    pub.publish('dupin/1', 'a', { qos: 1, dup: true });
    pub.publish('dupin/2', 'b', { qos: 2, dup: true });
    await pub.expect('puback');
    const rec = await pub.expect('pubrec');
    pub.send({ type: 'pubrel', packetId: rec.packetId });
    await pub.expect('pubcomp');
    const got = [await sub.receive(), await sub.receive()];
    expect(got.map((p) => [p.topic, p.qos, p.dup])).toEqual([
      ['dupin/1', 1, false],
      ['dupin/2', 2, false],
    ]);
    await pub.disconnect();
    await sub.disconnect();
  });
});

describe('QoS bits', () => {
  // [MQTT-3.3.1-4] a PUBLISH with both QoS bits set: 3.1.1 closes the connection; in 5.0 it is
  // a Malformed Packet (DISCONNECT 0x81, then close). Nothing of it reaches a subscriber.
  it.each(VERSIONS)('closes the connection on a PUBLISH with QoS 3 (%s)', async (name, protocolVersion) => {
    const { client: sub } = await connect(broker, { clientId: `qos3-sub-${name}`, protocolVersion });
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: `qos3-pub-${name}`, protocolVersion });
    pub.sendRaw(rawPublish(0x36, protocolVersion, 1));
    if (protocolVersion === 5) expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await pub.expectClosed();
    await sub.expectNothing();
    await sub.disconnect();
  });
});

describe('PUBREL flags', () => {
  // [MQTT-3.6.1-1] PUBREL's flags must be 0010; any other value is malformed: closed (5.0:
  // DISCONNECT 0x81 first). The broker's own PUBREL carries 0010 (byte 0x62 on the wire).
  it.each(VERSIONS)('closes on a PUBREL with flags other than 0010, and sends its own with 0010 (%s)', async (name, protocolVersion) => {
    const { client: sub } = await connect(broker, { clientId: `rel-sub-${name}`, protocolVersion });
    await sub.subscribe('rel/t', 2);
    const bytes: Buffer[] = [];
    sub.stream.on('data', (chunk: Buffer) => bytes.push(chunk));
    const { client: pub } = await connect(broker, { clientId: `rel-pub-${name}`, protocolVersion });
    pub.publish('rel/t', 'x', { qos: 2, packetId: 9 });
    await pub.expect('pubrec');
    const m = await sub.expect('publish');
    sub.send({ type: 'pubrec', packetId: m.packetId!, ...(protocolVersion === 5 ? { reasonCode: 0 } : {}) });
    const rel = await sub.expect('pubrel');
    expect(rel.packetId).toBe(m.packetId);
    expect(Buffer.concat(bytes).includes(Buffer.from([0x62, 0x02, m.packetId! >> 8, m.packetId! & 0xff]))).toBe(true);
    sub.send({ type: 'pubcomp', packetId: m.packetId!, ...(protocolVersion === 5 ? { reasonCode: 0 } : {}) });
    // 0x60: PUBREL with flags 0000.
    pub.sendRaw([0x60, 0x02, 0x00, 0x09]);
    if (protocolVersion === 5) expect((await pub.expect('disconnect')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await pub.expectClosed();
    await sub.disconnect();
  });
});
