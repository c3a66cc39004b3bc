/**
 * Packets built byte by byte, for what our encoder refuses to write: invalid topic filters and
 * subscription options, a remaining length that promises more than follows, a topic length
 * that runs past the packet.
 */

export function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A 2-byte length prefix and the bytes (a string as UTF-8; a Buffer as is, valid or not). */
export function str(value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length & 0xffff);
  return Buffer.concat([len, bytes]);
}

/** A whole packet: the first byte, the remaining length of `body`, the body. */
export function packet(first, body) {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

function id(packetId) {
  return Buffer.from([packetId >> 8, packetId & 0xff]);
}

/**
 * SUBSCRIBE with filters given as strings or raw bytes and option bytes as given.
 * `properties` is the 5.0 property block's content (empty by default).
 */
export function subscribe(version, packetId, entries, properties = Buffer.alloc(0)) {
  const parts = [id(packetId)];
  if (version === 5) parts.push(varint(properties.length), properties);
  for (const { filter, options } of entries) parts.push(str(filter), Buffer.from([options]));
  return packet(0x82, Buffer.concat(parts));
}

/** PUBLISH with the topic as raw bytes; `topicLength` overrides the declared length. */
export function publish(version, { topic, qos = 0, packetId = 1, payload = Buffer.alloc(0), topicLength }) {
  const t = Buffer.isBuffer(topic) ? topic : Buffer.from(topic, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE((topicLength ?? t.length) & 0xffff);
  const parts = [len, t];
  if (qos > 0) parts.push(id(packetId));
  if (version === 5) parts.push(Buffer.from([0]));
  parts.push(payload);
  return packet(0x30 | (qos << 1), Buffer.concat(parts));
}

/** Just a fixed header that declares `remaining` bytes to follow. */
export function header(first, remaining) {
  return Buffer.concat([Buffer.from([first]), varint(remaining)]);
}
