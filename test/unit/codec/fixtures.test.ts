/**
 * The codec against hand-written fixtures (test/fixtures/packets): an independent oracle,
 * never our encoder checking our decoder. For every fixture:
 *   decode    the bytes parse to exactly the fixture's packet
 *   encode    canonical fixtures: the encoder writes exactly the bytes;
 *             decode-only fixtures: it writes one of the valid forms the fixtures give for that packet
 *   mirror    parse(encode(packet)) is the packet again
 *   split     the bytes fed in two chunks at every offset, and one byte at a time, give one packet
 * and per version: all fixtures in one chunk give all packets in order, and a parser with no
 * protocolVersion learns it from a CONNECT.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encode, Parser, type Packet } from '../../../src/core/codec/index.js';
import { fixtures, type PacketFixture } from '../../fixtures/packets/index.js';
import { expectPackets, hex, pattern } from '../../helpers/packets.js';

const VERSIONS = [3, 4, 5] as const;
const LABEL = { 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5.0' } as const;

function parse(version: 3 | 4 | 5, ...chunks: Buffer[]): Packet[] {
  const parser = new Parser({ protocolVersion: version });
  const out: Packet[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  return out;
}

/** Every wire form the fixtures of this version give for a packet equal to `packet`. */
function validForms(version: 3 | 4 | 5, packet: Packet): string[] {
  return fixtures.filter((f) => f.version === version && isDeepStrictEqual(f.packet, packet)).map((f) => hex(f.bytes));
}

function fixtureTests(f: PacketFixture): void {
  const bytes = Buffer.from(f.bytes);

  it('decodes', () => {
    expectPackets(parse(f.version, bytes), [f.packet]);
  });

  if (f.decodeOnly === undefined) {
    it('encodes to exactly these bytes', () => {
      expect(hex(encode(f.packet, f.version))).toBe(hex(bytes));
    });
  } else {
    it(`encodes to one of the valid forms (decode-only: ${f.decodeOnly})`, () => {
      const forms = validForms(f.version, f.packet);
      // Every decode-only fixture is written next to the form(s) the encoder may choose.
      expect(forms.length).toBeGreaterThan(1);
      expect(forms).toContain(hex(encode(f.packet, f.version)));
    });
  }

  it('mirrors: parse(encode(packet)) is the packet', () => {
    expectPackets(parse(f.version, encode(f.packet, f.version)), [f.packet]);
  });

  it('decodes when split in two at every offset', () => {
    for (let at = 0; at <= bytes.length; at++) {
      const out = parse(f.version, bytes.subarray(0, at), bytes.subarray(at));
      if (!isDeepStrictEqual(out, [f.packet])) expectPackets(out, [f.packet], `split at ${at}`);
    }
  });

  it('decodes when fed one byte at a time', () => {
    const parser = new Parser({ protocolVersion: f.version });
    const out: Packet[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const got = parser.push(bytes.subarray(i, i + 1));
      // Nothing may come out before the last byte of the packet.
      if (i < bytes.length - 1 && got.length > 0) expect.fail(`packet emitted early, after byte ${i}`);
      out.push(...got);
    }
    expectPackets(out, [f.packet]);
  });

  if (f.packet.type === 'connect') {
    it('teaches a parser without protocolVersion its version', () => {
      const parser = new Parser();
      expectPackets(parser.push(bytes), [f.packet]);
      expect(parser.protocolVersion).toBe(f.version);
    });
  }
}

for (const version of VERSIONS) {
  const ofVersion = fixtures.filter((f) => f.version === version);

  describe(`${LABEL[version]} fixtures`, () => {
    for (const f of ofVersion) describe(f.name, () => fixtureTests(f));

    it('has fixtures of every packet type the version defines', () => {
      const types = new Set(ofVersion.map((f) => f.packet.type));
      const expected = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe',
        'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect'];
      if (version === 5) expected.push('auth');
      expect([...types].sort()).toEqual(expected.sort());
    });

    it('decodes all fixtures of the version concatenated in one chunk, in order', () => {
      const all = Buffer.concat(ofVersion.map((f) => Buffer.from(f.bytes)));
      expectPackets(parse(version, all), ofVersion.map((f) => f.packet));
    });

    it('decodes them in 7-byte chunks too (packet boundaries fall anywhere)', () => {
      const all = Buffer.concat(ofVersion.map((f) => Buffer.from(f.bytes)));
      const chunks: Buffer[] = [];
      for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7));
      expectPackets(parse(version, ...chunks), ofVersion.map((f) => f.packet));
    });

    it('after learning the version from a CONNECT, decodes the other packets of that version', () => {
      const connect = ofVersion.find((f) => f.packet.type === 'connect');
      if (!connect) return expect.fail('no CONNECT fixture');
      const rest = ofVersion.filter((f) => f.packet.type !== 'connect');
      const parser = new Parser();
      const out = parser.push(Buffer.concat([connect, ...rest].map((f) => Buffer.from(f.bytes))));
      expectPackets(out, [connect.packet, ...rest.map((f) => f.packet)]);
    });
  });
}

/**
 * A four-byte remaining length needs a payload of 2 MiB, too large to split at every byte, so
 * it is tested here rather than as a fixture. Header bytes by hand, payload generated.
 */
describe('PUBLISH with a four-byte remaining length', () => {
  // remaining length 2097152 = 0 + 0*128 + 0*16384 + 1*2097152: the smallest four-byte value
  const payload = Buffer.from(pattern(2097152 - 3));
  const header = [0x30, 0x80, 0x80, 0x80, 0x01, 0, 1, 0x74]; // PUBLISH, remaining length, topic 't'
  const bytes = Buffer.concat([Buffer.from(header), payload]);
  const packet: Packet = { type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false };

  it('decodes, whole and in 64 KiB chunks', () => {
    expectPackets(parse(4, bytes), [packet]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
    expectPackets(parse(4, ...chunks), [packet]);
  });

  it('encodes to exactly these bytes', () => {
    const out = encode(packet, 4);
    expect(hex(out.subarray(0, header.length))).toBe(hex(header));
    expect(out.length).toBe(bytes.length);
    expect(out.equals(bytes)).toBe(true);
  });
});
