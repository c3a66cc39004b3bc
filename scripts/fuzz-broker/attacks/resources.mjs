/**
 * Attacks on the broker's memory and time: remaining lengths up to 256 MB, CONNECTs that never
 * finish (byte by byte, or silent), PINGREQ floods from a client that never reads.
 */
import { encode } from '../../../dist/core/codec/index.js';
import { CONNECT_TIMEOUT_MS, DEADLINE_SLACK_MS, connectPacket, dial, login } from '../attack-kit.mjs';
import * as raw from '../wire-bytes.mjs';

/**
 * A fixed header declaring up to 268,435,455 bytes (the MQTT maximum, under the broker's
 * default maximum packet size), as CONNECT before login or as PUBLISH/SUBSCRIBE after; then a
 * trickle of the body, then abandoned or left hanging.
 */
export async function hugeLength(ctx) {
  const { rng } = ctx;
  const preConnect = rng.bool(0.3);
  const c = preConnect ? await dial(ctx, 4) : await login(ctx);
  if (c === undefined) return;
  const remaining = rng.bool(0.3) ? 268_435_455 : rng.int(1 << 20, 268_435_455);
  const first = preConnect ? 0x10 : rng.pick([0x30, 0x32, 0x34, 0x82]);
  c.write(raw.header(first, remaining));
  const total = rng.int(0, 512 * 1024);
  let sent = 0;
  const until = Date.now() + rng.int(200, 3000);
  while (sent < total && Date.now() < until && !c.isClosed) {
    const n = Math.min(total - sent, rng.int(1, 64 * 1024));
    c.write(rng.bytes(n));
    sent += n;
    if (!(await ctx.sleep(rng.int(20, 300)))) break;
  }
  ctx.count('huge-length bytes trickled', sent);
  if (rng.bool(0.5)) await ctx.sleep(rng.int(500, 3000)); // left hanging a while, then abandoned
  c.destroy();
}

/** Byte-by-byte CONNECTs, several at once: each must be closed at the CONNECT deadline. */
export async function slowloris(ctx) {
  const { rng } = ctx;
  const n = rng.int(2, 8);
  await Promise.all(
    Array.from({ length: n }, async () => {
      const v = rng.pick([3, 4, 5]);
      const c = await dial(ctx, v);
      if (c === undefined) return;
      const opened = Date.now();
      const bytes = encode(connectPacket(ctx, v), v);
      const gap = rng.int(300, 1500);
      // Unless the whole CONNECT would arrive in time, the deadline must cut it.
      const mustClose = bytes.length * gap > CONNECT_TIMEOUT_MS + DEADLINE_SLACK_MS;
      for (let i = 0; i < bytes.length && !c.isClosed; i++) {
        c.write(bytes.subarray(i, i + 1));
        if (!(await ctx.sleep(gap))) break;
        if (mustClose && Date.now() - opened > CONNECT_TIMEOUT_MS + DEADLINE_SLACK_MS && !c.isClosed) {
          ctx.anomaly(`a CONNECT trickled one byte every ${gap} ms still open ${Date.now() - opened} ms after it began`);
          break;
        }
      }
      c.destroy();
    }),
  );
}

/** TCP connections that never send a byte, several at once: each closed at the CONNECT deadline. */
export async function silent(ctx) {
  const { rng } = ctx;
  const n = rng.int(3, 20);
  await Promise.all(
    Array.from({ length: n }, async () => {
      const c = await dial(ctx, 4);
      if (c === undefined) return;
      const limit = CONNECT_TIMEOUT_MS + DEADLINE_SLACK_MS;
      const closed = await Promise.race([c.closedWithin(limit), ctx.sleep(limit + 100).then(() => false)]);
      if (!closed && !ctx.stopping()) ctx.anomaly(`a silent TCP connection still open after ${limit} ms`);
      c.destroy();
    }),
  );
}

/** A burst of PINGREQs (up to 16 MiB) from a client that never reads its PINGRESPs. */
export async function pingFlood(ctx) {
  const { rng } = ctx;
  const c = await login(ctx);
  if (c === undefined) return;
  c.socket.pause();
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0xc0;
  const target = rng.int(1, 256) * chunk.length;
  let offered = 0;
  const until = Date.now() + 3000;
  while (offered < target && Date.now() < until && !c.isClosed) {
    if (c.socket.writableLength < 1 << 20) {
      c.write(chunk);
      offered += chunk.length;
    } else if (!(await ctx.sleep(20))) break;
  }
  ctx.count('ping-flood bytes accepted', Math.max(0, offered - c.socket.writableLength));
  await ctx.sleep(rng.int(100, 1000));
  c.destroy();
}
