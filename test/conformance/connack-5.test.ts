/**
 * MQTT 5.0 section 3.2 (CONNACK), the broker's side: CONNACK 0x00 before anything else, and
 * only one per connection; the acknowledge flags; Session Present; refusals (Session Present 0,
 * a code of the CONNACK table, the close); Maximum QoS; the Reason String and User Property
 * against the client's Maximum Packet Size; the client's Keep Alive when no Server Keep Alive
 * is sent. The synchronous paths: the asynchronous authentication hook's are tested with it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ALLOWED_REASON_CODES, ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { ConnackPacket, ConnectPacket, Packet } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, recordFrames, tryConnect, until, type TestClient } from '../helpers/broker-client.js';

/**
 * One broker for the file. Its authenticate hook answers by username: "code:N" refuses with N
 * (a number the hook hands the broker as is), anything else is accepted.
 */
const broker = createBroker({
  hooks: {
    authenticate: (_client, username) => (username?.startsWith('code:') === true ? Number(username.slice(5)) : true),
  },
});
afterAll(() => broker.close());

function connectPacket(fields: Partial<ConnectPacket>): ConnectPacket {
  return { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c', ...fields };
}

/** Several packets in one write, as a client that does not wait for CONNACK sends them. */
function oneWrite(...packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((p) => encode(p, 5)));
}

/** Leaves a stored session (expiry 60 s) for `clientId`, subscribed to `topic` at QoS 1. */
async function storedSession(clientId: string, topic: string): Promise<void> {
  const { client } = await connect(broker, { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
  await client.subscribe(topic, 1);
  await client.disconnect({ reasonCode: 0 });
  await until(() => broker.inspect.session(clientId)?.connected === false, 2000, `${clientId} offline`);
}

/** A subscriber on `filter` that must stay silent. */
async function watcher(clientId: string, filter: string): Promise<TestClient> {
  const { client } = await connect(broker, { clientId, protocolVersion: 5 });
  await client.subscribe(filter, 0);
  return client;
}

describe('CONNACK first, and once', () => {
  // [MQTT-3.2.0-1] CONNACK 0x00 comes before any other packet, though the client sent more behind
  // its CONNECT and a retained message answers its SUBSCRIBE at once.
  it('answers CONNECT, SUBSCRIBE and PINGREQ sent in one write with CONNACK 0x00 first', async () => {
    const { client: pub } = await connect(broker, { clientId: 'first-pub', protocolVersion: 5 });
    pub.publish('first/r', 'kept', { qos: 1, retain: true });
    await pub.expect('puback');
    const client = openClient(broker, 5);
    client.sendRaw(oneWrite(connectPacket({ clientId: 'first' }), { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'first/r', qos: 0 }] }, { type: 'pingreq' }));
    const first = await client.next();
    expect(first.type).toBe('connack');
    expect((first as ConnackPacket).reasonCode).toBe(ReasonCode.Success);
    const rest: string[] = [];
    for (let i = 0; i < 3; i++) rest.push((await client.next()).type);
    expect(rest.sort()).toEqual(['pingresp', 'publish', 'suback']);
  });

  // [MQTT-3.2.0-1] what a resumed session owes the client comes after CONNACK 0x00.
  it('sends CONNACK 0x00 before the messages a resumed session queued while away', async () => {
    await storedSession('first-queued', 'first/q');
    const { client: pub } = await connect(broker, { clientId: 'first-queued-pub', protocolVersion: 5 });
    for (let i = 0; i < 3; i++) pub.publish('first/q', `m${i}`, { qos: 1 });
    for (let i = 0; i < 3; i++) await pub.expect('puback');
    const client = openClient(broker, 5);
    client.send(connectPacket({ clientId: 'first-queued', clean: false, properties: { sessionExpiryInterval: 60 } }));
    const first = await client.next();
    expect(first).toMatchObject({ type: 'connack', sessionPresent: true, reasonCode: ReasonCode.Success });
    for (let i = 0; i < 3; i++) expect((await client.receive()).payload.toString()).toBe(`m${i}`);
  });

  // [MQTT-3.2.0-1] no CONNACK 0x00, no other packet: a refused client gets its CONNACK and nothing
  // else, whatever it sent behind its CONNECT.
  it('sends a refused client its CONNACK and nothing else', async () => {
    const client = openClient(broker, 5);
    client.sendRaw(oneWrite(connectPacket({ clientId: 'first-refused', username: 'code:135' }), { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'first/r', qos: 0 }] }, { type: 'pingreq' }));
    expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: ReasonCode.NotAuthorized });
    await client.expectClosed();
    expect(client.received).toEqual([]);
  });

  // [MQTT-3.2.0-2] a second CONNECT in the same write as the first: one CONNACK, then DISCONNECT
  // 0x82 Protocol Error, never a second CONNACK.
  it('answers a second CONNECT sent with the first by DISCONNECT 0x82, not a second CONNACK', async () => {
    const client = openClient(broker, 5);
    const frames = recordFrames(client);
    client.sendRaw(oneWrite(connectPacket({ clientId: 'twice-a' }), connectPacket({ clientId: 'twice-a' })));
    expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: 0 });
    expect(await client.next()).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    await client.expectClosed();
    expect(frames.filter((f) => f[0] === 0x20)).toHaveLength(1);
  });

  // [MQTT-3.2.0-2] the same later on, also for a second CONNECT of an unknown protocol level,
  // whose refusal before a CONNACK would be CONNACK 0x84: now it is DISCONNECT 0x82.
  it('answers a second CONNECT after CONNACK by DISCONNECT 0x82, whatever its protocol level', async () => {
    for (const second of [encode(connectPacket({ clientId: 'twice-b' }), 5), Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0x02, 0, 0, 0, 1, 0x78])]) {
      const { client } = await connect(broker, { clientId: 'twice-b', protocolVersion: 5 });
      const frames = recordFrames(client);
      client.sendRaw(second);
      expect(await client.next()).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError });
      await client.expectClosed();
      expect(frames.filter((f) => f[0] === 0x20)).toEqual([]);
    }
  });

  // [MQTT-3.2.0-2] a refused CONNECT followed by one that would be accepted: the second is never
  // read, so there is one CONNACK, the refusal.
  it('sends one CONNACK to a refused CONNECT followed by an acceptable one', async () => {
    const client = openClient(broker, 5);
    const frames = recordFrames(client);
    client.sendRaw(oneWrite(connectPacket({ clientId: 'twice-c', username: 'code:134' }), connectPacket({ clientId: 'twice-c' })));
    expect(await client.next()).toMatchObject({ type: 'connack', reasonCode: ReasonCode.BadUserNameOrPassword });
    await client.expectClosed();
    expect(frames.filter((f) => f[0] === 0x20)).toHaveLength(1);
    expect(broker.inspect.session('twice-c')).toBeUndefined();
  });
});

