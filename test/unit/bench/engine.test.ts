/**
 * The bench engine end to end, with small counts: against our broker (TCP and WebSocket, every
 * scenario, QoS 0/1/2, 3.1.1 and 5.0, fixed rate, warm-up, worker threads), against mosquitto
 * (QoS 1), and against a deliberately lossy fake broker that must be reported as lossy.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { now } from '../../../src/core/bench/clock.js';
import { makePlan } from '../../../src/core/bench/scenarios.js';
import { WorkerShard } from '../../../src/core/bench/workers.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import { until } from '../../helpers/broker-client.js';
import { runBench, setWorkerScript, type BenchConfig, type BenchResult, type BenchTarget } from '../../../src/core/bench/index.js';
import type { ConnectionOptions } from '../../../src/core/client/types.js';
import { startBroker, type StartedBroker } from '../../helpers/start-broker.js';
import { startFakeBroker, type FakeBroker, type FakeClient } from '../../helpers/fake-broker.js';
import { freePort } from '../../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../../helpers/mosquitto.js';
import { needPeers } from '../../helpers/peers.js';

function connection(port: number, over: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    transport: 'mqtt',
    host: '127.0.0.1',
    port,
    wsPath: '/mqtt',
    clientId: 'mqtb-test',
    keepalive: 60,
    protocolVersion: 4,
    fallback: false,
    clean: true,
    reconnect: false,
    connectTimeoutMs: 5000,
    ...over,
  };
}

function target(port: number, over: Partial<ConnectionOptions> = {}, brokerPid?: number): BenchTarget {
  return { name: 'test', connection: connection(port, over), brokerPid };
}

function config(over: Partial<BenchConfig>): BenchConfig {
  return {
    scenario: 'pub',
    pubs: 1,
    subs: 1,
    topic: 'bench/%i',
    topicMode: 'same',
    qos: 0,
    size: 64,
    msgs: 2000,
    inflight: 100,
    retain: false,
    protocolVersion: 4,
    workers: 1,
    timeoutMs: 5000,
    conns: 1,
    concurrency: 1,
    ...over,
  };
}

/** What every clean run must show: all sent, acknowledged, delivered once, in order. */
function expectClean(r: BenchResult, published: number, deliveries: number): void {
  expect(r.published).toBe(published);
  expect(r.acknowledged).toBe(published);
  expect(r.expected).toBe(deliveries);
  expect(r.delivered).toBe(deliveries);
  expect({ lost: r.lost, duplicated: r.duplicated, outOfOrder: r.outOfOrder }).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(r.errors).toEqual([]);
  expect(r.socketErrors).toEqual([]);
  expect(r.reconnects).toBe(0);
  // Nothing was missing, so nothing was waited for; publishing is a part of the run.
  expect(r.waitedMs).toBe(0);
  expect(r.publishMs!).toBeLessThanOrEqual(r.durationMs);
  expect(r.deliveryLatency.count).toBe(deliveries);
  if (deliveries > 0) {
    expect(r.deliveryLatency.p50).toBeGreaterThan(0);
    expect(r.deliveryLatency.p50).toBeLessThanOrEqual(r.deliveryLatency.p99);
    expect(r.deliveryLatency.p99).toBeLessThanOrEqual(r.deliveryLatency.max);
    expect(r.deliveryRate).toBeGreaterThan(0);
  }
  if (r.config.qos > 0) expect(r.ackLatency?.count).toBe(published);
  else expect(r.ackLatency).toBeUndefined();
  expect(r.perSecond.reduce((s, row) => s + row.published, 0)).toBe(published);
  expect(r.perSecond.reduce((s, row) => s + row.delivered, 0)).toBe(deliveries);
  expect(r.publishRate).toBeGreaterThan(0);
  expect(r.durationMs).toBeGreaterThan(0);
  expect(r.cpu.engineSeconds).toBeGreaterThan(0);
  // The CPU was metered over the whole measured part (a share of a core is seconds / wallSeconds).
  expect(r.cpu.wallSeconds! * 1000).toBeGreaterThanOrEqual(r.durationMs);
  for (const s of r.subscribers) expect(s.lost + s.duplicated + s.outOfOrder).toBe(0);
}

