/**
 * MQTT 5.0 re-authentication (section 4.12.1): AUTH 0x19 after CONNACK, with the method of the
 * CONNECT; success is AUTH 0x00, failure DISCONNECT and a close; other traffic goes on meanwhile;
 * the keep-alive still judges the client; hooks that fail. Raw packets, in-process.
 */
import { describe, expect, it } from 'vitest';
import type { Broker, CreateBrokerOptions } from '../../src/core/broker/broker.js';
import type { AuthAnswer, AuthRequest } from '../../src/core/broker/types.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { AuthPacket } from '../../src/core/codec/types.js';
import { brokerFor, connect, openClient, until, type TestClient } from '../helpers/broker-client.js';
import { METHOD, deferred, drain, proof, toyConnect, toyHook } from './auth-5-toy.js';

/** A client through the toy exchange as `user`, CONNACK read. */
async function signIn(broker: Broker, user: string, keepalive = 0): Promise<TestClient> {
  const client = openClient(broker, 5);
  client.send(toyConnect(user, { keepalive }));
  client.send(proof(await client.expect('auth'), user));
  expect((await client.expect('connack')).reasonCode).toBe(ReasonCode.Success);
  return client;
}

function reauth(user: string, method = METHOD): AuthPacket {
  return { type: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: method, authenticationData: Buffer.from(user) } };
}

function usernames(): { seen: (string | undefined)[]; hooks: CreateBrokerOptions['hooks'] } {
  const seen: (string | undefined)[] = [];
  return {
    seen,
    hooks: {
      authorizePublish: (c) => {
        seen.push(c.username);
        return true;
      },
    },
  };
}

