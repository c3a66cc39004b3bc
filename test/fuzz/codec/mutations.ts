/**
 * Named mutations of one valid packet. Structural ones use its layout to break one thing
 * (a length, a property section, a string) and fix the lengths around it, so the decoders
 * reach the broken part; blind ones (bit flips, byte sets, cuts) break anything anywhere.
 * A structural mutation whose outcome the spec fixes says so in `expect`; the oracle checks
 * it when nothing else was changed and no maximum packet size could get in the way.
 */
import { PROPERTIES, PacketType, ReasonCode } from '../../../src/core/codec/index.js';
import type { PropertyInfo } from '../../../src/core/codec/index.js';
import { BAD_UTF8, BAD_VARINTS, EDGE_LENGTHS, INTERESTING_BYTES } from './bad-bytes.js';
import { frame, overlongVarint, varint } from './bytes.js';
import type { Sample } from './corpus.js';
import type { Layout, Section } from './layout.js';
import type { Rng } from './rng.js';

/** What the spec says must come of a mutation: a reason code, or packets (`accept`). */
export type Expectation = { code: number } | 'accept';

export interface Mutated {
  bytes: Buffer;
  name: string;
  expect?: Expectation;
}

type Structural = (rng: Rng, s: Sample) => Mutated | null;

/** First bytes with legal flags for every type. */
export const FIRST_BYTES = [
  0x10, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x3a, 0x3b, 0x3c, 0x3d, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0,
  0xc0, 0xd0, 0xe0, 0xf0,
];

const KNOWN_IDS = new Set(PROPERTIES.map((p) => p.id));
/** Identifiers the property table lacks (one-byte ones, and two-byte varint ids). */
const UNKNOWN_IDS: number[][] = [
  ...Array.from({ length: 0x80 }, (_, id) => id).filter((id) => !KNOWN_IDS.has(id)).map((id) => [id]),
  [0x80, 0x01],
  [0xff, 0x7f],
];

// ---------------------------------------------------------------------------------------------
// Rebuilding a packet after an edit.

/**
 * Replaces bytes [a, b) of a valid packet with `insert`, then rewrites the property length of
 * `section` (if the edit lies inside one) and the Remaining Length so both tell the truth.
 */
function splice(bytes: Buffer, layout: Layout, a: number, b: number, insert: Buffer, section?: Section): Buffer {
  const delta = insert.length - (b - a);
  const parts: Buffer[] = [];
  let bodyFrom = layout.headerLength;
  if (section !== undefined) {
    parts.push(bytes.subarray(bodyFrom, section.lengthAt), Buffer.from(varint(section.end - section.start + delta)));
    bodyFrom = section.start;
  }
  parts.push(bytes.subarray(bodyFrom, a), insert, bytes.subarray(b));
  return frame(bytes[0]!, Buffer.concat(parts));
}

function sectionOf(s: Sample, index: number | undefined): Section | undefined {
  return index === undefined ? undefined : s.layout.sections[index];
}

/** A well-formed value of a property's type, for inserting it where it does not belong. */
function propertyValue(rng: Rng, info: PropertyInfo): number[] {
  const str = (): number[] => {
    const n = rng.int(6);
    return [0, n, ...Array.from({ length: n }, () => rng.range(0x61, 0x7a))];
  };
  switch (info.type) {
    case 'byte': return [rng.int(2)];
    case 'two-byte': return [0, rng.range(1, 255)];
    case 'four-byte': return [0, 0, 0, rng.range(1, 255)];
    case 'varint': return varint(rng.range(1, 268_435_455));
    case 'utf8':
    case 'binary': return str();
    case 'pair': return [...str(), ...str()];
  }
}

// ---------------------------------------------------------------------------------------------
// Structural mutations.

/** The first character boundary at or after `at` in valid UTF-8 (a byte that is not 10xxxxxx). */
function boundary(text: Buffer, at: number): number {
  while (at < text.length && (text[at]! & 0xc0) === 0x80) at++;
  return at;
}

