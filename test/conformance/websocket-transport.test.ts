/**
 * MQTT over WebSocket (section 6 of MQTT 3.1.1 and of 5.0; the ids are the same in both) on the
 * broker's real WebSocket listener, driven with the ws package frame by frame: what frames the
 * broker sends, what it does with a text frame, packets split over frames and frames holding
 * several packets, and the subprotocol it selects; and the conformance targets' transport rules
 * of 3.1.1 (section 7.1), over TCP and WebSocket with our own raw dialer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnectPacket, Packet, ProtocolVersion, Subscription } from '../../src/core/codec/types.js';
import { createDialer, type Link } from '../../src/core/net/dial.js';
import { until } from '../helpers/broker-client.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

let server: StartedBroker;
beforeAll(async () => {
  server = await startBroker();
});
afterAll(() => server.stop());

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const;

/** One WebSocket client: every frame it receives (binary or not), and the packets in the binary ones. */
class WsPeer {
  readonly frames: { data: Buffer; binary: boolean }[] = [];
  readonly packets: Packet[] = [];
  readonly closed: Promise<number>;
  private readonly parser: Parser;
  private wake: (() => void) | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly version: ProtocolVersion,
  ) {
    this.parser = new Parser({ protocolVersion: version });
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.frames.push({ data, binary });
      if (binary) this.packets.push(...this.parser.push(data));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code: number) => resolve(code)));
    ws.on('error', () => undefined);
  }

  /** The close code, once the connection closed; rejects if it is still open after `timeoutMs`. */
  closeCode(timeoutMs = 2000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the connection is still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, late]).finally(() => clearTimeout(timer));
  }

  /** Waits until `n` packets have arrived in all; returns them. */
  async packetsAfter(n: number, timeoutMs = 2000): Promise<Packet[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.packets.length} packets within ${timeoutMs} ms, expected ${n}: ${JSON.stringify(this.packets.map((p) => p.type))}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
    return this.packets.slice(0, n);
  }

  /** Sends `bytes` as one binary frame. */
  frame(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }
}

/** Opens a WebSocket to the broker offering `protocols`; resolves once open. */
function open(version: ProtocolVersion, protocols: string[] = ['mqtt']): Promise<WsPeer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, protocols, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(new WsPeer(ws, version)));
    ws.once('error', reject);
  });
}

function connectBytes(version: ProtocolVersion, clientId: string): Buffer {
  return encode({ type: 'connect', protocolVersion: version, clean: true, keepalive: 0, clientId } as ConnectPacket, version);
}

function sub(version: ProtocolVersion, topicFilter: string, qos: 0 | 1 | 2): Subscription {
  return version === 5 ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } : { topicFilter, qos };
}

/** CONNECT, SUBSCRIBE to ws/<id> at QoS 1 and PUBLISH there at QoS 1: what comes back is CONNACK, SUBACK, PUBACK and the PUBLISH. */
function session(version: ProtocolVersion, id: string): Buffer[] {
  return [
    connectBytes(version, id),
    encode({ type: 'subscribe', packetId: 1, subscriptions: [sub(version, `ws/${id}`, 1)] }, version),
    encode({ type: 'publish', topic: `ws/${id}`, payload: Buffer.from('over websocket'), qos: 1, packetId: 2, retain: false, dup: false }, version),
  ];
}

/** The four packets session() gets back, checked. */
function expectSessionAnswered(packets: Packet[], id: string): void {
  expect(packets.map((p) => p.type).sort()).toEqual(['connack', 'puback', 'publish', 'suback']);
  expect(packets[0]).toMatchObject({ type: 'connack', reasonCode: 0 });
  const publish = packets.find((p) => p.type === 'publish');
  expect(publish).toMatchObject({ topic: `ws/${id}`, qos: 1 });
  expect((publish as { payload: Buffer }).payload.toString()).toBe('over websocket');
}

