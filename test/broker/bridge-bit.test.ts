/**
 * The bridge bit: a CONNECT whose protocol level has 0x80 set (mosquitto's try_private, its
 * default) comes from another broker's bridge. As mosquitto 2.0 does, we accept it (3.1 0x83,
 * 3.1.1 0x84, 5.0 0x85), speak the real version back, give a 3.1/3.1.1 bridge No Local and
 * Retain As Published on every subscription, and let a bridge publish its state under
 * `$SYS/broker/connection/` (any other client only its own `…/<client id>/state`, which is what a
 * 5.0 bridge, sent without the bit, uses). Hooks and ACLs judge a bridge as any client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileAuth } from '../../src/core/auth/file-auth.js';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/broker.js';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnectPacket } from '../../src/core/codec/types.js';
import { connect, openClient, tryConnect, until } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

function start(options: CreateBrokerOptions = {}): Broker {
  broker = createBroker(options);
  return broker;
}

/** A CONNECT as bytes, with its protocol level byte replaced by `level`. */
function connectWithLevel(packet: ConnectPacket, level: number): Buffer {
  const bytes = encode(packet, packet.protocolVersion);
  // Fixed header (2, short packets) + name length (2) + 'MQTT' (4) or 'MQIsdp' (6): the level byte follows.
  const at = 2 + 2 + (packet.protocolVersion === 3 ? 6 : 4);
  expect(bytes[at]).toBe(packet.protocolVersion);
  bytes[at] = level;
  return bytes;
}

const STATE = '$SYS/broker/connection/mosq.b1/state';

describe('codec', () => {
  it.each([
    [3, 0x83],
    [4, 0x84],
    [5, 0x85],
  ] as const)('decodes level %i with the bridge bit (%i) as that version, bridge: true; encodes it back', (v, level) => {
    const plain: ConnectPacket = { type: 'connect', protocolVersion: v, clean: true, keepalive: 30, clientId: 'b' };
    const [decoded] = new Parser().push(connectWithLevel(plain, level));
    expect(decoded).toEqual({ ...plain, bridge: true });
    expect(encode({ ...plain, bridge: true }, v)).toEqual(connectWithLevel(plain, level));
    const [again] = new Parser().push(encode(plain, v));
    expect(again).toEqual(plain);
    expect((again as ConnectPacket).bridge).toBeUndefined();
  });
});

describe('CONNECT with the bridge bit', () => {
  it.each([
    ['3.1 (MQIsdp, 0x83)', 3, 0x83],
    ['3.1.1 (MQTT, 0x84)', 4, 0x84],
  ] as const)('%s as raw bytes is accepted and answered in its own version', async (_name, v, level) => {
    start();
    const client = openClient(broker, v);
    client.sendRaw(connectWithLevel({ type: 'connect', protocolVersion: v, clean: true, keepalive: 0, clientId: 'br' }, level));
    expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    expect(broker.inspect.client('br')?.protocolVersion).toBe(v);
    // It speaks that version: a 3.1.1 SUBACK and delivery.
    expect((await client.subscribe('x/#', 1)).reasonCodes).toEqual([1]);
    const { client: other } = await connect(broker, { clientId: 'o' });
    other.publish('x/1', 'hi', { qos: 1 });
    expect(await client.receive()).toMatchObject({ topic: 'x/1', qos: 1, retain: false });
  });

  it('0x85 (mosquitto 2.0 sets the bit on a 5.0 bridge too) is accepted as 5.0', async () => {
    start();
    const client = openClient(broker, 5);
    client.sendRaw(connectWithLevel({ type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'br5' }, 0x85));
    expect(await client.expect('connack')).toMatchObject({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    expect(broker.inspect.client('br5')?.protocolVersion).toBe(5);
  });

  it.each([
    ['MQTT level 0x86', 4, 0x86],
    ['MQTT level 0x83', 4, 0x83],
    ['MQIsdp level 0x84', 3, 0x84],
    ['MQTT level 0x80', 4, 0x80],
  ] as const)('%s is still an unsupported protocol: CONNACK 1 and a close', async (_name, v, level) => {
    start();
    const client = openClient(broker, 4);
    client.sendRaw(connectWithLevel({ type: 'connect', protocolVersion: v, clean: true, keepalive: 0, clientId: 'x' }, level));
    expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 1 });
    await client.expectClosed();
  });

  it('hooks see it as a bridge (ClientInfo.bridge); an ordinary client is not one', async () => {
    const seen = new Map<string, boolean | undefined>();
    start({ hooks: { authenticate: (c) => (seen.set(c.clientId, c.bridge), true) } });
    await connect(broker, { clientId: 'br', bridge: true });
    await connect(broker, { clientId: 'plain' });
    expect(seen.get('br')).toBe(true);
    expect(seen.get('plain')).toBe(false);
  });
});

