/**
 * `mqt broker --persistence DIR` killed with SIGKILL at a random moment of a QoS 1 + QoS 2 +
 * retained stream: after the restart every acknowledged message owed to the persistent
 * subscriber arrives (QoS 2 exactly once), and every acknowledged retained value is there.
 * Several rounds, each killed at another point; bounded in count and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { Packet, QoS } from '../../src/core/codec/types.js';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, startMqt, type RunningBroker } from '../helpers/mqt-process.js';

const dirs: string[] = [];
afterEach(() => {
  cleanUpMqt();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A bare MQTT 3.1.1 client on our codec: what it was acknowledged is exactly what it counts. */
class Raw {
  private readonly parser = new Parser({ protocolVersion: 4 });
  private readonly waiting: ((p: Packet) => boolean)[] = [];
  /** Packets that came before a handler was set (queued messages right behind CONNACK). */
  private early: Packet[] = [];
  private handler: ((p: Packet) => void) | undefined = undefined;
  closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.parser.push(chunk)) {
        const i = this.waiting.findIndex((w) => w(p));
        if (i >= 0) this.waiting.splice(i, 1);
        else if (this.handler !== undefined) this.handler(p);
        else this.early.push(p);
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static async open(port: number, clientId: string, clean: boolean): Promise<Raw> {
    const socket = netConnect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Raw(socket);
    const connack = c.next('connack');
    c.send({ type: 'connect', protocolVersion: 4, clean, keepalive: 0, clientId });
    await connack;
    return c;
  }

  set onPacket(fn: (p: Packet) => void) {
    this.handler = fn;
    const early = this.early;
    this.early = [];
    for (const p of early) fn(p);
  }

  send(p: Packet): void {
    if (!this.socket.destroyed) this.socket.write(encode(p, 4));
  }

  next(type: Packet['type'], timeoutMs = 5000): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${type} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((p) => {
        if (p.type !== type) return false;
        clearTimeout(t);
        resolve(p);
        return true;
      });
    });
  }

  end(): void {
    this.socket.destroy();
  }
}

async function broker(dir: string, port: number): Promise<RunningBroker> {
  const b = startMqt(['broker', '-p', String(port), '--persistence', dir, '--max-queued', '1000000', '--max-inflight', '1000']);
  await b.waitForStdout(/listening on/, 15_000);
  return b;
}

interface Acked {
  qos1: Set<number>;
  qos2: Set<number>;
  /** Per retained topic, the highest value acknowledged. */
  retained: Map<string, number>;
}

/**
 * Streams QoS 1, QoS 2 and retained publishes with up to 200 unacknowledged, until the broker
 * dies; records what was acknowledged (PUBACK, or PUBREC: the broker owns a QoS 2 message once
 * it sent PUBREC).
 */
function stream(pub: Raw, killAfter: number, kill: () => void): Promise<Acked> {
  const acked: Acked = { qos1: new Set(), qos2: new Set(), retained: new Map() };
  const pending = new Map<number, { qos: QoS; seq: number; topic: string }>();
  let seq = 0;
  let nextId = 1;
  let total = 0;
  let killed = false;
  const fill = (): void => {
    while (pending.size < 200 && !pub.socket.destroyed) {
      seq++;
      const kind = seq % 10;
      const qos: QoS = kind < 6 ? 1 : 2;
      const retain = kind === 9;
      const topic = retain ? `crash/r/${seq % 7}` : `crash/q${qos}`;
      const id = nextId;
      nextId = nextId === 0xffff ? 1 : nextId + 1;
      pending.set(id, { qos, seq, topic });
      pub.send({ type: 'publish', topic, payload: Buffer.from(String(seq)), qos, retain, dup: false, packetId: id });
    }
  };
  pub.onPacket = (p) => {
    if (p.type !== 'puback' && p.type !== 'pubrec') return;
    const sent = pending.get(p.packetId);
    if (sent === undefined) return;
    pending.delete(p.packetId);
    if (p.type === 'pubrec') pub.send({ type: 'pubrel', packetId: p.packetId });
    (sent.qos === 1 ? acked.qos1 : acked.qos2).add(sent.seq);
    if (sent.topic.startsWith('crash/r/')) acked.retained.set(sent.topic, Math.max(acked.retained.get(sent.topic) ?? 0, sent.seq));
    total++;
    if (!killed && total >= killAfter) {
      killed = true;
      kill();
    }
    fill();
  };
  fill();
  return pub.closed.then(() => acked);
}

