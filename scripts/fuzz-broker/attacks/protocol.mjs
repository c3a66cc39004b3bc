/**
 * Protocol abuse from a client that logged in (or not yet): garbage and mutated bytes,
 * acknowledgements for unknown ids, QoS 2 out of order, packets before CONNECT, a second
 * CONNECT, topics at the length limit.
 */
import { encode } from '../../../dist/core/codec/index.js';
import { PROTOCOL_ERROR_CLOSE_MS, connectPacket, dial, expectClose, login, sub } from '../attack-kit.mjs';
import * as raw from '../wire-bytes.mjs';

/** Valid CONNECT (3.1, 3.1.1 or 5.0), then random bytes. */
export async function garbage(ctx) {
  const c = await login(ctx);
  if (c === undefined) return;
  c.write(ctx.rng.bytes(ctx.rng.int(1, 4096)));
  await ctx.sleep(ctx.rng.int(100, 1000));
  c.destroy();
}

/** A few valid packets of a session, concatenated, then bytes flipped, cut, doubled or inserted. */
export async function mutated(ctx) {
  const { rng } = ctx;
  const v = rng.pick([3, 4, 5]);
  const c = await login(ctx, v);
  if (c === undefined) return;
  const packets = [];
  for (let n = rng.int(1, 12); n > 0; n--) {
    const qos = rng.int(0, 2);
    packets.push(
      rng.pick([
        () => ({ type: 'publish', topic: `fuzz/${rng.word()}`, payload: rng.bytes(rng.int(0, 300)), qos, retain: rng.bool(0.1), dup: false, ...(qos > 0 ? { packetId: rng.int(1, 65535) } : {}) }),
        () => ({ type: 'subscribe', packetId: rng.int(1, 65535), subscriptions: [sub(`fuzz/${rng.word()}/#`, qos)] }),
        () => ({ type: 'unsubscribe', packetId: rng.int(1, 65535), topicFilters: [`fuzz/${rng.word()}`] }),
        () => ({ type: rng.pick(['puback', 'pubrec', 'pubrel', 'pubcomp']), packetId: rng.int(1, 65535) }),
        () => ({ type: 'pingreq' }),
      ])(),
    );
  }
  const bytes = Buffer.concat(packets.map((p) => encode(p, v)));
  let out = Buffer.from(bytes);
  for (let m = rng.int(1, 4); m > 0; m--) {
    const at = rng.int(0, Math.max(0, out.length - 1));
    switch (rng.int(0, 3)) {
      case 0: // flip bits of one byte
        out[at] ^= 1 << rng.int(0, 7);
        break;
      case 1: // cut the tail
        out = out.subarray(0, at);
        break;
      case 2: // a random byte in between
        out = Buffer.concat([out.subarray(0, at), rng.bytes(rng.int(1, 4)), out.subarray(at)]);
        break;
      default: // a slice twice
        out = Buffer.concat([out.subarray(0, at), out.subarray(rng.int(0, at)), out.subarray(at)]);
    }
  }
  c.write(out);
  await ctx.sleep(rng.int(100, 800));
  c.destroy();
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP for packet ids the broker never used; then it must still answer PINGREQ. */
export async function unknownAcks(ctx) {
  const { rng } = ctx;
  const c = await login(ctx);
  if (c === undefined) return;
  const acks = [];
  for (let n = rng.int(20, 500); n > 0; n--) acks.push(encode({ type: rng.pick(['puback', 'pubrec', 'pubrel', 'pubcomp']), packetId: rng.int(1, 65535) }, c.version));
  c.write(Buffer.concat(acks));
  c.send({ type: 'pingreq' });
  const pong = await c.next((p) => p.type === 'pingresp', 10_000);
  if (pong === undefined && !ctx.stopping()) ctx.anomaly(`no PINGRESP after ${acks.length} acknowledgements for unknown ids${c.isClosed ? ' (closed)' : ''}`);
  c.destroy();
}

/** QoS 2 out of order: PUBREL before any PUBLISH, PUBREL before PUBREC, PUBREL twice, the PUBLISH again, a client PUBCOMP. */
export async function pubrelFirst(ctx) {
  const { rng } = ctx;
  const c = await login(ctx);
  if (c === undefined) return;
  const id = rng.int(1, 65535);
  const steps = [
    { type: 'pubrel', packetId: id },
    { type: 'publish', topic: `fuzz/q2/${rng.word()}`, payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: id },
    { type: 'pubrel', packetId: id },
    { type: 'pubrel', packetId: id },
    { type: 'publish', topic: 'fuzz/q2/again', payload: Buffer.from('y'), qos: 2, retain: false, dup: true, packetId: id },
    { type: 'pubcomp', packetId: id },
    { type: 'pubrec', packetId: id },
  ];
  // Shuffled a little: each run another order of the same steps.
  for (let i = steps.length - 1; i > 0; i--) {
    if (rng.bool(0.3)) {
      const j = rng.int(0, i);
      [steps[i], steps[j]] = [steps[j], steps[i]];
    }
  }
  for (const s of steps) {
    c.send(s);
    if (rng.bool(0.5)) await ctx.sleep(rng.int(1, 50));
  }
  c.send({ type: 'pingreq' });
  const pong = await c.next((p) => p.type === 'pingresp', 10_000);
  if (pong === undefined && !ctx.stopping()) ctx.anomaly(`no PINGRESP after an out-of-order QoS 2 flow${c.isClosed ? ' (closed)' : ''}`);
  c.destroy();
}

/** Anything but CONNECT as the first packet: closed, answered with nothing but a refusal. */
export async function beforeConnect(ctx) {
  const { rng } = ctx;
  const c = await dial(ctx, 4);
  if (c === undefined) return;
  const first = rng.pick([
    { type: 'publish', topic: 'fuzz/early', payload: Buffer.from('early'), qos: rng.int(0, 2), retain: false, dup: false, packetId: 1 },
    { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 1 }] },
    { type: 'pingreq' },
    { type: 'puback', packetId: 1 },
    { type: 'pubrel', packetId: 1 },
    { type: 'unsubscribe', packetId: 1, topicFilters: ['#'] },
    { type: 'disconnect' },
  ]);
  if (first.qos === 0) delete first.packetId;
  c.send(first);
  await expectClose(ctx, c, PROTOCOL_ERROR_CLOSE_MS, `${first.type.toUpperCase()} before CONNECT`);
  const answered = c.inbox.filter((p) => p.type !== 'connack');
  if (answered.length > 0) ctx.anomaly(`${first.type.toUpperCase()} before CONNECT was answered with ${answered.map((p) => p.type).join(', ')}`);
  c.destroy();
}

