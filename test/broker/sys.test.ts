/**
 * $SYS/broker/…: the tree mosquitto publishes, from the broker's counters, retained, every
 * sysInterval seconds (here 1, the shortest), read through the subscriber's ACL like any
 * topic, never written by a client, and never matched by a filter starting with a wildcard.
 * The tests run concurrently (each has a broker of its own): most of their time is waiting
 * for the next interval.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FileAuth } from '../../src/core/auth/file-auth.js';
import { hashPassword } from '../../src/core/auth/password-file.js';
import type { ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every topic mosquitto 2.0.11 publishes with sys_interval 1 (mosquitto_sub -v -t '$SYS/#'). */
const MOSQUITTO_SYS_TOPICS = [
  'version',
  'uptime',
  ...['total', 'maximum', 'inactive', 'disconnected', 'active', 'connected', 'expired'].map((t) => `clients/${t}`),
  ...['messages/received', 'messages/sent', 'publish/dropped', 'publish/received', 'publish/sent', 'bytes/received', 'bytes/sent', 'sockets', 'connections'].flatMap((t) =>
    ['1min', '5min', '15min'].map((p) => `load/${t}/${p}`),
  ),
  'messages/stored',
  'store/messages/count',
  'store/messages/bytes',
  'subscriptions/count',
  'shared_subscriptions/count',
  'retained messages/count',
  'heap/current',
  'heap/maximum',
  'messages/received',
  'messages/sent',
  'publish/messages/dropped',
  'publish/messages/received',
  'publish/messages/sent',
  'bytes/received',
  'bytes/sent',
  'publish/bytes/received',
  'publish/bytes/sent',
].map((t) => `$SYS/broker/${t}`);

/** What a subscriber has seen of $SYS: the latest payload per topic, and every publish in order. */
class SysWatch {
  readonly latest = new Map<string, string>();
  readonly seen: PublishPacket[] = [];
  constructor(readonly client: TestClient) {}

