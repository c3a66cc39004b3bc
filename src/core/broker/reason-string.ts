/**
 * A Reason String for a packet the broker sends: at most 200 UTF-16 units, cut so that no
 * surrogate pair is split. A half pair cannot be encoded as UTF-8 (the codec refuses it), and
 * the texts explained often quote what a client sent, emoji included.
 */
export const MAX_REASON_STRING = 200;

export function reasonString(why: string): string {
  if (why.length <= MAX_REASON_STRING) return why;
  const last = why.charCodeAt(MAX_REASON_STRING - 1);
  return why.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_REASON_STRING - 1 : MAX_REASON_STRING);
}