describe('Connect Acknowledge Flags', () => {
  // [MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are 0 in every CONNACK the broker writes
  // (new session, resumed session, refusal); the codec refuses a CONNACK that sets one.
  it('writes acknowledge flags with bits 7-1 clear, and the codec refuses them set', async () => {
    await storedSession('flags-kept', 'flags/kept');
    const flagBytes: number[] = [];
    for (const fields of [{ clientId: 'flags-new' }, { clientId: 'flags-kept', clean: false, properties: { sessionExpiryInterval: 60 } }, { clientId: 'flags-refused', username: 'code:135' }]) {
      const client = openClient(broker, 5);
      const frames = recordFrames(client);
      client.send(connectPacket(fields));
      await client.expect('connack');
      expect(frames[0]![0]).toBe(0x20);
      flagBytes.push(frames[0]![2]!);
    }
    expect(flagBytes).toEqual([0x00, 0x01, 0x00]);
    expect(encode({ type: 'connack', sessionPresent: true, reasonCode: 0 }, 5)[2]).toBe(0x01);
    expect(() => new Parser({ protocolVersion: 5 }).push(Buffer.from([0x20, 3, 0x03, 0, 0]))).toThrow(MqttError);
  });
});

describe('Session Present', () => {
  // [MQTT-3.2.2-2] Clean Start 1: Session Present 0 with 0x00, over a session stored a moment ago.
  it('answers Clean Start 1 with Session Present 0 and 0x00, over a stored session', async () => {
    await storedSession('sp-clean', 'sp/clean');
    const { connack } = await tryConnect(broker, { clientId: 'sp-clean', protocolVersion: 5, clean: true });
    expect(connack.sessionPresent).toBe(false);
    expect(connack.reasonCode).toBe(ReasonCode.Success);
  });

  // [MQTT-3.2.2-3] Clean Start 0: Session Present 1 when the session is stored (its subscription
  // still delivers), 0 when none is, and 0 once a session with expiry 0 ended; 0x00 each time.
  it('answers Clean Start 0 with Session Present 1 over a stored session and 0 without one', async () => {
    await storedSession('sp-kept', 'sp/kept');
    const { client, connack } = await tryConnect(broker, { clientId: 'sp-kept', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    const { client: pub } = await connect(broker, { clientId: 'sp-kept-pub', protocolVersion: 5 });
    pub.publish('sp/kept', 'still subscribed', { qos: 1 });
    expect((await client.receive()).payload.toString()).toBe('still subscribed');

    const { client: fresh, connack: none } = await tryConnect(broker, { clientId: 'sp-none', protocolVersion: 5, clean: false });
    expect(none.sessionPresent).toBe(false);
    expect(none.reasonCode).toBe(ReasonCode.Success);
    // Session Expiry Interval 0 (absent): the session ends with the connection.
    await fresh.disconnect({ reasonCode: 0 });
    await until(() => broker.inspect.session('sp-none') === undefined, 2000, 'the session ended');
    const { connack: again } = await tryConnect(broker, { clientId: 'sp-none', protocolVersion: 5, clean: false });
    expect(again.sessionPresent).toBe(false);
    expect(again.reasonCode).toBe(ReasonCode.Success);
  });
});

describe('refusals', () => {
  const refusals: [string, Partial<ConnectPacket>, number][] = [
    ['0x86 bad user name or password', { username: `code:${0x86}` }, 0x86],
    ['0x87 not authorized', { username: `code:${0x87}` }, 0x87],
    ['0x88 server unavailable', { username: `code:${0x88}` }, 0x88],
    ['0x8A banned', { username: `code:${0x8a}` }, 0x8a],
    ['0x90 topic name invalid (will topic)', { will: { topic: 'w/#', payload: Buffer.from('x'), qos: 0, retain: false } }, 0x90],
    ['0x8C bad authentication method', { properties: { authenticationMethod: 'SCRAM-SHA-1', sessionExpiryInterval: 60 } }, 0x8c],
  ];
  for (const [what, fields, code] of refusals) {
    // [MQTT-3.2.2-6] a non-zero code goes with Session Present 0, even for a client whose session
    // is stored (and stays so). [MQTT-3.2.2-7] a code of 0x80 or more: the connection is closed.
    // [MQTT-3.2.2-8] the code is one of the CONNACK table.
    it(`refuses with ${what}: Session Present 0 over a stored session, then closes`, async () => {
      const id = `refused-${code}`;
      await storedSession(id, `refused/${code}`);
      const { client, connack } = await tryConnect(broker, { clientId: id, protocolVersion: 5, clean: false, ...fields });
      expect(connack.reasonCode).toBe(code);
      expect(connack.sessionPresent).toBe(false);
      expect(ALLOWED_REASON_CODES['connack']![connack.reasonCode]).toBe(1);
      await client.expectClosed();
      expect(broker.inspect.session(id)?.connected).toBe(false);
    });
  }

  // [MQTT-3.2.2-7] after a CONNACK of 0x80 or more the connection is closed, and nothing the
  // client sent behind its CONNECT is acted on: no PUBLISH routed or retained, no SUBSCRIBE made.
  it('closes after a refusal without acting on the packets that followed the CONNECT', async () => {
    const watch = await watcher('refused-watch', 'refused/after');
    const client = openClient(broker, 5);
    client.sendRaw(
      oneWrite(
        connectPacket({ clientId: 'refused-sender', username: `code:${0x87}` }),
        { type: 'publish', topic: 'refused/after', payload: Buffer.from('must not arrive'), qos: 1, packetId: 1, retain: true, dup: false },
        { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'refused/#', qos: 0 }] },
      ),
    );
    expect(await client.next()).toMatchObject({ type: 'connack', sessionPresent: false, reasonCode: ReasonCode.NotAuthorized });
    await client.expectClosed();
    await watch.expectNothing(100);
    expect(broker.inspect.session('refused-sender')).toBeUndefined();
    expect(broker.inspect.retained('refused/after')).toBeUndefined();
  });

  // [MQTT-3.2.2-8] an authenticate hook may hand back any number: what is not a refusal of the
  // CONNACK table (a DISCONNECT-only code, a code below 0x80, not a reason code at all) goes out
  // as 0x80 Unspecified error, and the connection is closed [MQTT-3.2.2-7].
  it('sends only CONNACK codes, whatever number the authenticate hook returns', async () => {
    for (const given of [ReasonCode.SessionTakenOver, ReasonCode.DisconnectWithWillMessage, ReasonCode.NoMatchingSubscribers, 1, 0x7f, 0xc8]) {
      const client = openClient(broker, 5);
      const frames = recordFrames(client);
      client.send(connectPacket({ clientId: `odd-${given}`, username: `code:${given}` }));
      expect(await client.next()).toMatchObject({ type: 'connack', sessionPresent: false, reasonCode: ReasonCode.UnspecifiedError });
      await client.expectClosed();
      expect(frames).toHaveLength(1);
      expect(frames[0]![0]).toBe(0x20);
      // The reason code byte, after the acknowledge flags.
      expect(frames[0]![3]).toBe(ReasonCode.UnspecifiedError);
      expect(frames[0]![2]).toBe(0);
    }
  });
});

