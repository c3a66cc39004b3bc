import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, ConnectError, toClientOptions } from '../../../src/core/client/connect.js';
import type { ConnectionOptions } from '../../../src/core/client/types.js';
import { encode, ReasonCode, type Packet } from '../../../src/core/codec/index.js';
import { startFakeBroker } from '../../helpers/fake-broker.js';
import { freePort } from '../../helpers/free-port.js';
import { testCerts } from '../../helpers/certs.js';

function options(port: number, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    transport: 'mqtt',
    host: '127.0.0.1',
    port,
    wsPath: '/mqtt',
    clientId: 'test-client',
    keepalive: 60,
    protocolVersion: 5,
    fallback: true,
    clean: true,
    reconnect: false,
    ...extra,
  };
}

type Answer = Buffer | 'close' | 'silent';

/**
 * A broker stand-in that answers each CONNECT as `answer` says and records what it received,
 * written on our codec so the test does not trust MQTT.js to check MQTT.js.
 */
async function fakeBroker(answer: (connect: Extract<Packet, { type: 'connect' }>, index: number) => Answer): Promise<{ port: number; packets: Packet[]; close(): Promise<void> }> {
  const packets: Packet[] = [];
  let connects = 0;
  const fake = await startFakeBroker({
    onPacket: (packet, client) => {
      packets.push(packet);
      if (packet.type !== 'connect') return false;
      const a = answer(packet, connects++);
      if (a === 'close') client.socket.destroy();
      else if (a !== 'silent') client.socket.write(a);
      return true;
    },
  });
  return { port: fake.port, packets, close: fake.close };
}

const connack = (reasonCode: number, version: 4 | 5): Buffer => encode({ type: 'connack', sessionPresent: false, reasonCode }, version);
/** What a 3.1.1-only broker sends to a CONNECT it cannot read: return code 1, in 3.1.1 form. */
const V311_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function broker(answer: Parameters<typeof fakeBroker>[0]) {
  const b = await fakeBroker(answer);
  cleanups.push(b.close);
  return b;
}
async function open(o: ConnectionOptions, hooks?: Parameters<typeof connect>[1]) {
  const conn = await connect(o, hooks);
  cleanups.push(() => conn.destroy());
  return conn;
}