describe('bench engine against our broker', () => {
  let broker: StartedBroker;
  beforeEach(async () => {
    broker = await startBroker({ maxInflight: 1000, maxQueued: 100_000 });
  });
  afterEach(async () => {
    await broker.stop();
  });

  for (const qos of [0, 1, 2] as const) {
    for (const protocolVersion of [4, 5] as const) {
      it(`pub: QoS ${qos}, MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}, 1 → 2, every message delivered once to each subscriber`, async () => {
        const r = await runBench(target(broker.port), config({ qos, protocolVersion, subs: 2, msgs: 3000 }));
        expectClean(r, 3000, 6000);
        expect(r.subscribers.map((s) => [s.index, s.expected, s.received])).toEqual([
          [0, 3000, 3000],
          [1, 3000, 3000],
        ]);
        expect(r.target).toBe('test');
        expect(Date.parse(r.startedAt)).not.toBeNaN();
      });
    }
  }

  it('pub: QoS 1 one at a time (inflight 1) still completes', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, inflight: 1, msgs: 300 }));
    expectClean(r, 300, 300);
  });

  it('pub: distinct topics, 3 publishers → 5 subscribers on topic j mod 3', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, pubs: 3, subs: 5, topicMode: 'distinct', msgs: 3000 }));
    // Publisher 0 feeds subscribers 0 and 3, 1 feeds 1 and 4, 2 feeds 2.
    expectClean(r, 3000, 5000);
    expect(r.subscribers.map((s) => s.expected)).toEqual([1000, 1000, 1000, 1000, 1000]);
  });

  it('fan-in: 10 publishers → 1 subscriber on a wildcard', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'fan-in', qos: 1, pubs: 10, subs: 1, msgs: 5000 }));
    expectClean(r, 5000, 5000);
  });

  it('fan-in at QoS 0 flat out stays bounded and loses nothing on loopback', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'fan-in', qos: 0, pubs: 10, subs: 1, msgs: 20_000 }));
    expectClean(r, 20_000, 20_000);
  });

  it('QoS 0 flat out with a small window (qos0Window) still delivers everything', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'fan-out', qos: 0, pubs: 1, subs: 3, msgs: 5000, qos0Window: 20 }));
    expectClean(r, 5000, 15_000);
  });

  it('fan-out: 1 publisher → 10 subscribers', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'fan-out', qos: 2, pubs: 1, subs: 10, msgs: 1000 }));
    expectClean(r, 1000, 10_000);
    expect(r.subscribers).toHaveLength(10);
  });

  it('publishers only (no subscriber): publish rate and ack latency', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, subs: 0, msgs: 2000 }));
    expectClean(r, 2000, 0);
    expect(r.subscribers).toEqual([]);
  });

  it('over WebSocket', async () => {
    const r = await runBench(target(broker.wsPort, { transport: 'ws', wsPath: '/mqtt' }), config({ qos: 1, subs: 2, msgs: 2000 }));
    expectClean(r, 2000, 4000);
  });

  it('QoS 0 over WebSocket, flat out', async () => {
    const r = await runBench(target(broker.wsPort, { transport: 'ws', wsPath: '/mqtt' }), config({ qos: 0, msgs: 5000 }));
    expectClean(r, 5000, 5000);
  });

  it('fixed rate: the schedule sets the pace, spread over the publishers', async () => {
    // 400 messages at 1000/s from 4 publishers: 0.4 s, whatever the machine could do flat out.
    const r = await runBench(target(broker.port), config({ qos: 1, pubs: 4, subs: 1, msgs: 400, rate: 1000 }));
    expectClean(r, 400, 400);
    expect(r.durationMs).toBeGreaterThan(350);
    expect(r.durationMs).toBeLessThan(1500);
    expect(r.publishRate).toBeGreaterThan(600);
    expect(r.publishRate).toBeLessThan(1200);
  });

  it('fixed rate for a duration: rate × duration messages', async () => {
    const r = await runBench(target(broker.port), config({ qos: 0, msgs: undefined, durationMs: 500, rate: 2000 }));
    expectClean(r, 1000, 1000);
  });

  it('duration, flat out: runs for about that long', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, msgs: undefined, durationMs: 400 }));
    expectClean(r, r.published, r.published);
    expect(r.published).toBeGreaterThan(100);
    expect(r.durationMs).toBeGreaterThan(350);
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('warm-up messages are sent but not counted', async () => {
    let published = 0;
    broker.broker.on('publish', (msg) => {
      if (msg.topic.startsWith('bench/')) published++;
    });
    const r = await runBench(target(broker.port), config({ qos: 1, msgs: 1000, warmupMsgs: 500 }));
    expectClean(r, 1000, 1000);
    expect(published).toBe(1500);
  });

  it('warm-up by time', async () => {
    const r = await runBench(target(broker.port), config({ qos: 0, msgs: 1000, warmupMs: 200 }));
    expectClean(r, 1000, 1000);
  });

  it('retain: publishes retained, and clears what it left behind', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, msgs: 500, retain: true, topic: 'bench/retained' }));
    expectClean(r, 500, 500);
    // A later subscriber gets nothing retained on the topic.
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    const got: string[] = [];
    client.on('message', (topic) => got.push(topic));
    await client.subscribeAsync('bench/#');
    await new Promise((r2) => setTimeout(r2, 200));
    await client.endAsync();
    expect(got).toEqual([]);
  });

  it.each([4, 5] as const)('persistent (MQTT %s): subscribers hold persistent sessions, so a store keeps what they are owed; the sessions end with the run', async (protocolVersion) => {
    const store = new MemoryStore();
    const durable = await startBroker({ store });
    try {
      const seen: number[] = [];
      durable.broker.on('client', (c) => {
        if (c.clientId.includes('s')) seen.push(durable.broker.inspect.session(c.clientId)?.expiryInterval ?? -1);
      });
      const r = await runBench(target(durable.port, { protocolVersion }), config({ qos: 1, subs: 2, msgs: 500, persistent: true, protocolVersion }));
      expectClean(r, 500, 1000);
      // The subscribers' sessions outlived their connections (3.1.1: never expire; 5.0: 300 s)...
      expect(seen.filter((e) => e > 0).length).toBeGreaterThanOrEqual(2);
      expect(store.writes).toBeGreaterThanOrEqual(2000);
      // ... and nothing is left behind once the run closed.
      await until(() => durable.broker.inspect.sessions().length === 0);
      expect(store.counts).toEqual({ messages: 0, deliveries: 0, incoming: 0, sessions: 0, retained: 0 });
    } finally {
      await durable.stop();
    }
  });

  it('a retained message of an earlier run is not counted', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    await client.publishAsync('bench/0', Buffer.alloc(64, 1), { qos: 1, retain: true });
    await client.endAsync();
    const r = await runBench(target(broker.port), config({ qos: 1, msgs: 500 }));
    expectClean(r, 500, 500);
  });

  it('progress is reported while it runs', async () => {
    const seen: number[] = [];
    const r = await runBench(target(broker.port), config({ qos: 1, msgs: 600, rate: 1000 }), (p) => {
      expect(p.published).toBeGreaterThanOrEqual(0);
      seen.push(p.elapsedMs);
    });
    expectClean(r, 600, 600);
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it('conn: opens N connections C at a time and reports rate, CONNACK latency and broker memory', async () => {
    const r = await runBench(target(broker.port, {}, process.pid), config({ scenario: 'conn', conns: 200, concurrency: 20 }));
    expect(r.conn).toMatchObject({ attempted: 200, connected: 200, failed: 0 });
    expect(r.conn!.rate).toBeGreaterThan(0);
    expect(r.conn!.connackLatency.count).toBe(200);
    expect(r.errors).toEqual([]);
    expect(r.brokerRssBytes).toBeGreaterThan(1_000_000);
    expect(r.cpu.brokerSeconds).toBeGreaterThanOrEqual(0);
    expect(r.cpu.wallSeconds).toBeGreaterThan(0);
    // Our broker accepts at once: its listen queue never fills (the count is the host's, hence no exact 0).
    if (existsSync('/proc/net/netstat')) expect(r.conn!.listenOverflows).toBeGreaterThanOrEqual(0);
    // All closed afterwards.
    await new Promise((r2) => setTimeout(r2, 100));
    expect(broker.broker.inspect.connectionCount()).toBe(0);
  });

  it.runIf(existsSync('/proc/net/netstat'))('conn: connections dropped on a full listen queue are counted (Linux)', async () => {
    // A listener with a backlog of 1 in a process whose event loop is blocked (Atomics.wait, no
    // CPU): nothing is ever accepted, so the kernel's queue is full after two handshakes and it
    // drops the rest.
    const script = [
      "const net = require('node:net');",
      "const s = net.createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {",
      '  process.stdout.write(`${s.address().port}\\n`, () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));',
      '});',
    ].join('\n');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', () => reject(new Error('listener exited')));
      });
      const r = await runBench(target(port, { connectTimeoutMs: 1500 }), config({ scenario: 'conn', conns: 8, concurrency: 8 }));
      expect(r.conn).toMatchObject({ attempted: 8, connected: 0, failed: 8 });
      expect(r.conn!.listenOverflows).toBeGreaterThanOrEqual(1);
      expect(r.conn!.kernel!.listenOverflows).toBe(r.conn!.listenOverflows);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('conn: refusals are counted by reason code', async () => {
    await broker.stop();
    broker = await startBroker({ hooks: { authenticate: (client) => (client.clientId.endsWith('1') ? 0x87 : true) } });
    const r = await runBench(target(broker.port), config({ scenario: 'conn', conns: 20, concurrency: 5, protocolVersion: 5 }));
    // c1 and c11 end in 1.
    expect(r.conn).toMatchObject({ attempted: 20, connected: 18, failed: 2 });
    expect(r.errors).toEqual([{ reasonCode: 0x87, count: 2, packet: 'CONNACK' }]);
  });

  it('a refused CONNECT stops the run before it starts, with the reason code', async () => {
    await broker.stop();
    broker = await startBroker({ hooks: { authenticate: () => false } });
    await expect(runBench(target(broker.port), config({ qos: 1 }))).rejects.toMatchObject({ name: 'MqttError', reasonCode: 4 });
  });

  it('no broker: rejects with the socket error', async () => {
    const port = broker.port;
    await broker.stop();
    await expect(runBench(target(port), config({}))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    broker = await startBroker();
  });

  it('5.0 PUBACK failure codes are counted, and refused messages are not expected', async () => {
    await broker.stop();
    broker = await startBroker({ hooks: { authorizePublish: (_c, topic) => topic !== 'bench/denied' } });
    const r = await runBench(target(broker.port), config({ qos: 1, protocolVersion: 5, msgs: 200, topic: 'bench/denied' }));
    expect(r.published).toBe(200);
    expect(r.acknowledged).toBe(0);
    expect(r.errors).toEqual([{ reasonCode: 0x87, count: 200, packet: 'PUBACK' }]);
    expect(r.expected).toBe(0);
    expect(r.lost).toBe(0);
  });

  it('a server DISCONNECT mid-run is counted by its reason, and what did not arrive is lost', async () => {
    const run = runBench(target(broker.port), config({ qos: 1, protocolVersion: 5, msgs: undefined, durationMs: 5000, rate: 2000, timeoutMs: 300 }));
    await new Promise((r) => setTimeout(r, 300));
    await broker.stop(); // DISCONNECT 0x8B (Server shutting down) to every client
    const r = await run;
    expect(r.errors).toContainEqual({ reasonCode: 0x8b, count: 2, packet: 'DISCONNECT' });
    // It waited its timeout for what never came, after the last thing that did.
    expect(r.waitedMs).toBeGreaterThan(0);
    expect(r.publishMs!).toBeLessThan(r.durationMs);
    expect(r.published).toBeGreaterThan(0);
    expect(r.published).toBeLessThan(10_000);
    broker = await startBroker();
  });

  it('an abort closes every connection and rejects with the reason', async () => {
    const controller = new AbortController();
    const run = runBench(target(broker.port), config({ qos: 1, subs: 2, msgs: undefined, durationMs: 20_000 }), undefined, controller.signal);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    controller.abort(new Error('stop it'));
    await expect(run).rejects.toThrow('stop it');
    expect(Date.now() - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(broker.broker.inspect.connectionCount()).toBe(0);
  });

  // [MQTT-3.1.2-23] a client with nothing else to send sends PINGREQ within the keep-alive: the
  // bench's idle subscribers outlive 1.5 × keep-alive on a broker that enforces it.
  it('keeps idle subscribers alive with PINGREQ at half the keep-alive', async () => {
    // QoS 0 subscribers send nothing of their own: without pings the broker would drop them after 1.5 s.
    const r = await runBench(target(broker.port, { keepalive: 1 }), config({ qos: 0, msgs: undefined, durationMs: 2200, rate: 50 }));
    expectClean(r, 110, 110);
  });

  it("honours the broker's 5.0 Receive Maximum over the configured inflight", async () => {
    await broker.stop();
    broker = await startBroker({ receiveMaximum: 5 });
    // [MQTT-3.3.4-7] at most Receive Maximum unacknowledged; past 5 QoS 2 publishes awaiting PUBREL our broker disconnects with 0x93.
    // [MQTT-4.9.0-1] [MQTT-4.9.0-2] so the bench's send quota starts at 5 (not the 100 asked for), not at 0 (the run
    // completes), and it sends no QoS 2 PUBLISH while the quota is 0.
    // [MQTT-2.2.1-3] 2000 QoS 2 publishes through 5 ids: an id 0 is a Protocol Error, and one still in use
    // would be taken by the broker for a re-sent duplicate and not delivered, so expectClean would fail.
    const r = await runBench(target(broker.port), config({ qos: 2, protocolVersion: 5, inflight: 100, msgs: 2000 }));
    expectClean(r, 2000, 2000);
  });

  // 5.0 [MQTT-3.2.2-15] the bench sends no packet above the broker's Maximum Packet Size: a PUBLISH
  // that would exceed it stops the run before anything is sent.
  it("refuses a payload above the broker's 5.0 Maximum Packet Size before sending", async () => {
    await broker.stop();
    broker = await startBroker({ maxPacketSize: 100 });
    await expect(runBench(target(broker.port), config({ qos: 1, protocolVersion: 5, size: 200 }))).rejects.toThrow(/Maximum Packet Size 100/);
  });

  it('rejects a config that cannot run', async () => {
    await expect(runBench(target(broker.port), config({ size: 8 }))).rejects.toThrow(RangeError);
    await expect(runBench(target(broker.port), config({ msgs: undefined }))).rejects.toThrow(/msgs or durationMs/);
    await expect(runBench(target(broker.port), config({ topic: 'a/+/b' }))).rejects.toThrow(RangeError);
  });
});

describe('bench engine on worker threads', () => {
  // The engine's worker runs compiled JavaScript; compile it from these sources first.
  const out = join(process.cwd(), 'node_modules', '.cache', `mqt-bench-worker-${process.pid}`);
  let broker: StartedBroker;
  beforeAll(() => {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const args = ['src/core/bench/worker.ts', '--ignoreConfig', '--outDir', out, '--rootDir', 'src', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node'];
    const r = spawnSync(join('node_modules', '.bin', 'tsc'), args, { encoding: 'utf8' });
    if (r.error !== undefined) throw r.error;
    const script = join(out, 'core', 'bench', 'worker.js');
    if (!existsSync(script)) throw new Error(`tsc did not compile the bench worker:\n${r.stdout}${r.stderr}`);
    setWorkerScript(pathToFileURL(script));
  });
  afterAll(() => {
    setWorkerScript(undefined);
    rmSync(out, { recursive: true, force: true });
  });
  beforeEach(async () => {
    broker = await startBroker({ maxInflight: 1000, maxQueued: 100_000 });
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('the clock agrees across threads: a worker reads it between two readings of ours', async () => {
    const init = { target: target(broker.port), config: config({ scenario: 'conn' }), plan: makePlan(config({ scenario: 'conn' }), 'x', 1), board: new SharedArrayBuffer(1024), shard: 0, shards: 2 };
    const shard = new WorkerShard(init);
    try {
      for (let i = 0; i < 20; i++) {
        const before = now();
        const there = await shard.clock();
        const after = now();
        expect(there).toBeGreaterThanOrEqual(before);
        expect(there).toBeLessThanOrEqual(after);
      }
    } finally {
      await shard.close();
    }
  });

  it('username and password cross to the workers', async () => {
    await broker.stop();
    const seen = new Set<string>();
    broker = await startBroker({
      hooks: {
        authenticate: (_c, username, password) => {
          seen.add(`${username}:${password?.toString()}`);
          return username === 'alice' && password?.toString() === 's3cret';
        },
      },
    });
    const r = await runBench(target(broker.port, { username: 'alice', password: Buffer.from('s3cret') }), config({ qos: 1, pubs: 2, subs: 2, msgs: 200, workers: 2 }));
    expectClean(r, 200, 400);
    expect([...seen]).toEqual(['alice:s3cret']);
  });

  it('pub: QoS 1, 2 publishers → 2 subscribers over 2 workers, results merged', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, pubs: 2, subs: 2, msgs: 4000, workers: 2 }));
    expectClean(r, 4000, 8000);
    expect(r.subscribers.map((s) => s.index)).toEqual([0, 1]);
  });

  it('fan-out at QoS 0 over 2 workers: the QoS 0 window spans threads', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'fan-out', qos: 0, pubs: 1, subs: 4, msgs: 10_000, workers: 2 }));
    expectClean(r, 10_000, 40_000);
  });

  it('fixed rate over 2 workers keeps one schedule', async () => {
    const r = await runBench(target(broker.port), config({ qos: 1, pubs: 2, subs: 2, msgs: 500, rate: 1000, workers: 2 }));
    expectClean(r, 500, 1000);
    expect(r.durationMs).toBeGreaterThan(450);
  });

  it('conn over 2 workers', async () => {
    const r = await runBench(target(broker.port), config({ scenario: 'conn', conns: 100, concurrency: 10, workers: 2 }));
    expect(r.conn).toMatchObject({ attempted: 100, connected: 100, failed: 0 });
    expect(r.conn!.connackLatency.count).toBe(100);
  });

  it('a setup failure in a worker rejects with its reason code', async () => {
    await broker.stop();
    broker = await startBroker({ hooks: { authenticate: () => 0x86 } });
    await expect(runBench(target(broker.port), config({ qos: 1, pubs: 2, subs: 2, workers: 2, protocolVersion: 5 }))).rejects.toMatchObject({ reasonCode: 0x86 });
  });
});