/** Everything the persistent subscriber gets until `quietMs` pass without a message. */
async function drain(sub: Raw, quietMs: number): Promise<{ qos1: number[]; qos2: number[]; retainedLive: Map<string, number> }> {
  const got = { qos1: [] as number[], qos2: [] as number[], retainedLive: new Map<string, number>() };
  let last = Date.now();
  sub.onPacket = (p) => {
    if (p.type === 'pubrel') {
      sub.send({ type: 'pubcomp', packetId: p.packetId });
      return;
    }
    if (p.type !== 'publish') return;
    last = Date.now();
    const n = Number(p.payload.toString());
    if (p.topic.startsWith('crash/r/')) got.retainedLive.set(p.topic, n);
    if (p.qos === 1) {
      got.qos1.push(n);
      sub.send({ type: 'puback', packetId: p.packetId! });
    } else if (p.qos === 2) {
      got.qos2.push(n);
      sub.send({ type: 'pubrec', packetId: p.packetId! });
    }
  };
  while (Date.now() - last < quietMs) await new Promise((r) => setTimeout(r, 50));
  return got;
}

/**
 * A subscriber that reads all along and completes QoS 2 as a receiver must (MQTT-4.3.3: a
 * packet id is delivered once until its PUBREL, whatever is re-sent): its state outlives its
 * connections, as a client library's does.
 */
class Reader {
  readonly qos1: number[] = [];
  readonly qos2: number[] = [];
  private readonly unreleased = new Set<number>();

  attach(c: Raw): void {
    c.onPacket = (p) => {
      if (p.type === 'pubrel') {
        this.unreleased.delete(p.packetId);
        c.send({ type: 'pubcomp', packetId: p.packetId });
        return;
      }
      if (p.type !== 'publish') return;
      const n = Number(p.payload.toString());
      if (p.qos === 1) {
        this.qos1.push(n);
        c.send({ type: 'puback', packetId: p.packetId! });
      } else if (p.qos === 2) {
        if (!this.unreleased.has(p.packetId!)) {
          this.unreleased.add(p.packetId!);
          this.qos2.push(n);
        }
        c.send({ type: 'pubrec', packetId: p.packetId! });
      }
    };
  }
}