describe('toClientOptions', () => {
  it('maps MQTT 3.1 to protocol name MQIsdp, level 3 [MQTT 3.1 section 3.1]', async () => {
    expect(await toClientOptions(options(1, { protocolVersion: 3 }))).toMatchObject({ protocolId: 'MQIsdp', protocolVersion: 3 });
    expect(await toClientOptions(options(1, { protocolVersion: 4 }))).toMatchObject({ protocolId: 'MQTT', protocolVersion: 4 });
  });

  it('starts with reconnecting off and a connect timeout', async () => {
    expect(await toClientOptions(options(1, { reconnect: true, connectTimeoutMs: 1234 }))).toMatchObject({ reconnectPeriod: 0, connectTimeout: 2234 });
  });

  it('sends properties and will properties only with MQTT 5', async () => {
    const o = options(1, {
      properties: { sessionExpiryInterval: 30, userProperties: [['k', 'v']] },
      will: { topic: 'w', payload: Buffer.from('gone'), qos: 1, retain: true, properties: { willDelayInterval: 5, payloadFormatIndicator: 1 } },
    });
    expect(await toClientOptions(o)).toMatchObject({
      properties: { sessionExpiryInterval: 30, userProperties: { k: 'v' } },
      will: { topic: 'w', payload: Buffer.from('gone'), qos: 1, retain: true, properties: { willDelayInterval: 5, payloadFormatIndicator: true } },
    });
    const v4 = await toClientOptions(o, 4);
    expect(v4.properties).toBeUndefined();
    expect(v4.will).toEqual({ topic: 'w', payload: Buffer.from('gone'), qos: 1, retain: true });
  });

  it('gives WebSocket its path', async () => {
    expect(await toClientOptions(options(80, { transport: 'ws', wsPath: '/x' }))).toMatchObject({ protocol: 'ws', path: '/x' });
  });

  describe('TLS', () => {
    let dir: string;
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('reads the CA, certificate and key, and sets the version and ALPN', async () => {
      dir = await mkdtemp(join(tmpdir(), 'mqt-tls-'));
      // Read, not parsed, but for the CA file, whose certificates must parse (a real one, made by openssl).
      const ca = readFileSync(testCerts().ca, 'utf8');
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(dir, f), f === 'ca.pem' ? ca : f);
      const o = await toClientOptions(
        options(8883, {
          transport: 'mqtts',
          tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), insecure: false, version: 'TLSv1.3', alpn: ['mqtt'] },
        }),
      );
      expect(o).toMatchObject({ protocol: 'mqtts', ca: [Buffer.from(ca)], cert: Buffer.from('cert.pem'), key: Buffer.from('key.pem'), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ALPNProtocols: ['mqtt'], rejectUnauthorized: true });
    });

    it('reads every PEM of --capath, and --insecure turns verification off', async () => {
      dir = await mkdtemp(join(tmpdir(), 'mqt-tls-'));
      await writeFile(join(dir, 'a.pem'), 'A');
      await writeFile(join(dir, 'b.crt'), 'B');
      await writeFile(join(dir, 'readme.txt'), 'not a cert');
      const o = await toClientOptions(options(8883, { transport: 'wss', tls: { caPath: dir, insecure: true } }));
      expect(o.ca).toEqual([Buffer.from('A'), Buffer.from('B')]);
      expect(o.rejectUnauthorized).toBe(false);
      expect(o.wsOptions).toMatchObject({ ca: [Buffer.from('A'), Buffer.from('B')], rejectUnauthorized: false });
    });

    it('names a TLS file it cannot read', async () => {
      dir = await mkdtemp(join(tmpdir(), 'mqt-tls-'));
      const missing = join(dir, 'nope.pem');
      await expect(toClientOptions(options(8883, { transport: 'mqtts', tls: { caFile: missing, insecure: false } }))).rejects.toThrow(`cannot read the CA file '${missing}': no such file`);
      await expect(toClientOptions(options(8883, { transport: 'mqtts', tls: { caPath: dir, insecure: false } }))).rejects.toThrow(/holds no \.pem, \.crt or \.cer files/);
    });
  });
});

