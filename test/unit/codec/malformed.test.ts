/**
 * Malformed and protocol-violating input: every case asserts the reason code the spec assigns
 * (MqttError.reasonCode), fed whole and one byte at a time. Bytes are hand-written; where the
 * spec leaves the code open the choice is argued in a comment above the case.
 *
 * Codes: 0x81 Malformed Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version,
 * 0x90 Topic Name invalid, 0x95 Packet too large. 3.1.1 has no reason codes; there the code
 * names the failure for the broker, which closes the connection.
 */
import { describe, expect, it } from 'vitest';
import { Parser, ReasonCode } from '../../../src/core/codec/index.js';
import { ascii, expectMqttError, pattern } from '../../helpers/packets.js';

const MALFORMED = ReasonCode.MalformedPacket; // 0x81
const PROTOCOL = ReasonCode.ProtocolError; // 0x82
const UNSUPPORTED_VERSION = ReasonCode.UnsupportedProtocolVersion; // 0x84
const TOPIC_NAME_INVALID = ReasonCode.TopicNameInvalid; // 0x90
const TOO_LARGE = ReasonCode.PacketTooLarge; // 0x95

/** Protocol name and level of a 3.1.1 / 5.0 CONNECT: 7 bytes. */
const MQTT4 = [0, 4, ...ascii('MQTT'), 4];
const MQTT5 = [0, 4, ...ascii('MQTT'), 5];

interface Case {
  name: string;
  /** Parser protocolVersion; omitted for CONNECT, which names its own. */
  v?: 3 | 4 | 5;
  bytes: number[];
  code: number;
}

function parser(v: Case['v']): Parser {
  return v === undefined ? new Parser() : new Parser({ protocolVersion: v });
}

function expectRejected(c: Case): void {
  expectMqttError(() => parser(c.v).push(Buffer.from(c.bytes)), c.code);
  // The same verdict when the bytes trickle in: the error must come at some push, not be lost.
  const p = parser(c.v);
  expectMqttError(() => {
    for (const b of c.bytes) p.push(Buffer.from([b]));
  }, c.code);
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      it(`${c.name} (${c.v === undefined ? 'version from CONNECT' : `v${c.v}`}) → 0x${c.code.toString(16)}`, () => expectRejected(c));
    }
  });
}

// 3.1.1 §2.2.3 and 5.0 §1.5.5: a Variable Byte Integer has at most four bytes.
// [MQTT-1.5.5-1] (5.0): "The encoded value MUST use the minimum number of bytes necessary to
// represent the value"; 3.1.1 has the same encoding (§2.2.3) and we hold it to the same rule.
table('variable byte integers', [
  { name: 'remaining length with a fifth byte', v: 4, bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f], code: MALFORMED },
  { name: 'remaining length with a fifth byte', v: 5, bytes: [0xc0, 0x80, 0x80, 0x80, 0x80, 0x01], code: MALFORMED },
  { name: 'overlong remaining length: 0 as 0x80 0x00', v: 5, bytes: [0xc0, 0x80, 0x00], code: MALFORMED },
  { name: 'overlong remaining length: 2 as 0x82 0x00', v: 5, bytes: [0x40, 0x82, 0x00, 0, 1], code: MALFORMED },
  { name: 'overlong remaining length: 2 as 0x82 0x00', v: 4, bytes: [0x40, 0x82, 0x00, 0, 1], code: MALFORMED },
  {
    name: 'overlong remaining length: 3 as 0x83 0x80 0x00',
    v: 4,
    bytes: [0x30, 0x83, 0x80, 0x00, 0, 1, ...ascii('t')],
    code: MALFORMED,
  },
  {
    name: 'overlong property length: 0 as 0x80 0x00',
    v: 5,
    bytes: [
      0x40, 5, // PUBACK, remaining length
      0, 1, // packet id
      0x00, // reason code
      0x80, 0x00, // property length 0 in two bytes
    ],
    code: MALFORMED,
  },
  {
    name: 'overlong subscription identifier: 1 as 0x81 0x00',
    v: 5,
    bytes: [
      0x30, 7, // PUBLISH, remaining length
      0, 1, ...ascii('t'), // topic
      3, // property length
      0x0b, 0x81, 0x00, // subscription identifier 1 in two bytes
    ],
    code: MALFORMED,
  },
]);

// 3.1.1 §2.2.1 table 2.1 and 5.0 §2.1.2 table 2-1: type 0 is reserved (forbidden); in 3.1.1
// type 15 is reserved too (AUTH exists only in 5.0).
table('packet types', [
  { name: 'packet type 0', v: 4, bytes: [0x00, 0], code: MALFORMED },
  { name: 'packet type 0', v: 5, bytes: [0x00, 0], code: MALFORMED },
  { name: 'AUTH in 3.1.1', v: 4, bytes: [0xf0, 0], code: MALFORMED },
  { name: 'AUTH in 3.1', v: 3, bytes: [0xf0, 0], code: MALFORMED },
]);

