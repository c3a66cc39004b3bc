/**
 * Differential tests: mqt's codec against mqtt-packet 9, a second implementation written
 * independently, over random valid packets of every type for MQTT 3.1, 3.1.1 and 5.0.
 *
 * Where mqtt-packet cannot represent a valid packet the generators are narrowed (`mqttPacket:
 * true`, each case documented in test/helpers/arbitraries.ts and mqtt-packet-bridge.ts); our own
 * round trip runs over the unrestricted generators.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, Parser } from '../../../src/core/codec/index.js';
import type { Packet, Properties, ProtocolVersion } from '../../../src/core/codec/index.js';
import { arbPacket } from '../../helpers/arbitraries.js';
import {
  ASCENDING_ID_ORDER,
  fromMqttPacket,
  mqttGenerate,
  mqttPacketCanParse,
  mqttParse,
  normalizeUserPropertyOrder,
  propertiesFromMqtt,
  propertiesToMqtt,
} from '../../helpers/mqtt-packet-bridge.js';

const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];
const NAMES: Record<ProtocolVersion, string> = { 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5.0' };

function parseAll(buf: Buffer, version: ProtocolVersion): Packet[] {
  return new Parser({ protocolVersion: version }).push(buf);
}

function parseOne(buf: Buffer, version: ProtocolVersion): Packet {
  const packets = parseAll(buf, version);
  expect(packets).toHaveLength(1);
  return packets[0]!;
}

/** mqtt-packet writes the user properties of one key together, in its object's key order. */
function userPropertiesInMqttOrder(props: Properties | undefined): boolean {
  if (props?.userProperties === undefined) return true;
  const back = propertiesFromMqtt(propertiesToMqtt({ userProperties: props.userProperties }));
  return JSON.stringify(back?.userProperties) === JSON.stringify(props.userProperties);
}

/**
 * Whether our 5.0 encoding and mqtt-packet's should be byte-identical. Both are valid wire forms
 * in every case excluded here; they differ only in how much of an empty tail they spell out:
 * - PUBACK/PUBREC/PUBREL/PUBCOMP with a reason code and no properties: we stop after the code
 *   (Remaining Length 3, allowed by 5.0 section 3.4.2.2.1); mqtt-packet adds a property length 0.
 * - DISCONNECT without properties: we write nothing (code 0) or the code alone (3.14.2.1,
 *   3.14.2.2.1); mqtt-packet always writes the code and a property length 0.
 * - AUTH Success without properties: we write Remaining Length 0 (3.15.2.1); mqtt-packet writes
 *   the code and a property length 0.
 * - User properties in an order mqtt-packet's key-to-values object cannot reproduce.
 */
function v5BytesComparable(p: Packet): boolean {
  const props = 'properties' in p ? p.properties : undefined;
  if (!userPropertiesInMqttOrder(props)) return false;
  if (p.type === 'connect' && !userPropertiesInMqttOrder(p.will?.properties)) return false;
  switch (p.type) {
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return props !== undefined || p.reasonCode === 0;
    case 'disconnect':
      return props !== undefined;
    case 'auth':
      return props !== undefined || p.reasonCode !== 0;
    default:
      return true;
  }
}

const hex = (b: Buffer): string => b.toString('hex');