describe('connect', () => {
  it('connects with MQTT 5 and reports the CONNACK', async () => {
    const b = await broker(() => connack(0, 5));
    const conn = await open(options(b.port));
    expect(conn.protocolVersion).toBe(5);
    expect(conn.connack.reasonCode).toBe(0);
    expect(b.packets[0]).toMatchObject({ type: 'connect', protocolVersion: 5, clientId: 'test-client', clean: true, keepalive: 60 });
  });

  it('traces CONNECT and CONNACK through onPacket', async () => {
    const b = await broker(() => connack(0, 5));
    const seen: string[] = [];
    await open(options(b.port), { onPacket: (direction, packet) => seen.push(`${direction} ${packet.cmd}`) });
    expect(seen).toEqual(['sent connect', 'received connack']);
  });

  it.each([
    ['a 5.0 broker refusing 5 (0x84)', connack(ReasonCode.UnsupportedProtocolVersion, 5)],
    ['a 3.1.1 broker (return code 1 in 3.1.1 form)', V311_UNACCEPTABLE_PROTOCOL],
  ])('falls back to 3.1.1 for %s', async (_n, refusal) => {
    const b = await broker((c) => (c.protocolVersion === 5 ? refusal : connack(0, 4)));
    const notes: string[] = [];
    const conn = await open(options(b.port), { onFallback: (why) => notes.push(why) });
    expect(conn.protocolVersion).toBe(4);
    expect(b.packets.filter((p) => p.type === 'connect').map((p) => (p as { protocolVersion: number }).protocolVersion)).toEqual([5, 4]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/refused the connection: (Unsupported Protocol Version \(0x84\)|unacceptable protocol version \(return code 1\))/);
  });

  it('does not fall back when the user chose the version', async () => {
    const b = await broker(() => connack(ReasonCode.UnsupportedProtocolVersion, 5));
    const err = await connect(options(b.port, { fallback: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ reasonCode: 0x84, message: `127.0.0.1:${b.port} refused the connection: Unsupported Protocol Version (0x84); try another protocol version (-V 3.1.1 or -V 3.1)` });
  });

  it('does not fall back when that would drop what needs MQTT 5', async () => {
    const b = await broker(() => connack(ReasonCode.UnsupportedProtocolVersion, 5));
    const err = await connect(options(b.port), { needsMqtt5: ['--message-expiry'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reasonCode: 0x84 });
    expect((err as Error).message).toMatch(/falling back to MQTT 3.1.1 would drop --message-expiry, which need MQTT 5$/);
    expect(b.packets.filter((p) => p.type === 'connect')).toHaveLength(1);
  });

  it('carries the CONNACK reason code of a refusal, with a hint', async () => {
    const b = await broker(() => connack(ReasonCode.BadUserNameOrPassword, 5));
    await expect(connect(options(b.port))).rejects.toMatchObject({
      reasonCode: 0x86,
      message: `127.0.0.1:${b.port} refused the connection: Bad User Name or Password (0x86); check the user name and password (-u, -P)`,
    });
  });

  it('names a 3.1.1 return code as 3.1.1 does', async () => {
    const b = await broker(() => connack(5, 4));
    await expect(connect(options(b.port, { protocolVersion: 4 }))).rejects.toMatchObject({
      reasonCode: 5,
      message: expect.stringMatching(/refused the connection: not authorized \(return code 5\); this user may not connect/) as unknown as string,
    });
  });

  it('explains a refused TCP connection', async () => {
    const port = await freePort();
    await expect(connect(options(port))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      reasonCode: undefined,
      message: `connection refused by 127.0.0.1:${port}: is a broker running there and listening on port ${port}?`,
    });
  });

  it('explains plain MQTT sent to a WebSocket port: it answered in HTTP (told by the bytes, not by the parse error)', async () => {
    const server = createServer((sock) => sock.once('data', () => sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(connect(options(port))).rejects.toMatchObject({
        code: 'EHTTP',
        message: `127.0.0.1:${port} answered in HTTP, not MQTT: port ${port} serves WebSocket (or the web); connect with --ws (or -L ws://127.0.0.1:${port}/mqtt)`,
      });
    } finally {
      server.close();
    }
  });

  it('explains a connection closed before CONNACK', async () => {
    const b = await broker(() => 'close');
    await expect(connect(options(b.port))).rejects.toThrow(`127.0.0.1:${b.port} closed the connection before accepting it: is it an MQTT endpoint?`);
  });

  it('gives up after the connect timeout when the broker stays silent', async () => {
    const b = await broker(() => 'silent');
    const started = Date.now();
    await expect(connect(options(b.port, { connectTimeoutMs: 300 }))).rejects.toThrow(`no answer from 127.0.0.1:${b.port} within 300 ms`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('turns reconnecting on once connected, when asked', async () => {
    const b = await broker(() => connack(0, 5));
    const conn = await open(options(b.port, { reconnect: true, reconnectPeriodMs: 250 }));
    expect(conn.client.options.reconnectPeriod).toBe(250);
  });

  it('ends with a DISCONNECT carrying its properties (5.0)', async () => {
    const b = await broker(() => connack(0, 5));
    const conn = await connect(options(b.port));
    await conn.end({ sessionExpiryInterval: 0, reasonString: 'bye' });
    await new Promise((r) => setTimeout(r, 50));
    expect(b.packets.at(-1)).toEqual({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0, reasonString: 'bye' } });
    await conn.end(); // a second end is harmless
  });
});
