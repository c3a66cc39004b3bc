/**
 * MQTT 5.0 enhanced authentication during CONNECT (sections 4.12, 3.15, 3.1.2.11.9-10): the
 * AUTH exchange between CONNECT and CONNACK, refusals, what the client may send meanwhile, the
 * CONNECT clock over a slow exchange, a client leaving mid-exchange, and hooks that fail.
 * Raw packets through the in-process test client.
 */
import { describe, expect, it } from 'vitest';
import type { AuthAnswer, AuthRequest } from '../../src/core/broker/types.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { Packet } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, tryConnect, until } from '../helpers/broker-client.js';
import { METHOD, deferred, drain, proof, toyConnect, toyHook } from './auth-5-toy.js';

describe('the AUTH exchange of a CONNECT', () => {
  // [MQTT-4.12.0-2] the server needs more: AUTH 0x18; [MQTT-4.12.0-3] the client answers AUTH 0x18;
  // [MQTT-4.12.0-5] the AUTH and the success CONNACK carry the CONNECT's method.
  // [MQTT-3.15.2-1] the server's AUTH uses an Authenticate Reason Code (0x18).
  it('two steps: AUTH 0x18 with the method and a challenge, the client’s AUTH 0x18, then CONNACK 0x00 with the method and data', async (ctx) => {
    const hook = toyHook();
    const asked: string[] = [];
    const seen: (string | undefined)[] = [];
    const broker = brokerFor(ctx, {
      hooks: {
        enhancedAuth: hook,
        authenticate: (c) => {
          asked.push(c.clientId);
          return true;
        },
        authorizePublish: (c) => {
          seen.push(c.username);
          return true;
        },
      },
    });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { username: 'claimed' }));
    const challenge = await client.expect('auth');
    expect(challenge.reasonCode).toBe(ReasonCode.ContinueAuthentication);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    expect(challenge.properties?.authenticationData?.toString()).toBe('nonce-1');
    client.send(proof(challenge, 'alice'));
    const connack = await client.expect('connack');
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    expect(connack.properties?.authenticationData?.toString()).toBe('welcome alice');
    expect(hook.asked.map((a) => a.step)).toEqual(['connect', 'continue']);
    expect(hook.asked[1]!.state).toEqual({ user: 'alice', nonce: 'nonce-1' });
    // Enhanced authentication replaces authenticate; the proven name is the one hooks see.
    expect(asked).toEqual([]);
    client.publish('t', 'x', { qos: 1 });
    expect((await client.expect('puback')).reasonCode).toBe(ReasonCode.NoMatchingSubscribers);
    expect(seen).toEqual(['alice']);
  });

  // [MQTT-4.12.0-5] a one-step method: no AUTH at all, the CONNACK still names the method.
  it('one step: a hook that accepts the CONNECT at once gives CONNACK 0x00 with the method and no AUTH', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: (_c, r) => ({ reasonCode: r.data?.toString() === 'token-ok' ? 0 : 0x87 }) } });
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('token-ok') } });
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.properties?.authenticationMethod).toBe('TOKEN');
    expect(connack.properties?.authenticationData).toBeUndefined();
    await client.expectNothing(20);
  });

  // [MQTT-4.12.0-1] a method the hook does not support: CONNACK 0x8C, and the connection closes.
  it('a method the hook does not know is CONNACK 0x8C and a close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const { client, connack } = await tryConnect(broker, { protocolVersion: 5, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(connack.reasonCode).toBe(ReasonCode.BadAuthenticationMethod);
    expect(connack.properties?.authenticationMethod).toBeUndefined();
    await client.expectClosed();
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-4.12.0-1] with no hook at all, and also when setHooks() takes the hook away mid-exchange.
  it('without an enhancedAuth hook, even one removed mid-exchange, the method is CONNACK 0x8C and a close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    const challenge = await client.expect('auth');
    broker.setHooks({ enhancedAuth: undefined });
    client.send(proof(challenge, 'alice'));
    expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.BadAuthenticationMethod);
    await client.expectClosed();
    const { client: late, connack } = await tryConnect(broker, toyConnect('alice'));
    expect(connack.reasonCode).toBe(ReasonCode.BadAuthenticationMethod);
    await late.expectClosed();
  });

  // [MQTT-4.12.0-4] the server rejects at any point: CONNACK 0x80 or above, and close.
  it('a refusal at the first step or after the client’s answer is a CONNACK with the hook’s code and a close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const { client: nobody, connack: first } = await tryConnect(broker, toyConnect('mallory'));
    expect(first.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    expect(first.properties?.reasonString).toBe('no user mallory');
    await nobody.expectClosed();

    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    const challenge = await client.expect('auth');
    client.send({ ...proof(challenge, 'alice'), properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('nonce-2:guess') } });
    const second = await client.expect('connack');
    expect(second).toMatchObject({ sessionPresent: false, reasonCode: ReasonCode.BadUserNameOrPassword });
    await client.expectClosed();
    expect(broker.inspect.sessionCount()).toBe(0);
  });

  // [MQTT-4.12.0-4] a code CONNACK cannot carry (0x8E Session taken over) becomes 0x87 Not authorized.
  it('a refusal code CONNACK cannot carry goes out as 0x87', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: () => ({ reasonCode: ReasonCode.SessionTakenOver }) } });
    const { client, connack } = await tryConnect(broker, toyConnect('alice'));
    expect(connack.reasonCode).toBe(ReasonCode.NotAuthorized);
    await client.expectClosed();
  });

  // [MQTT-4.12.0-5] every AUTH must carry the CONNECT's method: another one, or none, is a Protocol Error.
  it.for([
    ['another method', { authenticationMethod: 'OTHER', authenticationData: Buffer.from('x') }],
    ['no method', { authenticationData: Buffer.from('x') }],
  ] as const)('the client’s AUTH with %s is CONNACK 0x82 and a close', async ([, properties], ctx) => {
    const hook = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: hook } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    await client.expect('auth');
    client.send({ type: 'auth', reasonCode: 0x18, properties });
    expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.ProtocolError);
    await client.expectClosed();
    expect(hook.asked.map((a) => a.step)).toEqual(['connect']);
  });

  // [MQTT-3.1.2-30] until CONNACK the client may send only AUTH or DISCONNECT: anything else is a
  // Protocol Error, refused with CONNACK 0x82 and not acted on.
  it.for<[string, Packet]>([
    ['PUBLISH', { type: 'publish', topic: 'early', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }],
    ['SUBSCRIBE', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'early', qos: 0 }] }],
    ['PINGREQ', { type: 'pingreq' }],
    ['AUTH 0x19 (re-authenticate)', { type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: METHOD } }],
  ])('a %s during the exchange is CONNACK 0x82 and a close', async ([, packet], ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const { client: watcher } = await connect(broker, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('early');
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    await client.expect('auth');
    client.send(packet);
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'connack', reasonCode: ReasonCode.ProtocolError })]);
    await watcher.expectNothing(20);
    expect(broker.inspect.sessionCount()).toBe(1);
  });

  // [MQTT-3.1.2-30] DISCONNECT is allowed: the client gives up, no CONNACK, no session, no will.
  it('a DISCONNECT during the exchange closes without CONNACK, session or will', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const { client: watcher } = await connect(broker, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('will/#');
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { will: { topic: 'will/alice', payload: Buffer.from('gone'), qos: 0, retain: false } }));
    await client.expect('auth');
    client.send({ type: 'disconnect', reasonCode: ReasonCode.DisconnectWithWillMessage });
    await client.expectClosed();
    await watcher.expectNothing(30);
    expect(broker.inspect.sessionCount()).toBe(1);
  });

  // [MQTT-4.12.0-3] AUTH 0x00 is the server's; [MQTT-3.15.2-1] 0x04 is no Authenticate Reason Code at all.
  it.for<[string, number[]]>([
    ['0x00 (success)', [0xf0, 0x05, 0x00, 0x03, 0x15, 0x00, 0x00]],
    ['0x04 (not an AUTH code)', [0xf0, 0x02, 0x04, 0x00]],
  ])('a client AUTH with reason code %s during the exchange is CONNACK 0x82', async ([, bytes], ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    await client.expect('auth');
    client.sendRaw(bytes);
    expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.ProtocolError);
    await client.expectClosed();
  });

  // [MQTT-3.15.1-1] AUTH's reserved fixed-header bits are 0; any other value is malformed: closed.
  it('an AUTH with a reserved fixed-header bit set during the exchange is CONNACK 0x81 and a close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    const challenge = await client.expect('auth');
    const bytes = Buffer.from(encode(proof(challenge, 'alice'), 5));
    bytes[0] = 0xf2;
    client.sendRaw(bytes);
    expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.MalformedPacket);
    await client.expectClosed();
  });
});