for (const version of VERSIONS) {
  describe(`differential against mqtt-packet, ${NAMES[version]}`, () => {
    const restricted = arbPacket(version, { mqttPacket: true });
    const unrestricted = arbPacket(version);

    // The bridge itself: mqtt-packet alone must round-trip through it, or the
    // comparisons below would blame the codec for the bridge's mistakes.
    it('bridge: mqtt-packet generate → mqtt-packet parse → convert equals the original', () => {
      fc.assert(
        fc.property(restricted, (p) => {
          const { packets, error } = mqttParse(mqttGenerate(p, version), version);
          expect(error).toBeUndefined();
          expect(packets).toHaveLength(1);
          expect(normalizeUserPropertyOrder(fromMqttPacket(packets[0]!, version))).toStrictEqual(normalizeUserPropertyOrder(p));
        }),
        { numRuns: 300 },
      );
    });

    it('(a) our encode → mqtt-packet parse → convert equals the original', () => {
      fc.assert(
        fc.property(restricted.filter(mqttPacketCanParse), (p) => {
          const { packets, error } = mqttParse(encode(p, version), version);
          expect(error).toBeUndefined();
          expect(packets).toHaveLength(1);
          expect(normalizeUserPropertyOrder(fromMqttPacket(packets[0]!, version))).toStrictEqual(normalizeUserPropertyOrder(p));
        }),
        { numRuns: 1000 },
      );
    });

    it('(b) mqtt-packet generate → our Parser equals the original', () => {
      fc.assert(
        fc.property(restricted, (p) => {
          const decoded = parseOne(mqttGenerate(p, version, ASCENDING_ID_ORDER), version);
          expect(normalizeUserPropertyOrder(decoded)).toStrictEqual(normalizeUserPropertyOrder(p));
        }),
        { numRuns: 1000 },
      );
    });

    it('(c) our own round trip parse(encode(p)) equals p, over the unrestricted generators', () => {
      fc.assert(
        fc.property(unrestricted, (p) => {
          expect(parseOne(encode(p, version), version)).toStrictEqual(p);
        }),
        { numRuns: 2000 },
      );
    });

    if (version !== 5) {
      // Before 5.0 every packet has exactly one encoding, so both libraries must agree byte for byte.
      it('(d) our encode and mqtt-packet generate are byte-identical', () => {
        fc.assert(
          fc.property(restricted, (p) => {
            expect(hex(encode(p, version))).toBe(hex(mqttGenerate(p, version)));
          }),
          { numRuns: 1000 },
        );
      });
    } else {
      it('(d) our encode and mqtt-packet generate are byte-identical where both are canonical, else decode alike', () => {
        let compared = 0;
        let total = 0;
        fc.assert(
          fc.property(restricted, (p) => {
            total++;
            const ours = encode(p, version);
            // mqtt-packet writes properties in its object's key order; the bridge orders them as we do.
            const theirs = mqttGenerate(p, version, ASCENDING_ID_ORDER);
            if (v5BytesComparable(p)) {
              compared++;
              expect(hex(ours)).toBe(hex(theirs));
            } else {
              expect(normalizeUserPropertyOrder(parseOne(theirs, version))).toStrictEqual(normalizeUserPropertyOrder(parseOne(ours, version)));
            }
          }),
          { numRuns: 1000 },
        );
        // Guard against a vacuous test: most packets must have been compared byte for byte.
        expect(compared).toBeGreaterThan(total / 2);
      });
    }

    describe('streams', () => {
      /** Cut `bytes` at the given fractions of its length. */
      function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
        const points = [...new Set(cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let start = 0;
        for (const at of points) {
          chunks.push(bytes.subarray(start, at)); // may be empty: the parser must accept that too
          start = at;
        }
        chunks.push(bytes.subarray(start));
        return chunks;
      }

      function parseChunks(chunks: Buffer[]): Packet[] {
        const parser = new Parser({ protocolVersion: version });
        const out: Packet[] = [];
        for (const c of chunks) out.push(...parser.push(c));
        expect(parser.buffered).toBe(0);
        return out;
      }

      const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

      it('our encodings, concatenated and split at random points, parse back in order', () => {
        fc.assert(
          fc.property(fc.array(unrestricted, { minLength: 1, maxLength: 12 }), cuts, (packets, fractions) => {
            const bytes = Buffer.concat(packets.map((p) => encode(p, version)));
            expect(parseChunks(chunk(bytes, fractions))).toStrictEqual(packets);
          }),
          { numRuns: 300 },
        );
      });

      it("mqtt-packet's encodings, concatenated and split at random points, parse back in order", () => {
        fc.assert(
          fc.property(fc.array(restricted, { minLength: 1, maxLength: 12 }), cuts, (packets, fractions) => {
            const bytes = Buffer.concat(packets.map((p) => mqttGenerate(p, version, ASCENDING_ID_ORDER)));
            expect(parseChunks(chunk(bytes, fractions)).map(normalizeUserPropertyOrder)).toStrictEqual(packets.map(normalizeUserPropertyOrder));
          }),
          { numRuns: 200 },
        );
      });

      it('a stream fed one byte at a time parses back in order', () => {
        fc.assert(
          fc.property(fc.array(unrestricted, { minLength: 1, maxLength: 4 }), (packets) => {
            const bytes = Buffer.concat(packets.map((p) => encode(p, version)));
            const chunks: Buffer[] = [];
            for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
            expect(parseChunks(chunks)).toStrictEqual(packets);
          }),
          { numRuns: 60 },
        );
      });
    });
  });
}