describe('re-authentication', () => {
  // [MQTT-4.12.1-1] AUTH 0x19 with the CONNECT's method; [MQTT-4.12.0-2] the server's AUTH 0x18 and
  // [MQTT-4.12.0-5] every AUTH with that method; success: AUTH 0x00, and the new identity holds.
  // [MQTT-3.15.2-1] the server's AUTH packets use Authenticate Reason Codes only (0x18, 0x00).
  it('AUTH 0x19, AUTH 0x18 both ways, then AUTH 0x00 with the method and data; hooks see the proven user', async (ctx) => {
    const hook = toyHook();
    const { seen, hooks } = usernames();
    const broker = brokerFor(ctx, { hooks: { ...hooks, enhancedAuth: hook } });
    const client = await signIn(broker, 'alice');
    client.send(reauth('bob'));
    const challenge = await client.expect('auth');
    expect(challenge).toMatchObject({ reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: METHOD } });
    client.send(proof(challenge, 'bob'));
    const done = await client.expect('auth');
    expect(done.reasonCode).toBe(ReasonCode.Success);
    expect(done.properties?.authenticationMethod).toBe(METHOD);
    expect(done.properties?.authenticationData?.toString()).toBe('welcome bob');
    expect(hook.asked.map((a) => a.step)).toEqual(['connect', 'continue', 'reauthenticate', 'continue']);
    client.publish('t', 'x', { qos: 1 });
    await client.expect('puback');
    expect(seen).toEqual(['bob']);
    // Another one later works the same way.
    client.send(reauth('alice'));
    client.send(proof(await client.expect('auth'), 'alice'));
    expect((await client.expect('auth')).reasonCode).toBe(ReasonCode.Success);
  });

  // [MQTT-4.12.1-1] while the exchange goes on, the connection serves the client's other packets.
  it('other traffic flows while the client thinks and while an asynchronous hook decides', async (ctx) => {
    const toy = toyHook();
    let hold: ReturnType<typeof deferred<AuthAnswer>> | undefined;
    const enhancedAuth = (c: Parameters<typeof toy>[0], r: AuthRequest): AuthAnswer | Promise<AuthAnswer> => {
      const answer = toy(c, r);
      if (r.step !== 'continue' || r.state === undefined || (r.state as { user: string }).user !== 'bob') return answer;
      hold = deferred<AuthAnswer>();
      return hold.promise.then(() => answer);
    };
    const broker = brokerFor(ctx, { hooks: { enhancedAuth } });
    const client = await signIn(broker, 'alice');
    await client.subscribe('flow');
    client.send(reauth('bob'));
    const challenge = await client.expect('auth');
    // Between the server's AUTH 0x18 and the client's answer.
    client.publish('flow', 'one', { qos: 1 });
    const packets = [await client.next(), await client.next()].map((p) => p.type).sort();
    expect(packets).toEqual(['puback', 'publish']);
    client.send(proof(challenge, 'bob'));
    await until(() => hold !== undefined, 2000, 'the hook asked');
    // The hook has not answered: a PINGREQ and a QoS 1 PUBLISH are answered all the same.
    client.send({ type: 'pingreq' });
    expect((await client.expect('pingresp')).type).toBe('pingresp');
    client.publish('flow', 'two', { qos: 1 });
    const more = [await client.next(), await client.next()].map((p) => p.type).sort();
    expect(more).toEqual(['puback', 'publish']);
    hold!.resolve({ reasonCode: 0 });
    expect((await client.expect('auth')).reasonCode).toBe(ReasonCode.Success);
  });

  // [MQTT-4.12.1-2] a failed re-authentication: DISCONNECT with the hook's code, and the connection closes.
  it('a refusal is DISCONNECT with the code and a close; a code DISCONNECT cannot carry becomes 0x87', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const { client: watcher } = await connect(broker, { clientId: 'watcher', protocolVersion: 5 });
    await watcher.subscribe('will/#');
    const client = openClient(broker, 5);
    client.send(toyConnect('alice', { will: { topic: 'will/alice', payload: Buffer.from('gone'), qos: 0, retain: false } }));
    client.send(proof(await client.expect('auth'), 'alice'));
    await client.expect('connack');
    client.send(reauth('bob'));
    const challenge = await client.expect('auth');
    client.send({ ...proof(challenge, 'bob'), properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('bad proof') } });
    // The toy answers 0x86 (Bad user name or password), a CONNACK-only code.
    const d = await client.expect('disconnect');
    expect(d.reasonCode).toBe(ReasonCode.NotAuthorized);
    expect(d.properties?.reasonString).toBe('wrong proof');
    await client.expectClosed();
    // Not a normal disconnection: the will goes out.
    expect((await watcher.expect('publish')).topic).toBe('will/alice');

    const other = await signIn(broker, 'bob');
    other.send(reauth('mallory'));
    const refused = await drain(other);
    expect(refused).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.NotAuthorized })]);
  });

  it('a refusal code DISCONNECT can carry goes out as it is', async (ctx) => {
    const toy = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: (c, r) => (r.step === 'reauthenticate' ? { reasonCode: ReasonCode.BadAuthenticationMethod } : toy(c, r)) } });
    const client = await signIn(broker, 'alice');
    client.send(reauth('alice'));
    // [MQTT-4.12.1-2]
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.BadAuthenticationMethod })]);
  });

  // [MQTT-4.12.1-1] the same method as the CONNECT: another one, or none, is a Protocol Error.
  it.for<[string, AuthPacket]>([
    ['another method', reauth('alice', 'OTHER')],
    ['no method', { type: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationData: Buffer.from('alice') } }],
  ])('AUTH 0x19 with %s is DISCONNECT 0x82 and a close', async ([, packet], ctx) => {
    const hook = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: hook } });
    const client = await signIn(broker, 'alice');
    client.send(packet);
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError })]);
    expect(hook.asked.map((a) => a.step)).toEqual(['connect', 'continue']);
  });

  // [MQTT-4.12.0-3] a client's AUTH 0x18 answers the server's, and nothing else; a second 0x19 while one runs is out of turn.
  it.for<[string, AuthPacket[]]>([
    ['AUTH 0x18 with no AUTH from the server to answer', [{ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD } }]],
    ['AUTH 0x19 while a re-authentication is under way', [reauth('alice'), reauth('alice')]],
  ])('%s is DISCONNECT 0x82', async ([, packets], ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = await signIn(broker, 'alice');
    for (const p of packets) client.send(p);
    const got = await drain(client);
    expect(got.at(-1)).toMatchObject({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    expect(got.slice(0, -1).every((p) => p.type === 'auth' && p.reasonCode === ReasonCode.ContinueAuthentication)).toBe(true);
  });

  // [MQTT-3.15.1-1] reserved bits of AUTH's fixed header set: malformed, DISCONNECT 0x81 and a close.
  it('an AUTH with a reserved fixed-header bit set is DISCONNECT 0x81 and a close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = await signIn(broker, 'alice');
    client.sendRaw([0xf1, 0x02, 0x19, 0x00]);
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.MalformedPacket })]);
  });

  // [MQTT-3.15.2-1] an AUTH reason code outside the Authenticate Reason Codes (0x87) is a Protocol Error.
  it('an AUTH with a reason code outside the AUTH table is DISCONNECT 0x82', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = await signIn(broker, 'alice');
    client.sendRaw([0xf0, 0x02, 0x87, 0x00]);
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.ProtocolError })]);
  });
});

