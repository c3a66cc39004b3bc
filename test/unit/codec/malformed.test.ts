/**
 * Malformed and protocol-violating input: every case asserts the reason code the spec assigns
 * (MqttError.reasonCode), fed whole and one byte at a time. The cases are data in
 * test/fixtures/malformed.ts (hand-written bytes, the spec ids and the reasoning beside each),
 * shared with the broker's raw-socket test; this file holds the test logic.
 */
import { describe, expect, it } from 'vitest';
import { Parser, ReasonCode } from '../../../src/core/codec/index.js';
import {
  FIXED_HEADER_FLAGS,
  MALFORMED_TABLES,
  flagFlips,
  reasonCodesOutsideTable,
  topicAliasZero,
  withFlags,
  type MalformedCase,
} from '../../fixtures/malformed.js';
import { expectMqttError, pattern } from '../../helpers/packets.js';

const TOO_LARGE = ReasonCode.PacketTooLarge; // 0x95

function parser(v: MalformedCase['v']): Parser {
  return v === undefined ? new Parser() : new Parser({ protocolVersion: v });
}

function expectRejected(c: MalformedCase): void {
  expectMqttError(() => parser(c.v).push(Buffer.from(c.bytes)), c.code);
  // The same verdict when the bytes trickle in: the error must come at some push, not be lost.
  const p = parser(c.v);
  expectMqttError(() => {
    for (const b of c.bytes) p.push(Buffer.from([b]));
  }, c.code);
}

for (const { title, cases } of MALFORMED_TABLES) {
  describe(title, () => {
    for (const c of cases) {
      it(`${c.name} (${c.v === undefined ? 'version from CONNECT' : `v${c.v}`}) → 0x${c.code.toString(16)}`, () => expectRejected(c));
    }
  });
}

// Reserved fixed-header flags (the reasoning is above FIXED_HEADER_FLAGS): each body parses with
// the right flags, checked first, so a failure with wrong flags cannot come from the body.
describe('reserved fixed-header flags', () => {
  for (const version of [4, 5] as const) {
    for (const t of FIXED_HEADER_FLAGS) {
      const body = version === 4 ? t.body4 : t.body5;
      if (body.length === 0) continue; // AUTH does not exist in 3.1.1
      const v = t.type === 1 ? undefined : version;
      // 5.0 [MQTT-3.15.1-1] (AUTH v5): its reserved bits 3-0 are 0; any other value is malformed.
      it(`${t.name} v${version}: flags ${t.flags.toString(2).padStart(4, '0')} parse, every other single-bit change → 0x81`, () => {
        expect(parser(v).push(Buffer.from(withFlags(t, version, t.flags)))).toHaveLength(1);
        for (const c of flagFlips(t, version)) expectRejected(c);
      });
    }
  }
});

/**
 * 5.0 §3.1.2.11.4 / §3.2.2.3.6: the packet size is "the total number of bytes in an MQTT Control
 * Packet" (fixed header included); a packet over the limit is answered with 0x95 Packet too
 * large. The parser decides from the fixed header, so a peer cannot make it buffer a huge body.
 */
describe('maximum packet size', () => {
  it('rejects from the fixed header alone, before any body byte arrives', () => {
    const parser = new Parser({ protocolVersion: 5, maxPacketSize: 100 });
    // PUBLISH, remaining length 200 = 72 + 1*128: 203 bytes in all
    expectMqttError(() => parser.push(Buffer.from([0x30, 0xc8, 0x01])), TOO_LARGE);
  });

  it('rejects by the last remaining-length byte when the header trickles in', () => {
    const parser = new Parser({ protocolVersion: 4, maxPacketSize: 100 });
    expectMqttError(() => {
      for (const b of [0x30, 0xc8, 0x01]) parser.push(Buffer.from([b]));
    }, TOO_LARGE);
  });

  it('rejects a four-byte remaining length (256 MiB) from its header', () => {
    const parser = new Parser({ protocolVersion: 5, maxPacketSize: 100 });
    expectMqttError(() => parser.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])), TOO_LARGE);
  });

  it('applies to every packet type (SUBSCRIBE)', () => {
    const parser = new Parser({ protocolVersion: 4, maxPacketSize: 100 });
    expectMqttError(() => parser.push(Buffer.from([0x82, 0x80, 0x01])), TOO_LARGE);
  });

  it('counts the fixed header: 100 bytes in all pass a limit of 100, 101 do not', () => {
    const ok = new Parser({ protocolVersion: 4, maxPacketSize: 100 });
    // PUBLISH, remaining length 98: topic 't' (3 bytes) + 95 payload bytes; 2 + 98 = 100
    const packets = ok.push(Buffer.from([0x30, 98, 0, 1, 0x74, ...pattern(95)]));
    expect(packets).toHaveLength(1);
    const tooBig = new Parser({ protocolVersion: 4, maxPacketSize: 100 });
    expectMqttError(() => tooBig.push(Buffer.from([0x30, 99])), TOO_LARGE);
  });

  it('counts a three-byte fixed header: remaining length 128 is 131 bytes', () => {
    const ok = new Parser({ protocolVersion: 5, maxPacketSize: 131 });
    // PUBLISH, remaining length 128 = 0 + 1*128: topic 't' (3), property length (1), 124 payload bytes
    expect(ok.push(Buffer.from([0x30, 0x80, 0x01, 0, 1, 0x74, 0, ...pattern(124)]))).toHaveLength(1);
    const tooBig = new Parser({ protocolVersion: 5, maxPacketSize: 130 });
    expectMqttError(() => tooBig.push(Buffer.from([0x30, 0x80, 0x01])), TOO_LARGE);
  });
});