/** A second CONNECT on a connection: a protocol error, closed [MQTT-3.1.0-2]. */
export async function secondConnect(ctx) {
  const c = await login(ctx);
  if (c === undefined) return;
  c.send(connectPacket(ctx, c.version, ctx.rng.bool(0.5) ? { clientId: c.clientId } : {}));
  await expectClose(ctx, c, PROTOCOL_ERROR_CLOSE_MS, 'second CONNECT');
  if (c.inbox.some((p) => p.type === 'connack')) ctx.anomaly('a second CONNECT was answered with CONNACK');
  c.destroy();
}

/** Topics at the limit: 65,535 bytes (valid), a length running past the packet, a wildcard in a PUBLISH topic. */
export async function longTopic(ctx) {
  const { rng } = ctx;
  const c = await login(ctx);
  if (c === undefined) return;
  const v = c.version;
  const kind = rng.int(0, 2);
  if (kind === 0) {
    const topic = `fuzz/${'t'.repeat(65_535 - 5)}`;
    c.write(raw.publish(v, { topic, qos: 1, packetId: 3, payload: rng.bytes(16) }));
    const ack = await c.next((p) => p.type === 'puback', 10_000);
    if (ack === undefined && !c.isClosed && !ctx.stopping()) ctx.anomaly('no PUBACK for a QoS 1 PUBLISH with a 65,535-byte topic');
  } else if (kind === 1) {
    c.write(raw.publish(v, { topic: 'fuzz/short', topicLength: rng.int(100, 65_535), qos: 0, payload: rng.bytes(20) }));
    await expectClose(ctx, c, PROTOCOL_ERROR_CLOSE_MS, 'PUBLISH whose topic length runs past the packet');
  } else {
    c.write(raw.publish(v, { topic: rng.pick(['fuzz/+/x', 'fuzz/#', '+', '#', 'fuzz/a\u0000b']), qos: rng.int(0, 1), packetId: 4, payload: rng.bytes(4) }));
    await expectClose(ctx, c, PROTOCOL_ERROR_CLOSE_MS, 'PUBLISH to a topic with a wildcard or U+0000');
  }
  c.destroy();
}