/**
 * Reserved fixed-header flags. 3.1.1 [MQTT-2.2.2-1], [MQTT-2.2.2-2]; 5.0 §2.1.3 "Where a flag
 * bit is marked as Reserved, it is reserved for future use and MUST be set to the value listed
 * [MQTT-2.1.3-1]. If invalid flags are received it is a Malformed Packet." PUBREL, SUBSCRIBE and
 * UNSUBSCRIBE must carry 0010 ([MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]), the rest 0000.
 * (MQTT 3.1 let PUBREL/SUBSCRIBE/UNSUBSCRIBE carry DUP, so 3.1 is not held to this.)
 * Each body is valid with the right flags; the test checks that first, so a failure with wrong
 * flags cannot come from the body.
 */
const fixedFlags: { name: string; type: number; flags: number; body4: number[]; body5: number[] }[] = [
  // body = remaining length and everything after it
  { name: 'CONNECT', type: 1, flags: 0, body4: [12, ...MQTT4, 0x02, 0, 0, 0, 0], body5: [13, ...MQTT5, 0x02, 0, 0, 0, 0, 0] },
  { name: 'CONNACK', type: 2, flags: 0, body4: [2, 0, 0], body5: [3, 0, 0, 0] },
  { name: 'PUBACK', type: 4, flags: 0, body4: [2, 0, 1], body5: [2, 0, 1] },
  { name: 'PUBREC', type: 5, flags: 0, body4: [2, 0, 1], body5: [2, 0, 1] },
  { name: 'PUBREL', type: 6, flags: 0b0010, body4: [2, 0, 1], body5: [2, 0, 1] },
  { name: 'PUBCOMP', type: 7, flags: 0, body4: [2, 0, 1], body5: [2, 0, 1] },
  { name: 'SUBSCRIBE', type: 8, flags: 0b0010, body4: [6, 0, 1, 0, 1, 0x23, 0], body5: [7, 0, 1, 0, 0, 1, 0x23, 0] },
  { name: 'SUBACK', type: 9, flags: 0, body4: [3, 0, 1, 0], body5: [4, 0, 1, 0, 0] },
  { name: 'UNSUBSCRIBE', type: 10, flags: 0b0010, body4: [5, 0, 1, 0, 1, 0x23], body5: [6, 0, 1, 0, 0, 1, 0x23] },
  { name: 'UNSUBACK', type: 11, flags: 0, body4: [2, 0, 1], body5: [4, 0, 1, 0, 0] },
  { name: 'PINGREQ', type: 12, flags: 0, body4: [0], body5: [0] },
  { name: 'PINGRESP', type: 13, flags: 0, body4: [0], body5: [0] },
  { name: 'DISCONNECT', type: 14, flags: 0, body4: [0], body5: [0] },
  { name: 'AUTH', type: 15, flags: 0, body4: [], body5: [0] },
];

describe('reserved fixed-header flags', () => {
  for (const version of [4, 5] as const) {
    for (const t of fixedFlags) {
      const body = version === 4 ? t.body4 : t.body5;
      if (body.length === 0) continue; // AUTH does not exist in 3.1.1
      const v = t.type === 1 ? undefined : version;
      it(`${t.name} v${version}: flags ${t.flags.toString(2).padStart(4, '0')} parse, every other single-bit change → 0x81`, () => {
        expect(parser(v).push(Buffer.from([(t.type << 4) | t.flags, ...body]))).toHaveLength(1);
        for (let bit = 0; bit < 4; bit++) {
          const flags = t.flags ^ (1 << bit);
          expectRejected({ name: `${t.name} flags ${flags}`, v, bytes: [(t.type << 4) | flags, ...body], code: MALFORMED });
        }
      });
    }
  }
});

// 3.1.1 [MQTT-1.5.3-1], 5.0 [MQTT-1.5.4-1]: ill-formed UTF-8, including encoded surrogates
// (U+D800..U+DFFF) and overlong forms (RFC 3629), is a Malformed Packet.
// 3.1.1 [MQTT-1.5.3-2], 5.0 [MQTT-1.5.4-2]: a string MUST NOT include U+0000.
table('UTF-8 strings', [
  { name: 'topic with a bad continuation byte', v: 4, bytes: [0x30, 4, 0, 2, 0xc3, 0x28], code: MALFORMED },
  { name: 'topic with a lone continuation byte', v: 4, bytes: [0x30, 3, 0, 1, 0x80], code: MALFORMED },
  { name: 'topic ending inside a 3-byte sequence', v: 4, bytes: [0x30, 5, 0, 3, 0x61, 0xe2, 0x82], code: MALFORMED },
  { name: 'topic with an encoded surrogate U+D800', v: 5, bytes: [0x30, 6, 0, 3, 0xed, 0xa0, 0x80, 0], code: MALFORMED },
  { name: 'client id with byte 0xFF', bytes: [0x10, 13, ...MQTT4, 0x02, 0, 0, 0, 1, 0xff], code: MALFORMED },
  { name: "client id with an overlong '/' (C0 AF)", bytes: [0x10, 14, ...MQTT4, 0x02, 0, 0, 0, 2, 0xc0, 0xaf], code: MALFORMED },
  {
    name: 'user name with byte 0xFF',
    bytes: [
      0x10, 15, ...MQTT4, // CONNECT 3.1.1
      0x82, 0, 0, // flags: user name, clean; keep alive
      0, 0, // client id
      0, 1, 0xff, // user name
    ],
    code: MALFORMED,
  },
  {
    name: 'user property key with an encoded surrogate',
    v: 5,
    bytes: [
      0x30, 12, // PUBLISH, remaining length
      0, 1, ...ascii('t'), // topic
      8, // property length
      0x26, 0, 3, 0xed, 0xa0, 0x80, 0, 0, // user property: key U+D800, value ''
    ],
    code: MALFORMED,
  },
  {
    name: 'user property value with byte 0xFF in CONNECT',
    bytes: [
      0x10, 20, ...MQTT5, // CONNECT 5.0
      0x02, 0, 0, // flags, keep alive
      7, // property length
      0x26, 0, 1, ...ascii('k'), 0, 1, 0xff, // user property k=<0xFF>
      0, 0, // client id
    ],
    code: MALFORMED,
  },
  { name: 'reason string with byte 0xFF', v: 5, bytes: [0x40, 8, 0, 1, 0x80, 4, 0x1f, 0, 1, 0xff], code: MALFORMED },
  { name: 'topic filter with byte 0xFE', v: 4, bytes: [0x82, 6, 0, 1, 0, 1, 0xfe, 0], code: MALFORMED },
  { name: 'unsubscribe topic filter with byte 0xC1', v: 4, bytes: [0xa2, 5, 0, 1, 0, 1, 0xc1], code: MALFORMED },
  { name: 'topic containing U+0000', v: 4, bytes: [0x30, 4, 0, 2, 0x61, 0x00], code: MALFORMED },
  { name: 'client id containing U+0000', bytes: [0x10, 14, ...MQTT5, 0x02, 0, 0, 0, 0, 1, 0x00], code: MALFORMED },
  { name: 'topic filter containing U+0000', v: 5, bytes: [0x82, 8, 0, 1, 0, 0, 2, 0x61, 0x00, 0], code: MALFORMED },
]);

