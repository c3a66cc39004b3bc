/**
 * A broker with a store: what it owes persistent sessions, their subscriptions, incoming QoS 2
 * ids, pending wills and retained messages survive a restart (a new broker on the same store),
 * and nothing is acknowledged before the commit that holds it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { LmdbStore } from '../../src/core/store/lmdb-store.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { BrokerStore } from '../../src/core/store/types.js';
import { connect, until, type TestClient } from '../helpers/broker-client.js';

const brokers: Broker[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(store: BrokerStore): Promise<Broker> {
  const broker = createBroker({ store });
  brokers.push(broker);
  await broker.ready();
  return broker;
}

/** Closes `broker` (its store with it) as a restart would, and leaves the list. */
async function stop(broker: Broker): Promise<void> {
  brokers.splice(brokers.indexOf(broker), 1);
  await broker.close();
}

function lmdbDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-store-'));
  dirs.push(dir);
  return dir;
}

/** Two media: in memory (handed from broker to broker) and on disk (reopened from its directory). */
const media: [string, () => () => BrokerStore][] = [
  [
    'memory',
    () => {
      const store = new MemoryStore();
      return () => store;
    },
  ],
  [
    'lmdb',
    () => {
      const dir = lmdbDir();
      return () => LmdbStore.open(dir);
    },
  ],
];

const away311: Partial<ConnectPacket> = { clientId: 'away', clean: false };
const away5: Partial<ConnectPacket> = { clientId: 'away', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } };

async function publishQos1(pub: TestClient, topic: string, payload: string, retain = false): Promise<void> {
  pub.publish(topic, payload, { qos: 1, retain });
  await pub.expect('puback');
}

async function publishQos2(pub: TestClient, topic: string, payload: string): Promise<void> {
  const id = pub.publish(topic, payload, { qos: 2 });
  await pub.expect('pubrec');
  pub.send({ type: 'pubrel', packetId: id });
  await pub.expect('pubcomp');
}

/**
 * An offline persistent 'watcher' subscribed to 'status', and a 5.0 device `clientId` with a
 * session expiry and a will on 'status' (`delay` s), gone uncleanly: its will pending.
 */
async function watcherAndDevice(broker: Broker, clientId: string, expiry: number, delay: number): Promise<void> {
  const { client: watcher } = await connect(broker, { clientId: 'watcher', clean: false });
  await watcher.subscribe('status', 1);
  watcher.kill();
  const { client: dev } = await connect(broker, {
    clientId,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: expiry },
    will: { topic: 'status', payload: Buffer.from(`${clientId} is gone`), qos: 1, retain: false, properties: { willDelayInterval: delay } },
  });
  await dev.subscribe('anything', 1);
  dev.kill();
  await until(() => broker.inspect.session(clientId)?.connected === false && broker.inspect.session('watcher')?.connected === false);
}

