/**
 * What the broker keeps must cost what it holds, not the socket reads it came in. A PUBLISH
 * decoded in place is a view of its read chunk: a 10-byte payload kept as such a view (queued,
 * in flight, retained) pins the whole chunk, up to 64 KiB on a TCP socket. And an encoded copy
 * made for a delivery must not stay with a retained message for ever.
 *
 * Observed only through process.memoryUsage().arrayBuffers after a full garbage collection. The
 * collector is reached in-process (V8's --expose-gc set at run time, `gc` taken from a new
 * context), so the test runs on the sources without a build or a child process; with vitest's
 * default pool each test file has a process of its own, so nothing else allocates meanwhile.
 * The bounds are far from both sides: 64 MB pinned against under 8 MB, 10 MB kept against under 3 MB.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { connect as connectClient, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
const clients: TestClient[] = [];

/** connect(), remembering the client: its stream (and what the broker's end holds) goes when the test ends. */
async function connect(b: Broker, options: Partial<ConnectPacket>) {
  const c = await connectClient(b, options);
  clients.push(c.client);
  return c;
}

// A closed connection's stream lingers until its peer closes too (or a second passes): destroy
// every client so nothing of this test is alive when the next one takes its baseline.
afterEach(async () => {
  await broker?.close();
  for (const c of clients.splice(0)) c.kill();
  await new Promise((resolve) => setTimeout(resolve, 20));
});

let gc: () => void;
beforeAll(() => {
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc') as () => void;
});

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
const COUNT = 1000;

/** ArrayBuffer bytes alive after the streams have settled and a full collection. */
async function arrayBuffers(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  return process.memoryUsage().arrayBuffers;
}

/**
 * One 64 KiB socket read: a large QoS 0 PUBLISH to a topic nobody subscribes to, then `small`.
 * Its own ArrayBuffer, as a socket's read buffer is.
 */
function chunkWith(small: Buffer, version: ProtocolVersion): Buffer {
  const topic = 'nobody';
  // Fixed header (1 + 3 bytes of remaining length) + topic (2 + 6) + property length in 5.0 (1).
  const overhead = 1 + 3 + 2 + topic.length + (version === 5 ? 1 : 0);
  const large = encode({ type: 'publish', topic, payload: Buffer.alloc(CHUNK - small.length - overhead, 0x2a), qos: 0, retain: false, dup: false }, version);
  const chunk = Buffer.alloc(CHUNK);
  large.copy(chunk, 0);
  small.copy(chunk, large.length);
  expect(large.length + small.length).toBe(CHUNK);
  return chunk;
}

/** A 10-byte payload that says which message it is. */
function tenBytes(i: number): Buffer {
  return Buffer.from(String(i).padStart(10, '0'));
}

/**
 * Sends COUNT chunks, each ending in the QoS 1 PUBLISH `small(i)`, in batches; waits for every
 * PUBACK, so the broker has handled them all.
 */
async function sendChunks(pub: TestClient, small: (i: number) => PublishPacket): Promise<void> {
  const batch = 50;
  for (let start = 0; start < COUNT; start += batch) {
    for (let i = start; i < start + batch; i++) pub.sendRaw(chunkWith(encode(small(i), pub.version), pub.version));
    for (let i = start; i < start + batch; i++) await pub.expect('puback', 5000);
  }
}

function smallPublish(topic: string, i: number, extra: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic, payload: tenBytes(i), qos: 1, packetId: (i % 0xffff) + 1, retain: false, dup: false, ...extra };
}