describe('mqt broker --persistence survives kill -9', () => {
  it('with the subscriber reading all along (messages in flight when it dies): 3 rounds, nothing acknowledged missing, QoS 2 exactly once', { timeout: 120_000 }, async () => {
    const report: string[] = [];
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'mqt-crash-live-'));
      dirs.push(dir);
      const port = await freePort();
      let b = await broker(dir, port);
      const reader = new Reader();
      const sub = await Raw.open(port, 'reader', false);
      reader.attach(sub);
      const suback = sub.next('suback');
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'crash/q1', qos: 1 }, { topicFilter: 'crash/q2', qos: 2 }, { topicFilter: 'crash/r/#', qos: 2 }] });
      await suback;
      const pub = await Raw.open(port, `pub${round}`, true);
      const killAfter = 500 + Math.floor(Math.random() * 4000);
      const acked = await stream(pub, killAfter, () => b.child.kill('SIGKILL'));
      await b.exited;
      await sub.closed;
      const before = { qos1: reader.qos1.length, qos2: reader.qos2.length };

      b = await broker(dir, port);
      const back = await Raw.open(port, 'reader', false);
      reader.attach(back);
      let last = -1;
      while (reader.qos1.length + reader.qos2.length !== last) {
        last = reader.qos1.length + reader.qos2.length;
        await new Promise((r) => setTimeout(r, 500));
      }
      back.end();
      b.child.kill('SIGTERM');
      await b.exited;

      const got1 = new Set(reader.qos1);
      const got2 = new Set(reader.qos2);
      const missing = [...acked.qos1].filter((n) => !got1.has(n)).concat([...acked.qos2].filter((n) => !got2.has(n)));
      const twice2 = reader.qos2.length - got2.size;
      report.push(
        `live round ${round + 1}: killed after ${killAfter} acks; acknowledged QoS 1 ${acked.qos1.size}, QoS 2 ${acked.qos2.size}; read before the kill ${before.qos1} + ${before.qos2}, after the restart ${reader.qos1.length - before.qos1} + ${reader.qos2.length - before.qos2}; QoS 1 duplicates ${reader.qos1.length - got1.size}; missing ${missing.length}; QoS 2 twice ${twice2}`,
      );
      expect({ missing: missing.slice(0, 5), twice2 }).toEqual({ missing: [], twice2: 0 });
    }
    process.stdout.write(`${report.join('\n')}\n`);
  });


  it('3 rounds, killed at random points: every acknowledged message arrives after the restart, QoS 2 exactly once, retained values kept', { timeout: 120_000 }, async () => {
    const report: string[] = [];
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'mqt-crash-'));
      dirs.push(dir);
      const port = await freePort();
      let b = await broker(dir, port);
      // The persistent subscriber: subscribed, then away, so everything is owed to its stored session.
      const sub = await Raw.open(port, 'keeper', false);
      const suback = sub.next('suback');
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'crash/q1', qos: 1 }, { topicFilter: 'crash/q2', qos: 2 }, { topicFilter: 'crash/r/#', qos: 2 }] });
      await suback;
      sub.end();
      await sub.closed;

      const pub = await Raw.open(port, `pub${round}`, true);
      const killAfter = 500 + Math.floor(Math.random() * 4000);
      const acked = await stream(pub, killAfter, () => b.child.kill('SIGKILL'));
      const exit = await b.exited;
      expect(exit.signal).toBe('SIGKILL');

      b = await broker(dir, port);
      const back = await Raw.open(port, 'keeper', false);
      const got = await drain(back, 700);
      back.end();
      // A new subscriber sees every retained topic at its last acknowledged value or later.
      const fresh = await Raw.open(port, `fresh${round}`, true);
      const retained = new Map<string, number>();
      fresh.onPacket = (p) => {
        if (p.type === 'publish') retained.set(p.topic, Number(p.payload.toString()));
      };
      fresh.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'crash/r/#', qos: 0 }] });
      await new Promise((r) => setTimeout(r, 300));
      fresh.end();
      b.child.kill('SIGTERM');
      await b.exited;

      const got1 = new Set(got.qos1);
      const missing1 = [...acked.qos1].filter((n) => !got1.has(n));
      const got2 = new Set(got.qos2);
      const missing2 = [...acked.qos2].filter((n) => !got2.has(n));
      const twice2 = got.qos2.length - got2.size;
      const staleRetained = [...acked.retained].filter(([topic, n]) => !((retained.get(topic) ?? 0) >= n));
      report.push(
        `round ${round + 1}: killed after ${killAfter} acks; acknowledged QoS 1 ${acked.qos1.size}, QoS 2 ${acked.qos2.size}; delivered after restart QoS 1 ${got1.size} (${got.qos1.length - got1.size} duplicates), QoS 2 ${got2.size}; missing ${missing1.length + missing2.length}; retained topics ${acked.retained.size}, stale ${staleRetained.length}`,
      );
      expect({ missing1: missing1.slice(0, 5), missing2: missing2.slice(0, 5), twice2, staleRetained }).toEqual({ missing1: [], missing2: [], twice2: 0, staleRetained: [] });
      expect(acked.qos1.size + acked.qos2.size).toBeGreaterThanOrEqual(killAfter);
    }
    process.stdout.write(`${report.join('\n')}\n`);
  });
});
