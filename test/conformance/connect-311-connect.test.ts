/**
 * MQTT 3.1.1 section 3.1, CONNECT as the broker reads it: packet order (3.1.0), the variable
 * header (protocol name and level, connect flags), the payload fields and their order (3.1.3),
 * and what the broker does with a CONNECT that does not conform (3.1.4). CONNECTs are written
 * byte by byte here, so a wrong one is exactly as wrong as the test says. MQTT 3.1 (MQIsdp,
 * level 3) where it shares the rule.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import { brokerFor, connect, openClient, tryConnect, type TestClient } from '../helpers/broker-client.js';

function bytesOf(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

/** A length-prefixed field: a UTF-8 string or binary data. */
function field(value: string | number[]): number[] {
  const bytes = typeof value === 'string' ? bytesOf(value) : value;
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

interface RawConnect {
  name?: string;
  level?: number;
  flags?: number;
  keepalive?: number;
  /** The payload, already as fields, in wire order. */
  payload?: number[];
}

/** A CONNECT written by hand: 'MQTT' level 4, clean session, keep-alive 0, client id 'raw'. */
function rawConnect(c: RawConnect = {}): Buffer {
  const keepalive = c.keepalive ?? 0;
  const body = [...field(c.name ?? 'MQTT'), c.level ?? 4, c.flags ?? 0x02, keepalive >> 8, keepalive & 0xff, ...(c.payload ?? field('raw'))];
  if (body.length > 127) throw new Error('rawConnect: keep it under 128 bytes');
  return Buffer.from([0x10, body.length, ...body]);
}

/** A watcher on '#' at QoS 1 and on the retained store: what a CONNECT must not have let through. */
async function watch(broker: Broker): Promise<TestClient> {
  const { client } = await connect(broker, { clientId: 'watcher' });
  await client.subscribe('#', 1);
  return client;
}

/** A QoS 0 retained PUBLISH and a SUBSCRIBE, to pipeline behind a CONNECT: neither may take effect. */
const SNEAKY = Buffer.concat([
  encode({ type: 'publish', topic: 'sneaky', payload: Buffer.from('x'), qos: 1, packetId: 7, retain: true, dup: false }, 4),
  encode({ type: 'subscribe', packetId: 8, subscriptions: [{ topicFilter: '#', qos: 0 }] }, 4),
  encode({ type: 'pingreq' }, 4),
]);

/** CONNECTs that break a rule of section 3.1, each closed without a CONNACK. */
const NONCONFORMING: [string, string, Buffer][] = [
  ['MQTT-3.1.2-3', 'the reserved connect flag set', rawConnect({ flags: 0x03 })],
  ['MQTT-3.1.2-9', 'the will flag without a will topic or message', rawConnect({ flags: 0x06 })],
  ['MQTT-3.1.2-9', 'the will flag with a will topic but no will message', rawConnect({ flags: 0x06, payload: [...field('raw'), ...field('w')] })],
  ['MQTT-3.1.2-11', 'will QoS 1 without the will flag', rawConnect({ flags: 0x0a })],
  ['MQTT-3.1.2-13', 'will QoS 2 without the will flag', rawConnect({ flags: 0x12 })],
  ['MQTT-3.1.2-11', 'will QoS 1 without the will flag, will fields present', rawConnect({ flags: 0x0a, payload: [...field('raw'), ...field('w'), ...field('m')] })],
  ['MQTT-3.1.2-14', 'will QoS 3', rawConnect({ flags: 0x1e, payload: [...field('raw'), ...field('w'), ...field('m')] })],
  ['MQTT-3.1.2-15', 'will retain without the will flag', rawConnect({ flags: 0x22 })],
  ['MQTT-3.1.2-18', 'a user name present with the user name flag 0', rawConnect({ payload: [...field('raw'), ...field('user')] })],
  ['MQTT-3.1.2-19', 'the user name flag 1 without a user name', rawConnect({ flags: 0x82 })],
  ['MQTT-3.1.2-20', 'a password present with the password flag 0', rawConnect({ flags: 0x82, payload: [...field('raw'), ...field('user'), ...field([1, 2])] })],
  ['MQTT-3.1.2-21', 'the password flag 1 without a password', rawConnect({ flags: 0xc2, payload: [...field('raw'), ...field('user')] })],
  ['MQTT-3.1.2-22', 'the password flag 1 with the user name flag 0', rawConnect({ flags: 0x42, payload: [...field('raw'), ...field([1, 2])] })],
  ['MQTT-3.1.3-3', 'no client id at all', rawConnect({ payload: [] })],
  ['MQTT-3.1.3-3', 'a client id cut short', rawConnect({ payload: [0, 5, 0x61, 0x62] })],
  ['MQTT-3.1.3-4', 'a client id that is not UTF-8', rawConnect({ payload: field([0x61, 0xc3, 0x28]) })],
  ['MQTT-3.1.3-4', 'a client id with U+0000', rawConnect({ payload: field([0x61, 0x00]) })],
  ['MQTT-3.1.3-10', 'a will topic that is not UTF-8', rawConnect({ flags: 0x06, payload: [...field('raw'), ...field([0xed, 0xa0, 0x80]), ...field('m')] })],
  ['MQTT-3.1.3-10', 'a will topic with U+0000', rawConnect({ flags: 0x06, payload: [...field('raw'), ...field([0x77, 0x00]), ...field('m')] })],
  ['MQTT-3.1.3-11', 'a user name that is not UTF-8', rawConnect({ flags: 0x82, payload: [...field('raw'), ...field([0xff, 0xfe])] })],
  ['MQTT-3.1.3-11', 'a user name with U+0000', rawConnect({ flags: 0x82, payload: [...field('raw'), ...field([0x75, 0x00])] })],
];

/** Sends `bytes` (plus SNEAKY behind them) and expects a close with no packet at all. */
async function expectClosedWithoutConnack(broker: Broker, what: string, bytes: Buffer): Promise<void> {
  const client = openClient(broker);
  client.sendRaw(Buffer.concat([bytes, SNEAKY]));
  await client.expectClosed().catch((e: Error) => {
    throw new Error(`${what}: ${e.message}`);
  });
}

describe('3.1.1 section 3.1.0: CONNECT first, and once', () => {
  // [MQTT-3.1.0-1] the first packet from a client must be CONNECT: the broker closes a connection
  // that starts with anything else, answers nothing and acts on nothing.
  it('closes a connection whose first packet is PUBLISH, SUBSCRIBE, PINGREQ or DISCONNECT, acting on none', async (ctx) => {
    const broker = brokerFor(ctx);
    const watcher = await watch(broker);
    const firsts: [string, Buffer][] = [
      ['PUBLISH', encode({ type: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: true, dup: false }, 4)],
      ['SUBSCRIBE', encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] }, 4)],
      ['PINGREQ', encode({ type: 'pingreq' }, 4)],
      ['DISCONNECT', encode({ type: 'disconnect' }, 4)],
    ];
    for (const [what, bytes] of firsts) {
      const client = openClient(broker);
      // A CONNECT behind the wrong first packet does not rescue the connection.
      client.sendRaw(Buffer.concat([bytes, rawConnect()]));
      await client.expectClosed().catch((e: Error) => {
        throw new Error(`${what} first: ${e.message}`);
      });
    }
    await watcher.expectNothing(50);
    expect(broker.inspect.retainedCount()).toBe(0);
    expect(broker.inspect.session('raw')).toBeUndefined();
  });

  for (const version of [3, 4] as const) {
    // [MQTT-3.1.0-2] a second CONNECT is a protocol violation: the client is disconnected, and the
    // second CONNECT does not connect anyone (its client id gets no session).
    it(`MQTT ${version === 3 ? '3.1' : '3.1.1'}: a second CONNECT disconnects the client and is not processed`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { protocolVersion: version, clientId: 'first' });
      client.send({ type: 'connect', protocolVersion: version, clean: false, keepalive: 0, clientId: 'second' });
      await client.expectClosed();
      expect(broker.inspect.session('second')).toBeUndefined();
      expect(broker.inspect.connectionCount()).toBe(0);
    });
  }
});