describe('payloads kept by the broker do not pin the socket reads they came in', () => {
  it('queued for an offline session: 1,000 messages of 10 bytes do not hold 1,000 reads of 64 KiB', async () => {
    broker = createBroker({ maxQueued: 2 * COUNT });
    const away = { clientId: 'away', clean: false };
    const { client: sub } = await connect(broker, away);
    await sub.subscribe('q', 1);
    await sub.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const before = await arrayBuffers();
    await sendChunks(pub, (i) => smallPublish('q', i));
    const grown = (await arrayBuffers()) - before;
    expect(grown).toBeLessThan(8 * MB);
    // They were kept, not dropped: all come on return, in order [MQTT-4.6.0-6].
    const { client: back, connack } = await connect(broker, away);
    expect(connack.sessionPresent).toBe(true);
    for (let i = 0; i < COUNT; i++) expect((await back.receive()).payload).toEqual(tenBytes(i));
  });

  it('in flight to an online subscriber that does not acknowledge: 1,000 messages of 10 bytes do not hold 64 MB', async () => {
    broker = createBroker({ maxInflight: COUNT });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('q', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const before = await arrayBuffers();
    await sendChunks(pub, (i) => smallPublish('q', i));
    // The window holds all of them: each was sent, none acknowledged, so the broker keeps each one.
    for (let i = 0; i < COUNT; i++) expect((await sub.expect('publish')).payload).toEqual(tenBytes(i));
    const grown = (await arrayBuffers()) - before;
    expect(grown).toBeLessThan(8 * MB);
  });

  it('retained: 1,000 retained messages of 10 bytes do not hold 64 MB', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const before = await arrayBuffers();
    await sendChunks(pub, (i) => smallPublish(`r/${i}`, i, { retain: true }));
    const grown = (await arrayBuffers()) - before;
    expect(grown).toBeLessThan(8 * MB);
    // [MQTT-3.3.1-5] all stored: a new subscriber gets each one.
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('r/#', 0);
    const got = new Set<string>();
    for (let i = 0; i < COUNT; i++) got.add((await sub.expect('publish')).payload.toString());
    expect(got.size).toBe(COUNT);
  });

  // 5.0 properties are kept with the message too: binary ones (Correlation Data) are views as well.
  it('5.0 retained with Correlation Data: 1,000 retained messages do not hold 64 MB', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    const before = await arrayBuffers();
    await sendChunks(pub, (i) => smallPublish(`r/${i}`, i, { retain: true, properties: { correlationData: tenBytes(i) } }));
    const grown = (await arrayBuffers()) - before;
    expect(grown).toBeLessThan(8 * MB);
    // [MQTT-3.3.2-16] the Correlation Data goes to subscribers unaltered.
    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('r/#', 0);
    for (let i = 0; i < COUNT; i++) {
      const m = await sub.expect('publish');
      expect(m.properties?.correlationData).toEqual(m.payload);
    }
  });

  // A pooled copy shares an 8 KiB slab with whatever was allocated around it, and keeps the whole
  // slab while it lives: fine for a queue that empties in order, not for a value kept for days.
  it('a retained value and its Correlation Data are kept in buffers of their own size, not in a share of a pool slab', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub', protocolVersion: 5 });
    await sendChunks(pub, (i) => smallPublish(`r/${i}`, i, { retain: true, properties: { correlationData: tenBytes(i) } }));
    for (const i of [0, 500, COUNT - 1]) {
      const kept = broker.inspect.retained(`r/${i}`)!;
      expect(kept.payload).toEqual(tenBytes(i));
      expect(kept.payload.buffer.byteLength).toBe(10);
      expect(kept.properties?.correlationData?.buffer.byteLength).toBe(10);
    }
  });
});

/**
 * A subscriber to `r/#` that takes every retained message and leaves. Not kept in `clients`: a
 * test client's parser holds on to the last chunk it read (here 10 MB of deliveries), so it
 * must be gone before the measurement.
 */
async function subscribeOnce(payloadLength: number): Promise<void> {
  const { client: sub } = await connectClient(broker, { clientId: 'sub' });
  await sub.subscribe('r/#', 0);
  // [MQTT-3.3.1-9] each retained message is sent on subscribe, once.
  for (let i = 0; i < COUNT; i++) expect((await sub.expect('publish', 5000)).payload.length).toBe(payloadLength);
  await sub.disconnect();
  sub.kill();
}

describe('encoded copies', () => {
  it('a retained message delivered once does not keep its encoded copy for ever', async () => {
    broker = createBroker();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    const payload = Buffer.alloc(10 * 1024, 0x2a);
    for (let i = 0; i < COUNT; i++) {
      pub.publish(`r/${i}`, payload, { qos: 1, retain: true });
      if (i % 50 === 49) for (let k = 0; k < 50; k++) await pub.expect('puback');
    }
    // 10 MB of retained payloads: what the broker is asked to keep.
    const stored = await arrayBuffers();
    await subscribeOnce(payload.length);
    const grown = (await arrayBuffers()) - stored;
    // Not another 10 MB of encoded PUBLISH packets, kept after the delivery is over.
    expect(grown).toBeLessThan(3 * MB);
  });
});