const utf8Bad: Structural = (rng, s) => {
  const fields = s.layout.fields.filter((f) => f.kind === 'utf8');
  if (fields.length === 0) return null;
  const f = rng.pick(fields);
  const bad = rng.pick(BAD_UTF8);
  const content = s.bytes.subarray(f.at + 2, f.at + 2 + f.length);
  // The bad sequence replaces, or goes before, after or inside, valid text.
  // Cut only between characters: a lone continuation byte after half a character would complete it.
  const cut = boundary(content, rng.int(content.length + 1));
  const resume = boundary(content, cut + (rng.chance(0.5) ? 0 : rng.int(content.length - cut + 1)));
  const text = Buffer.concat([content.subarray(0, cut), Buffer.from(bad.bytes), content.subarray(resume)]);
  if (text.length > 0xffff) return null;
  const insert = Buffer.concat([Buffer.from([text.length >> 8, text.length & 0xff]), text]);
  return {
    bytes: splice(s.bytes, s.layout, f.at, f.at + 2 + f.length, insert, sectionOf(s, f.section)),
    name: `utf8-bad(${bad.name})`,
    expect: { code: ReasonCode.MalformedPacket },
  };
};

/** A string grown to (nearly) the 65,535 bytes it may hold: valid, so it must parse. */
const utf8Long: Structural = (rng, s) => {
  // Not CONNECT's protocol name: a longer one is another protocol (0x84).
  const fields = s.layout.fields.filter((f) => f.kind === 'utf8' && f.at !== s.layout.headerLength);
  if (fields.length === 0) return null;
  const f = rng.pick(fields);
  const length = rng.pick([0xffff, 0xfffe, 0x8000, 0x100, rng.range(f.length, 0xffff)]);
  if (length < f.length) return null;
  const text = Buffer.alloc(length, 0x61);
  s.bytes.copy(text, 0, f.at + 2, f.at + 2 + f.length);
  const insert = Buffer.concat([Buffer.from([length >> 8, length & 0xff]), text]);
  return {
    bytes: splice(s.bytes, s.layout, f.at, f.at + 2 + f.length, insert, sectionOf(s, f.section)),
    name: `utf8-long(${length})`,
    expect: 'accept',
  };
};

/** A string or binary length prefix that lies: past the packet, or short of the field. */
const fieldLength: Structural = (rng, s) => {
  if (s.layout.fields.length === 0) return null;
  const f = rng.pick(s.layout.fields);
  const length = rng.pick([0xffff, 0x8000, f.length + 1, f.length + rng.range(2, 16), Math.max(0, f.length - 1), 0]);
  const bytes = Buffer.from(s.bytes);
  bytes.writeUInt16BE(length & 0xffff, f.at);
  return { bytes, name: `${f.kind}-length(${f.length}->${length & 0xffff})` };
};

function pickSection(rng: Rng, s: Sample, nonEmpty: boolean): Section | null {
  const sections = nonEmpty ? s.layout.sections.filter((x) => x.properties.length > 0) : s.layout.sections;
  return sections.length === 0 ? null : rng.pick(sections);
}

const propsShuffle: Structural = (rng, s) => {
  const section = pickSection(rng, s, true);
  if (section === null || section.properties.length < 2) return null;
  const order = section.properties.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const insert = Buffer.concat(order.map((p) => s.bytes.subarray(p.start, p.end)));
  // Same bytes, same length: only the order changed, which the spec leaves free (2.2.2.2).
  const bytes = Buffer.from(s.bytes);
  insert.copy(bytes, section.start);
  return { bytes, name: 'props-shuffle', expect: 'accept' };
};

const propsDuplicate: Structural = (rng, s) => {
  const section = pickSection(rng, s, true);
  if (section === null) return null;
  const p = rng.pick(section.properties);
  const info = PROPERTIES.find((x) => x.id === p.id)!;
  // Only User Property, and Subscription Identifier in a PUBLISH, may come twice; a second copy
  // of any other is a Protocol Error (5.0 section 2.2.2.2 and each packet's property list).
  const repeatable = info.repeatable && !(info.id === 0x0b && section.type !== PacketType.PUBLISH);
  const at = rng.pick(section.properties.map((x) => x.end));
  const bytes = splice(s.bytes, s.layout, at, at, Buffer.from(s.bytes.subarray(p.start, p.end)), section);
  return { bytes, name: `props-duplicate(0x${p.id.toString(16)})`, expect: repeatable ? 'accept' : { code: ReasonCode.ProtocolError } };
};

