/**
 * MQTT 3.1.1 section 3.2 (CONNACK), the broker's side, with protocol level 4: CONNACK is the
 * first packet it sends; Session Present follows clean session and the stored state; a refusal
 * carries Session Present 0 and is followed by the close, with nothing after the CONNECT
 * processed; and where no return code applies, the close comes without any CONNACK.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, Packet } from '../../src/core/codec/types.js';
import { connect, openClient, tryConnect, until } from '../helpers/broker-client.js';

/** Refusals by username: the hook answers what the name says. */
const broker = createBroker({
  hooks: {
    authenticate: (_client, username) => {
      if (username === 'bad') return false; // 4 bad user name or password
      if (username === 'deny') return ReasonCode.NotAuthorized; // 5
      if (username === 'busy') return ReasonCode.ServerUnavailable; // 3
      return true;
    },
  },
});
afterAll(() => broker.close());

function connectPacket(fields: Partial<ConnectPacket>): ConnectPacket {
  return { type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c', ...fields };
}

/** Several packets in one write, as a client that does not wait for CONNACK sends them. */
function oneWrite(...packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((p) => encode(p, 4)));
}

/** Leaves a stored session (clean session 0) for `clientId`, subscribed to `topic` at QoS 1. */
async function storedSession(clientId: string, topic: string): Promise<void> {
  const { client } = await connect(broker, { clientId, clean: false });
  await client.subscribe(topic, 1);
  await client.disconnect();
  await until(() => broker.inspect.session(clientId)?.connected === false, 2000, `${clientId} offline`);
}

/** A subscriber on `topic` that must stay silent: what a refused client sent must not reach it. */
async function watcher(clientId: string, topic: string) {
  const { client } = await connect(broker, { clientId });
  await client.subscribe(topic, 0);
  return client;
}

describe('3.1.1 CONNACK first [MQTT-3.2.0-1]', () => {
  // [MQTT-3.2.0-1] the first packet from the server is CONNACK, even when the client sent more
  // behind its CONNECT and a retained message answers its SUBSCRIBE at once.
  it('answers CONNECT, SUBSCRIBE and PINGREQ sent in one write with CONNACK first', async () => {
    const { client: pub } = await connect(broker, { clientId: 'first-pub' });
    pub.publish('first/r', 'kept', { qos: 1, retain: true });
    await pub.expect('puback');
    const client = openClient(broker, 4);
    client.sendRaw(oneWrite(connectPacket({ clientId: 'first' }), { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'first/r', qos: 0 }] }, { type: 'pingreq' }));
    const types: string[] = [];
    for (let i = 0; i < 4; i++) types.push((await client.next()).type);
    expect(types[0]).toBe('connack');
    expect(types.slice(1).sort()).toEqual(['pingresp', 'publish', 'suback']);
  });

  // [MQTT-3.2.0-1] a resumed session owes the client messages: they come after CONNACK.
  it('sends CONNACK before the messages a resumed session queued while away', async () => {
    await storedSession('first-queued', 'first/q');
    const { client: pub } = await connect(broker, { clientId: 'first-queued-pub' });
    for (let i = 0; i < 3; i++) pub.publish('first/q', `m${i}`, { qos: 1 });
    for (let i = 0; i < 3; i++) await pub.expect('puback');
    const client = openClient(broker, 4);
    client.send(connectPacket({ clientId: 'first-queued', clean: false }));
    const firstPacket = await client.next();
    expect(firstPacket).toEqual({ type: 'connack', sessionPresent: true, reasonCode: 0 });
    for (let i = 0; i < 3; i++) expect((await client.receive()).payload.toString()).toBe(`m${i}`);
  });
});

describe('3.1.1 Session Present', () => {
  // [MQTT-3.2.2-1] clean session 1: Session Present 0 and return code 0, even though a session
  // was stored for this client id a moment ago.
  it('answers clean session 1 with Session Present 0 and return code 0, over a stored session', async () => {
    await storedSession('sp-clean', 'sp/clean');
    expect(broker.inspect.session('sp-clean')).toBeDefined();
    const { connack } = await tryConnect(broker, { clientId: 'sp-clean', clean: true });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
  });

  // [MQTT-3.2.2-2] clean session 0 with stored state: Session Present 1 (and the session is really
  // the old one: its subscription still delivers).
  it('answers clean session 0 with Session Present 1 when a session is stored', async () => {
    await storedSession('sp-kept', 'sp/kept');
    const { client, connack } = await tryConnect(broker, { clientId: 'sp-kept', clean: false });
    expect(connack).toEqual({ type: 'connack', sessionPresent: true, reasonCode: 0 });
    const { client: pub } = await connect(broker, { clientId: 'sp-kept-pub' });
    pub.publish('sp/kept', 'still subscribed', { qos: 1 });
    expect((await client.receive()).payload.toString()).toBe('still subscribed');
  });

  // [MQTT-3.2.2-3] clean session 0 with no stored state: Session Present 0, return code 0; also
  // after a clean session 1 connection ended the session that was stored.
  it('answers clean session 0 with Session Present 0 and return code 0 when nothing is stored', async () => {
    const { client, connack } = await tryConnect(broker, { clientId: 'sp-new', clean: false });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    await client.disconnect();
    const { client: cleaner } = await connect(broker, { clientId: 'sp-new', clean: true });
    await cleaner.disconnect();
    await until(() => broker.inspect.session('sp-new') === undefined, 2000, 'the clean session ended');
    const { connack: again } = await tryConnect(broker, { clientId: 'sp-new', clean: false });
    expect(again).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
  });
});