describe.each(VERSIONS)('MQTT %s over WebSocket', (name, v) => {
  // [MQTT-6.0.0-1]: the broker sends its MQTT Control Packets in binary data frames, every one.
  it(`${name}: every frame the broker sends is a binary data frame`, async () => {
    const peer = await open(v);
    for (const bytes of session(v, `bin-${v}`)) peer.frame(bytes);
    expectSessionAnswered(await peer.packetsAfter(4), `bin-${v}`);
    peer.frame(Buffer.from([0xc0, 0x00])); // PINGREQ
    expect((await peer.packetsAfter(5))[4]!.type).toBe('pingresp');
    expect(peer.frames.length).toBeGreaterThan(0);
    expect(peer.frames.filter((f) => !f.binary)).toEqual([]);
    peer.ws.close();
    await peer.closeCode();
  });

  // [MQTT-6.0.0-1]: a text data frame closes the connection, and what it carried is not read:
  // here bytes that would be a valid CONNECT, or a valid PUBLISH, were they in a binary frame
  // (every byte below 0x80, so they are valid UTF-8 text too).
  it(`${name}: a text frame closes the connection, unread, before and after CONNECT`, async () => {
    const watcher = await open(v);
    watcher.frame(connectBytes(v, `text-watch-${v}`));
    watcher.frame(encode({ type: 'subscribe', packetId: 1, subscriptions: [sub(v, 'a', 0)] }, v));
    await watcher.packetsAfter(2);

    const before = await open(v);
    const connect = connectBytes(v, `text-${v}`);
    expect(connect.every((b) => b < 0x80)).toBe(true);
    before.ws.send(connect.toString('latin1'), { binary: false });
    expect(await before.closeCode()).toBe(1003); // Unsupported Data
    expect(before.packets).toEqual([]);

    const after = await open(v);
    after.frame(connectBytes(v, `text-after-${v}`));
    await after.packetsAfter(1);
    // PUBLISH QoS 0 to 'a', payload "hi" (5.0: with an empty property length).
    const publish = v === 5 ? [0x30, 0x06, 0x00, 0x01, 0x61, 0x00, 0x68, 0x69] : [0x30, 0x05, 0x00, 0x01, 0x61, 0x68, 0x69];
    after.ws.send(Buffer.from(publish).toString('latin1'), { binary: false });
    // A binary PUBLISH right behind it must not be read either: the connection is over.
    after.frame(encode({ type: 'publish', topic: 'a', payload: Buffer.from('late'), qos: 0, retain: false, dup: false }, v));
    expect(await after.closeCode()).toBe(1003);
    expect(after.packets.map((p) => p.type)).toEqual(['connack']);
    // The broker's side of it ends too (a clean session: gone with its connection).
    await until(() => server.broker.inspect.session(`text-after-${v}`) === undefined, 2000, 'the session of the refused connection to end');

    // The watcher, subscribed to 'a', got neither; a binary PUBLISH still reaches it.
    const check = await open(v);
    check.frame(connectBytes(v, `text-check-${v}`));
    check.frame(encode({ type: 'publish', topic: 'a', payload: Buffer.from('binary'), qos: 0, retain: false, dup: false }, v));
    const got = (await watcher.packetsAfter(3))[2];
    expect(got).toMatchObject({ type: 'publish', topic: 'a' });
    expect((got as { payload: Buffer }).payload.toString()).toBe('binary');
    expect(watcher.packets).toHaveLength(3);
    expect(server.broker.inspect.session(`text-${v}`)).toBeUndefined();
    for (const p of [watcher, check]) p.ws.close();
  });

  // [MQTT-6.0.0-2]: the broker does not assume packets align with frames: one frame holding
  // three packets, and the same packets cut into frames at every byte (frames that end inside a
  // length, a string, or hold the end of one packet and the start of the next).
  it(`${name}: packets are read whatever the frames: three in one frame, or a few bytes a frame`, async () => {
    const whole = await open(v);
    whole.frame(Buffer.concat(session(v, `one-frame-${v}`)));
    expectSessionAnswered(await whole.packetsAfter(4), `one-frame-${v}`);

    for (const size of [1, 3, 7]) {
      const cut = await open(v);
      const bytes = Buffer.concat(session(v, `cut-${size}-${v}`));
      for (let i = 0; i < bytes.length; i += size) cut.frame(bytes.subarray(i, i + size));
      expectSessionAnswered(await cut.packetsAfter(4), `cut-${size}-${v}`);
      cut.ws.close();
    }
    whole.ws.close();
  });
});