const propsForeign: Structural = (rng, s) => {
  const section = pickSection(rng, s, false);
  if (section === null) return null;
  let insert: number[];
  let name: string;
  if (rng.chance(0.7)) {
    const foreign = PROPERTIES.filter((p) => !p.allowedIn.includes(section.type));
    const info = rng.pick(foreign);
    insert = [info.id, ...propertyValue(rng, info)];
    name = `props-foreign(${info.name})`;
  } else {
    const id = rng.pick(UNKNOWN_IDS);
    insert = [...id, ...Array.from(rng.bytes(rng.int(5)))];
    name = `props-unknown(${Buffer.from(id).toString('hex')})`;
  }
  const at = rng.pick([section.start, ...section.properties.map((p) => p.end)]);
  // 5.0 section 2.2.2.2: an identifier not valid for the packet makes it Malformed.
  return { bytes: splice(s.bytes, s.layout, at, at, Buffer.from(insert), section), name, expect: { code: ReasonCode.MalformedPacket } };
};

const propsDrop: Structural = (rng, s) => {
  const section = pickSection(rng, s, true);
  if (section === null) return null;
  const p = rng.pick(section.properties);
  return { bytes: splice(s.bytes, s.layout, p.start, p.end, Buffer.alloc(0), section), name: `props-drop(0x${p.id.toString(16)})` };
};

/** The property length lies (the Remaining Length still frames the packet). */
const propsLength: Structural = (rng, s) => {
  const section = pickSection(rng, s, false);
  if (section === null) return null;
  const length = section.end - section.start;
  const choice = rng.int(4);
  const value =
    choice === 0 ? varint(Math.max(0, length - rng.range(1, 4)))
    : choice === 1 ? varint(length + rng.range(1, 8))
    : choice === 2 ? varint(rng.pick(EDGE_LENGTHS))
    : rng.chance(0.5) ? rng.pick(BAD_VARINTS) : overlongVarint(length);
  const bytes = splice(s.bytes, s.layout, section.lengthAt, section.lengthAt + section.lengthBytes, Buffer.from(value));
  const expect = choice === 3 ? { code: ReasonCode.MalformedPacket } : undefined;
  return { bytes, name: `props-length(${Buffer.from(value).toString('hex')})`, ...(expect ? { expect } : {}) };
};

function withRemaining(s: Sample, length: number[]): Buffer {
  return Buffer.concat([Buffer.from([s.bytes[0]!, ...length]), s.bytes.subarray(s.layout.headerLength)]);
}

const remainingShorter: Structural = (rng, s) => {
  if (s.layout.remaining === 0) return null;
  const to = rng.chance(0.7) ? Math.max(0, s.layout.remaining - rng.range(1, 4)) : rng.int(s.layout.remaining);
  return { bytes: withRemaining(s, varint(to)), name: `remaining-shorter(${s.layout.remaining}->${to})` };
};

const remainingLonger: Structural = (rng, s) => {
  const extra = rng.chance(0.7) ? rng.range(1, 4) : rng.range(5, 300);
  const bytes = withRemaining(s, varint(s.layout.remaining + extra));
  // With the bytes it now claims, or without (the parser must wait for them).
  const tail = rng.chance(0.5) ? rng.bytes(extra) : Buffer.alloc(0);
  return { bytes: Buffer.concat([bytes, tail]), name: `remaining-longer(+${extra}${tail.length > 0 ? ', filled' : ''})` };
};

const remainingHuge: Structural = (rng, s) => {
  const to = rng.chance(0.6) ? rng.pick(EDGE_LENGTHS) : rng.range(s.layout.remaining, 268_435_455);
  return { bytes: withRemaining(s, varint(to)), name: `remaining-huge(${to})` };
};

const remainingBadVarint: Structural = (rng, s) => {
  const length = rng.chance(0.5) ? rng.pick(BAD_VARINTS) : overlongVarint(s.layout.remaining);
  // [MQTT-1.5.5-1] and the four-byte limit (5.0 section 1.5.5, 3.1.1 section 2.2.3).
  return { bytes: withRemaining(s, length), name: `remaining-bad-varint(${Buffer.from(length).toString('hex')})`, expect: { code: ReasonCode.MalformedPacket } };
};

