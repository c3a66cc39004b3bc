/**
 * The broker on a real TCP listener, driven by raw sockets: every malformed case of the codec's
 * tables (test/fixtures/malformed.ts) sent after a valid CONNECT (or as the CONNECT itself),
 * and the flow corners a well-behaved client never shows: takeover, a duplicate QoS 2 packet
 * id, keep-alive expiry, a client that stops reading. A bystander stays connected through the
 * malformed cases and must be served after each one: a bad client closes only itself.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { EVERY_MALFORMED_TABLE, FIXED_HEADER_FLAGS, withFlags, type MalformedCase } from '../fixtures/malformed.js';
import { until } from '../helpers/broker-client.js';

const WAIT_MS = 2000;
const SERVER_TO_CLIENT = new Set(['CONNACK', 'SUBACK', 'UNSUBACK', 'PINGRESP']);

/** A raw MQTT client on a TCP socket: bytes out as given, packets in through our Parser. */
class RawClient {
  private readonly parser: Parser;
  private readonly packets: Packet[] = [];
  private wake: (() => void) | undefined;
  /** Set when the broker sent bytes our parser rejects. */
  parseError: unknown;
  bytesReceived = 0;
  isClosed = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    this.parser = new Parser({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      try {
        for (const p of this.parser.push(chunk)) this.packets.push(p);
      } catch (err) {
        this.parseError ??= err;
      }
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  write(bytes: number[] | Buffer): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, this.version));
  }

  /** Packets received and not yet taken. */
  take(): Packet[] {
    return this.packets.splice(0);
  }

  /** The next packet that `match` accepts (others are skipped), within `timeoutMs`. */
  async next(match: (p: Packet) => boolean = () => true, timeoutMs = WAIT_MS): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.packets.length > 0) {
        const p = this.packets.shift()!;
        if (match(p)) return p;
      }
      if (this.parseError !== undefined) throw this.parseError;
      if (this.isClosed) throw new Error('connection closed while waiting for a packet');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async expect<T extends Packet['type']>(type: T, timeoutMs = WAIT_MS): Promise<Extract<Packet, { type: T }>> {
    const p = await this.next(undefined, timeoutMs);
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`);
    return p as Extract<Packet, { type: T }>;
  }

  /** Resolves when the broker has closed the connection; rejects after `timeoutMs`. */
  async closed(timeoutMs = WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closedPromise,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`broker left the connection open for ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function dial(port: number, version: ProtocolVersion): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new RawClient(socket, version));
    });
  });
}

/** Dials, sends CONNECT (3 → 'MQIsdp' level 3) and checks CONNACK 0. */
async function connectRaw(port: number, version: ProtocolVersion, clientId: string, extra: Partial<ConnectPacket> = {}): Promise<RawClient> {
  const client = await dial(port, version);
  client.send({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra });
  const connack = await client.expect('connack');
  if (connack.reasonCode !== 0) throw new Error(`CONNACK ${connack.reasonCode} for ${clientId}`);
  return client;
}

function publish(topic: string, payload: Buffer | string, qos: 0 | 1 | 2 = 0, packetId?: number, dup = false): PublishPacket {
  const p: PublishPacket = { type: 'publish', topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos, retain: false, dup };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

async function listening(options: CreateBrokerOptions = {}): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker(options);
  const [tcp] = await broker.listen({ port: 0, host: '127.0.0.1' });
  return { broker, port: tcp!.port };
}


const hex = (code: number): string => `0x${code.toString(16)}`;

/** The DISCONNECT code for `c` on a 5.0 connection: its own, but 0x84 exists only in CONNACK. */
function disconnectCode(c: MalformedCase): number {
  return c.code === ReasonCode.UnsupportedProtocolVersion ? ReasonCode.ProtocolError : c.code;
}

/**
 * What the broker answers before it closes.
 * - A malformed CONNECT: nothing, 3.1.1 [MQTT-3.1.4-1] and 5.0 [MQTT-3.1.4-1] (5.0 "MAY send a
 *   CONNACK" first; we do not) - except an unknown protocol name or level, answered with CONNACK
 *   return code 1 in the 3.1.1 form every client version can read [MQTT-3.1.2-2].
 * - After CONNECT, 5.0: DISCONNECT with the parser's reason code (section 4.13.1); 3.1 and 3.1.1
 *   have no server DISCONNECT: the connection is closed ([MQTT-4.8.0-1] in 3.1.1).
 */