describe('the WebSocket subprotocol', () => {
  // [MQTT-6.0.0-4]: the subprotocol the broker selects and returns is "mqtt", whatever else
  // the client offers with it and in whatever order.
  it.each([[['mqtt']], [['mqttv5', 'mqtt']], [['mqttv3.1', 'mqtt']], [['mqtt', 'mqttv3.1']]])('offered %j, the broker selects "mqtt"', async (protocols) => {
    const peer = await open(4, protocols);
    expect(peer.ws.protocol).toBe('mqtt');
    peer.frame(connectBytes(4, 'proto'));
    expect((await peer.packetsAfter(1))[0]).toMatchObject({ type: 'connack', reasonCode: 0 });
    peer.ws.close();
    await peer.closeCode();
  });

  // [MQTT-6.0.0-4]: no other name is ever selected: a client offering only other
  // subprotocols gets none back, which its WebSocket library refuses (RFC 6455 4.1).
  it('offered only other subprotocols, the broker selects none of them', async () => {
    const err = await open(4, ['wamp', 'mqttv6']).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/Server sent no subprotocol/);
  });
});

describe('the transports', () => {
  /** A raw link of our dialer (what `mqt bench` and `mqt lwt-test` use), CONNECTed as `clientId`, with the packets it reads. */
  async function dialed(transport: 'mqtt' | 'ws', clientId: string): Promise<{ link: Link; packets: Packet[] }> {
    const port = transport === 'ws' ? server.wsPort : server.port;
    const link = await (await createDialer({ transport, host: '127.0.0.1', port, wsPath: '/mqtt' })).open(5000);
    const parser = new Parser({ protocolVersion: 4 });
    const packets: Packet[] = [];
    link.setHandler({ onData: (chunk) => packets.push(...parser.push(chunk)), onDrain() {}, onClose() {} });
    link.write(connectBytes(4, clientId));
    await until(() => packets.length === 1, 2000, `the CONNACK of ${clientId}`);
    return { link, packets };
  }

  // [MQTT-7.1.1-1] (3.1.1): the broker serves MQTT over ordered, lossless byte streams: TCP and
  // WebSocket here (TLS: test/interop/tls.test.ts); [MQTT-7.1.2-1] (3.1.1): so does our raw
  // client. 300 messages written at once on one arrive complete and in order on the other.
  it.each([
    ['mqtt', 'ws'],
    ['ws', 'mqtt'],
  ] as const)('a burst published over %s arrives whole and in order over %s', async (from, to) => {
    const subscriber = await dialed(to, `stream-sub-${to}`);
    subscriber.link.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `stream/${from}`, qos: 0 }] }, 4));
    await until(() => subscriber.packets.length === 2, 2000, 'the SUBACK');
    const publisher = await dialed(from, `stream-pub-${from}`);
    const burst = Array.from({ length: 300 }, (_, i) => encode({ type: 'publish', topic: `stream/${from}`, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false }, 4));
    publisher.link.write(Buffer.concat(burst));
    await until(() => subscriber.packets.length === 302, 5000, '300 messages');
    expect(subscriber.packets.slice(2).map((p) => (p.type === 'publish' ? p.payload.toString() : p.type))).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    for (const l of [publisher.link, subscriber.link]) l.end(Buffer.from([0xe0, 0x00]));
  });
});