describe('3.1.1 section 3.1.2: variable header', () => {
  // [MQTT-3.1.2-1] a wrong protocol name: the broker may disconnect, and must not go on with the
  // CONNECT as MQTT. It answers return code 1 and closes; nothing behind it is processed.
  it('does not process a CONNECT with a wrong protocol name as MQTT', async (ctx) => {
    const broker = brokerFor(ctx);
    const watcher = await watch(broker);
    for (const name of ['MQTX', 'mqtt', 'MQIsdp4', 'MQ']) {
      const client = openClient(broker);
      client.sendRaw(Buffer.concat([rawConnect({ name }), SNEAKY]));
      const first = await client.next().catch(() => undefined);
      // Either a close with nothing, or CONNACK 1 and a close: never an accepted session.
      if (first !== undefined) expect(first, name).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 1 });
      await client.expectClosed();
    }
    await watcher.expectNothing(50);
    expect(broker.inspect.session('raw')).toBeUndefined();
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  // [MQTT-3.1.2-2] a protocol level the server does not support: CONNACK return code 0x01, then
  // the client is disconnected ('MQTT' goes with levels 4 and 5, 'MQIsdp' with 3).
  it('answers an unsupported protocol level with CONNACK 0x01 and disconnects', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [name, level] of [['MQTT', 6], ['MQTT', 0], ['MQTT', 3], ['MQTT', 0x7f], ['MQIsdp', 4]] as const) {
      const client = openClient(broker);
      client.sendRaw(Buffer.concat([rawConnect({ name, level }), SNEAKY]));
      expect(await client.expect('connack'), `${name} level ${level}`).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 1 });
      await client.expectClosed();
    }
    expect(broker.inspect.sessionCount()).toBe(0);
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  // [MQTT-3.1.2-3] the reserved connect flag must be 0: the client is disconnected (no CONNACK).
  it('disconnects a client whose CONNECT has the reserved flag set, 3.1 and 3.1.1', async (ctx) => {
    const broker = brokerFor(ctx);
    await expectClosedWithoutConnack(broker, '3.1.1', rawConnect({ flags: 0x03 }));
    await expectClosedWithoutConnack(broker, '3.1', rawConnect({ name: 'MQIsdp', level: 3, flags: 0x03 }));
    // The same CONNECT with the flag clear is accepted.
    const client = openClient(broker);
    client.sendRaw(rawConnect({ flags: 0x02 }));
    expect((await client.expect('connack')).reasonCode).toBe(0);
  });

  // [MQTT-3.1.2-9] will flag 1: the will topic and will message must be present (else close, no
  // CONNACK); [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] will flag 0: will QoS and retain 0 and
  // no will fields; [MQTT-3.1.2-14] will QoS 3 never. Each broken CONNECT is closed without CONNACK.
  it('closes, without CONNACK, a CONNECT whose will flags and will fields disagree', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [id, what, bytes] of NONCONFORMING.filter(([id]) => /3\.1\.2-(9|11|13|14|15)$/.test(id))) {
      await expectClosedWithoutConnack(broker, `${id} ${what}`, bytes);
    }
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-3.1.2-18] [MQTT-3.1.2-19] [MQTT-3.1.2-20] [MQTT-3.1.2-21] [MQTT-3.1.2-22] the user name
  // and password flags say exactly which of the two fields follow; a CONNECT that disagrees, or a
  // password without a user name, is closed without CONNACK.
  it('closes, without CONNACK, a CONNECT whose user name and password flags and fields disagree', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => true } });
    for (const [id, what, bytes] of NONCONFORMING.filter(([id]) => /3\.1\.2-(18|19|20|21|22)$/.test(id))) {
      await expectClosedWithoutConnack(broker, `${id} ${what}`, bytes);
    }
    // The well-formed forms are accepted: user name only, user name and password.
    for (const c of [rawConnect({ flags: 0x82, payload: [...field('raw'), ...field('user')] }), rawConnect({ flags: 0xc2, payload: [...field('raw'), ...field('user'), ...field([1, 2])] })]) {
      const client = openClient(broker);
      client.sendRaw(c);
      expect((await client.expect('connack')).reasonCode).toBe(0);
      client.kill();
    }
  });

  // [MQTT-3.1.2-18] [MQTT-3.1.2-19] [MQTT-3.1.2-20] [MQTT-3.1.2-21] [MQTT-3.1.2-22] [MQTT-3.1.2-11]
  // [MQTT-3.1.2-13] [MQTT-3.1.2-15] what our codec writes for our raw clients keeps the flags and
  // the fields in step, in the order of [MQTT-3.1.3-1], and refuses a 3.1.1 password without a user name.
  it('the encoder sets each flag exactly when its field is written', () => {
    const base = { type: 'connect', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'e' } as const;
    expect([...encode(base, 4)]).toEqual([...rawConnect({ payload: field('e') })]);
    expect([...encode({ ...base, username: 'u' }, 4)]).toEqual([...rawConnect({ flags: 0x82, payload: [...field('e'), ...field('u')] })]);
    expect([...encode({ ...base, username: 'u', password: Buffer.from([9]) }, 4)]).toEqual([...rawConnect({ flags: 0xc2, payload: [...field('e'), ...field('u'), ...field([9])] })]);
    expect([...encode({ ...base, will: { topic: 'w', payload: Buffer.from('m'), qos: 1, retain: true } }, 4)]).toEqual([
      ...rawConnect({ flags: 0x2e, payload: [...field('e'), ...field('w'), ...field('m')] }),
    ]);
    // All five: client id, will topic, will message, user name, password.
    expect([...encode({ ...base, will: { topic: 'w', payload: Buffer.from('m'), qos: 0, retain: false }, username: 'u', password: Buffer.from([9]) }, 4)]).toEqual([
      ...rawConnect({ flags: 0xc6, payload: [...field('e'), ...field('w'), ...field('m'), ...field('u'), ...field([9])] }),
    ]);
    expect(() => encode({ ...base, password: Buffer.from([9]) }, 4)).toThrow(MqttError);
  });
});