describe('a 3.1.1 bridge: No Local and Retain As Published on every subscription', () => {
  it('does not get its own publishes back, but gets everyone else’s', async () => {
    start();
    const { client: br } = await connect(broker, { clientId: 'br', bridge: true });
    await br.subscribe('#', 1);
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('#', 1);
    const id = br.publish('t/from-bridge', 'b', { qos: 1 });
    expect(await br.expect('puback')).toMatchObject({ packetId: id });
    expect(await sub.receive()).toMatchObject({ topic: 't/from-bridge' });
    await br.expectNothing(150);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t/from-client', 'c', { qos: 1 });
    expect(await br.receive()).toMatchObject({ topic: 't/from-client' });
    expect(broker.inspect.session('br')?.subscriptions).toEqual([expect.objectContaining({ topicFilter: '#', noLocal: true, retainAsPublished: true })]);
  });

  it('an ordinary 3.1.1 client still gets its own publishes (no No Local before 5.0)', async () => {
    start();
    const { client: c } = await connect(broker, { clientId: 'plain' });
    await c.subscribe('#', 0);
    c.publish('t/1', 'x');
    expect(await c.expect('publish')).toMatchObject({ topic: 't/1' });
  });

  it('keeps the retain flag of a message published retained while it is subscribed; an ordinary client sees it cleared', async () => {
    start();
    const { client: br } = await connect(broker, { clientId: 'br', bridge: true });
    await br.subscribe('r/#', 1);
    const { client: plain } = await connect(broker, { clientId: 'plain' });
    await plain.subscribe('r/#', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('r/1', 'kept', { qos: 1, retain: true });
    expect(await br.receive()).toMatchObject({ topic: 'r/1', retain: true });
    // [MQTT-3.3.1-9] for everyone else: retain 0 on a message that matched a live subscription.
    expect(await plain.receive()).toMatchObject({ topic: 'r/1', retain: false });
    pub.publish('r/2', 'live', { qos: 1 });
    expect(await br.receive()).toMatchObject({ topic: 'r/2', retain: false });
  });

  it('a shared subscription of a bridge is not No Local (5.0 forbids it there), and still delivers', async () => {
    start();
    const { client: br } = await connect(broker, { clientId: 'br', bridge: true });
    await br.subscribe('$share/g/s/#', 0);
    expect(broker.inspect.session('br')?.subscriptions).toEqual([expect.objectContaining({ noLocal: false, retainAsPublished: true })]);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('s/1', 'x');
    expect(await br.expect('publish')).toMatchObject({ topic: 's/1' });
  });

  it('a 5.0 bridge chooses its options itself', async () => {
    start();
    const { client: br } = await connect(broker, { clientId: 'br5', protocolVersion: 5, bridge: true });
    await br.subscribe('#', 0);
    br.publish('t/1', 'x');
    expect(await br.expect('publish')).toMatchObject({ topic: 't/1' });
  });
});

describe('$SYS: a bridge may publish its state under $SYS/broker/connection/, any client its own state topic, nothing else', () => {
  async function watcher(): Promise<Awaited<ReturnType<typeof connect>>['client']> {
    const { client } = await connect(broker, { clientId: 'watch' });
    await client.subscribe('$SYS/#', 1);
    return client;
  }

  it('its notification (retained) and will are taken; other $SYS topics are not', async () => {
    start();
    const w = await watcher();
    const { client: br } = await connect(broker, { clientId: 'mosq.b1', bridge: true, will: { topic: STATE, payload: Buffer.from('0'), qos: 1, retain: true } });
    br.publish(STATE, '1', { qos: 1, retain: true });
    expect(await w.receive()).toMatchObject({ topic: STATE, payload: Buffer.from('1') });
    expect(broker.inspect.retained(STATE)?.payload.toString()).toBe('1');
    br.publish('$SYS/broker/version', 'fake', { qos: 1, retain: true });
    br.publish('$SYS/broker/connection', 'x', { qos: 1 });
    br.publish('$SYS', 'x', { qos: 1 });
    await w.expectNothing(150);
    expect(broker.inspect.retained('$SYS/broker/version')).toBeUndefined();
    // Gone without DISCONNECT: its will says '0', retained.
    br.kill();
    expect(await w.receive()).toMatchObject({ topic: STATE, payload: Buffer.from('0') });
    await until(() => broker.inspect.retained(STATE)?.payload.toString() === '0', 2000, 'the retained 0');
  });

  it("an ordinary client (level 0x04) can neither publish nor leave a will on another client's state, nor elsewhere under the level", async () => {
    start();
    const w = await watcher();
    const { client: c } = await connect(broker, { clientId: 'other' });
    for (const topic of [STATE, '$SYS/broker/connection/other/x', '$SYS/broker/connection/other/state/x']) {
      const id = c.publish(topic, '1', { qos: 1, retain: true });
      expect(await c.expect('puback')).toMatchObject({ packetId: id });
    }
    await w.expectNothing(150);
    expect(broker.inspect.retained(STATE)).toBeUndefined();
    const { client: c2, connack } = await tryConnect(broker, { clientId: 'c2', will: { topic: STATE, payload: Buffer.from('0'), qos: 0, retain: true } });
    expect(connack.reasonCode).toBe(5);
    await c2.expectClosed();
  });

  it('an ordinary client may write its own state topic, as a 5.0 bridge (no bridge bit) does: retained, and as its will', async () => {
    start();
    const w = await watcher();
    const { client: c } = await connect(broker, { clientId: 'mosq.b1', will: { topic: STATE, payload: Buffer.from('0'), qos: 1, retain: true } });
    c.publish(STATE, '1', { qos: 1, retain: true });
    expect(await w.receive()).toMatchObject({ topic: STATE, payload: Buffer.from('1') });
    c.kill();
    expect(await w.receive()).toMatchObject({ topic: STATE, payload: Buffer.from('0') });
    await until(() => broker.inspect.retained(STATE)?.payload.toString() === '0', 2000, 'the retained 0');
  });

  it('authorizePublish still judges a bridge: refused, its state and will go nowhere', async () => {
    const asked: string[] = [];
    start({ hooks: { authorizePublish: (c, topic) => (asked.push(`${c.clientId} ${topic}`), !topic.startsWith('$SYS/')) } });
    const { connack } = await tryConnect(broker, { clientId: 'mosq.b1', bridge: true, will: { topic: STATE, payload: Buffer.from('0'), qos: 0, retain: true } });
    expect(connack.reasonCode).toBe(5);
    expect(asked).toEqual([`mosq.b1 ${STATE}`]);
  });

  it('with an ACL (FileAuth): the bridge user needs a write rule for its state topic, as in mosquitto', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqt-bridge-bit-'));
    try {
      const aclFile = join(dir, 'acl');
      writeFileSync(aclFile, ['user br', 'topic write $SYS/broker/connection/#', 'topic readwrite #', '', 'user other', 'topic readwrite #', 'topic write $SYS/broker/connection/#', '', 'user spy', 'topic read $SYS/#', ''].join('\n'));
      start({ hooks: FileAuth.load({ aclFile }).hooks() });
      const { client: spy } = await connect(broker, { clientId: 'spy', username: 'spy' });
      await spy.subscribe(STATE, 0);
      // A bridge with the rule: its will is accepted and its state goes out.
      const { client: br } = await connect(broker, { clientId: 'mosq.b1', username: 'br', bridge: true, will: { topic: STATE, payload: Buffer.from('0'), qos: 0, retain: true } });
      br.publish(STATE, '1', { qos: 0, retain: true });
      expect(await spy.expect('publish')).toMatchObject({ topic: STATE, payload: Buffer.from('1') });
      // A bridge without it: refused ('#' does not reach $SYS).
      const { connack: noRule } = await tryConnect(broker, { clientId: 'b2', username: 'nobody', bridge: true, will: { topic: STATE, payload: Buffer.from('0'), qos: 0, retain: true } });
      expect(noRule.reasonCode).toBe(5);
      // An ordinary client with the rule: still refused, $SYS is the broker's.
      const { connack: plain } = await tryConnect(broker, { clientId: 'b3', username: 'other', will: { topic: STATE, payload: Buffer.from('0'), qos: 0, retain: true } });
      expect(plain.reasonCode).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