describe('Maximum QoS', () => {
  // [MQTT-3.2.2-9] a server without QoS 2, or without QoS 1 and 2, sends Maximum QoS; one with
  // all three levels leaves it out (absent means 2).
  it('sends Maximum QoS 0 or 1 when it supports no more, and none with QoS 2', async (ctx) => {
    for (const maxQoS of [0, 1, 2] as const) {
      const b = brokerFor(ctx, { maxQoS });
      const { connack } = await connect(b, { protocolVersion: 5 });
      expect(connack.properties?.maximumQoS).toBe(maxQoS === 2 ? undefined : maxQoS);
    }
  });

  // [MQTT-3.2.2-10] a server of Maximum QoS 0 still accepts SUBSCRIBE at QoS 0, 1 and 2: granted
  // (at 0), not refused, and the subscriptions deliver.
  it('accepts SUBSCRIBE at QoS 0, 1 and 2 with Maximum QoS 0', async (ctx) => {
    const b = brokerFor(ctx, { maxQoS: 0 });
    const { client } = await connect(b, { clientId: 'sub', protocolVersion: 5 });
    const suback = await client.subscribe([{ topicFilter: 'q/0', qos: 0 }, { topicFilter: 'q/1', qos: 1 }, { topicFilter: 'q/2', qos: 2 }]);
    expect(suback.reasonCodes).toEqual([0, 0, 0]);
    const { client: pub } = await connect(b, { clientId: 'pub', protocolVersion: 5 });
    pub.publish('q/2', 'x');
    expect(await client.expect('publish')).toMatchObject({ topic: 'q/2', qos: 0 });
  });
});