describe('the exchange and the session', () => {
  // [MQTT-4.12.0-5] with a store, whose commits hold acknowledgements back, the exchange runs the same
  // way, and a persistent session resumes through it (Session Present 1).
  it('with a store: AUTH, CONNACK with the method, and a resumed session on the next connection', async (ctx) => {
    const broker = brokerFor(ctx, { store: new MemoryStore(), hooks: { enhancedAuth: toyHook() } });
    await broker.ready();
    const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
    for (const present of [false, true]) {
      const client = openClient(broker, 5);
      client.send(toyConnect('alice', persistent));
      client.send(proof(await client.expect('auth'), 'alice'));
      const connack = await client.expect('connack');
      expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: present, properties: { authenticationMethod: METHOD } });
      await client.disconnect();
    }
  });
});

describe('a client that names no method', () => {
  // [MQTT-4.12.0-6] no Authentication Method in CONNECT: none in CONNACK, and no AUTH from the server, even with a hook.
  it('gets no Authentication Method in CONNACK and no AUTH; authenticate judges it, enhancedAuth is not asked', async (ctx) => {
    const hook = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: hook, authenticate: (_c, u) => u === 'plain' } });
    const { client, connack } = await connect(broker, { protocolVersion: 5, username: 'plain' });
    expect(connack.properties?.authenticationMethod).toBeUndefined();
    expect(connack.properties?.authenticationData).toBeUndefined();
    await client.expectNothing(20);
    const { client: refused, connack: no } = await tryConnect(broker, { protocolVersion: 5, clientId: 'r', username: 'other' });
    expect(no.reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    await refused.expectClosed();
    expect(hook.asked).toEqual([]);
  });

  // [MQTT-4.12.0-7] it must not send AUTH; the server answers one with DISCONNECT 0x82 and sends no AUTH [MQTT-4.12.0-6].
  it.for([0x18, 0x19])('its AUTH %d is DISCONNECT 0x82 and a close, never an AUTH back', async (code, ctx) => {
    const hook = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: hook } });
    const { client } = await connect(broker, { protocolVersion: 5 });
    client.send({ type: 'auth', reasonCode: code, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('alice') } });
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError })]);
    expect(hook.asked).toEqual([]);
  });
});