  /** Reads publishes until `done()` holds; throws naming `what` after `timeoutMs`. */
  async until(done: () => boolean, what: string, timeoutMs = 6000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!done()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${what}: not seen within ${timeoutMs} ms; latest ${JSON.stringify(Object.fromEntries(this.latest))}`);
      let p;
      try {
        p = await this.client.next(left);
      } catch {
        continue;
      }
      if (p.type !== 'publish') continue;
      this.seen.push(p);
      this.latest.set(p.topic, p.payload.toString());
    }
  }

  num(topic: string): number {
    return Number(this.latest.get(`$SYS/broker/${topic}`));
  }

  /** Waits for the next publish of `topic` (uptime goes out every interval). */
  async next(topic: string): Promise<string> {
    const full = `$SYS/broker/${topic}`;
    const from = this.seen.length;
    await this.until(() => this.seen.slice(from).some((p) => p.topic === full), `a new ${topic}`);
    return this.latest.get(full)!;
  }
}

async function watcher(broker: ReturnType<typeof brokerFor>, clientId: string, filter = '$SYS/#', protocolVersion: ProtocolVersion = 4): Promise<SysWatch> {
  const { client } = await connect(broker, { clientId, protocolVersion });
  await client.subscribe(filter);
  return new SysWatch(client);
}

describe.concurrent('$SYS', () => {
  it('publishes every topic mosquitto does, retained, in its formats, with our version', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1 });
    const w = await watcher(broker, 'w');
    await w.until(() => MOSQUITTO_SYS_TOPICS.every((t) => w.latest.has(t)), 'every mosquitto topic');
    expect(w.latest.get('$SYS/broker/version')).toBe(`mqt version ${VERSION}`);
    expect(w.latest.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    for (const [topic, payload] of w.latest) {
      if (topic.includes('/load/')) expect(payload, topic).toMatch(/^\d+\.\d\d$/);
      else if (topic !== '$SYS/broker/version' && topic !== '$SYS/broker/uptime') expect(payload, topic).toMatch(/^\d+$/);
    }
    // Retained: a subscriber arriving later gets the whole tree at once, flagged retained.
    const late = await watcher(broker, 'late');
    await late.until(() => MOSQUITTO_SYS_TOPICS.every((t) => late.latest.has(t)), 'the retained tree');
    const first = late.seen.slice(0, MOSQUITTO_SYS_TOPICS.length);
    expect(first.every((p) => p.retain)).toBe(true);
    expect(broker.inspect.retainedCount()).toBeGreaterThanOrEqual(MOSQUITTO_SYS_TOPICS.length);
  });

  it('is off by default for the library: nothing retained, nothing published', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, { clientId: 'w' });
    await client.subscribe('$SYS/#');
    await client.expectNothing(1500);
    expect(broker.inspect.retainedCount()).toBe(0);
    expect(() => brokerFor(ctx, { sysInterval: -1 })).toThrow(/sysInterval must be an integer from 0 \(off\) to 65535/);
  });

  it('counts move: publishes received grow by N, clients connected and disconnected, retained count', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1 });
    const w = await watcher(broker, 'w');
    await w.until(() => w.latest.has('$SYS/broker/publish/messages/received') && w.latest.has('$SYS/broker/clients/connected'), 'the first counts');
    expect([w.num('publish/messages/received'), w.num('clients/connected'), w.num('clients/total')]).toEqual([0, 1, 1]);

    // A persistent session that goes away, and a publisher of 7 messages (3 of them retained).
    const { client: away } = await connect(broker, { clientId: 'away', clean: false });
    await away.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const retainedBefore = broker.inspect.retainedCount();
    for (let i = 0; i < 7; i++) pub.publish(`t/${i}`, 'x', { retain: i < 3, qos: 1 });
    for (let i = 0; i < 7; i++) await pub.expect('puback');
    await w.until(() => w.num('publish/messages/received') === 7, 'publish/messages/received 7');
    await w.until(() => w.num('clients/connected') === 2 && w.num('clients/total') === 3 && w.num('clients/disconnected') === 1, 'clients 2 connected, 3 in all, 1 disconnected');
    expect([w.num('clients/active'), w.num('clients/inactive')]).toEqual([2, 1]);
    expect(w.num('clients/maximum')).toBeGreaterThanOrEqual(2);
    await w.until(() => w.num('retained messages/count') === broker.inspect.retainedCount() && broker.inspect.retainedCount() >= retainedBefore + 3, 'retained messages/count');
    await w.until(() => w.num('publish/bytes/received') === 7, 'publish/bytes/received 7');
    expect(w.num('subscriptions/count')).toBe(1);
    expect(w.num('publish/messages/sent')).toBeGreaterThan(0);
    expect(w.num('bytes/received')).toBeGreaterThan(0);
  });

  it('counts queued messages as stored, and shared subscriptions apart', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1 });
    const w = await watcher(broker, 'w');
    const { client: away } = await connect(broker, { clientId: 'away', clean: false });
    await away.subscribe(['q/#', '$share/g/s/#'], 1);
    await away.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 4; i++) pub.publish('q/x', 'abcd', { qos: 1 });
    for (let i = 0; i < 4; i++) await pub.expect('puback');
    await w.until(() => w.num('shared_subscriptions/count') === 1 && w.num('subscriptions/count') === 3, 'one shared of three subscriptions');
    await w.until(() => w.num('store/messages/count') === broker.inspect.retainedCount() + 4, 'store/messages/count: retained + 4 queued');
    expect(w.num('messages/stored')).toBe(w.num('store/messages/count'));
    expect(w.num('store/messages/bytes')).toBe(broker.inspect.queueBytes());
    expect(broker.inspect.queueBytes()).toBeGreaterThan(0);
  });

  it('load averages are numbers that move towards a steady rate, the 1 min one fastest', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1 });
    const w = await watcher(broker, 'w', '$SYS/broker/load/publish/received/+');
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    // About 50 a second (3,000 a minute) for a few intervals.
    const timer = setInterval(() => {
      for (let i = 0; i < 5; i++) pub.publish('load/x', 'x');
    }, 100);
    try {
      const load = (p: string): number => w.num(`load/publish/received/${p}`);
      await w.until(() => load('15min') > 0, 'a 15 min load above 0');
      const first = [load('1min'), load('5min'), load('15min')];
      await w.next('load/publish/received/1min');
      const second = [load('1min'), load('5min'), load('15min')];
      for (const v of [...first, ...second]) expect(Number.isFinite(v)).toBe(true);
      // Rising from 0 towards the rate, and the shorter the period the nearer it is.
      expect(second[0]).toBeGreaterThan(first[0]!);
      expect(second[0]).toBeGreaterThan(second[1]!);
      expect(second[1]).toBeGreaterThan(second[2]!);
      // Below what even the busiest interval could give (the average lags the rate).
      expect(second[0]).toBeLessThan(3000 * 3);
    } finally {
      clearInterval(timer);
    }
  });

  it('ACLs decide who reads it: a user granted `topic read $SYS/#` does, one without gets nothing', async (ctx) => {
    const { expect } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'mqt-sys-'));
    ctx.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'pw'), `ops:${hashPassword('o')}\napp:${hashPassword('a')}\n`);
    writeFileSync(join(dir, 'acl'), 'user ops\ntopic read $SYS/#\n\nuser app\ntopic a/#\n');
    const auth = FileAuth.load({ passwordFile: join(dir, 'pw'), aclFile: join(dir, 'acl') });
    const broker = brokerFor(ctx, { sysInterval: 1, hooks: auth.hooks() });
    for (const protocolVersion of [4, 5] as const) {
      const { client: ops } = await connect(broker, { clientId: `ops${protocolVersion}`, username: 'ops', password: Buffer.from('o'), protocolVersion });
      const { client: app } = await connect(broker, { clientId: `app${protocolVersion}`, username: 'app', password: Buffer.from('a'), protocolVersion });
      await ops.subscribe('$SYS/#');
      const suback = await app.trySubscribe(['$SYS/#', '$SYS/broker/uptime']);
      expect(suback.reasonCodes.every((g) => g >= 0x80), JSON.stringify(suback)).toBe(true);
      const w = new SysWatch(ops);
      await w.next('uptime');
      await app.expectNothing(1200);
    }
  });

  it('authorizeRead is asked for every $SYS delivery, as for any topic', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1, hooks: { authorizeRead: (c, topic) => c.username !== 'app' || !topic.startsWith('$SYS/') } });
    const { client: app } = await connect(broker, { clientId: 'app', username: 'app' });
    await app.subscribe('$SYS/broker/uptime');
    const w = await watcher(broker, 'ops', '$SYS/broker/uptime');
    await w.next('uptime');
    await w.next('uptime');
    await app.expectNothing(200);
    expect(broker.inspect.session('app')!.readDenied).toBeGreaterThanOrEqual(2);
  });

  it.for([
    ['3.1.1', 4],
    ['5.0', 5],
  ] as const)('no client can publish to $SYS (%s), with the default hooks or an ACL that grants it', async ([, protocolVersion], ctx) => {
    const { expect } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'mqt-sys-'));
    ctx.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // Even `topic readwrite $SYS/#` does not let a client write the broker's own tree.
    writeFileSync(join(dir, 'acl'), 'topic readwrite #\ntopic readwrite $SYS/#\n');
    for (const hooks of [undefined, FileAuth.load({ aclFile: join(dir, 'acl') }).hooks()]) {
      const broker = brokerFor(ctx, { sysInterval: 1, ...(hooks !== undefined ? { hooks } : {}) });
      const w = await watcher(broker, 'w', '$SYS/#', protocolVersion);
      await w.next('uptime');
      const { client: evil } = await connect(broker, { clientId: 'evil', protocolVersion });
      evil.publish('$SYS/broker/version', 'fake', { qos: 1, retain: true });
      const ack = await evil.expect('puback');
      if (protocolVersion === 5) expect(ack.reasonCode).toBe(0x87);
      evil.publish('$SYS/broker/clients/connected', '999', { qos: 0, retain: true });
      await w.next('uptime');
      expect(w.seen.some((p) => p.payload.toString() === 'fake' || p.payload.toString() === '999')).toBe(false);
      expect(broker.inspect.retained('$SYS/broker/version')?.payload.toString()).toBe(`mqt version ${VERSION}`);
      await broker.close();
    }
  });

  it('a filter starting with # or + never matches $SYS, retained or live [MQTT-4.7.2-1]', async (ctx) => {
    const { expect } = ctx;
    const broker = brokerFor(ctx, { sysInterval: 1 });
    const sys = await watcher(broker, 'sys');
    await sys.next('uptime');
    const { client: all } = await connect(broker, { clientId: 'all' });
    await all.subscribe(['#', '+/broker/#', '+/+/uptime']);
    await sys.next('uptime');
    await all.expectNothing(300);
    // '#' works for everything else.
    broker.publishMessage('plain/topic', 'p');
    expect((await all.receive()).topic).toBe('plain/topic');
    await all.expectNothing(1000);
  });

  it('with a store: starts once it is read back, keeps $SYS out of it (a restart publishes afresh), stops at close', async (ctx) => {
    const { expect } = ctx;
    const store = new MemoryStore();
    const broker = brokerFor(ctx, { sysInterval: 1, store });
    await broker.ready();
    const w = await watcher(broker, 'w', '$SYS/broker/uptime');
    await w.next('uptime');
    await w.next('uptime');
    broker.publishMessage('kept/r', 'r', { retain: true });
    expect(broker.inspect.retained('$SYS/broker/version')?.payload.toString()).toBe(`mqt version ${VERSION}`);
    await broker.close();
    expect(broker.scheduler.size).toBe(0);
    // Only the ordinary retained message was committed: no dead broker's counts come back.
    expect((await store.load()).retained.map((m) => m.topic)).toEqual(['kept/r']);
  });
});