// 5.0 §2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its packet
// type, or contains a value not of the specified data type, is a Malformed Packet."
table('properties not allowed on the packet', [
  {
    name: 'CONNECT with topic alias',
    bytes: [0x10, 16, ...MQTT5, 0x02, 0, 0, 3, 0x23, 0, 1, 0, 0],
    code: MALFORMED,
  },
  {
    name: 'CONNECT with will delay interval outside the will properties',
    bytes: [0x10, 18, ...MQTT5, 0x02, 0, 0, 5, 0x18, 0, 0, 0, 1, 0, 0],
    code: MALFORMED,
  },
  {
    name: 'will properties with session expiry interval',
    bytes: [
      0x10, 24, ...MQTT5, // CONNECT 5.0
      0x06, 0, 0, // flags: will, clean; keep alive
      0, // property length
      0, 0, // client id
      5, 0x11, 0, 0, 0, 1, // will properties: session expiry interval
      0, 1, ...ascii('t'), // will topic
      0, 0, // will payload
    ],
    code: MALFORMED,
  },
  { name: 'PUBLISH with session expiry interval', v: 5, bytes: [0x30, 9, 0, 1, 0x74, 5, 0x11, 0, 0, 0, 1], code: MALFORMED },
  { name: 'PUBLISH with reason string', v: 5, bytes: [0x30, 8, 0, 1, 0x74, 4, 0x1f, 0, 1, 0x72], code: MALFORMED },
  { name: 'PUBACK with subscription identifier', v: 5, bytes: [0x40, 6, 0, 1, 0x00, 2, 0x0b, 1], code: MALFORMED },
  { name: 'SUBSCRIBE with topic alias', v: 5, bytes: [0x82, 10, 0, 1, 3, 0x23, 0, 1, 0, 1, 0x23, 0], code: MALFORMED },
  { name: 'UNSUBSCRIBE with reason string', v: 5, bytes: [0xa2, 10, 0, 1, 4, 0x1f, 0, 1, 0x72, 0, 1, 0x23], code: MALFORMED },
  { name: 'CONNACK with will delay interval', v: 5, bytes: [0x20, 8, 0, 0, 5, 0x18, 0, 0, 0, 1], code: MALFORMED },
  { name: 'DISCONNECT with receive maximum', v: 5, bytes: [0xe0, 5, 0x00, 3, 0x21, 0, 1], code: MALFORMED },
  { name: 'AUTH with session expiry interval', v: 5, bytes: [0xf0, 7, 0x18, 5, 0x11, 0, 0, 0, 1], code: MALFORMED },
  { name: 'unassigned property identifier 0x04', v: 5, bytes: [0x30, 6, 0, 1, 0x74, 2, 0x04, 0x00], code: MALFORMED },
  { name: 'unassigned property identifier 0x00', v: 5, bytes: [0x30, 6, 0, 1, 0x74, 2, 0x00, 0x00], code: MALFORMED },
]);