describe('a slow exchange, a client that leaves, a hook that fails', () => {
  // 5.0 section 4.12 leaves the time open: the exchange stays on the CONNECT clock (connectTimeoutMs).
  it('a client that does not answer the challenge within connectTimeoutMs is refused with CONNACK 0x87 and closed', async (ctx) => {
    const hook = toyHook();
    const broker = brokerFor(ctx, { connectTimeoutMs: 300, hooks: { enhancedAuth: hook } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { keepalive: 60 }));
    expect((await client.expect('auth')).reasonCode).toBe(ReasonCode.ContinueAuthentication);
    const connack = await client.expect('connack', 3000);
    expect(connack.reasonCode).toBe(ReasonCode.NotAuthorized);
    expect(connack.properties?.reasonString).toMatch(/not finished within 300 ms/);
    await client.expectClosed();
    expect(hook.asked.map((a) => a.step)).toEqual(['connect']);
    // One that answers is let in on the same broker.
    const quick = openClient(broker, 5);
    quick.send(toyConnect('bob'));
    quick.send(proof(await quick.expect('auth'), 'bob'));
    expect((await quick.expect('connack')).reasonCode).toBe(ReasonCode.Success);
  });

  it('a client that drops the connection while the hook decides leaves no session, and the late answer sends nothing', async (ctx) => {
    const answer = deferred<AuthAnswer>();
    const requests: AuthRequest[] = [];
    const broker = brokerFor(ctx, {
      hooks: {
        enhancedAuth: (_c, r) => {
          requests.push(r);
          return answer.promise;
        },
      },
    });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    await until(() => requests.length === 1, 2000, 'the hook asked');
    client.kill();
    await until(() => broker.inspect.connectionCount() === 0, 2000, 'the connection gone');
    answer.resolve({ reasonCode: 0 });
    await answer.promise;
    await new Promise((r) => setImmediate(r));
    expect(broker.inspect.sessionCount()).toBe(0);
    const { connack } = await connect(broker, { clientId: 'after', protocolVersion: 5 });
    expect(connack.reasonCode).toBe(0);
  });

  // A hook's failure refuses the client (CONNACK 0x83) and never takes the broker down.
  it.for<[string, () => AuthAnswer | Promise<AuthAnswer>]>([
    ['throws', () => {
      throw new Error('auth backend down');
    }],
    ['rejects', () => Promise.reject(new Error('auth backend down'))],
    ['answers nonsense', () => ({ reasonCode: 0x19 })],
    ['answers nothing', () => undefined as unknown as AuthAnswer],
  ])('a hook that %s is CONNACK 0x83 and a close; the broker serves on', async ([, enhancedAuth], ctx) => {
    const errors: Error[] = [];
    const broker = brokerFor(ctx, { hooks: { enhancedAuth } });
    broker.on('clientError', (_c, e) => errors.push(e));
    const { client, connack } = await tryConnect(broker, toyConnect('alice'));
    expect(connack.reasonCode).toBe(ReasonCode.ImplementationSpecificError);
    await client.expectClosed();
    expect(errors).toHaveLength(1);
    const { connack: ok } = await connect(broker, { clientId: 'plain', protocolVersion: 5 });
    expect(ok.reasonCode).toBe(0);
  });
});

