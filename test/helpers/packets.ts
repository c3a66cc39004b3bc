/**
 * Helpers for the codec's fixture and malformed-input tests. Nothing here encodes a
 * packet: fixtures are written by hand from the spec so they stay an independent oracle.
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { MqttError } from '../../src/core/codec/errors.js';
import type { Packet, ProtocolVersion } from '../../src/core/codec/types.js';

export interface PacketFixture {
  name: string;
  version: ProtocolVersion;
  /** Exactly what the parser must return for `bytes`. */
  packet: Packet;
  /** The wire form, written by hand with one comment per field. */
  bytes: number[];
  /**
   * Set on a valid but non-canonical encoding (why, in words): the parser must accept it, but
   * the encoder writes the same packet in another valid form, given by a sibling fixture.
   */
  decodeOnly?: string;
}

/** Character codes of an ASCII string, so field contents read as text; lengths stay hand-written. */
export function ascii(text: string): number[] {
  const codes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new Error(`ascii(): ${JSON.stringify(text)} is not ASCII; write its UTF-8 bytes by hand`);
    codes.push(code);
  }
  return codes;
}

/** A deterministic payload of `length` bytes for large-packet fixtures (every byte value occurs). */
export function pattern(length: number): number[] {
  const bytes = new Array<number>(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

export function hex(bytes: ArrayLike<number>): string {
  return Buffer.from(Uint8Array.from(bytes)).toString('hex');
}

function codeLabel(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

/** Asserts that `fn` throws an MqttError carrying `reasonCode` (compared as hex for readable failures). */
export function expectMqttError(fn: () => unknown, reasonCode: number): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an MqttError to be thrown').toBeInstanceOf(MqttError);
  expect(codeLabel((thrown as MqttError).reasonCode), String((thrown as Error).message)).toBe(codeLabel(reasonCode));
}

/**
 * Deep strict equality (own keys, undefined-valued keys, prototypes, Buffer contents) with a
 * readable diff on failure. Uses node's comparison first because vitest's is per element on
 * Buffers and the large fixtures are compared thousands of times.
 */
export function expectPackets(actual: unknown[], expected: Packet[], label?: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(actual, label).toStrictEqual(expected);
  // toStrictEqual and isDeepStrictEqual disagree only on exotic cases: fail rather than pass silently.
  expect.fail(`${label ?? 'packets'}: not deep-strict-equal (node:util) although vitest found no difference`);
}

/**
 * The 3.1 copies of 3.1.1 fixtures for packets whose encoding did not change between the two
 * versions (MQTT 3.1 §3 describes the same layouts; only CONNECT's protocol name and level differ).
 */
export function as31(fixtures: readonly PacketFixture[]): PacketFixture[] {
  return fixtures.map((f) => ({ ...f, version: 3, name: f.name.replace('3.1.1', '3.1') }));
}
