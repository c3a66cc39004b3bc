/**
 * 5.0 PUBACK, PUBREC, PUBREL and PUBCOMP (sections 3.4-3.7): the reason codes each may carry
 * (the codec parses exactly those of the spec's tables, written out here by hand, and the
 * broker sends only those), and their Reason String and User Properties, which the broker
 * never sends on these packets, so none can push one past the client's Maximum Packet Size:
 * every refusal still arrives, as the bare reason code, under a small maximum.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { Parser } from '../../src/core/codec/parser.js';
import { beforePing, connect, type TestClient } from '../helpers/broker-client.js';

// 5.0 sections 3.4.2.1 (PUBACK), 3.5.2.1 (PUBREC), 3.6.2.1 (PUBREL), 3.7.2.1 (PUBCOMP).
const PUBACK_PUBREC = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_PUBCOMP = [0x00, 0x92];
const HEADER = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
type Ack = keyof typeof HEADER;
const TABLE: Record<Ack, number[]> = { puback: PUBACK_PUBREC, pubrec: PUBACK_PUBREC, pubrel: PUBREL_PUBCOMP, pubcomp: PUBREL_PUBCOMP };

/** Which of the 256 reason codes a 5.0 parser takes for `type` (packet id 1, no properties). */
function parsedCodes(type: Ack): number[] {
  const ok: number[] = [];
  for (let code = 0; code < 256; code++) {
    try {
      const [p] = new Parser({ protocolVersion: 5 }).push(Buffer.from([HEADER[type], 3, 0, 1, code]));
      if (p?.type === type && p.reasonCode === code) ok.push(code);
    } catch (err) {
      if (!(err instanceof MqttError)) throw err;
    }
  }
  return ok;
}

/** The raw bytes the broker writes to `c`, from now on. */
function tap(c: TestClient): Buffer[] {
  const chunks: Buffer[] = [];
  c.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return chunks;
}

describe('the reason code tables, in the codec', () => {
  // [MQTT-3.4.2-1] PUBACK, [MQTT-3.5.2-1] PUBREC: the codec takes exactly the codes of their
  // table (0x00 0x10 0x80 0x83 0x87 0x90 0x91 0x97 0x99); any other is a Protocol Error.
  it.each(['puback', 'pubrec'] as const)('5.0: parses a %s with exactly the reason codes of its table', (type) => {
    expect(parsedCodes(type)).toEqual(PUBACK_PUBREC);
  });

  // [MQTT-3.6.2-1] PUBREL, [MQTT-3.7.2-1] PUBCOMP: only 0x00 and 0x92.
  it.each(['pubrel', 'pubcomp'] as const)('5.0: parses a %s with exactly the reason codes 0x00 and 0x92', (type) => {
    expect(parsedCodes(type)).toEqual(PUBREL_PUBCOMP);
  });
});