describe('what the server’s AUTH may carry', () => {
  const chatty = (): AuthAnswer => ({ reasonCode: 0x18, data: Buffer.from('challenge'), reasonString: 'r'.repeat(60), userProperties: [['step', '1']] });

  // [MQTT-3.15.2-1] the server's AUTH uses an Authenticate Reason Code (0x18 here); the Reason String
  // and User Property go out when they fit and the client asked for problem information.
  it('sends the Reason String and User Properties when they fit', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: chatty } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { properties: { maximumPacketSize: 200 } }));
    const auth = await client.expect('auth');
    expect(auth.reasonCode).toBe(ReasonCode.ContinueAuthentication);
    expect(auth.properties).toMatchObject({ authenticationMethod: METHOD, reasonString: 'r'.repeat(60), userProperties: [['step', '1']] });
  });

  // [MQTT-3.15.2-2] no Reason String and [MQTT-3.15.2-3] no User Property that would take the AUTH past
  // the client's Maximum Packet Size: left out, the AUTH still sent.
  it('leaves the Reason String and User Properties out of an AUTH they would make too large', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: chatty } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { properties: { maximumPacketSize: 40 } }));
    const auth = await client.expect('auth');
    expect(auth.properties?.authenticationData?.toString()).toBe('challenge');
    expect(auth.properties?.reasonString).toBeUndefined();
    expect(auth.properties?.userProperties).toBeUndefined();
  });

  // [MQTT-3.1.2-29] Request Problem Information 0: no Reason String or User Properties on an AUTH.
  it('leaves them out for a client that asked for no problem information', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: chatty } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { properties: { requestProblemInformation: 0 } }));
    const auth = await client.expect('auth');
    expect(auth.properties?.reasonString).toBeUndefined();
    expect(auth.properties?.userProperties).toBeUndefined();
  });
});