describe('3.1.1 refusals', () => {
  const refusals: [string, Partial<ConnectPacket>, number][] = [
    ['bad user name or password', { username: 'bad' }, 4],
    ['not authorized', { username: 'deny' }, 5],
    ['server unavailable', { username: 'busy' }, 3],
  ];
  for (const [what, fields, code] of refusals) {
    // [MQTT-3.2.2-4] a non-zero return code goes with Session Present 0, even for a client whose
    // session is stored (and stays stored: a refusal is no connection). [MQTT-3.2.2-5] then the
    // connection is closed.
    it(`refuses with return code ${code} (${what}), Session Present 0, over a stored session, then closes`, async () => {
      const id = `refused-${code}`;
      await storedSession(id, `refused/${code}`);
      const { client, connack } = await tryConnect(broker, { clientId: id, clean: false, ...fields });
      expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: code });
      await client.expectClosed();
      expect(broker.inspect.session(id)?.connected).toBe(false);
    });
  }

  // [MQTT-3.2.2-4] code 2: an empty client id with clean session 0; code 1: an unknown protocol
  // level. Both with Session Present 0. [MQTT-3.2.2-5] and closed.
  it('refuses an empty client id with clean session 0 (2) and protocol level 7 (1) with Session Present 0, then closes', async () => {
    const { client, connack } = await tryConnect(broker, { clientId: '', clean: false });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 2 });
    await client.expectClosed();
    const level7 = openClient(broker, 4);
    // CONNECT "MQTT" level 7, clean session 0, client id "x".
    level7.sendRaw([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 7, 0x00, 0, 0, 0, 1, 0x78]);
    expect(await level7.next()).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 1 });
    await level7.expectClosed();
  });

  // [MQTT-3.2.2-5] after a refusing CONNACK the connection is closed, and what the client sent
  // behind its CONNECT is never acted on: the PUBLISH reaches nobody, the SUBSCRIBE is not answered.
  it('closes after a refusal without acting on the packets that followed the CONNECT', async () => {
    const watch = await watcher('refused-watch', 'refused/after');
    const client = openClient(broker, 4);
    client.sendRaw(
      oneWrite(
        connectPacket({ clientId: 'refused-sender', username: 'bad' }),
        { type: 'publish', topic: 'refused/after', payload: Buffer.from('must not arrive'), qos: 1, packetId: 1, retain: true, dup: false },
        { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'refused/#', qos: 0 }] },
      ),
    );
    expect(await client.next()).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 4 });
    await client.expectClosed();
    await watch.expectNothing(100);
    expect(broker.inspect.session('refused-sender')).toBeUndefined();
    expect(broker.inspect.retained('refused/after')).toBeUndefined();
  });
});

describe('3.1.1 no applicable return code [MQTT-3.2.2-6]', () => {
  // Each first packet is one no return code of table 3.1 answers: the server closes without CONNACK.
  const cases: [string, number[]][] = [
    // [MQTT-3.1.2-3] the reserved connect flag bit 0 set.
    ['a CONNECT with the reserved flag set', [0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x03, 0, 0, 0, 1, 0x78]],
    // [MQTT-3.1.2-11] will flag 0 with will QoS 1.
    ['a CONNECT with will QoS but no will', [0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x0a, 0, 0, 0, 1, 0x78]],
    // [MQTT-3.1.2-22] a password flag without the user name flag.
    ['a CONNECT with a password but no user name', [0x10, 16, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x42, 0, 0, 0, 1, 0x78, 0, 1, 0x70]],
    // [MQTT-3.1.0-1] the first packet is not a CONNECT.
    ['a PINGREQ before CONNECT', [0xc0, 0]],
    ['a PUBLISH before CONNECT', [0x30, 4, 0, 1, 0x74, 0x78]],
    // [MQTT-3.2.2-6] CONNECT with a fixed header flag set (reserved bits of byte 1 [MQTT-2.2.2-2]).
    ['a CONNECT with fixed header flags', [0x11, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, 1, 0x78]],
    // A Remaining Length of five bytes.
    ['a malformed Remaining Length', [0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [what, bytes] of cases) {
    // [MQTT-3.2.2-6] none of the return codes applies: close without sending CONNACK.
    it(`closes on ${what} without sending CONNACK`, async () => {
      const client = openClient(broker, 4);
      client.sendRaw(bytes);
      await client.expectClosed();
      expect(client.received).toEqual([]);
    });
  }
});