// [MQTT-3.9.3-2] and 5.0 section 2.4: a reason code outside the packet's table is a Protocol
// Error (cases in the fixture); the codes the table lists for the packet still parse.
describe('reason codes outside the packet table', () => {
  for (const c of reasonCodesOutsideTable.cases) {
    // [MQTT-3.9.3-2] (3.1.1 and 5.0: the SUBACK cases) and 5.0 [MQTT-3.11.3-2] (the UNSUBACK case):
    // a SUBACK/UNSUBACK code outside its table is refused by the parser.
    // 5.0 [MQTT-3.4.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] (the PUBACK, PUBREL and PUBCOMP cases): the
    // same for a code outside the PUBACK, PUBREL or PUBCOMP table.
    // 5.0 [MQTT-3.2.2-8] [MQTT-3.14.2-1] (the CONNACK and DISCONNECT cases): the same for a code
    // outside the CONNACK or DISCONNECT table.
    // 5.0 [MQTT-3.15.2-1] (the AUTH case): the same for a code outside the Authenticate Reason Codes.
    it(c.name, () => {
      expectMqttError(() => new Parser({ protocolVersion: c.v ?? 4 }).push(Buffer.from(c.bytes)), c.code);
    });
  }

  // 5.0 [MQTT-3.4.2-1] [MQTT-3.6.2-1]: PUBACK 0x10 and PUBREL 0x92 are codes of their tables.
  // 5.0 [MQTT-3.14.2-1]: so is DISCONNECT 0x8E. 5.0 [MQTT-3.15.2-1]: and AUTH 0x19.
  it.each([
    ['5.0 PUBACK 0x10 no matching subscribers', 5, [0x40, 0x03, 0x00, 0x01, 0x10]],
    ['5.0 PUBREL 0x92 packet identifier not found', 5, [0x62, 0x03, 0x00, 0x01, 0x92]],
    ['5.0 SUBACK 0xA2 wildcards not supported', 5, [0x90, 0x04, 0x00, 0x01, 0x00, 0xa2]],
    ['3.1.1 SUBACK 0x80 failure', 4, [0x90, 0x03, 0x00, 0x01, 0x80]],
    ['5.0 DISCONNECT 0x8E session taken over', 5, [0xe0, 0x01, 0x8e]],
    ['5.0 AUTH 0x19 re-authenticate', 5, [0xf0, 0x02, 0x19, 0x00]],
  ] as const)('still accepts %s', (_name, version, bytes) => {
    expect(new Parser({ protocolVersion: version }).push(Buffer.from(bytes))).toHaveLength(1);
  });
});

// [MQTT-3.3.2-8] a Topic Alias of 0 is not permitted; 5.0 section 3.3.2.3.4 names the code: 0x94.
describe('topic alias 0', () => {
  it('is Topic Alias invalid (0x94)', () => {
    for (const c of topicAliasZero.cases) {
      expectMqttError(() => new Parser({ protocolVersion: c.v ?? 5 }).push(Buffer.from(c.bytes)), c.code);
    }
  });
});

// A Remaining Length is a claim: 5 bytes may declare 256 MB. What the parser holds for an
// incomplete packet grows with the bytes that came, not with the claim.
describe('a huge declared length', () => {
  it('costs memory as its bytes arrive, not as declared: 40 parsers told of 256 MB each hold under 8 MB', () => {
    const header = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x74]);
    const before = process.memoryUsage().arrayBuffers;
    const parsers: Parser[] = [];
    for (let i = 0; i < 40; i++) {
      const p = new Parser({ protocolVersion: 4 });
      expect(p.push(header)).toEqual([]);
      parsers.push(p);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    expect(parsers.every((p) => p.buffered === header.length)).toBe(true);
  });

  it('still assembles a packet larger than the first allocation from small chunks, byte for byte', () => {
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const body = Buffer.concat([Buffer.from([0x00, 0x01, 0x74]), payload]);
    // 300,003 as a varint: 0xe3 0xa7 0x12
    const bytes = Buffer.concat([Buffer.from([0x30, 0xe3, 0xa7, 0x12]), body]);
    const p = new Parser({ protocolVersion: 4 });
    const got = [];
    for (let at = 0; at < bytes.length; at += 777) got.push(...p.push(bytes.subarray(at, at + 777)));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'publish', topic: 't' });
    expect(Buffer.compare((got[0] as { payload: Buffer }).payload, payload)).toBe(0);
    expect(p.buffered).toBe(0);
  });
});