describe.each(media)('a restart with the %s store', (_name, medium) => {
  it.each([
    ['3.1.1', away311],
    ['5.0', away5],
  ])('%s: an offline session gets its queued QoS 1 and 2 messages, in order, and its subscriptions still work', async (_v, options) => {
    const open = medium();
    let broker = await start(open());
    const { client: sub } = await connect(broker, options);
    await sub.subscribe(['a/#', 'b'], 2);
    await sub.disconnect(options.protocolVersion === 5 ? { reasonCode: 0 } : {});
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await publishQos1(pub, 'a/1', 'one');
    await publishQos2(pub, 'b', 'two');
    pub.publish('a/0', 'qos0 is not kept', { qos: 0 });
    await publishQos1(pub, 'a/3', 'three');
    await stop(broker);

    broker = await start(open());
    expect(broker.inspect.session('away')?.queued).toBe(3);
    const { client: back, connack } = await connect(broker, options);
    expect(connack.sessionPresent).toBe(true);
    const got = [await back.expect('publish'), await back.expect('publish'), await back.expect('publish')];
    for (const p of got) await back.ack(p);
    expect(got.map((p) => [p.topic, p.payload.toString(), p.qos])).toEqual([
      ['a/1', 'one', 1],
      ['b', 'two', 2],
      ['a/3', 'three', 1],
    ]);
    await back.expectNothing();
    const { client: pub2 } = await connect(broker, { clientId: 'pub2' });
    await publishQos1(pub2, 'a/live', 'after the restart');
    expect((await back.receive()).payload.toString()).toBe('after the restart');
  });

  it('re-sends what was in flight with DUP and the same packet id, and PUBREL where PUBREC had come', async () => {
    const open = medium();
    let broker = await start(open());
    const { client: sub } = await connect(broker, away311);
    await sub.subscribe('t', 2);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    await publishQos1(pub, 't', 'q1 not acked');
    await publishQos2(pub, 't', 'q2 half done');
    const p1 = await sub.expect('publish');
    const p2 = await sub.expect('publish');
    sub.send({ type: 'pubrec', packetId: p2.packetId! });
    await sub.expect('pubrel');
    sub.kill();
    await until(() => broker.inspect.session('away')?.connected === false);
    await stop(broker);

    broker = await start(open());
    const { client: back, connack } = await connect(broker, away311);
    expect(connack.sessionPresent).toBe(true);
    const again = await back.expect('publish');
    expect([again.packetId, again.dup, again.payload.toString()]).toEqual([p1.packetId, true, 'q1 not acked']);
    const rel = await back.expect('pubrel');
    expect(rel.packetId).toBe(p2.packetId);
    back.send({ type: 'puback', packetId: again.packetId! });
    back.send({ type: 'pubcomp', packetId: rel.packetId });
    await back.expectNothing();
    await until(() => broker.inspect.session('away')?.inflight === 0);
  });

  it('a message owed to two sessions: stored once, in the first one\'s record and on its own for the other; either may finish first', async () => {
    for (const first of ['a', 'b']) {
      const open = medium();
      let broker = await start(open());
      for (const id of ['a', 'b']) {
        const { client } = await connect(broker, { clientId: id, clean: false });
        await client.subscribe('two', 1);
        client.kill();
      }
      await until(() => broker.inspect.session('b')?.connected === false);
      const { client: pub } = await connect(broker, { clientId: 'pub' });
      await publishQos1(pub, 'two', 'shared');
      // One of them reads it and is done; the other is away over the restart.
      const { client: reader } = await connect(broker, { clientId: first, clean: false });
      expect((await reader.receive()).payload.toString()).toBe('shared');
      await until(() => broker.inspect.session(first)?.inflight === 0);
      reader.kill();
      await until(() => broker.inspect.session(first)?.connected === false);
      await stop(broker);

      broker = await start(open());
      const other = first === 'a' ? 'b' : 'a';
      expect(broker.inspect.session(first)?.queued).toBe(0);
      const { client: late } = await connect(broker, { clientId: other, clean: false });
      expect((await late.receive()).payload.toString()).toBe('shared');
      await until(() => broker.inspect.session(other)?.inflight === 0);
      const { client: again } = await connect(broker, { clientId: first, clean: false });
      await again.expectNothing();
      await stop(broker);
    }
  });

  it('keeps retained messages and their deletion', async () => {
    const open = medium();
    let broker = await start(open());
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('r/kept', 'v1', { qos: 1, retain: true, properties: { contentType: 'text/plain', userProperties: [['k', 'v']] } });
    await pub.expect('puback');
    await publishQos1(pub, 'r/gone', 'soon deleted', true);
    await publishQos1(pub, 'r/gone', '', true);
    await stop(broker);

    broker = await start(open());
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('r/#', 1);
    const p = await sub.receive();
    expect([p.topic, p.payload.toString(), p.retain, p.properties?.contentType, p.properties?.userProperties]).toEqual(['r/kept', 'v1', true, 'text/plain', [['k', 'v']]]);
    await sub.expectNothing();
  });

  it('keeps a subscription\'s options and identifier, and a retained message\'s expiry (a message that expired meanwhile is gone)', async () => {
    const open = medium();
    let broker = await start(open());
    const { client: sub } = await connect(broker, { ...away5, clientId: 'opts' });
    await sub.subscribe([{ topicFilter: 'o/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }], 1, { subscriptionIdentifiers: [42] });
    await sub.disconnect({ reasonCode: 0 });
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('e/long', 'lives', { qos: 1, retain: true, properties: { messageExpiryInterval: 3600 } });
    await pub.expect('puback');
    pub.publish('e/short', 'expires', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.expect('puback');
    await stop(broker);
    await new Promise((r) => setTimeout(r, 1100));

    broker = await start(open());
    expect(broker.inspect.session('opts')?.subscriptions).toEqual([{ topicFilter: 'o/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIds: [42] }]);
    const { client: back } = await connect(broker, { ...away5, clientId: 'opts' });
    // No Local still holds: its own publish does not come back; another's carries the identifier.
    back.publish('o/self', 'mine', { qos: 1 });
    await back.expect('puback');
    const { client: other } = await connect(broker, { clientId: 'other', protocolVersion: 5 });
    other.publish('o/x', 'theirs', { qos: 1, retain: true });
    await other.expect('puback');
    const p = await back.receive();
    expect([p.topic, p.properties?.subscriptionIdentifiers, p.retain]).toEqual(['o/x', [42], true]);
    const { client: reader } = await connect(broker, { clientId: 'reader', protocolVersion: 5 });
    await reader.subscribe('e/#', 1);
    const kept = await reader.receive();
    expect(kept.topic).toBe('e/long');
    expect(kept.properties?.messageExpiryInterval).toBeGreaterThan(3500);
    await reader.expectNothing();
  });

  it('remembers an incoming QoS 2 packet id across the restart: the re-sent PUBLISH is not delivered twice', async () => {
    const open = medium();
    let broker = await start(open());
    const { client: sub } = await connect(broker, { clientId: 'sub', clean: false });
    await sub.subscribe('x', 2);
    const { client: pub } = await connect(broker, { clientId: 'qos2pub', clean: false });
    const id = pub.publish('x', 'exactly once', { qos: 2 });
    await pub.expect('pubrec');
    expect((await sub.receive()).payload.toString()).toBe('exactly once');
    pub.kill();
    sub.kill();
    await until(() => broker.inspect.session('qos2pub')?.connected === false && broker.inspect.session('sub')?.connected === false);
    await stop(broker);

    broker = await start(open());
    const { client: sub2 } = await connect(broker, { clientId: 'sub', clean: false });
    const { client: pub2 } = await connect(broker, { clientId: 'qos2pub', clean: false });
    pub2.publish('x', 'exactly once', { qos: 2, packetId: id, dup: true });
    await pub2.expect('pubrec');
    pub2.send({ type: 'pubrel', packetId: id });
    const comp = await pub2.expect('pubcomp');
    expect(comp.packetId).toBe(id);
    await sub2.expectNothing(200);
  });

  it('a will delay runs on across the restart', async () => {
    const open = medium();
    let broker = await start(open());
    await watcherAndDevice(broker, 'dev', 3600, 1);
    await stop(broker);

    broker = await start(open());
    const started = Date.now();
    await until(() => (broker.inspect.session('watcher')?.queued ?? 0) === 1, 3000, 'the will, published after its delay');
    // Published at its deadline, set before the restart: about a second after the client went.
    expect(Date.now() - started).toBeLessThan(1500);
    const { client: back } = await connect(broker, { clientId: 'watcher', clean: false });
    expect((await back.receive()).payload.toString()).toBe('dev is gone');
  });

  it('a session that expired while the broker was down is removed at start, its will published', async () => {
    const open = medium();
    let broker = await start(open());
    await watcherAndDevice(broker, 'short', 1, 30);
    await stop(broker);
    await new Promise((r) => setTimeout(r, 1100));

    broker = await start(open());
    expect(broker.inspect.session('short')).toBeUndefined();
    expect(broker.inspect.session('watcher')?.queued).toBe(1);
  });

  it('a clean session is not stored', async () => {
    const open = medium();
    let broker = await start(open());
    const { client } = await connect(broker, { clientId: 'clean' });
    await client.subscribe('z', 1);
    await stop(broker);
    broker = await start(open());
    expect(broker.inspect.session('clean')).toBeUndefined();
  });
});

/** A MemoryStore whose commits, once `gated`, resolve when the test says. */
class GatedStore extends MemoryStore {
  gated = false;
  private gates: (() => void)[] = [];
  override commit(): Promise<void> {
    const done = super.commit();
    if (!this.gated) return done;
    return new Promise((resolve) => this.gates.push(resolve));
  }
  open(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

/** A MemoryStore whose commits fail while `failing` is set, as a full disk does. */
class FailingStore extends MemoryStore {
  failing = false;
  override commit(): Promise<void> {
    void super.commit();
    return this.failing ? Promise.reject(new Error('no space left on device')) : Promise.resolve();
  }
  override probe(): Promise<void> {
    return this.failing ? Promise.reject(new Error('no space left on device')) : Promise.resolve();
  }
}

describe('acknowledged only once stored', () => {
  it('PUBACK, the delivery to a persistent subscriber and SUBACK wait for their commit', async () => {
    const store = new GatedStore();
    const broker = await start(store);
    store.gated = true;
    const { client: sub } = await (async () => {
      const pending = connect(broker, away311);
      await until(() => store.waiting > 0, 2000, 'the session commit');
      store.open();
      return pending;
    })();
    sub.send({ type: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 't', qos: 1 }] });
    await until(() => store.waiting > 0, 2000, 'the subscription commit');
    await sub.expectNothing(50);
    store.open();
    expect((await sub.expect('suback')).packetId).toBe(7);

    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t', 'm', { qos: 1 });
    await until(() => store.waiting > 0, 2000, 'the message commit');
    await pub.expectNothing(50);
    await sub.expectNothing(0);
    store.open();
    await pub.expect('puback');
    expect((await sub.expect('publish')).payload.toString()).toBe('m');
    store.gated = false;
    store.open();
  });

  it('a burst of publishes is one commit, not one per message; the message is stored once for every session that owes it', async () => {
    const store = new MemoryStore();
    const broker = await start(store);
    for (const id of ['s1', 's2', 's3']) {
      const { client } = await connect(broker, { clientId: id, clean: false });
      await client.subscribe('burst', 1);
      client.kill();
    }
    await until(() => broker.inspect.session('s3')?.connected === false);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const before = store.commits;
    // In one read, as a burst over TCP arrives.
    pub.sendRaw(Buffer.concat(Array.from({ length: 100 }, (_, i) => encode({ type: 'publish', topic: 'burst', payload: Buffer.from(`m${i}`), qos: 1, retain: false, dup: false, packetId: i + 1 }, 4))));
    for (let i = 0; i < 100; i++) await pub.expect('puback');
    expect(store.commits - before).toBe(1);
    expect(store.counts.messages).toBe(100);
    expect(store.counts.deliveries).toBe(300);
  });

  it('a store that cannot write: the acknowledgements of the failed commit never go out, QoS 1/2 waits (3.1.1) or gets 0x97 (5.0), QoS 0 goes on; all resumes by itself', { timeout: 10_000 }, async () => {
    const store = new FailingStore();
    const logs: string[] = [];
    const broker = createBroker({ store, log: (_l, m) => logs.push(m) });
    brokers.push(broker);
    await broker.ready();
    const { client: sub } = await connect(broker, { clientId: 'sub', clean: false });
    await sub.subscribe('t', 1);
    const { client: first } = await connect(broker, { clientId: 'first' });
    store.failing = true;
    first.publish('t', 'not stored', { qos: 1 });
    // Its PUBACK waited for the commit that failed: it never comes; the client sends again after reconnecting.
    // [MQTT-4.8.0-2] (3.1.1): the transient error closes the connection whose packet it hit.
    await first.expectClosed();
    expect(logs.filter((l) => l.includes('the store cannot write (no space left on device)'))).toHaveLength(1);

    const { client: v5 } = await connect(broker, { clientId: 'v5', protocolVersion: 5 });
    v5.publish('t', 'refused', { qos: 1 });
    expect((await v5.expect('puback')).reasonCode).toBe(0x97);
    const { client: v3 } = await connect(broker, { clientId: 'v3' });
    const id = v3.publish('t', 'waits', { qos: 1 });
    await v3.expectNothing(300);
    // QoS 0 goes on meanwhile, and so does the subscriber's reading.
    v5.publish('t', 'qos 0 goes on', { qos: 0 });
    const got: string[] = [];
    for (;;) {
      const p = await sub.receive();
      got.push(p.payload.toString());
      if (p.payload.toString() === 'qos 0 goes on') break;
    }
    expect(got).not.toContain('refused');
    expect(got).not.toContain('waits');

    store.failing = false;
    expect((await v3.expect('puback', 3000)).packetId).toBe(id);
    expect((await sub.receive()).payload.toString()).toBe('waits');
    expect(logs.filter((l) => l.includes('the store can write again'))).toHaveLength(1);
    v5.publish('t', 'accepted again', { qos: 1 });
    expect((await v5.expect('puback')).reasonCode).toBe(0);
    // What the store holds is the broker's state again: the session, and nothing owed once read.
    expect((await sub.receive()).payload.toString()).toBe('accepted again');
    await until(() => broker.inspect.session('sub')?.inflight === 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts).toMatchObject({ sessions: 1, deliveries: 0, messages: 0 });
  });
});

describe('the store follows the session\'s life', () => {
  async function owedTo(broker: Broker, id: string, n: number): Promise<void> {
    const { client: pub } = await connect(broker, { clientId: `pub-${id}` });
    for (let i = 0; i < n; i++) await publishQos1(pub, `life/${id}`, `m${i}`);
    pub.kill();
  }

  async function away(broker: Broker, options: Partial<ConnectPacket>): Promise<void> {
    const { client } = await connect(broker, options);
    await client.subscribe(`life/${options.clientId}`, 1);
    client.kill();
    await until(() => broker.inspect.session(options.clientId!)?.connected === false);
  }

  it('delivered and acknowledged after a resume: nothing left stored but the session', async () => {
    const store = new MemoryStore();
    const broker = await start(store);
    await away(broker, { clientId: 'r', clean: false });
    await owedTo(broker, 'r', 5);
    expect(store.counts).toMatchObject({ sessions: 1, deliveries: 5, messages: 0 });
    const { client } = await connect(broker, { clientId: 'r', clean: false });
    for (let i = 0; i < 5; i++) await client.receive();
    await until(() => broker.inspect.session('r')?.inflight === 0);
    await client.expectNothing(20);
    expect(store.counts).toMatchObject({ sessions: 1, deliveries: 0, messages: 0 });
  });

  it('a clean start ends the stored session with all it owed; the new one is stored if it outlives its connection', async () => {
    const store = new MemoryStore();
    const broker = await start(store);
    await away(broker, { clientId: 'c', clean: false });
    await owedTo(broker, 'c', 3);
    await connect(broker, { clientId: 'c', clean: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts).toMatchObject({ sessions: 0, deliveries: 0, messages: 0 });
    await connect(broker, { clientId: 'c5', protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 60 } });
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts.sessions).toBe(1);
  });

  it('MQTT 5: expiry 0 at DISCONNECT, and an expiry that runs out, remove the session and what it owed', async () => {
    const store = new MemoryStore();
    const broker = await start(store);
    const { client } = await connect(broker, { ...away5, clientId: 'd' });
    await client.subscribe('life/d', 1);
    await client.disconnect({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts).toMatchObject({ sessions: 0, deliveries: 0 });

    await away(broker, { clientId: 'e', protocolVersion: 5, properties: { sessionExpiryInterval: 1 } });
    await owedTo(broker, 'e', 2);
    expect(store.counts).toMatchObject({ sessions: 1, deliveries: 2 });
    await until(() => broker.inspect.session('e') === undefined, 3000, 'the session to expire');
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts).toMatchObject({ sessions: 0, deliveries: 0, messages: 0 });
  });

  it('a session taken over keeps its stored state; the new connection resumes it', async () => {
    const store = new MemoryStore();
    const broker = await start(store);
    const { client: first } = await connect(broker, { clientId: 't', clean: false });
    await first.subscribe('life/t', 1);
    const { client: second, connack } = await connect(broker, { clientId: 't', clean: false });
    expect(connack.sessionPresent).toBe(true);
    await first.expectClosed();
    await owedTo(broker, 't', 1);
    expect((await second.receive()).payload.toString()).toBe('m0');
    await until(() => broker.inspect.session('t')?.inflight === 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.counts).toMatchObject({ sessions: 1, deliveries: 0 });
  });
});

describe('LmdbStore', () => {
  it('refuses a second broker on the same directory while the first lives, and takes over the lock of one that died', async () => {
    const dir = lmdbDir();
    // Another process that holds the lock: a live pid of someone else.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'mqt.lock'), `${holder.pid}\n`);
      expect(() => LmdbStore.open(dir)).toThrow(`the store directory ${dir} is in use by another broker (pid ${holder.pid}); stop it, or give this broker another directory`);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    const store = LmdbStore.open(dir);
    expect(readFileSync(join(dir, 'mqt.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await store.close();
    expect(existsSync(join(dir, 'mqt.lock'))).toBe(false);
  });

  it('refuses a store of a newer format, and a damaged one, with what to do', async () => {
    const { open } = await import('lmdb');
    const dir = lmdbDir();
    const db = open({ path: dir, encoding: 'binary', keyEncoding: 'binary' });
    await db.put(Buffer.from('V'), Buffer.from([0, 0, 0, 9]));
    await db.close();
    expect(() => LmdbStore.open(dir)).toThrow(/written by a newer mqt \(format 9, this one reads 1\); upgrade mqt, or move the directory away/);

    const dir2 = lmdbDir();
    const db2 = open({ path: dir2, encoding: 'binary', keyEncoding: 'binary' });
    await db2.put(Buffer.from('V'), Buffer.from([0, 0, 0, 1]));
    await db2.put(Buffer.from('m\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001'), Buffer.from('not a message'));
    await db2.close();
    const store = LmdbStore.open(dir2);
    const broker = createBroker({ store });
    await expect(broker.ready()).rejects.toThrow(/is damaged .*move it away to start with an empty store/);
    await broker.close();
  });
});