// 5.0 §3.x.2.x, for each property but User Property and PUBLISH's Subscription Identifier:
// "It is a Protocol Error to include the <property> more than once."
table('properties repeated that must be unique', [
  {
    name: 'CONNECT session expiry interval twice',
    bytes: [0x10, 23, ...MQTT5, 0x02, 0, 0, 10, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2, 0, 0],
    code: PROTOCOL,
  },
  {
    name: 'will content type twice',
    bytes: [
      0x10, 27, ...MQTT5, // CONNECT 5.0
      0x06, 0, 0, // flags: will, clean; keep alive
      0, // property length
      0, 0, // client id
      8, 0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62, // will properties: content type 'a', content type 'b'
      0, 1, ...ascii('t'), // will topic
      0, 0, // will payload
    ],
    code: PROTOCOL,
  },
  { name: 'CONNACK maximum QoS twice', v: 5, bytes: [0x20, 7, 0, 0, 4, 0x24, 0, 0x24, 1], code: PROTOCOL },
  { name: 'PUBLISH topic alias twice', v: 5, bytes: [0x30, 10, 0, 1, 0x74, 6, 0x23, 0, 1, 0x23, 0, 2], code: PROTOCOL },
  {
    name: 'PUBLISH correlation data twice',
    v: 5,
    bytes: [0x30, 11, 0, 1, 0x74, 7, 0x09, 0, 1, 0x01, 0x09, 0, 0],
    code: PROTOCOL,
  },
  {
    name: 'PUBACK reason string twice',
    v: 5,
    bytes: [0x40, 12, 0, 1, 0x80, 8, 0x1f, 0, 1, 0x61, 0x1f, 0, 1, 0x62],
    code: PROTOCOL,
  },
  // §3.8.2.1.2: a SUBSCRIBE carries at most one (PUBLISH may carry several, see the fixtures).
  {
    name: 'SUBSCRIBE subscription identifier twice',
    v: 5,
    bytes: [0x82, 11, 0, 1, 4, 0x0b, 1, 0x0b, 2, 0, 1, 0x23, 0],
    code: PROTOCOL,
  },
  {
    name: 'AUTH authentication method twice',
    v: 5,
    bytes: [0xf0, 10, 0x18, 8, 0x15, 0, 1, 0x61, 0x15, 0, 1, 0x62],
    code: PROTOCOL,
  },
]);

/**
 * Packet identifier 0. 3.1.1 [MQTT-2.3.1-1]: "SUBSCRIBE, UNSUBSCRIBE, and PUBLISH (in cases where
 * QoS > 0) Control Packets MUST contain a non-zero 16-bit Packet Identifier"; 5.0 §2.2.1 likewise
 * ("MUST assign it a non-zero Packet Identifier", [MQTT-2.2.1-3]), and the acks echo one. Neither
 * spec names the code. The field parses fine as a Two Byte Integer; it is its value the protocol
 * forbids, which 5.0 §4.13 defines as a Protocol Error ("An error detected after the packet has
 * been parsed and found to contain data that is not allowed by the protocol"), and 0x82 is what
 * mosquitto answers (handle_publish.c: mid == 0 → MOSQ_ERR_PROTOCOL).
 */
table('packet identifier 0', [
  { name: 'PUBLISH QoS 1', v: 4, bytes: [0x32, 5, 0, 1, 0x74, 0, 0], code: PROTOCOL },
  { name: 'PUBLISH QoS 2', v: 5, bytes: [0x34, 6, 0, 1, 0x74, 0, 0, 0], code: PROTOCOL },
  { name: 'SUBSCRIBE', v: 4, bytes: [0x82, 6, 0, 0, 0, 1, 0x23, 0], code: PROTOCOL },
  { name: 'SUBSCRIBE', v: 5, bytes: [0x82, 7, 0, 0, 0, 0, 1, 0x23, 0], code: PROTOCOL },
  { name: 'UNSUBSCRIBE', v: 4, bytes: [0xa2, 5, 0, 0, 0, 1, 0x23], code: PROTOCOL },
  { name: 'UNSUBSCRIBE', v: 5, bytes: [0xa2, 6, 0, 0, 0, 0, 1, 0x23], code: PROTOCOL },
  { name: 'PUBACK', v: 4, bytes: [0x40, 2, 0, 0], code: PROTOCOL },
  { name: 'PUBACK', v: 5, bytes: [0x40, 2, 0, 0], code: PROTOCOL },
  { name: 'PUBREC', v: 4, bytes: [0x50, 2, 0, 0], code: PROTOCOL },
  { name: 'PUBREL', v: 4, bytes: [0x62, 2, 0, 0], code: PROTOCOL },
  { name: 'PUBCOMP', v: 5, bytes: [0x70, 2, 0, 0], code: PROTOCOL },
]);

table('PUBLISH fixed header and topic', [
  // [MQTT-3.3.1-4]: "A PUBLISH Packet MUST NOT have both QoS bits set to 1" (5.0: "... it is a Malformed Packet").
  { name: 'QoS 3', v: 4, bytes: [0x36, 5, 0, 1, 0x74, 0, 1], code: MALFORMED },
  { name: 'QoS 3', v: 5, bytes: [0x36, 6, 0, 1, 0x74, 0, 1, 0], code: MALFORMED },
  /**
   * [MQTT-3.3.2-2] (3.1.1 and 5.0): "The Topic Name in the PUBLISH Packet MUST NOT contain
   * wildcard characters." No role may send such a PUBLISH, so the codec, role-free, still
   * rejects it; 0x90 Topic Name invalid is the 5.0 code for a topic name that is not accepted
   * (EMQX answers a wildcard topic name with it too).
   */
  { name: "topic 'a/+'", v: 4, bytes: [0x30, 5, 0, 3, 0x61, 0x2f, 0x2b], code: TOPIC_NAME_INVALID },
  { name: "topic 'a/#'", v: 5, bytes: [0x30, 6, 0, 3, 0x61, 0x2f, 0x23, 0], code: TOPIC_NAME_INVALID },
  { name: "topic 'a+b' (wildcard inside a level)", v: 4, bytes: [0x30, 5, 0, 3, 0x61, 0x2b, 0x62], code: TOPIC_NAME_INVALID },
  { name: "topic '#'", v: 3, bytes: [0x30, 3, 0, 1, 0x23], code: TOPIC_NAME_INVALID },
  // 5.0 §3.3.2.3.4: "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias."
  { name: 'empty topic without topic alias', v: 5, bytes: [0x30, 3, 0, 0, 0], code: PROTOCOL },
]);

