/**
 * The byte patterns that break parsers: ill-formed UTF-8 for strings (each is invalid by
 * RFC 3629 or forbidden by [MQTT-1.5.4-1] / [MQTT-1.5.4-2], so a string holding one is a
 * Malformed Packet), boundary bytes, and the lengths at the edges of each integer encoding.
 */
import { MAX_VARINT } from '../../../src/core/codec/index.js';

export interface BadUtf8 {
  name: string;
  bytes: number[];
}

export const BAD_UTF8: readonly BadUtf8[] = [
  { name: 'U+0000', bytes: [0x00] },
  { name: 'overlong U+0000 (C0 80)', bytes: [0xc0, 0x80] },
  { name: 'overlong "/" (C0 AF)', bytes: [0xc0, 0xaf] },
  { name: 'overlong two bytes (C1 BF)', bytes: [0xc1, 0xbf] },
  { name: 'overlong three bytes (E0 80 80)', bytes: [0xe0, 0x80, 0x80] },
  { name: 'overlong three bytes (E0 9F BF)', bytes: [0xe0, 0x9f, 0xbf] },
  { name: 'overlong four bytes (F0 80 80 80)', bytes: [0xf0, 0x80, 0x80, 0x80] },
  { name: 'overlong four bytes (F0 8F BF BF)', bytes: [0xf0, 0x8f, 0xbf, 0xbf] },
  { name: 'high surrogate U+D800', bytes: [0xed, 0xa0, 0x80] },
  { name: 'low surrogate U+DFFF', bytes: [0xed, 0xbf, 0xbf] },
  { name: 'surrogate pair as CESU-8', bytes: [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80] },
  { name: 'beyond U+10FFFF (F4 90 80 80)', bytes: [0xf4, 0x90, 0x80, 0x80] },
  { name: 'F5 lead byte', bytes: [0xf5, 0x80, 0x80, 0x80] },
  { name: 'five-byte form (F8 88 80 80 80)', bytes: [0xf8, 0x88, 0x80, 0x80, 0x80] },
  { name: 'six-byte form (FC 84 80 80 80 80)', bytes: [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80] },
  { name: 'FE', bytes: [0xfe] },
  { name: 'FF', bytes: [0xff] },
  { name: 'lone continuation byte', bytes: [0x80] },
  { name: 'lone continuation byte BF', bytes: [0xbf] },
  { name: 'two-byte lead then ASCII (C3 28)', bytes: [0xc3, 0x28] },
  { name: 'three-byte lead, bad second (E2 28 A1)', bytes: [0xe2, 0x28, 0xa1] },
  { name: 'three-byte lead, bad third (E2 82 28)', bytes: [0xe2, 0x82, 0x28] },
  { name: 'four-byte lead, bad continuation (F0 28 8C BC)', bytes: [0xf0, 0x28, 0x8c, 0xbc] },
  { name: 'three-byte sequence cut short (E2 82)', bytes: [0xe2, 0x82] },
  { name: 'four-byte sequence cut short (F0 9F 98)', bytes: [0xf0, 0x9f, 0x98] },
  { name: 'lead byte alone (C2)', bytes: [0xc2] },
];

/** Bytes worth setting: zero, all ones, the sign and continuation bits, their neighbours. */
export const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x7e, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff] as const;

/** Remaining Length / property length values at the edges of each varint size, up to the largest. */
export const EDGE_LENGTHS = [
  127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_VARINT - 1, MAX_VARINT,
] as const;

/** Malformed variable byte integers: a fifth byte, and non-minimal encodings. */
export const BAD_VARINTS: readonly number[][] = [
  [0xff, 0xff, 0xff, 0xff, 0x7f],
  [0x80, 0x80, 0x80, 0x80, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0xff],
  [0x80, 0x00],
  [0x80, 0x80, 0x00],
  [0x80, 0x80, 0x80, 0x00],
];
