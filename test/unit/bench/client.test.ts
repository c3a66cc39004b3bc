/**
 * The bench client's hand-written input path: PUBLISH and acks cut out of chunks in place.
 * Every stream is fed whole, split at every offset, and one byte at a time; what the roles
 * see must not depend on where the chunks end. Acks owed are written once per chunk.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, type Receiver, type Sender } from '../../../src/core/bench/client.js';
import type { Link, LinkHandler } from '../../../src/core/net/dial.js';
import { encode, type Packet } from '../../../src/core/codec/index.js';

class FakeLink implements Link {
  written: Buffer[] = [];
  handler: LinkHandler | undefined;
  write(buf: Buffer): void {
    this.written.push(Buffer.from(buf));
  }
  needsDrain(): boolean {
    return false;
  }
  end(): void {}
  destroy(): void {}
  setHandler(handler: LinkHandler): void {
    this.handler = handler;
  }
}

class Recorder implements Receiver, Sender {
  payloads: string[] = [];
  acks: number[] = [];
  refused: [number, number][] = [];
  chunks = 0;
  onMessage(buf: Buffer, at: number, end: number): void {
    this.payloads.push(buf.subarray(at, end).toString());
  }
  afterChunk(): void {
    this.chunks++;
  }
  onAck(id: number): void {
    this.acks.push(id);
  }
  onRefused(id: number, reasonCode: number): void {
    this.refused.push([id, reasonCode]);
  }
  pump(): void {}
  onDrain(): void {}
}

function client(version: 4 | 5): { link: FakeLink; client: RawClient; rec: Recorder } {
  const link = new FakeLink();
  const c = new RawClient(link, version);
  const rec = new Recorder();
  c.receiver = rec;
  c.sender = rec;
  return { link, client: c, rec };
}

function stream(version: 4 | 5): Buffer {
  const big = 'x'.repeat(300); // a two-byte remaining length
  const packets: Packet[] = [
    { type: 'publish', topic: 't/0', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false },
    { type: 'publish', topic: 't/1', payload: Buffer.from('one'), qos: 1, retain: false, dup: false, packetId: 7 },
    { type: 'puback', packetId: 3, ...(version === 5 ? { reasonCode: 0 } : {}) },
    { type: 'publish', topic: 'a/much/longer/topic', payload: Buffer.from(big), qos: 2, retain: true, dup: false, packetId: 65_535 },
    { type: 'pubrel', packetId: 65_535, ...(version === 5 ? { reasonCode: 0 } : {}) },
    { type: 'pubcomp', packetId: 4, ...(version === 5 ? { reasonCode: 0 } : {}) },
    { type: 'pingresp' },
    { type: 'publish', topic: 't/2', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
  ];
  if (version === 5) {
    packets.push({ type: 'publish', topic: 't/3', payload: Buffer.from('props'), qos: 1, retain: false, dup: false, packetId: 9, properties: { userProperties: [['k', 'v']], subscriptionIdentifiers: [300] } });
    packets.push({ type: 'puback', packetId: 5, reasonCode: 0x87 });
    packets.push({ type: 'pubrec', packetId: 6, reasonCode: 0x80 });
  }
  return Buffer.concat(packets.map((p) => encode(p, version)));
}

/** Acks the client wrote, as [type byte, packet id], in order. */
function acks(link: FakeLink): [number, number][] {
  const all = Buffer.concat(link.written);
  const out: [number, number][] = [];
  for (let i = 0; i < all.length; i += 4) out.push([all[i]!, all.readUInt16BE(i + 2)]);
  return out;
}

describe('RawClient input', () => {
  for (const version of [4, 5] as const) {
    const bytes = stream(version);
    const payloads = ['zero', 'one', 'x'.repeat(300), '', ...(version === 5 ? ['props'] : [])];
    // [MQTT-4.3.2-4] PUBACK for QoS 1, [MQTT-4.3.3-8] PUBREC for QoS 2, [MQTT-4.3.3-11] PUBCOMP for PUBREL.
    const owed: [number, number][] = [
      [0x40, 7],
      [0x50, 65_535],
      [0x70, 65_535],
      ...(version === 5 ? ([[0x40, 9]] as [number, number][]) : []),
    ];

    const check = (chunks: Buffer[]): void => {
      const { link, client: c, rec } = client(version);
      for (const chunk of chunks) c.onData(chunk);
      expect(rec.payloads).toEqual(payloads);
      expect(rec.acks).toEqual([3, 4]);
      expect(rec.refused).toEqual(version === 5 ? [[5, 0x87], [6, 0x80]] : []);
      expect(acks(link)).toEqual(owed);
    };

    // [MQTT-2.2.1-5] each ack the bench writes carries the packet id of the PUBLISH or PUBREL it answers (owed).
    it(`MQTT ${version === 4 ? '3.1.1' : '5.0'}: one chunk`, () => {
      check([bytes]);
    });

    it(`MQTT ${version === 4 ? '3.1.1' : '5.0'}: split in two at every offset`, () => {
      for (let cut = 1; cut < bytes.length; cut++) check([bytes.subarray(0, cut), bytes.subarray(cut)]);
    });

    it(`MQTT ${version === 4 ? '3.1.1' : '5.0'}: one byte at a time`, () => {
      check(Array.from(bytes, (b) => Buffer.from([b])));
    });

    it(`MQTT ${version === 4 ? '3.1.1' : '5.0'}: split in three everywhere`, () => {
      for (let a = 1; a < bytes.length; a += 7) for (let b = a + 1; b < bytes.length; b += 5) check([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
    });
  }

  it('writes the acks of one chunk in one write', () => {
    const { link, client: c } = client(4);
    const publishes = Array.from({ length: 50 }, (_, k) => encode({ type: 'publish', topic: 't', payload: Buffer.from('p'), qos: 1, retain: false, dup: false, packetId: k + 1 }, 4));
    c.onData(Buffer.concat(publishes));
    expect(link.written).toHaveLength(1);
    expect(acks(link)).toEqual(Array.from({ length: 50 }, (_, k) => [0x40, k + 1]));
  });

  it('a server DISCONNECT is reported with its reason code', () => {
    const { link, client: c } = client(5);
    const lost: unknown[] = [];
    c.onLost = (_c, loss) => lost.push(loss);
    c.onData(encode({ type: 'disconnect', reasonCode: 0x8b }, 5));
    link.handler!.onClose(undefined);
    expect(lost).toEqual([{ reasonCode: 0x8b, message: 'the broker sent DISCONNECT 0x8b' }]);
  });

  it('undecodable bytes from the broker end the connection as EPROTO', () => {
    const { link, client: c } = client(4);
    const lost: { code?: string }[] = [];
    c.onLost = (_c, loss) => lost.push(loss);
    c.onData(Buffer.from([0x20, 0x01, 0x00])); // a CONNACK one byte short of its body
    link.handler!.onClose(undefined);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.code).toBe('EPROTO');
  });
});
