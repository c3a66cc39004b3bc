/**
 * MQTT 5.0 section 3.2: CONNACK first and only once, when the hooks that decide a CONNECT answer
 * asynchronously (authenticate, the will's authorizePublish, enhancedAuth): whatever the client
 * sent behind its CONNECT waits for the verdict, and a verdict that comes too late sends nothing.
 */
import { describe, expect, it } from 'vitest';
import type { AuthAnswer, AuthRequest, ClientInfo } from '../../src/core/broker/types.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, Packet } from '../../src/core/codec/types.js';
import { brokerFor, openClient } from '../helpers/broker-client.js';
import { deferred, drain, proof, toyConnect, toyHook } from './auth-5-toy.js';

/** `value` a few milliseconds later: a hook that asks something far away. */
function later<T>(value: T, ms = 15): Promise<T> {
  return new Promise((resolve) => setTimeout(resolve, ms, value));
}

const CONNECT: ConnectPacket = { type: 'connect', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'a' };

/** Packets in one write, as a client that does not wait for CONNACK sends them. */
function oneWrite(...packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((p) => encode(p, 5)));
}

describe('CONNACK first and once, with asynchronous hooks', () => {
  // [MQTT-3.2.0-1] the first packet the server sends is CONNACK, though the client's SUBSCRIBE
  // and PINGREQ arrived with its CONNECT and the hooks answer later.
  it('async authenticate and will check: CONNACK comes before the answers to what followed the CONNECT', async (ctx) => {
    const broker = brokerFor(ctx, {
      hooks: {
        authenticate: () => later(true),
        authorizePublish: () => later(true),
      },
    });
    const client = openClient(broker, 5);
    client.sendRaw(
      oneWrite(
        { ...CONNECT, will: { topic: 'will/a', payload: Buffer.from('x'), qos: 0, retain: false } },
        { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] },
        { type: 'pingreq' },
      ),
    );
    const got = [await client.next(), await client.next(), await client.next()];
    expect(got.map((p) => p.type)).toEqual(['connack', 'suback', 'pingresp']);
    expect(got[0]).toMatchObject({ reasonCode: ReasonCode.Success });
    await client.expectNothing(30);
  });

  // [MQTT-3.2.0-1] with an enhanced authentication only AUTH may come before CONNACK; an
  // asynchronous hook at both steps changes nothing.
  it('async enhancedAuth: only AUTH before CONNACK, then the client’s packets are answered', async (ctx) => {
    const toy = toyHook();
    const broker = brokerFor(ctx, { hooks: { enhancedAuth: (c: ClientInfo, r: AuthRequest) => later(toy(c, r)) } });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    const challenge = await client.expect('auth');
    client.send(proof(challenge, 'alice'));
    const connack = await client.expect('connack');
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    client.send({ type: 'pingreq' });
    expect((await client.next()).type).toBe('pingresp');
    expect(toy.asked.map((a) => a.step)).toEqual(['connect', 'continue']);
  });

  // [MQTT-3.2.0-2] one CONNACK per connection: an async refusal with a second CONNECT behind it
  // gives one CONNACK and a close; nothing behind a refused CONNECT is answered.
  it('async refusal: one CONNACK, whatever followed the CONNECT, then the close', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => later(ReasonCode.NotAuthorized) } });
    const client = openClient(broker, 5);
    client.sendRaw(oneWrite(CONNECT, { ...CONNECT, clientId: 'again' }, { type: 'pingreq' }));
    expect(await drain(client)).toEqual([expect.objectContaining({ type: 'connack', reasonCode: ReasonCode.NotAuthorized })]);
  });

  // [MQTT-3.2.0-2] a second CONNECT held behind an async acceptance is a Protocol Error
  // (DISCONNECT 0x82), never a second CONNACK.
  it('async acceptance with a second CONNECT behind it: one CONNACK, then DISCONNECT 0x82', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => later(true) } });
    const client = openClient(broker, 5);
    client.sendRaw(oneWrite(CONNECT, { ...CONNECT, clientId: 'again' }));
    const got = await drain(client);
    expect(got.map((p) => p.type)).toEqual(['connack', 'disconnect']);
    expect(got[1]).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
  });

  // [MQTT-3.2.0-2] the CONNECT clock refused a client whose enhancedAuth hook had not answered:
  // the hook's late success sends no second CONNACK.
  it('an enhancedAuth answer after connectTimeoutMs refused the client sends no second CONNACK', async (ctx) => {
    const answer = deferred<AuthAnswer>();
    let asked = 0;
    const broker = brokerFor(ctx, {
      connectTimeoutMs: 200,
      hooks: {
        enhancedAuth: () => {
          asked++;
          return answer.promise;
        },
      },
    });
    const client = openClient(broker, 5);
    client.send(toyConnect('alice'));
    const got = await drain(client, 3000);
    expect(got).toEqual([expect.objectContaining({ type: 'connack', reasonCode: ReasonCode.NotAuthorized })]);
    expect(asked).toBe(1);
    answer.resolve({ reasonCode: 0 });
    await answer.promise;
    await new Promise((r) => setImmediate(r));
    expect(client.received).toEqual([]);
    expect(broker.inspect.sessionCount()).toBe(0);
  });
});
