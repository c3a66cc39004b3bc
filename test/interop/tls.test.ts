/**
 * TLS listeners (tls and wss) with real clients: mosquitto_pub/mosquitto_sub (--cafile, and
 * --cert/--key when a certificate is required) and MQTT.js over mqtts and wss; the identity as
 * username, the minimum TLS version, and reloading the certificate.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import type { ListenerSpec, TlsServerFiles } from '../../src/core/broker/listeners/spec.js';
import type { ClientInfo } from '../../src/core/broker/types.js';
import { testCerts } from '../helpers/certs.js';
import { killPeers, needPeers, peers, runPeer, spawnPeer } from '../helpers/peers.js';
import { brokerEvent } from '../helpers/start-broker.js';
import { closeAll, openClient } from './mqttjs-client.js';

const c = testCerts();
const server: TlsServerFiles = { certFile: c.serverCert, keyFile: c.serverKey };
const mutual: TlsServerFiles = { ...server, caFile: c.ca, requireCertificate: true };

let brokers: Broker[] = [];
afterEach(async () => {
  await closeAll();
  await killPeers();
  await Promise.all(brokers.map((b) => b.close()));
  brokers = [];
});

async function start(specs: ListenerSpec[], seen?: { username: string | undefined; password: Buffer | undefined }[]): Promise<{ broker: Broker; ports: number[]; urls: string[] }> {
  const broker = createBroker(
    seen === undefined
      ? {}
      : {
          hooks: {
            authenticate: (_client: ClientInfo, username: string | undefined, password: Buffer | undefined) => {
              seen.push({ username, password });
              return true;
            },
          },
        },
  );
  brokers.push(broker);
  const records = await broker.listen(specs);
  return { broker, ports: records.map((r) => r.port), urls: records.map((r) => r.url) };
}

/** A raw TLS connection; resolves with the server certificate's serial once the handshake is done. */
function handshake(port: number, options: ConnectionOptions = {}): Promise<{ socket: TLSSocket; serial: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(c.ca), ...options }, () => resolve({ socket, serial: socket.getPeerCertificate().serialNumber }));
    socket.once('error', reject);
  });
}
const serialOf = (file: string): string => new X509Certificate(readFileSync(file)).serialNumber;

const gate = needPeers('mosquitto-clients');

describe.skipIf(gate.skip)('mosquitto_pub/mosquitto_sub over TLS', () => {
  beforeEach(gate.check);

  it('publish and subscribe with --cafile', async () => {
    const { broker, ports } = await start([{ kind: 'tls', port: 0, tls: server }]);
    const tlsArgs = ['-h', '127.0.0.1', '-p', String(ports[0]), '--cafile', c.ca];
    const subscribed = brokerEvent(broker, 'subscribe', (client) => client.clientId === 'tls-sub');
    const sub = spawnPeer(peers().mosquittoSub!, [...tlsArgs, '-i', 'tls-sub', '-t', 'tls/t', '-C', '1', '-W', '10']);
    await subscribed;
    const pub = await runPeer(peers().mosquittoPub!, [...tlsArgs, '-t', 'tls/t', '-m', 'over tls', '-q', '1']);
    expect(pub.code, pub.stderr).toBe(0);
    expect((await sub.waitForExit(10_000)).code).toBe(0);
    expect(sub.lines).toEqual(['over tls']);
  });

  it('requireCertificate: with a client certificate it connects; without one or with a stranger CA\'s it is refused', async () => {
    const { ports } = await start([{ kind: 'tls', port: 0, tls: mutual }]);
    const base = ['-h', '127.0.0.1', '-p', String(ports[0]), '--cafile', c.ca, '-t', 'tls/m', '-m', 'x'];
    const ok = await runPeer(peers().mosquittoPub!, [...base, '--cert', c.clientCert, '--key', c.clientKey]);
    expect(ok.code, ok.stderr).toBe(0);
    const none = await runPeer(peers().mosquittoPub!, base);
    expect(none.code).not.toBe(0);
    const stranger = await runPeer(peers().mosquittoPub!, [...base, '--cert', c.strangerCert, '--key', c.strangerKey]);
    expect(stranger.code).not.toBe(0);
  });
});