describe('3.1.1 section 3.1.3: payload', () => {
  // [MQTT-3.1.3-1] the fields come in the order client id, will topic, will message, user name,
  // password: all five present, each lands where it belongs.
  it('reads all five payload fields in order: client id, will topic, will message, user name, password', async (ctx) => {
    const seen: [string, string | undefined, string | undefined][] = [];
    const broker = brokerFor(ctx, {
      hooks: {
        authenticate: (c, username, password) => {
          seen.push([c.clientId, username, password?.toString()]);
          return true;
        },
      },
    });
    const watcher = await watch(broker);
    const client = openClient(broker);
    // flags: user name, password, will QoS 1, will, clean session.
    client.sendRaw(rawConnect({ flags: 0xce, payload: [...field('id1'), ...field('will/t'), ...field('bye'), ...field('alice'), ...field('secret')] }));
    expect((await client.expect('connack')).reasonCode).toBe(0);
    expect(seen.at(-1)).toEqual(['id1', 'alice', 'secret']);
    client.kill();
    const m = await watcher.expect('publish');
    expect(m).toMatchObject({ topic: 'will/t', qos: 1 });
    expect(m.payload.toString()).toBe('bye');
  });

  // [MQTT-3.1.3-3] the client id must be present, first in the payload; [MQTT-3.1.3-4] it must be a
  // UTF-8 string of section 1.5.3. A CONNECT without one, or with a bad one, is closed without CONNACK.
  it('closes, without CONNACK, a CONNECT whose client id is missing, cut short or not UTF-8', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const [id, what, bytes] of NONCONFORMING.filter(([id]) => /3\.1\.3-(3|4)$/.test(id))) {
      await expectClosedWithoutConnack(broker, `${id} ${what}`, bytes);
    }
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-3.1.3-10] the will topic and [MQTT-3.1.3-11] the user name are UTF-8 strings of section
  // 1.5.3: ill-formed, or with U+0000, the CONNECT is closed without CONNACK and no will is kept.
  it('closes, without CONNACK, a CONNECT whose will topic or user name is not a valid UTF-8 string', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => true } });
    const watcher = await watch(broker);
    for (const [id, what, bytes] of NONCONFORMING.filter(([id]) => /3\.1\.3-(10|11)$/.test(id))) {
      await expectClosedWithoutConnack(broker, `${id} ${what}`, bytes);
    }
    await watcher.expectNothing(50);
  });
});