function expectedAnswer(c: MalformedCase): string {
  if (c.v === undefined) return c.code === ReasonCode.UnsupportedProtocolVersion ? 'CONNACK return code 1, close' : 'close';
  return c.v === 5 ? `DISCONNECT ${hex(c.code)}, close` : 'close';
}

// [MQTT-4.8.0-1] (3.1.1) / 5.0 section 4.13: a malformed packet or protocol error closes the
// connection it came on; every other connection carries on.
describe('every malformed case of the codec, over TCP', () => {
  let broker: Broker;
  let port: number;
  let bystander: RawClient;
  let publisher: RawClient;
  let checks = 0;
  const errors: Error[] = [];

  beforeAll(async () => {
    ({ broker, port } = await listening());
    broker.on('clientError', (_client, err) => errors.push(err));
    bystander = await connectRaw(port, 5, 'bystander');
    bystander.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'bystander/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    expect((await bystander.expect('suback')).reasonCodes).toEqual([0]);
    publisher = await connectRaw(port, 4, 'bystander-pub');
  });

  afterAll(async () => {
    await broker.close();
  });

  /** The broker still routes: a QoS 1 publish is acknowledged and reaches the bystander. */
  async function bystanderServed(): Promise<void> {
    const n = ++checks;
    publisher.send(publish(`bystander/${n}`, String(n), 1, (n % 0xffff) + 1));
    expect(await publisher.expect('puback')).toEqual({ type: 'puback', packetId: (n % 0xffff) + 1 });
    const p = await bystander.expect('publish');
    expect([p.topic, p.payload.toString()]).toEqual([`bystander/${n}`, String(n)]);
  }

  let serial = 0;
  /** Sends `c` on a fresh connection, after a CONNECT of version `after` unless it is undefined. */
  async function run(c: MalformedCase, after: ProtocolVersion | undefined): Promise<void> {
    errors.length = 0;
    // A CONNECT case as the first packet: its answer, if any, is in the 3.1.1 form.
    const client = after === undefined ? await dial(port, 4) : await connectRaw(port, after, `bad-${++serial}`);
    client.write(c.bytes);
    await client.closed();

    const answer = client.take();
    expect(client.parseError, 'the broker sent bytes our parser rejects').toBeUndefined();
    if (after === undefined && c.code === ReasonCode.UnsupportedProtocolVersion) {
      expect(answer).toEqual([{ type: 'connack', sessionPresent: false, reasonCode: 1 }]);
      expect(client.bytesReceived).toBe(4);
    } else if (after === 5) {
      expect(answer).toHaveLength(1);
      expect(answer[0]).toMatchObject({ type: 'disconnect', reasonCode: disconnectCode(c) });
    } else {
      expect(answer).toEqual([]);
    }
    // The broker closed it for this case's reason, and nothing of the connection is left.
    expect(errors.map((e) => (e instanceof MqttError ? hex(e.reasonCode) : e.message))).toEqual([hex(c.code)]);
    expect(broker.inspect.connectionCount()).toBe(2);
    expect(broker.inspect.sessionCount()).toBe(2);
    await bystanderServed();
  }

  for (const { title, cases } of EVERY_MALFORMED_TABLE) {
    describe(title, () => {
      for (const c of cases) {
        // [MQTT-4.8.0-1] (3.1.1, the v4 cases): the connection that broke the protocol is closed.
        it(`${c.name} (${c.v === undefined ? 'as CONNECT' : `after a v${c.v} CONNECT`}) → ${expectedAnswer(c)}`, () => run(c, c.v));
        if (c.v !== undefined) continue;
        // [MQTT-3.1.0-2] the same bytes as a second CONNECT: a Protocol Error whatever is wrong inside.
        it(`${c.name} (as a second CONNECT, v5) → DISCONNECT ${hex(disconnectCode(c))}, close`, () => run(c, 5));
      }
    });
  }

  // Well-formed, but only a server sends them (5.0 section 2.1.2 table 2-1, direction of flow):
  // from a client each is a Protocol Error. The bodies are the fixture's valid ones.
  describe('well-formed packets only a server sends', () => {
    for (const version of [4, 5] as const) {
      for (const t of FIXED_HEADER_FLAGS) {
        if (!SERVER_TO_CLIENT.has(t.name)) continue;
        const c: MalformedCase = { name: t.name, v: version, bytes: withFlags(t, version, t.flags), code: ReasonCode.ProtocolError };
        it(`${t.name} (after a v${version} CONNECT) → ${expectedAnswer(c)}`, () => run(c, version));
      }
    }
  });
});