describe('MQTT.js over mqtts and wss', () => {
  it('connects, subscribes and receives on both', async () => {
    const { urls } = await start([
      { kind: 'tls', port: 0, tls: server },
      { kind: 'wss', port: 0, path: '/mqtt', tls: server },
    ]);
    expect(urls[0]).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(urls[1]).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const ca = readFileSync(c.ca);
    const overTls = await openClient(urls[0]!, { ca, protocolVersion: 5 });
    const overWss = await openClient(urls[1]!, { ca, protocolVersion: 4 });
    await overWss.client.subscribeAsync('both/#', { qos: 1 });
    await overTls.client.publishAsync('both/x', 'from mqtts', { qos: 1 });
    const got = await overWss.next();
    expect(got.topic).toBe('both/x');
    expect(got.payload).toBe('from mqtts');
  });

  it('wss with requireCertificate: the client certificate reaches the broker (TransportInfo.peerCertificate)', async () => {
    const { broker, urls } = await start([{ kind: 'wss', port: 0, tls: mutual }]);
    const connected = brokerEvent(broker, 'client');
    await openClient(urls[0]!, { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
    const [client] = await connected;
    expect(client.transport?.listener.kind).toBe('wss');
    expect(client.transport?.peerCertificate?.subject.CN).toBe('mqt-client');
    await expect(openClient(urls[0]!, { ca: readFileSync(c.ca) }, 2000)).rejects.toThrow();
  });
});

describe('useIdentityAsUsername', () => {
  it('the certificate CN is the username the authenticate hook sees, whatever the client sent; the password is dropped', async () => {
    const seen: { username: string | undefined; password: Buffer | undefined }[] = [];
    const { urls } = await start([
      { kind: 'tls', port: 0, tls: mutual, useIdentityAsUsername: true },
      { kind: 'wss', port: 0, tls: mutual, useIdentityAsUsername: true },
    ], seen);
    const creds = { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey), username: 'claimed', password: 'pw' };
    await openClient(urls[0]!, creds);
    await openClient(urls[1]!, { ...creds, protocolVersion: 5 });
    expect(seen).toEqual([
      { username: 'mqt-client', password: undefined },
      { username: 'mqt-client', password: undefined },
    ]);
  });

  it('a certificate without a CN is refused with bad user name or password (0x86), as mosquitto 2 does', async () => {
    const seen: { username: string | undefined; password: Buffer | undefined }[] = [];
    const { urls } = await start([{ kind: 'tls', port: 0, tls: mutual, useIdentityAsUsername: true }], seen);
    const err = await openClient(urls[0]!, { ca: readFileSync(c.ca), cert: readFileSync(c.noCnCert), key: readFileSync(c.noCnKey), protocolVersion: 5 }, 3000).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: number },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.code).toBe(0x86);
    expect(seen).toEqual([]);
  });

  it('no certificate at all (requireCertificate off) is refused, 3.1.1 return code 4', async () => {
    const { urls } = await start([{ kind: 'tls', port: 0, tls: { ...server, caFile: c.ca }, useIdentityAsUsername: true }]);
    const err = await openClient(urls[0]!, { ca: readFileSync(c.ca), protocolVersion: 4 }, 3000).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: number },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.code).toBe(4);
  });
});

describe('tlsVersion', () => {
  it('tlsv1.3 refuses a client that speaks at most TLS 1.2 and serves one that speaks 1.3', async () => {
    const { ports } = await start([{ kind: 'tls', port: 0, tls: { ...server, tlsVersion: 'tlsv1.3' } }]);
    await expect(handshake(ports[0]!, { maxVersion: 'TLSv1.2' })).rejects.toThrow(/protocol version|alert/i);
    const { socket } = await handshake(ports[0]!);
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
  });
});

describe('reload', () => {
  it('a renewed certificate goes to new connections, an open one stays; a broken file keeps the old one and says why', async () => {
    const certFile = join(c.dir, `reload-${process.pid}-${Date.now()}.crt`);
    copyFileSync(c.serverCert, certFile);
    const { broker, ports, urls } = await start([
      { kind: 'tls', port: 0, tls: { ...server, certFile } },
      { kind: 'wss', port: 0, tls: { ...server, certFile }, name: 'secure-ws' },
    ]);
    const before = await handshake(ports[0]!);
    expect(before.serial).toBe(serialOf(c.serverCert));
    before.socket.destroy();
    const open = await openClient(urls[0]!, { ca: readFileSync(c.ca) });

    copyFileSync(c.renewedCert, certFile);
    expect(await broker.reloadTls()).toEqual([]);
    const after = await handshake(ports[0]!);
    expect(after.serial).toBe(serialOf(c.renewedCert));
    after.socket.destroy();
    const wssAfter = await handshake(ports[1]!);
    expect(wssAfter.serial).toBe(serialOf(c.renewedCert));
    wssAfter.socket.destroy();
    // The connection made before the reload is still up and served.
    await open.client.publishAsync('still/up', 'yes', { qos: 1 });

    writeFileSync(certFile, 'broken\n');
    const errors = await broker.reloadTls();
    expect(errors).toEqual([
      `tls:${ports[0]}: TLS files not reloaded, the old ones stay in use: the certificate file '${certFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      `secure-ws: TLS files not reloaded, the old ones stay in use: the certificate file '${certFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    ]);
    const kept = await handshake(ports[0]!);
    expect(kept.serial).toBe(serialOf(c.renewedCert));
    kept.socket.destroy();
  });
});

describe('start-up checks reach listen()', () => {
  it('an EC certificate with an RSA key: listen() rejects naming the listener and the files', async () => {
    const b = createBroker();
    brokers.push(b);
    await expect(b.listen([{ kind: 'tcp', port: 0 }, { kind: 'tls', port: 0, tls: { ...server, keyFile: c.rsaKey } }])).rejects.toThrow(
      `tls listener on 127.0.0.1:0 failed: the key file '${c.rsaKey}' does not match the certificate '${c.serverCert}' (a rsa key for a ec certificate)`,
    );
  });
});
