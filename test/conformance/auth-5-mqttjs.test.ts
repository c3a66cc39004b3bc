/**
 * Enhanced authentication with a real client: MQTT.js 5 names the method in CONNECT, answers
 * the broker's AUTH 0x18 from its handleAuth callback, and is let in (or refused) over TCP.
 */
import { connect, type IConnackPacket, type MqttClient, type Packet } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { METHOD, SECRETS, toyHook } from './auth-5-toy.js';

let server: StartedBroker | undefined;
let client: MqttClient | undefined;

afterEach(async () => {
  client?.end(true);
  client = undefined;
  await server?.stop();
  server = undefined;
});

/** MQTT.js as `user` proving `secret`: resolves with the CONNACK, or rejects with MQTT.js's error. */
function mqttjsSignIn(url: string, user: string, secret: string, seen: Packet[]): Promise<IConnackPacket> {
  const c = connect(url, {
    protocolVersion: 5,
    clientId: `mqttjs-${user}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(user) },
  });
  client = c;
  c.on('packetreceive', (p) => seen.push(p));
  // The client's side of the toy method: the broker's nonce back with the secret.
  c.handleAuth = (packet, callback) => {
    const nonce = packet.properties?.authenticationData?.toString() ?? '';
    callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`${nonce}:${secret}`) } });
  };
  return new Promise((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
}

describe('MQTT.js 5 through an enhanced authentication', () => {
  // [MQTT-4.12.0-2] [MQTT-4.12.0-3] [MQTT-4.12.0-5] a real two-step exchange: MQTT.js reads the
  // broker's AUTH 0x18, answers it, and gets CONNACK 0x00 with the method; then it works as usual.
  it('MQTT.js answers the broker’s challenge from handleAuth, is let in, and publishes as the proven user', async () => {
    const hook = toyHook();
    const users: (string | undefined)[] = [];
    server = await startBroker({
      hooks: {
        enhancedAuth: hook,
        authorizePublish: (c) => {
          users.push(c.username);
          return true;
        },
      },
    });
    const seen: Packet[] = [];
    const connack = await mqttjsSignIn(server.url, 'alice', SECRETS['alice']!, seen);
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    expect(connack.properties?.authenticationData?.toString()).toBe('welcome alice');
    expect(seen.map((p) => p.cmd)).toEqual(['auth', 'connack']);
    expect(hook.asked.map((a) => a.step)).toEqual(['connect', 'continue']);
    await client!.subscribeAsync('mj/auth', { qos: 1 });
    const message = new Promise<string>((resolve) => client!.once('message', (_t, payload) => resolve(payload.toString())));
    await client!.publishAsync('mj/auth', 'hello', { qos: 1 });
    expect(await message).toBe('hello');
    expect(users).toEqual(['alice']);
  });

  // [MQTT-4.12.0-4] a wrong proof: CONNACK 0x86 (MQTT.js reports the code), and the connection closes.
  it('MQTT.js with a wrong secret is refused with CONNACK 0x86', async () => {
    server = await startBroker({ hooks: { enhancedAuth: toyHook() } });
    const seen: Packet[] = [];
    const err = await mqttjsSignIn(server.url, 'alice', 'not-it', seen).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(err?.code).toBe(ReasonCode.BadUserNameOrPassword);
    expect(seen.map((p) => p.cmd)).toEqual(['auth', 'connack']);
  });
});