describe('what the broker sends', () => {
  const broker = createBroker({
    maxTopicLevels: 3,
    messageSizeLimit: 50,
    hooks: { authorizePublish: (_c, topic) => !topic.startsWith('deny/') },
  });
  afterAll(() => broker.close());

  // [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] every PUBACK, PUBREC, PUBREL and
  // PUBCOMP the broker sends carries a code of that packet's table: success, no matching
  // subscribers, not authorized, topic name invalid (too many levels), implementation
  // specific error (too large), packet identifier not found. The parser of the test client
  // would refuse others; the codes are also checked against the tables above.
  // [MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3] [MQTT-3.6.2-2] [MQTT-3.6.2-3]
  // [MQTT-3.7.2-2] [MQTT-3.7.2-3] under a Maximum Packet Size of 16 bytes, where a Reason String
  // or User Property would not fit, every acknowledgement still arrives, without properties:
  // its bare form, at most 5 bytes.
  it('5.0: sends only table codes, and every refusal fits a 16-byte Maximum Packet Size without properties', async () => {
    const { client: watcher } = await connect(broker, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('ok/#', 2);
    const { client: c } = await connect(broker, { clientId: 'small', protocolVersion: 5, properties: { maximumPacketSize: 16 } });
    await c.subscribe('back/#', 2);
    const bytes = tap(c);
    let id = 0;
    const cases: [string, string, number][] = [
      ['ok/a', 'x', 0x00],
      ['nobody', 'x', 0x10],
      ['deny/a', 'x', 0x87],
      ['a/b/c/d', 'x', 0x90],
      ['ok/big', 'x'.repeat(51), 0x83],
    ];
    for (const qos of [1, 2] as const) {
      for (const [topic, payload] of cases) c.publish(topic, payload, { qos, packetId: ++id });
    }
    const acks = await beforePing(c);
    expect(acks.map((p) => [p.type, 'packetId' in p ? p.packetId : 0, 'reasonCode' in p ? p.reasonCode : undefined])).toEqual([
      ...cases.map(([, , code], i) => ['puback', i + 1, code]),
      ...cases.map(([, , code], i) => ['pubrec', i + 6, code]),
    ]);
    // PUBREL for the accepted QoS 2 ones (6 and 7: PUBCOMP 0x00), and for one never received
    // or refused (8, 0x87 released its id; 99): PUBCOMP 0x92.
    for (const pid of [6, 7, 8, 99]) c.send({ type: 'pubrel', packetId: pid, reasonCode: 0 });
    const comps = await beforePing(c);
    expect(comps.map((p) => [p.type, 'reasonCode' in p ? p.reasonCode : undefined])).toEqual([
      ['pubcomp', 0x00],
      ['pubcomp', 0x00],
      ['pubcomp', 0x92],
      ['pubcomp', 0x92],
    ]);
    // The broker's PUBREL: 0x00 for its own QoS 2 delivery, 0x92 for a PUBREC of an id it never used.
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('back/t', 'x', { qos: 2, packetId: 1 });
    await pub.expect('pubrec');
    const m = await c.expect('publish');
    c.send({ type: 'pubrec', packetId: m.packetId!, reasonCode: 0 });
    c.send({ type: 'pubrec', packetId: 4321, reasonCode: 0 });
    const rels = await beforePing(c);
    expect(rels.map((p) => [p.type, 'packetId' in p ? p.packetId : 0, 'reasonCode' in p ? p.reasonCode : undefined])).toEqual([
      ['pubrel', m.packetId, 0x00],
      ['pubrel', 4321, 0x92],
    ]);
    c.send({ type: 'pubcomp', packetId: m.packetId!, reasonCode: 0 });

    const all = [...acks, ...comps, ...rels];
    for (const p of all) {
      if (p.type !== 'puback' && p.type !== 'pubrec' && p.type !== 'pubrel' && p.type !== 'pubcomp') throw new Error(`unexpected ${p.type}`);
      expect(TABLE[p.type]).toContain(p.reasonCode ?? 0);
      expect(p.properties).toBeUndefined();
    }
    // On the wire: each of them in its bare form, none above 5 bytes, so within the 16 allowed.
    const wire = Buffer.concat(bytes);
    const sizes: number[] = [];
    for (let at = 0; at < wire.length; ) {
      const size = 2 + wire[at + 1]!;
      if ((wire[at]! >> 4) >= 4 && (wire[at]! >> 4) <= 7) sizes.push(size);
      at += size;
    }
    expect(sizes).toHaveLength(all.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5);
  });

  // The same without a Maximum Packet Size: the broker puts no Reason String or User Property
  // on these packets at all (there is no hook that could add one), so the rule above never
  // has to drop anything. [MQTT-3.4.2-2] [MQTT-3.5.2-2]
  it('5.0: puts no properties on a refused PUBACK or PUBREC even without a Maximum Packet Size', async () => {
    const b = createBroker({ hooks: { authorizePublish: () => false } });
    onTestFinished(() => b.close());
    const { client: c } = await connect(b, { clientId: 'big', protocolVersion: 5, properties: { requestProblemInformation: 1 } });
    c.publish('t', 'x', { qos: 1, packetId: 1 });
    c.publish('t', 'x', { qos: 2, packetId: 2 });
    expect(await beforePing(c)).toEqual([
      { type: 'puback', packetId: 1, reasonCode: 0x87 },
      { type: 'pubrec', packetId: 2, reasonCode: 0x87 },
    ]);
  });
});