describe('3.1.1 section 3.1.4: response', () => {
  // [MQTT-3.1.4-1] a CONNECT that does not conform to section 3.1 is closed without a CONNACK:
  // every case of this file's table, 3.1.1 and, where 3.1 shares the rule, 3.1 (MQIsdp).
  it('closes every non-conforming CONNECT without sending a CONNACK, and acts on nothing behind it', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => true } });
    const watcher = await watch(broker);
    for (const [id, what, bytes] of NONCONFORMING) {
      await expectClosedWithoutConnack(broker, `${id} ${what}`, bytes);
      const v3 = Buffer.from(bytes);
      // MQIsdp is two bytes longer than MQTT: rebuild the header for 3.1.
      const rest = v3.subarray(2 + 2 + 4 + 1);
      const body = [...field('MQIsdp'), 3, ...rest];
      await expectClosedWithoutConnack(broker, `3.1 ${id} ${what}`, Buffer.from([0x10, body.length, ...body]));
    }
    await watcher.expectNothing(50);
    expect(broker.inspect.sessionCount()).toBe(1);
    expect(broker.inspect.retainedCount()).toBe(0);
  });

  // [MQTT-3.1.4-4] a valid CONNECT is acknowledged with a CONNACK with return code 0: the four
  // bytes 20 02 00 00 for a new session (3.1 and 3.1.1).
  it('acknowledges a valid CONNECT with CONNACK return code 0', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const c of [rawConnect(), rawConnect({ name: 'MQIsdp', level: 3, payload: field('old') })]) {
      const client = openClient(broker);
      const chunks: Buffer[] = [];
      client.stream.on('data', (b: Buffer) => chunks.push(b));
      client.sendRaw(c);
      expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      expect(Buffer.concat(chunks)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    }
  });

  // [MQTT-3.1.4-4] the CONNECT is valid, so it is acknowledged with return code 0, even when a
  // malformed packet follows it in the same read: the CONNACK goes out first, then the close for
  // the packet after it (mosquitto does the same). Before the fix the whole read was dropped:
  // no CONNACK at all, depending on how TCP had cut the stream.
  it('acknowledges a valid CONNECT before closing for a malformed packet read with it', async (ctx) => {
    const broker = brokerFor(ctx);
    const watcher = await watch(broker);
    for (const [what, bad] of [
      ['PINGREQ with flags 0001', [0xc1, 0]],
      ['packet type 0', [0x00, 0]],
      ['a QoS 1 PUBLISH with packet id 0', [0x32, 6, 0, 1, 0x74, 0, 0, 0x78]],
    ] as const) {
      const client = openClient(broker);
      const publish = encode({ type: 'publish', topic: 'before', payload: Buffer.from(what), qos: 0, retain: false, dup: false }, 4);
      client.sendRaw(Buffer.concat([rawConnect(), publish, Buffer.from(bad)]));
      expect(await client.expect('connack'), what).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      await client.expectClosed();
      // The PUBLISH between them was well-formed and came first: it is routed.
      expect((await watcher.expect('publish')).payload.toString()).toBe(what);
    }
  });

  // [MQTT-3.1.4-4] the same when the CONNECT began in an earlier read and the read that completes
  // it also holds the malformed packet: the parser keeps what it completed before the error.
  it('acknowledges a CONNECT completed by the same read as a malformed packet', async (ctx) => {
    const broker = brokerFor(ctx);
    const client = openClient(broker);
    const connect = rawConnect();
    client.sendRaw(connect.subarray(0, 5));
    await new Promise((resolve) => setImmediate(resolve));
    client.sendRaw(Buffer.concat([connect.subarray(5), Buffer.from([0xc1, 0])]));
    expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    await client.expectClosed();
  });

  // [MQTT-3.1.4-4] the same with an asynchronous authenticate hook: CONNACK once it answers, then the close.
  it('acknowledges a valid CONNECT an asynchronous hook accepts before closing for the malformed packet behind it', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: async () => true } });
    const client = openClient(broker);
    client.sendRaw(Buffer.concat([rawConnect(), Buffer.from([0xc1, 0])]));
    expect(await client.expect('connack')).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    await client.expectClosed();
  });

  // [MQTT-3.1.4-5] once the server rejects a CONNECT it processes nothing the client sent after
  // it: refused for the protocol level (1), the client id (2), a will topic with a wildcard (3, the
  // broker's code for a refusal 3.1.1 has no code for), the credentials (4), authorization (5).
  it('processes nothing sent after a CONNECT it refuses, whatever the return code', async (ctx) => {
    const broker = brokerFor(ctx, {
      hooks: {
        authenticate: (c) => (c.clientId === 'badpass' ? false : c.clientId === 'badid' ? ReasonCode.ClientIdentifierNotValid : c.clientId === 'banned' ? ReasonCode.NotAuthorized : true),
      },
    });
    const watcher = await watch(broker);
    const refusals: [number, Buffer][] = [
      [1, rawConnect({ level: 9 })],
      [2, rawConnect({ flags: 0x00, payload: field('') })],
      [2, rawConnect({ payload: field('badid') })],
      [3, rawConnect({ flags: 0x06, payload: [...field('raw'), ...field('w/#'), ...field('m')] })],
      [4, rawConnect({ payload: field('badpass') })],
      [5, rawConnect({ payload: field('banned') })],
    ];
    for (const [code, bytes] of refusals) {
      const client = openClient(broker);
      client.sendRaw(Buffer.concat([bytes, SNEAKY]));
      // CONNACK with the refusal and nothing else: no PUBACK, SUBACK or PINGRESP.
      expect(await client.expect('connack'), `return code ${code}`).toEqual({ type: 'connack', sessionPresent: false, reasonCode: code });
      await client.expectClosed();
    }
    await watcher.expectNothing(50);
    expect(broker.inspect.retainedCount()).toBe(0);
    expect(broker.inspect.sessionCount()).toBe(1);
  });

  // [MQTT-3.1.4-5] also when the refusal comes later, from an asynchronous hook.
  it('processes nothing sent after a CONNECT an asynchronous hook refuses', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: async (c) => c.clientId !== 'raw' } });
    const watcher = await watch(broker);
    const { client, connack } = await tryConnect(broker, { clientId: 'raw' });
    expect(connack.reasonCode).toBe(4);
    await client.expectClosed();
    const piped = openClient(broker);
    piped.sendRaw(Buffer.concat([rawConnect(), SNEAKY]));
    expect((await piped.expect('connack')).reasonCode).toBe(4);
    await piped.expectClosed();
    await watcher.expectNothing(50);
    expect(broker.inspect.retainedCount()).toBe(0);
  });
});