describe('bench engine against mosquitto', () => {
  const gate = needPeers('mosquitto');
  let mosquitto: RunningMosquitto | undefined;
  beforeEach(gate.check);
  afterEach(async () => {
    await mosquitto?.stop();
    mosquitto = undefined;
  });

  it.skipIf(gate.skip)('QoS 1, 2 → 2: nothing lost, nothing duplicated', async () => {
    mosquitto = await startMosquitto({ config: ['max_queued_messages 100000'] });
    const r = await runBench(target(mosquitto.port), config({ qos: 1, pubs: 2, subs: 2, msgs: 5000 }));
    expectClean(r, 5000, 10_000);
  });

  it.skipIf(gate.skip)('QoS 2 over MQTT 5.0', async () => {
    mosquitto = await startMosquitto({ config: ['max_queued_messages 100000'] });
    const r = await runBench(target(mosquitto.port), config({ qos: 2, protocolVersion: 5, msgs: 2000 }));
    expectClean(r, 2000, 2000);
  });
});

/** openssl, in `dir`: a CA, a server certificate for 127.0.0.1 and a client certificate; readable by mosquitto's user. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = (name: string): void => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  const sign = (name: string, subject: string, ext: string): void => {
    key(name);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  key('ca');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', '/CN=mqt bench test CA', '-out', 'ca.pem');
  sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  sign('client', '/CN=mqt bench client', 'basicConstraints=CA:FALSE');
  // mosquitto drops root for its own user: it must be able to read them.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
}

describe('bench engine over TLS and secure WebSocket (mosquitto, certificates made by openssl)', () => {
  const gate = needPeers('mosquitto');
  let mosquitto: RunningMosquitto | undefined;
  let dir = '';
  const port = { tls: 0, clientCert: 0, wss: 0 };
  beforeAll(async () => {
    if (gate.skip) return;
    gate.check();
    dir = mkdtempSync(join(tmpdir(), 'mqt-bench-tls-'));
    makeCertificates(dir);
    for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
    const listener = (p: number, extra: string[] = []): string[] => [
      `listener ${p} 127.0.0.1`,
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server.key')}`,
      ...extra,
    ];
    mosquitto = await startMosquitto({
      config: [...listener(port.tls), ...listener(port.clientCert, ['require_certificate true']), ...listener(port.wss, ['protocol websockets'])],
    });
  });
  afterAll(async () => {
    await mosquitto?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(gate.check);

  it.skipIf(gate.skip)('mqtts with the CA file', async () => {
    const r = await runBench(target(port.tls, { transport: 'mqtts', tls: { insecure: false, caFile: join(dir, 'ca.pem') } }), config({ qos: 1, msgs: 1000 }));
    expectClean(r, 1000, 1000);
  });

  it.skipIf(gate.skip)('wss with the CA file', async () => {
    const r = await runBench(target(port.wss, { transport: 'wss', wsPath: '/mqtt', tls: { insecure: false, caFile: join(dir, 'ca.pem') } }), config({ qos: 1, msgs: 1000 }));
    expectClean(r, 1000, 1000);
  });

  it.skipIf(gate.skip)('a client certificate, TLS 1.3 only', async () => {
    const tls = { insecure: false, caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key'), version: 'TLSv1.3' as const };
    const r = await runBench(target(port.clientCert, { transport: 'mqtts', tls }), config({ qos: 0, msgs: 1000 }));
    expectClean(r, 1000, 1000);
  });

  it.skipIf(gate.skip)('a server certificate from an unknown CA is refused, unless insecure', async () => {
    await expect(runBench(target(port.tls, { transport: 'mqtts', tls: { insecure: false } }), config({ qos: 1, msgs: 10 }))).rejects.toMatchObject({
      code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) as unknown as string,
    });
    const r = await runBench(target(port.tls, { transport: 'mqtts', tls: { insecure: true } }), config({ qos: 1, msgs: 10 }));
    expectClean(r, 10, 10);
  });
});

/**
 * A broker that speaks just enough MQTT (the fake broker's defaults), acks every PUBLISH it
 * receives, and forwards them to its subscribers, except every 10th.
 */