describe('flow corners over TCP', () => {
  let broker: Broker | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await broker?.close();
    broker = undefined;
  });

  async function start(options: CreateBrokerOptions = {}): Promise<number> {
    const started = await listening(options);
    broker = started.broker;
    return started.port;
  }

  async function client(port: number, version: ProtocolVersion, clientId: string, extra: Partial<ConnectPacket> = {}): Promise<RawClient> {
    const c = await connectRaw(port, version, clientId, extra);
    clients.push(c);
    return c;
  }

  // 3.1.1 [MQTT-3.1.4-2]: a second connection with the same client id closes the first.
  // 5.0 [MQTT-3.1.4-3]: with DISCONNECT 0x8E Session taken over first.
  it.each([4, 5] as const)('session takeover, v%i: the first socket is closed, the second served', async (v) => {
    const port = await start();
    const first = await client(port, v, 'twin');
    const second = await client(port, v, 'twin');
    await first.closed();
    const answer = first.take();
    if (v === 5) {
      expect(answer).toHaveLength(1);
      expect(answer[0]).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.SessionTakenOver });
    } else {
      expect(answer).toEqual([]);
    }
    expect(first.parseError).toBeUndefined();
    second.send({ type: 'pingreq' });
    await second.expect('pingresp');
    // The session is the second connection's: connected, and the only connection left.
    expect(broker!.inspect.session('twin')?.connected).toBe(true);
    expect(broker!.inspect.connectionCount()).toBe(1);
    expect(broker!.inspect.client('twin')?.connected).toBe(true);
  });

  // 3.1.1 [MQTT-4.3.3-2] / 5.0 [MQTT-4.3.3-10]: until PUBREL, a PUBLISH with the same packet id is
  // acknowledged with PUBREC again and not delivered again. [MQTT-4.3.3-12] after PUBCOMP the id
  // starts a new message.
  it.each([4, 5] as const)('QoS 2 duplicate packet id before PUBREL, v%i: two PUBRECs, one delivery', async (v) => {
    const port = await start();
    const sub = await client(port, v, 'q2-sub');
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [v === 5 ? { topicFilter: 'q2/t', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 } : { topicFilter: 'q2/t', qos: 2 }] });
    expect((await sub.expect('suback')).reasonCodes).toEqual([2]);
    const pub = await client(port, v, 'q2-pub');
    const ack = v === 5 ? { reasonCode: 0 } : {};

    pub.send(publish('q2/t', 'once', 2, 7));
    pub.send(publish('q2/t', 'once', 2, 7, true));
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 7, ...ack });
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 7, ...ack });
    pub.send({ type: 'pubrel', packetId: 7, ...ack });
    expect(await pub.expect('pubcomp')).toEqual({ type: 'pubcomp', packetId: 7, ...ack });

    const first = await sub.expect('publish');
    expect([first.qos, first.payload.toString()]).toEqual([2, 'once']);
    sub.send({ type: 'pubrec', packetId: first.packetId!, ...ack });
    expect(await sub.expect('pubrel')).toMatchObject({ packetId: first.packetId });
    sub.send({ type: 'pubcomp', packetId: first.packetId!, ...ack });

    // The same id after PUBCOMP is a new message; it is the next thing the subscriber sees.
    pub.send(publish('q2/t', 'again', 2, 7));
    expect(await pub.expect('pubrec')).toEqual({ type: 'pubrec', packetId: 7, ...ack });
    const second = await sub.expect('publish');
    expect(second.payload.toString()).toBe('again');
    expect(sub.take()).toEqual([]);
  });

  // 3.1.1 [MQTT-3.1.2-24] / 5.0 [MQTT-3.1.2-22]: nothing from the client for 1.5 x Keep Alive →
  // closed as if the network failed; 5.0 says DISCONNECT 0x8D Keep Alive timeout first.
  it('keep-alive 1 s: silent sockets closed after ~1.5 s (v5 with DISCONNECT 0x8D), a pinging one stays', async () => {
    const port = await start();
    const started = Date.now();
    const [silent4, silent5, pinging] = await Promise.all([
      client(port, 4, 'ka-4', { keepalive: 1 }),
      client(port, 5, 'ka-5', { keepalive: 1 }),
      client(port, 4, 'ka-ping', { keepalive: 1 }),
    ]);
    const pinger = setInterval(() => pinging.send({ type: 'pingreq' }), 400);
    try {
      await Promise.all([silent4.closed(3000), silent5.closed(3000)]);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      expect(elapsed).toBeLessThan(2600);
      expect(silent4.take()).toEqual([]);
      const answer = silent5.take();
      expect(answer).toHaveLength(1);
      expect(answer[0]).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.KeepAliveTimeout });
      // Past 1.5 x Keep Alive since its CONNECT, the client that kept talking is still served.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pinging.isClosed).toBe(false);
      expect(pinging.take().every((p) => p.type === 'pingresp')).toBe(true);
      pinging.send({ type: 'pingreq' });
      await pinging.expect('pingresp');
    } finally {
      clearInterval(pinger);
    }
  });

  // Design: a slow reader costs bounded memory - past maxClientBuffer its QoS 0 messages wait in
  // the session queue (at most maxQueued), beyond that they are dropped and counted; it stops
  // holding its publishers back after stallTimeoutMs; everyone else is served meanwhile.
  it('a subscriber that never reads: memory stays bounded, drops are counted, others are served', async () => {
    const maxClientBuffer = 16 * 1024;
    const maxQueued = 100;
    const port = await start({ maxClientBuffer, maxQueued, stallTimeoutMs: 200 });
    const b = broker!;
    const bystander = await client(port, 4, 'nr-bystander');
    bystander.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'nr/ok', qos: 0 }] });
    await bystander.expect('suback');
    const slow = await client(port, 4, 'nr-slow');
    slow.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'flood/#', qos: 0 }] });
    await slow.expect('suback');
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the broker's
    const flooder = await client(port, 4, 'nr-flooder');
    const other = await client(port, 4, 'nr-other');

    const slowQueued = (): number => b.inspect.session('nr-slow')!.queued;
    const slowBuffered = (): number => b.inspect.client('nr-slow')!.buffered;
    // 256 QoS 0 PUBLISHes of 1 KiB each, written as one buffer.
    const one = encode(publish('flood/x', Buffer.alloc(1024, 0x61)), 4);
    const batch = Buffer.concat(Array.from({ length: 256 }, () => one));
    let maxBuffered = 0;
    let maxQueue = 0;
    let sent = 0;
    let servedDuringFlood = 0;
    const deadline = Date.now() + 10_000;
    // Flood until drops began and another 16 MiB went by: far more than the bounds below.
    let target = Infinity;
    while (sent < target) {
      if (Date.now() > deadline) throw new Error(`flood unfinished after ${sent >> 20} MiB in 10 s (queued ${slowQueued()}, buffered ${slowBuffered()})`);
      if (!flooder.socket.write(batch)) await new Promise((resolve) => flooder.socket.once('drain', resolve));
      sent += batch.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
      maxBuffered = Math.max(maxBuffered, slowBuffered());
      maxQueue = Math.max(maxQueue, slowQueued());
      if (b.inspect.droppedCount() > 0 && target === Infinity) target = sent + (16 << 20);
      if (sent % (2 << 20) < batch.length) {
        // Someone else is still served while the flood goes on.
        other.send(publish('nr/ok', `during ${sent}`));
        const p = await bystander.expect('publish', 3000);
        expect(p.payload.toString()).toBe(`during ${sent}`);
        servedDuringFlood++;
      }
    }
    expect(b.inspect.droppedCount()).toBeGreaterThan(0);
    expect(b.inspect.session('nr-slow')!.dropped).toBe(b.inspect.droppedCount());
    expect(maxQueue).toBeLessThanOrEqual(maxQueued);
    // The limit is checked once per tick's write, so one tick's output may land past it: at most
    // what one turn of the event loop reads from the flooder (libuv reads up to 32 x 64 KiB).
    expect(maxBuffered).toBeLessThan(maxClientBuffer + (2 << 20));
    expect(servedDuringFlood).toBeGreaterThan(0);

    // The flooder is read again (not held back for good), and the others are served.
    flooder.send({ type: 'pingreq' });
    await flooder.expect('pingresp', 3000);
    other.send(publish('nr/ok', 'after'));
    expect((await bystander.expect('publish')).payload.toString()).toBe('after');

    // The slow reader comes back: what is buffered and queued drains, and it is served again.
    slow.socket.resume();
    await until(() => slowQueued() === 0 && b.inspect.client('nr-slow')?.congested === false, 5000, 'the slow session drained');
    other.send(publish('flood/end', 'end'));
    const end = await slow.next((p) => p.type === 'publish' && p.topic === 'flood/end', 5000);
    expect((end as PublishPacket).payload.toString()).toBe('end');
  });

  // Found by the broker fuzzer (scripts/fuzz-broker.mjs): a client that sends and never reads
  // made the broker buffer every answer (200 MB of PINGRESP in 8 s). Past maxClientBuffer the
  // broker stops reading that client until its output drains, so the flood waits in TCP.
  it('a client that floods PINGREQ and never reads: the broker stops reading it, its output stays bounded', async () => {
    const maxClientBuffer = 64 * 1024;
    const port = await start({ maxClientBuffer });
    const b = broker!;
    const flooder = await client(port, 4, 'pf-flooder');
    const bystander = await client(port, 4, 'pf-bystander');
    flooder.socket.pause();
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0xc0; // PINGREQ, remaining length 0
    let offered = 0;
    let maxBuffered = 0;
    const deadline = Date.now() + 3000;
    // Offer 256 MiB, as fast as the socket takes it, for at most 3 s.
    while (offered < 256 << 20 && Date.now() < deadline) {
      if (flooder.socket.writableLength < 4 << 20) {
        flooder.socket.write(chunk);
        offered += chunk.length;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
      maxBuffered = Math.max(maxBuffered, b.inspect.client('pf-flooder')?.buffered ?? 0);
    }
    const taken = offered - flooder.socket.writableLength;
    // Before the fix the broker read it all (hundreds of MiB); now the kernel's buffers and
    // one read past the limit are all that moves.
    expect(taken).toBeLessThan(32 << 20);
    expect(maxBuffered).toBeLessThan(maxClientBuffer + (4 << 20));
    expect(b.inspect.client('pf-flooder')?.connected).toBe(true);
    // Everyone else is served meanwhile.
    bystander.send({ type: 'pingreq' });
    await bystander.expect('pingresp');
    // The flooder reads again: every PINGREQ it sent is answered, and it is served.
    flooder.socket.write(chunk.subarray(0, 2));
    const pings = offered / 2 + 1;
    let answered = 0;
    flooder.socket.on('data', () => {
      answered += flooder.take().filter((p) => p.type === 'pingresp').length;
    });
    flooder.socket.resume();
    await until(() => answered >= pings || flooder.isClosed, 15_000, 'every PINGREQ answered');
    expect(flooder.isClosed).toBe(false);
    expect(answered).toBe(pings);
  }, 30_000);

  // 5.0 [MQTT-3.2.2-15] (CONNACK Maximum Packet Size): a larger packet gets DISCONNECT 0x95,
  // decided from its fixed header, before the body is sent.
  it('a packet over the broker maximum packet size: DISCONNECT 0x95 from the fixed header alone', async () => {
    const port = await start({ maxPacketSize: 100 });
    const bystander = await client(port, 4, 'mps-bystander');
    bystander.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mps', qos: 0 }] });
    await bystander.expect('suback');
    const big = await client(port, 5, 'mps-big');
    big.write([0x30, 0xc8, 0x01]); // PUBLISH, remaining length 200: 203 bytes, no body sent
    await big.closed();
    const answer = big.take();
    expect(answer).toHaveLength(1);
    expect(answer[0]).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.PacketTooLarge });
    const pub = await client(port, 4, 'mps-pub');
    pub.send(publish('mps', 'fine'));
    expect((await bystander.expect('publish')).payload.toString()).toBe('fine');
  });
});