describe('re-authentication: timeouts, departures, failing hooks', () => {
  // [MQTT-3.1.2-22] a client silent in the middle of a re-authentication is judged by its keep-alive as always.
  it('a client that goes silent after the server’s AUTH 0x18 is closed by its keep-alive (DISCONNECT 0x8D)', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: toyHook() } });
    const client = await signIn(broker, 'alice', 1);
    client.send(reauth('alice'));
    expect((await client.expect('auth')).reasonCode).toBe(ReasonCode.ContinueAuthentication);
    const d = await client.expect('disconnect', 4000);
    expect(d.reasonCode).toBe(ReasonCode.KeepAliveTimeout);
    await client.expectClosed();
  });

  it('a client that leaves while the hook decides: the late answer sends nothing, the broker serves on', async (ctx) => {
    const toy = toyHook();
    const hold = deferred<AuthAnswer>();
    let asked = false;
    const broker = brokerFor(ctx, {
      hooks: {
        enhancedAuth: (c, r) => {
          if (r.step !== 'reauthenticate') return toy(c, r);
          asked = true;
          return hold.promise;
        },
      },
    });
    const client = await signIn(broker, 'alice');
    client.send(reauth('alice'));
    await until(() => asked, 2000, 'the hook asked');
    client.kill();
    await until(() => broker.inspect.connectionCount() === 0, 2000, 'the connection gone');
    hold.resolve({ reasonCode: 0x18, data: Buffer.from('late') });
    await hold.promise;
    await new Promise((r) => setImmediate(r));
    const again = await signIn(broker, 'bob');
    await again.expectNothing(20);
  });

  // A hook's failure during re-authentication: DISCONNECT 0x83 and a close, never a crash.
  it.for<[string, () => AuthAnswer | Promise<AuthAnswer>]>([
    ['throws', () => {
      throw new Error('auth backend down');
    }],
    ['rejects', () => Promise.reject(new Error('auth backend down'))],
    ['answers a reason code below 0x80 that is not 0x00 or 0x18', () => Promise.resolve({ reasonCode: 0x04 })],
  ])('a hook that %s is DISCONNECT 0x83 and a close; the broker serves on', async ([, failing], ctx) => {
    const toy = toyHook();
    const errors: Error[] = [];
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: (c, r) => (r.step === 'reauthenticate' ? failing() : toy(c, r)) } });
    broker.on('clientError', (_c, e) => errors.push(e));
    const client = await signIn(broker, 'alice');
    client.send(reauth('alice'));
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'disconnect', reasonCode: ReasonCode.ImplementationSpecificError })]);
    expect(errors).toHaveLength(1);
    await signIn(broker, 'bob');
  });
});