async function startLossyBroker(): Promise<FakeBroker> {
  const subscribers = new Set<FakeClient>();
  let received = 0;
  let nextId = 0;
  return startFakeBroker({
    onPacket(p, client) {
      if (p.type === 'subscribe') subscribers.add(client);
      if (p.type !== 'publish') return false;
      if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId! });
      if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId! });
      if (++received % 10 === 0) return true; // the loss
      for (const s of subscribers) {
        nextId = (nextId % 65_535) + 1;
        s.send({ ...p, dup: false, packetId: p.qos > 0 ? nextId : undefined });
      }
      return true;
    },
    onClose: (client) => subscribers.delete(client),
  });
}

describe('bench engine against a lossy broker', () => {
  for (const qos of [0, 1, 2] as const) {
    it(`reports QoS ${qos} loss: every 10th message missing`, async () => {
      const lossy = await startLossyBroker();
      try {
        const r = await runBench(target(lossy.port), config({ qos, msgs: 1000, timeoutMs: 500 }));
        expect(r.published).toBe(1000);
        expect(r.acknowledged).toBe(1000);
        expect(r.expected).toBe(1000);
        expect(r.delivered).toBe(900);
        expect(r.lost).toBe(100);
        expect(r.subscribers[0]).toMatchObject({ expected: 1000, received: 900, lost: 100, duplicated: 0, outOfOrder: 0 });
      } finally {
        await lossy.close();
      }
    });
  }
});