/** Another packet type's first byte over this body: one packet's fields read as another's. */
const typeSwap: Structural = (rng, s) => {
  const bytes = Buffer.from(s.bytes);
  bytes[0] = rng.chance(0.9) ? rng.pick(FIRST_BYTES) : rng.int(256);
  return { bytes, name: `type-swap(0x${bytes[0]!.toString(16)})` };
};

export const STRUCTURAL: readonly (readonly [number, string, Structural])[] = [
  [6, 'utf8-bad', utf8Bad],
  [1, 'utf8-long', utf8Long],
  [4, 'field-length', fieldLength],
  [3, 'props-shuffle', propsShuffle],
  [3, 'props-duplicate', propsDuplicate],
  [4, 'props-foreign', propsForeign],
  [2, 'props-drop', propsDrop],
  [3, 'props-length', propsLength],
  [3, 'remaining-shorter', remainingShorter],
  [3, 'remaining-longer', remainingLonger],
  [1, 'remaining-huge', remainingHuge],
  [2, 'remaining-bad-varint', remainingBadVarint],
  [3, 'type-swap', typeSwap],
];

const WEIGHTED = STRUCTURAL.map(([weight, , fn]) => [weight, fn] as const);

/** One structural mutation, picked by weight; falls back to others when it does not apply. */
export function mutateStructure(rng: Rng, s: Sample): Mutated | null {
  for (let tries = 0; tries < 4; tries++) {
    const m = rng.weighted(WEIGHTED)(rng, s);
    if (m !== null) return m;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Blind mutations: anywhere, framing included, or in the body with the framing rewritten.

export type Blind = 'bit-flip' | 'byte-set' | 'truncate' | 'insert' | 'delete' | 'duplicate' | 'splice';

const BLIND: readonly (readonly [number, Blind])[] = [
  [5, 'bit-flip'],
  [4, 'byte-set'],
  [2, 'truncate'],
  [2, 'insert'],
  [2, 'delete'],
  [1, 'duplicate'],
  [1, 'splice'],
];

function blindOnce(rng: Rng, b: Buffer, kind: Blind, donor: Buffer): Buffer {
  const at = rng.int(b.length + 1);
  switch (kind) {
    case 'bit-flip': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      for (let n = rng.range(1, 4); n > 0; n--) {
        const i = rng.int(out.length);
        out[i] = out[i]! ^ (1 << rng.int(8));
      }
      return out;
    }
    case 'byte-set': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      for (let n = rng.range(1, 3); n > 0; n--) out[rng.int(out.length)] = rng.chance(0.7) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      return out;
    }
    case 'truncate':
      return b.subarray(0, at);
    case 'insert':
      return Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + rng.range(1, 8))]);
    case 'duplicate': {
      const from = rng.int(b.length + 1);
      const seg = b.subarray(from, from + rng.range(1, 32));
      return Buffer.concat([b.subarray(0, at), seg, b.subarray(at)]);
    }
    case 'splice': {
      const from = rng.int(donor.length + 1);
      return Buffer.concat([b.subarray(0, at), donor.subarray(from, from + rng.range(1, 32)), b.subarray(at)]);
    }
  }
}

/**
 * 1 to 3 blind mutations. Half the time they hit the body only and the packet is re-framed
 * with a true Remaining Length, so the decoders see them rather than the framer.
 */
export function mutateBlind(rng: Rng, bytes: Buffer, donor: Buffer, names: string[]): Buffer {
  const reframe = rng.chance(0.5) && bytes.length >= 2;
  let headerLength = 0;
  if (reframe) {
    headerLength = 1;
    while (headerLength < bytes.length && headerLength < 5 && (bytes[headerLength]! & 0x80) !== 0) headerLength++;
    headerLength++;
  }
  let b = reframe ? bytes.subarray(headerLength) : bytes;
  for (let n = rng.range(1, 3); n > 0; n--) {
    const kind = rng.weighted(BLIND);
    b = blindOnce(rng, b, kind, donor);
    names.push(reframe ? `${kind}(body)` : kind);
  }
  return reframe ? frame(bytes[0]!, b) : b;
}