describe('Reason String and User Property against the client’s Maximum Packet Size', () => {
  /** The refusing CONNACK (0x87, with its Reason String) a client of `maximumPacketSize` gets, raw. */
  async function refusal(clientId: string, maximumPacketSize?: number): Promise<{ frame: Buffer; connack: ConnackPacket }> {
    const client = openClient(broker, 5);
    const frames = recordFrames(client);
    const properties = maximumPacketSize === undefined ? {} : { maximumPacketSize };
    client.send(connectPacket({ clientId, username: `code:${0x87}`, properties }));
    const connack = await client.expect('connack');
    await client.expectClosed();
    return { frame: frames[0]!, connack };
  }

  // [MQTT-3.2.2-19] a Reason String that fits the client's Maximum Packet Size exactly is sent;
  // one byte less and it is left out, and the CONNACK still goes out.
  it('sends the Reason String in a refusing CONNACK only while it fits', async () => {
    const roomy = await refusal('why-roomy');
    expect(roomy.connack.properties?.reasonString).toMatch(/.+/);
    const exact = await refusal('why-exact', roomy.frame.length);
    expect(exact.connack.properties?.reasonString).toBe(roomy.connack.properties?.reasonString);
    const tight = await refusal('why-tight', roomy.frame.length - 1);
    expect(tight.connack.reasonCode).toBe(ReasonCode.NotAuthorized);
    expect(tight.connack.properties?.reasonString).toBeUndefined();
    expect(tight.frame.length).toBeLessThanOrEqual(roomy.frame.length - 1);
  });

  // [MQTT-3.2.2-20] the broker sends no User Property on CONNACK, so none can take a CONNACK past
  // the client's Maximum Packet Size: none on an accepting CONNACK or a refusing one, each within
  // the limit the client gave.
  it('sends no User Property on CONNACK, and every CONNACK fits the client’s limit', async () => {
    const limit = 64;
    const accepted = openClient(broker, 5);
    const acceptedFrames = recordFrames(accepted);
    accepted.send(connectPacket({ clientId: 'props-ok', properties: { maximumPacketSize: limit, requestProblemInformation: 1 } }));
    const ok = await accepted.expect('connack');
    expect(ok.reasonCode).toBe(0);
    expect(ok.properties?.userProperties).toBeUndefined();
    expect(acceptedFrames[0]!.length).toBeLessThanOrEqual(limit);
    const refused = await refusal('props-refused', limit);
    expect(refused.connack.properties?.userProperties).toBeUndefined();
    expect(refused.frame.length).toBeLessThanOrEqual(limit);
  });
});

describe('Keep Alive', () => {
  // [MQTT-3.2.2-22] no Server Keep Alive in CONNACK: the broker holds the client to its own Keep
  // Alive (1 s): a silent client is disconnected (0x8D), where the default maximum would not.
  it('uses the client’s Keep Alive when it sends no Server Keep Alive', async () => {
    const { client, connack } = await connect(broker, { clientId: 'ka', protocolVersion: 5, keepalive: 1 });
    expect(connack.properties?.serverKeepAlive).toBeUndefined();
    expect((await client.expect('disconnect', 4000)).reasonCode).toBe(ReasonCode.KeepAliveTimeout);
    await client.expectClosed();
  });
});