table('CONNECT flags, protocol name and level', [
  // [MQTT-3.1.2-3] (3.1.1 and 5.0): the reserved flag MUST be 0; 5.0: "If the reserved flag is not 0 it is a Malformed Packet".
  { name: 'reserved connect flag set', bytes: [0x10, 12, ...MQTT4, 0x03, 0, 0, 0, 0], code: MALFORMED },
  { name: 'reserved connect flag set', bytes: [0x10, 13, ...MQTT5, 0x03, 0, 0, 0, 0, 0], code: MALFORMED },
  // 3.1.1 [MQTT-3.1.2-14], 5.0 [MQTT-3.1.2-12]: will QoS 3 ("A value of 3 (0x03) is a Malformed Packet").
  {
    name: 'will QoS 3',
    bytes: [0x10, 17, ...MQTT4, 0x1e, 0, 0, 0, 0, 0, 1, 0x74, 0, 0],
    code: MALFORMED,
  },
  {
    name: 'will QoS 3',
    bytes: [0x10, 19, ...MQTT5, 0x1e, 0, 0, 0, 0, 0, 0, 0, 1, 0x74, 0, 0],
    code: MALFORMED,
  },
  // 3.1.1 [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]; 5.0 [MQTT-3.1.2-11], [MQTT-3.1.2-13]:
  // with the will flag 0, will QoS and will retain MUST be 0.
  { name: 'will QoS 1 without will flag', bytes: [0x10, 12, ...MQTT4, 0x0a, 0, 0, 0, 0], code: MALFORMED },
  { name: 'will QoS 2 without will flag', bytes: [0x10, 12, ...MQTT4, 0x12, 0, 0, 0, 0], code: MALFORMED },
  { name: 'will retain without will flag', bytes: [0x10, 12, ...MQTT4, 0x22, 0, 0, 0, 0], code: MALFORMED },
  { name: 'will QoS 1 without will flag', bytes: [0x10, 13, ...MQTT5, 0x0a, 0, 0, 0, 0, 0], code: MALFORMED },
  { name: 'will retain without will flag', bytes: [0x10, 13, ...MQTT5, 0x22, 0, 0, 0, 0, 0], code: MALFORMED },
  // 3.1.1 [MQTT-3.1.2-22]: "If the User Name Flag is set to 0, the Password Flag MUST be set to 0." (5.0 allows it.)
  {
    name: 'password without user name in 3.1.1',
    bytes: [0x10, 15, ...MQTT4, 0x42, 0, 0, 0, 0, 0, 1, 0x70],
    code: MALFORMED,
  },
  // 3.1.1 [MQTT-3.1.2-2] / 5.0 [MQTT-3.1.2-2]: a level the server does not support is answered
  // with return code 1 / reason 0x84. "MQTT" goes with levels 4 and 5, "MQIsdp" with 3 only.
  { name: "'MQTT' level 6", bytes: [0x10, 12, 0, 4, ...ascii('MQTT'), 6, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  { name: "'MQTT' level 3", bytes: [0x10, 12, 0, 4, ...ascii('MQTT'), 3, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  { name: "'MQTT' level 0", bytes: [0x10, 12, 0, 4, ...ascii('MQTT'), 0, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  { name: "'MQIsdp' level 4", bytes: [0x10, 14, 0, 6, ...ascii('MQIsdp'), 4, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  { name: "'MQIsdp' level 5", bytes: [0x10, 14, 0, 6, ...ascii('MQIsdp'), 5, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  /**
   * A wrong protocol name. 3.1.1 [MQTT-3.1.2-1]: the server "MAY disconnect the Client, or ... MAY
   * continue processing the CONNECT packet in accordance with some other specification", and
   * MUST NOT go on with it as MQTT. 5.0 [MQTT-3.1.2-1]: "If the Server does not want to accept the
   * CONNECT, and wishes to reveal that it is an MQTT Server it MAY send a CONNACK packet with
   * Reason Code of 0x84 (Unsupported Protocol Version)". The codec cannot decode the rest as MQTT
   * either way, and 0x84 is the one answer both versions name (return code 1 in 3.1.1), so:
   */
  { name: "protocol name 'MQTX'", bytes: [0x10, 12, 0, 4, ...ascii('MQTX'), 4, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  { name: "protocol name 'mqtt'", bytes: [0x10, 12, 0, 4, ...ascii('mqtt'), 5, 0x02, 0, 0, 0, 0], code: UNSUPPORTED_VERSION },
  // 5.0 §3.1.2.11.10: "It is a Protocol Error to include Authentication Data if there is no Authentication Method."
  {
    name: 'authentication data without authentication method',
    bytes: [0x10, 16, ...MQTT5, 0x02, 0, 0, 3, 0x16, 0, 0, 0, 0],
    code: PROTOCOL,
  },
]);

table('CONNACK acknowledge flags', [
  // 3.1.1 §3.2.2.1 and 5.0 [MQTT-3.2.2-1]: "Bits 7-1 are reserved and MUST be set to 0".
  { name: 'reserved acknowledge flag bit 1 set', v: 4, bytes: [0x20, 2, 0x02, 0], code: MALFORMED },
  { name: 'reserved acknowledge flag bit 7 set', v: 5, bytes: [0x20, 3, 0x80, 0, 0], code: MALFORMED },
]);

table('SUBSCRIBE and UNSUBSCRIBE payloads', [
  // 3.1.1 [MQTT-3.8.3-3] "A SUBSCRIBE packet with no payload is a protocol violation";
  // 5.0 [MQTT-3.8.3-2] "A SUBSCRIBE packet with no Payload is a Protocol Error".
  { name: 'SUBSCRIBE with no filter', v: 4, bytes: [0x82, 2, 0, 1], code: PROTOCOL },
  { name: 'SUBSCRIBE with no filter', v: 5, bytes: [0x82, 3, 0, 1, 0], code: PROTOCOL },
  { name: 'SUBSCRIBE with properties but no filter', v: 5, bytes: [0x82, 5, 0, 1, 2, 0x0b, 1], code: PROTOCOL },
  // [MQTT-3.10.3-2] (3.1.1 and 5.0): an UNSUBSCRIBE with no payload is a protocol violation / Protocol Error.
  { name: 'UNSUBSCRIBE with no filter', v: 4, bytes: [0xa2, 2, 0, 1], code: PROTOCOL },
  { name: 'UNSUBSCRIBE with no filter', v: 5, bytes: [0xa2, 3, 0, 1, 0], code: PROTOCOL },
  // 5.0 [MQTT-3.8.3-5]: "The Server MUST treat a SUBSCRIBE packet as malformed if any of Reserved bits in the Payload are non-zero".
  { name: 'subscription options bit 6 set', v: 5, bytes: [0x82, 7, 0, 1, 0, 0, 1, 0x23, 0x40], code: MALFORMED },
  { name: 'subscription options bit 7 set', v: 5, bytes: [0x82, 7, 0, 1, 0, 0, 1, 0x23, 0x80], code: MALFORMED },
  // 5.0 §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3" and
  // "It is a Protocol Error if the Maximum QoS field has the value 3".
  { name: 'retain handling 3', v: 5, bytes: [0x82, 7, 0, 1, 0, 0, 1, 0x23, 0x30], code: PROTOCOL },
  { name: 'maximum QoS 3', v: 5, bytes: [0x82, 7, 0, 1, 0, 0, 1, 0x23, 0x03], code: PROTOCOL },
  // 3.1.1 [MQTT-3-8.3-4] (sic): "The Server MUST treat a SUBSCRIBE packet as malformed and close the
  // Network Connection if any of Reserved bits in the payload are non-zero, or QoS is not 0,1 or 2".
  { name: 'requested QoS 3', v: 4, bytes: [0x82, 6, 0, 1, 0, 1, 0x23, 0x03], code: MALFORMED },
  { name: "5.0's no-local bit in 3.1.1", v: 4, bytes: [0x82, 6, 0, 1, 0, 1, 0x23, 0x04], code: MALFORMED },
  { name: 'upper bits set', v: 4, bytes: [0x82, 6, 0, 1, 0, 1, 0x23, 0xc1], code: MALFORMED },
  {
    name: 'second filter with QoS 3',
    v: 4,
    bytes: [0x82, 10, 0, 1, 0, 1, 0x61, 0x00, 0, 1, 0x62, 0x03],
    code: MALFORMED,
  },
]);

// 5.0: "It is a Protocol Error to include ... or to have a value other than 0 or 1" (request
// problem/response information, maximum QoS, retain available, the three *Available
// properties, payload format indicator), and "... for it to have the value 0" (receive maximum,
// maximum packet size, subscription identifier).
table('property values out of range', [
  { name: 'PUBLISH payload format indicator 2', v: 5, bytes: [0x30, 6, 0, 1, 0x74, 2, 0x01, 2], code: PROTOCOL },
  {
    name: 'will payload format indicator 2',
    bytes: [
      0x10, 21, ...MQTT5, // CONNECT 5.0
      0x06, 0, 0, // flags: will, clean; keep alive
      0, // property length
      0, 0, // client id
      2, 0x01, 2, // will properties: payload format indicator 2
      0, 1, ...ascii('t'), // will topic
      0, 0, // will payload
    ],
    code: PROTOCOL,
  },
  { name: 'request problem information 2', bytes: [0x10, 15, ...MQTT5, 0x02, 0, 0, 2, 0x17, 2, 0, 0], code: PROTOCOL },
  { name: 'request response information 2', bytes: [0x10, 15, ...MQTT5, 0x02, 0, 0, 2, 0x19, 2, 0, 0], code: PROTOCOL },
  { name: 'maximum QoS 2', v: 5, bytes: [0x20, 5, 0, 0, 2, 0x24, 2], code: PROTOCOL },
  { name: 'retain available 2', v: 5, bytes: [0x20, 5, 0, 0, 2, 0x25, 2], code: PROTOCOL },
  { name: 'wildcard subscription available 2', v: 5, bytes: [0x20, 5, 0, 0, 2, 0x28, 2], code: PROTOCOL },
  { name: 'subscription identifiers available 2', v: 5, bytes: [0x20, 5, 0, 0, 2, 0x29, 2], code: PROTOCOL },
  { name: 'shared subscription available 2', v: 5, bytes: [0x20, 5, 0, 0, 2, 0x2a, 2], code: PROTOCOL },
  { name: 'CONNECT receive maximum 0', bytes: [0x10, 16, ...MQTT5, 0x02, 0, 0, 3, 0x21, 0, 0, 0, 0], code: PROTOCOL },
  { name: 'CONNACK receive maximum 0', v: 5, bytes: [0x20, 6, 0, 0, 3, 0x21, 0, 0], code: PROTOCOL },
  {
    name: 'CONNECT maximum packet size 0',
    bytes: [0x10, 18, ...MQTT5, 0x02, 0, 0, 5, 0x27, 0, 0, 0, 0, 0, 0],
    code: PROTOCOL,
  },
  { name: 'CONNACK maximum packet size 0', v: 5, bytes: [0x20, 8, 0, 0, 5, 0x27, 0, 0, 0, 0], code: PROTOCOL },
  { name: 'SUBSCRIBE subscription identifier 0', v: 5, bytes: [0x82, 9, 0, 1, 2, 0x0b, 0, 0, 1, 0x23, 0], code: PROTOCOL },
  { name: 'PUBLISH subscription identifier 0', v: 5, bytes: [0x30, 6, 0, 1, 0x74, 2, 0x0b, 0], code: PROTOCOL },
]);

// A complete frame whose fields need more bytes than it holds: the bounded reader must stop at
// the frame (or property section) end, never read into the next packet. Malformed Packet.
table('fields running past the end of the frame', [
  { name: 'PUBLISH remaining length 0', v: 4, bytes: [0x30, 0], code: MALFORMED },
  { name: 'PUBLISH topic length cut', v: 4, bytes: [0x30, 1, 0], code: MALFORMED },
  { name: 'PUBLISH topic longer than the frame', v: 4, bytes: [0x30, 3, 0, 5, 0x61], code: MALFORMED },
  { name: 'PUBLISH QoS 1 without packet id', v: 4, bytes: [0x32, 3, 0, 1, 0x74], code: MALFORMED },
  { name: 'PUBLISH without property length', v: 5, bytes: [0x30, 3, 0, 1, 0x74], code: MALFORMED },
  { name: 'CONNACK remaining length 1', v: 4, bytes: [0x20, 1, 0], code: MALFORMED },
  { name: 'PUBACK remaining length 1', v: 4, bytes: [0x40, 1, 0], code: MALFORMED },
  { name: 'PUBACK remaining length 0', v: 5, bytes: [0x40, 0], code: MALFORMED },
  { name: 'SUBSCRIBE filter without options byte', v: 4, bytes: [0x82, 5, 0, 1, 0, 1, 0x23], code: MALFORMED },
  { name: 'UNSUBSCRIBE filter longer than the frame', v: 4, bytes: [0xa2, 5, 0, 1, 0, 9, 0x61], code: MALFORMED },
  { name: 'CONNECT ending before keep alive', bytes: [0x10, 8, 0, 4, ...ascii('MQTT'), 4, 0x02], code: MALFORMED },
  { name: 'CONNECT client id longer than the frame', bytes: [0x10, 12, ...MQTT4, 0x02, 0, 0, 0, 4], code: MALFORMED },
  { name: 'CONNECT will flag but no will topic', bytes: [0x10, 12, ...MQTT4, 0x06, 0, 0, 0, 0], code: MALFORMED },
  { name: 'CONNECT user name flag but no user name', bytes: [0x10, 12, ...MQTT4, 0x82, 0, 0, 0, 0], code: MALFORMED },
  {
    name: 'CONNECT password flag but no password',
    bytes: [0x10, 15, ...MQTT4, 0xc2, 0, 0, 0, 0, 0, 1, 0x75],
    code: MALFORMED,
  },
  { name: 'CONNECT property length past the frame', bytes: [0x10, 12, ...MQTT5, 0x02, 0, 0, 5, 0x11], code: MALFORMED },
  { name: 'CONNECT will flag but no will properties', bytes: [0x10, 13, ...MQTT5, 0x06, 0, 0, 0, 0, 0], code: MALFORMED },
  { name: 'PUBACK property length past the frame', v: 5, bytes: [0x40, 6, 0, 1, 0x00, 5, 0x1f, 0], code: MALFORMED },
  { name: 'DISCONNECT property length past the frame', v: 5, bytes: [0xe0, 2, 0x00, 3], code: MALFORMED },
  {
    // The property section says 2 bytes; the reason string in it needs 5 (the frame has them).
    name: 'string property running past the property section',
    v: 5,
    bytes: [0x40, 9, 0, 1, 0x00, 2, 0x1f, 0, 2, 0x6f, 0x6b],
    code: MALFORMED,
  },
  {
    name: 'four-byte property running past the property section',
    v: 5,
    bytes: [0x30, 9, 0, 1, 0x74, 3, 0x02, 0, 0, 0, 1],
    code: MALFORMED,
  },
  {
    name: 'subscription identifier varint running past the property section',
    v: 5,
    bytes: [0x30, 7, 0, 1, 0x74, 2, 0x0b, 0x80, 0x01],
    code: MALFORMED,
  },
  {
    name: 'user property without its value',
    v: 5,
    bytes: [0x30, 9, 0, 1, 0x74, 5, 0x26, 0, 1, 0x6b, 0],
    code: MALFORMED,
  },
]);

// Bytes left in the frame after the last field of a packet with no payload (or after
// CONNECT's last payload field): the remaining length disagrees with the packet, Malformed.
table('trailing bytes inside the frame', [
  { name: 'PINGREQ remaining length 1', v: 4, bytes: [0xc0, 1, 0], code: MALFORMED },
  { name: 'PINGRESP remaining length 1', v: 5, bytes: [0xd0, 1, 0], code: MALFORMED },
  { name: 'PUBACK remaining length 3', v: 4, bytes: [0x40, 3, 0, 1, 0], code: MALFORMED },
  { name: 'PUBREC remaining length 3', v: 3, bytes: [0x50, 3, 0, 1, 0], code: MALFORMED },
  { name: 'PUBREL remaining length 3', v: 4, bytes: [0x62, 3, 0, 1, 0], code: MALFORMED },
  { name: 'PUBCOMP remaining length 4', v: 4, bytes: [0x70, 4, 0, 1, 0, 0], code: MALFORMED },
  { name: 'DISCONNECT remaining length 1', v: 4, bytes: [0xe0, 1, 0], code: MALFORMED },
  { name: 'CONNACK remaining length 3', v: 4, bytes: [0x20, 3, 0, 0, 0], code: MALFORMED },
  { name: 'UNSUBACK remaining length 3', v: 4, bytes: [0xb0, 3, 0, 1, 0], code: MALFORMED },
  { name: 'CONNECT with a byte after the client id', bytes: [0x10, 13, ...MQTT4, 0x02, 0, 0, 0, 0, 0xff], code: MALFORMED },
  {
    name: 'CONNECT with a byte after the password',
    bytes: [
      0x10, 19, ...MQTT4, // CONNECT 3.1.1
      0xc2, 0, 0, // flags: user name, password, clean; keep alive
      0, 0, // client id
      0, 1, ...ascii('u'), // user name
      0, 1, ...ascii('p'), // password
      0x00, // trailing byte
    ],
    code: MALFORMED,
  },
  {
    name: 'CONNECT with a byte after the password',
    bytes: [0x10, 20, ...MQTT5, 0xc2, 0, 0, 0, 0, 0, 0, 1, 0x75, 0, 1, 0x70, 0x00],
    code: MALFORMED,
  },
  { name: 'PUBACK with bytes after the properties', v: 5, bytes: [0x40, 6, 0, 1, 0x00, 0, 0xaa, 0xbb], code: MALFORMED },
  { name: 'CONNACK with a byte after the properties', v: 5, bytes: [0x20, 4, 0, 0, 0, 0xaa], code: MALFORMED },
  { name: 'DISCONNECT with a byte after the properties', v: 5, bytes: [0xe0, 3, 0x00, 0, 0xaa], code: MALFORMED },
  { name: 'AUTH with a byte after the properties', v: 5, bytes: [0xf0, 3, 0x00, 0, 0xaa], code: MALFORMED },
]);

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

// [MQTT-3.9.3-2] and 5.0 section 2.4: a sender MUST NOT use a reason code outside the packet's
// table, so one arriving is a Protocol Error; the codes the table lists for the packet still parse.
describe('reason codes outside the packet table', () => {
  const PROTOCOL_ERROR = 0x82;
  it.each([
    ['5.0 PUBACK 0x05', 5, [0x40, 0x03, 0x00, 0x01, 0x05]],
    ['5.0 PUBREL 0x10 (only 0x00 and 0x92 exist)', 5, [0x62, 0x03, 0x00, 0x01, 0x10]],
    ['5.0 PUBCOMP 0x87', 5, [0x70, 0x03, 0x00, 0x01, 0x87]],
    ['5.0 SUBACK 0x03', 5, [0x90, 0x04, 0x00, 0x01, 0x00, 0x03]],
    ['3.1.1 SUBACK return code 0x03', 4, [0x90, 0x03, 0x00, 0x01, 0x03]],
    ['3.1.1 SUBACK return code 0x87 (5.0 only)', 4, [0x90, 0x03, 0x00, 0x01, 0x87]],
    ['5.0 UNSUBACK 0x02', 5, [0xb0, 0x04, 0x00, 0x01, 0x00, 0x02]],
    ['5.0 DISCONNECT 0x01', 5, [0xe0, 0x01, 0x01]],
    ['5.0 AUTH 0x04', 5, [0xf0, 0x02, 0x04, 0x00]],
    ['5.0 CONNACK 0x04', 5, [0x20, 0x03, 0x00, 0x04, 0x00]],
  ] as const)('%s', (_name, version, bytes) => {
    expectMqttError(() => new Parser({ protocolVersion: version }).push(Buffer.from(bytes)), PROTOCOL_ERROR);
  });

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
    // PUBLISH QoS 0, topic 'a', properties: 3 bytes, Topic Alias (0x23) = 0
    const bytes = [0x30, 0x07, 0x00, 0x01, 0x61, 0x03, 0x23, 0x00, 0x00];
    expectMqttError(() => new Parser({ protocolVersion: 5 }).push(Buffer.from(bytes)), 0x94);
  });
});
