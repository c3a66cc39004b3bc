/**
 * SUBSCRIBE abuse: filters and options no broker may accept, and 5,000 subscriptions per client.
 */
import { PROTOCOL_ERROR_CLOSE_MS, login, sub } from '../attack-kit.mjs';
import * as raw from '../wire-bytes.mjs';

/** Filters no broker may grant: wildcards misplaced, empty, U+0000, invalid UTF-8. */
const INVALID_FILTERS = [
  'a/#/b', '+x', 'x+/a', 'a/b#', '#x', '', 'a\u0000b', 'fuzz/+/#/x',
  Buffer.from([0x66, 0xc3, 0x28]), // invalid UTF-8
  Buffer.from([0x66, 0xed, 0xa0, 0x80]), // a UTF-16 surrogate in UTF-8
];

/** Invalid only as 5.0 shared subscriptions ([MQTT-4.8.2-1], [MQTT-4.8.2-2]). */
const INVALID_SHARED = ['$share/', '$share/g', '$share//fuzz/a', '$share/g+/fuzz/a', '$share/g#/fuzz/a', '$share/g/'];

/**
 * SUBSCRIBE with an invalid filter (alone or among valid ones; some over-long): the broker
 * must refuse it (SUBACK failure code) or close; granting it is an anomaly.
 */
export async function badFilters(ctx) {
  const { rng } = ctx;
  const v = rng.pick([3, 4, 5]);
  const c = await login(ctx, v);
  if (c === undefined) return;
  const pool = v === 5 ? [...INVALID_FILTERS, ...INVALID_SHARED] : INVALID_FILTERS;
  const bad = rng.bool(0.15) ? Buffer.alloc(rng.int(30_000, 65_535), 0x2b) /* an over-long run of '+' */ : rng.pick(pool);
  const entries = [{ filter: bad, options: rng.int(0, 2) }];
  if (rng.bool(0.5)) entries.unshift({ filter: `fuzz/${rng.word()}`, options: 1 });
  if (rng.bool(0.15)) entries.push({ filter: `fuzz/${'l'.repeat(rng.int(1000, 60_000))}`, options: 0 }); // long but valid
  const badAt = entries.findIndex((e) => e.filter === bad);
  c.write(raw.subscribe(v, 7, entries));
  const ack = await c.next((p) => p.type === 'suback', PROTOCOL_ERROR_CLOSE_MS);
  if (ack !== undefined && ack.reasonCodes[badAt] < 0x80) {
    const shown = Buffer.isBuffer(bad) ? `${bad.length} bytes ${bad.subarray(0, 8).toString('hex')}` : JSON.stringify(bad);
    ctx.anomaly(`v${v} SUBSCRIBE of the invalid filter ${shown} was granted QoS ${ack.reasonCodes[badAt]}`);
  } else if (ack === undefined && !c.isClosed && !ctx.stopping()) {
    ctx.anomaly(`v${v} SUBSCRIBE with an invalid filter: neither SUBACK nor close`);
  }
  c.destroy();
}

/**
 * SUBSCRIBE with invalid options: QoS 3, reserved bits, 5.0 option bits on 3.1/3.1.1, Retain
 * Handling 3, No Local on a shared subscription [MQTT-3.8.3-4], Subscription Identifier 0. A
 * malformed packet or protocol error: the broker must close (5.0 after a DISCONNECT).
 */
export async function badOptions(ctx) {
  const { rng } = ctx;
  const cases = [
    { v: rng.pick([3, 4, 5]), filter: 'fuzz/o', options: 0x03, what: 'QoS 3' },
    { v: 5, filter: 'fuzz/o', options: rng.pick([0x40, 0x80, 0xc1]), what: 'reserved option bits' },
    { v: rng.pick([3, 4]), filter: 'fuzz/o', options: rng.pick([0x04, 0x08, 0x10, 0x20, 0x40, 0x80]), what: '5.0 options on 3.1/3.1.1' },
    { v: 5, filter: 'fuzz/o', options: 0x30 | rng.int(0, 2), what: 'Retain Handling 3' },
    { v: 5, filter: '$share/g/fuzz/o', options: 0x04 | rng.int(0, 2), what: 'No Local on a shared subscription' },
    { v: 5, filter: 'fuzz/o', options: 1, properties: Buffer.from([0x0b, 0x00]), what: 'Subscription Identifier 0' },
  ];
  const t = rng.pick(cases);
  const c = await login(ctx, t.v);
  if (c === undefined) return;
  c.write(raw.subscribe(t.v, 9, [{ filter: t.filter, options: t.options }], t.properties));
  const closed = await c.closedWithin(PROTOCOL_ERROR_CLOSE_MS);
  const ack = c.inbox.find((p) => p.type === 'suback');
  if (!closed && !ctx.stopping()) {
    ctx.anomaly(`v${t.v} SUBSCRIBE with ${t.what} (options 0x${t.options.toString(16)}) not closed${ack ? `, SUBACK ${ack.reasonCodes}` : ''}`);
  }
  c.destroy();
}

/** 5,000 subscriptions in SUBSCRIBEs of 500, some routed to, half unsubscribed, then gone. */
export async function manySubscriptions(ctx) {
  const { rng } = ctx;
  const v = rng.pick([4, 5]);
  const c = await login(ctx, v);
  if (c === undefined) return;
  const base = `fuzz/many/${rng.word(4, 6)}`;
  const filters = [];
  for (let i = 0; i < 5000; i++) filters.push(i % 97 === 0 ? `${base}/+/${i}` : i % 499 === 0 ? `${base}/#` : `${base}/${i}`);
  for (let at = 0; at < filters.length && !c.isClosed; at += 500) {
    const packetId = at / 500 + 1;
    c.send({ type: 'subscribe', packetId, subscriptions: filters.slice(at, at + 500).map((f) => sub(f, rng.int(0, 2))) });
    const ack = await c.next((p) => p.type === 'suback' && p.packetId === packetId, 15_000);
    if (ack === undefined) {
      if (!ctx.stopping()) ctx.anomaly(`no SUBACK for 500 subscriptions (at ${at})${c.isClosed ? ', closed' : ''}`);
      c.destroy();
      return;
    }
    const refused = ack.reasonCodes.filter((r) => r >= 0x80).length;
    if (refused > 0) ctx.anomaly(`${refused} of 500 valid subscriptions refused`);
  }
  ctx.count('subscriptions made', filters.length);
  // A few messages fan out over the filters the client holds, read or not.
  for (let i = 0; i < 20; i++) c.send({ type: 'publish', topic: `${base}/${rng.int(0, 4999)}`, payload: rng.bytes(32), qos: 0, retain: false, dup: false });
  if (rng.bool(0.5)) {
    c.send({ type: 'unsubscribe', packetId: 100, topicFilters: filters.slice(0, 2500) });
    await c.next((p) => p.type === 'unsuback', 15_000);
  }
  await ctx.sleep(rng.int(100, 2000));
  if (rng.bool(0.5)) c.send({ type: 'disconnect' });
  c.destroy();
}
