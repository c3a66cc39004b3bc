/**
 * The raw dialer over real TLS and secure WebSocket: certificates made by openssl in a temp
 * dir, servers on 127.0.0.1 port 0. What is checked is what the TLS options must do: trust the
 * CA given (file or directory), refuse a server signed by another, present the client
 * certificate, and offer the version and ALPN asked for.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectError } from '../../../src/core/client/diagnose.js';
import type { ConnectionOptions } from '../../../src/core/client/types.js';
import { createDialer, type DialOptions, type Link } from '../../../src/core/net/dial.js';
import type { TlsOptions } from '../../../src/core/net/tls-files.js';

/** In `dir`: ca.pem (and its key), server.pem for 127.0.0.1 signed by it, client.pem signed by it, other-ca.pem unrelated. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = (name: string): void => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  const ca = (name: string, subject: string): void => {
    key(name);
    openssl('req', '-x509', '-new', '-key', `${name}.key`, '-days', '2', '-subj', subject, '-out', `${name}.pem`);
  };
  const sign = (name: string, subject: string, ext: string): void => {
    key(name);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  ca('ca', '/CN=mqt dial test CA');
  ca('other-ca', '/CN=some other CA');
  sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  sign('client', '/CN=mqt dial client', 'basicConstraints=CA:FALSE');
  mkdirSync(join(dir, 'capath'));
  writeFileSync(join(dir, 'capath', 'ca.crt'), readFileSync(join(dir, 'ca.pem')));
}

let dir = '';
const file = (name: string): string => join(dir, name);

/** What the server saw of the last TLS connection it accepted. */
interface Seen {
  protocol: string | null;
  alpn: string | false | null;
  peerCn: string | undefined;
}
let seen: Seen | undefined;
const servers: { close(): void }[] = [];
let tlsPort = 0;
let clientCertPort = 0;
let wssPort = 0;

function record(socket: TLSSocket): void {
  const peer = socket.getPeerCertificate();
  seen = { protocol: socket.getProtocol(), alpn: socket.alpnProtocol, peerCn: socket.authorized ? String(peer.subject?.CN) : undefined };
}

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown; close(): void }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mqt-dial-'));
  makeCertificates(dir);
  const identity = { key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) };
  // Echo servers: what the link writes comes back as its data.
  const echo = (socket: TLSSocket): void => {
    record(socket);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => undefined);
  };
  tlsPort = await listen(createTlsServer({ ...identity, ALPNProtocols: ['mqtt'] }, echo));
  clientCertPort = await listen(createTlsServer({ ...identity, ca: readFileSync(file('ca.pem')), requestCert: true, rejectUnauthorized: true }, echo));
  const https = createHttpsServer(identity);
  const wss = new WebSocketServer({ server: https, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(data)));
  wssPort = await listen(https);
  servers.push(wss);
});

afterAll(() => {
  for (const s of servers) s.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function target(port: number, tls: TlsOptions, transport: DialOptions['transport'] = 'mqtts'): DialOptions {
  return { transport, host: '127.0.0.1', port, wsPath: '/mqtt', tls };
}

/** Writes `text`, resolves with what comes back (the servers echo), then closes the link. */
function roundTrip(link: Link, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    link.setHandler({
      onData(chunk) {
        got += chunk.toString();
        if (got.length >= text.length) {
          link.destroy();
          resolve(got);
        }
      },
      onDrain() {},
      onClose(err) {
        if (got.length < text.length) reject(err ?? new Error('closed before the echo'));
      },
    });
    link.write(Buffer.from(text));
  });
}

async function open(options: DialOptions): Promise<Link> {
  return (await createDialer(options)).open(5000);
}

describe('raw TLS dial', () => {
  it('trusts the CA file given, and offers the TLS version and ALPN asked for', async () => {
    const link = await open(target(tlsPort, { insecure: false, caFile: file('ca.pem'), version: 'TLSv1.2', alpn: ['mqtt'] }));
    expect(await roundTrip(link, 'hello over TLS')).toBe('hello over TLS');
    expect(seen).toMatchObject({ protocol: 'TLSv1.2', alpn: 'mqtt' });
  });

  it('trusts the certificates of a CA directory', async () => {
    const link = await open(target(tlsPort, { insecure: false, caPath: file('capath') }));
    expect(await roundTrip(link, 'capath')).toBe('capath');
  });

  it('refuses a server whose certificate another CA signed, as an unknown CA', async () => {
    const err = await open(target(tlsPort, { insecure: false, caFile: file('other-ca.pem') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const code = (err as NodeJS.ErrnoException).code;
    expect(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']).toContain(code);
    // And the user is told what to do about it, as for the MQTT.js commands.
    const o: ConnectionOptions = { ...target(tlsPort, { insecure: false }), clientId: 'x', keepalive: 60, protocolVersion: 4, fallback: false, clean: true, reconnect: false };
    expect(connectError(err as Error, o, 4).message).toMatch(/signed by a CA this client does not trust .*--cafile/);
  });

  it('accepts that server with --insecure', async () => {
    const link = await open(target(tlsPort, { insecure: true, caFile: file('other-ca.pem') }));
    expect(await roundTrip(link, 'insecure')).toBe('insecure');
  });

  it('presents the client certificate to a server that requires one', async () => {
    const tls = { insecure: false, caFile: file('ca.pem') };
    const link = await open(target(clientCertPort, { ...tls, certFile: file('client.pem'), keyFile: file('client.key') }));
    expect(await roundTrip(link, 'with a certificate')).toBe('with a certificate');
    expect(seen?.peerCn).toBe('mqt dial client');
    // Without it the server ends the handshake (TLS 1.3 may only say so after it: at the first read).
    await expect(open(target(clientCertPort, tls)).then((l) => roundTrip(l, 'without'))).rejects.toThrow();
  });
});

describe('raw secure WebSocket dial', () => {
  it('trusts the CA file given', async () => {
    const link = await open(target(wssPort, { insecure: false, caFile: file('ca.pem') }, 'wss'));
    expect(await roundTrip(link, 'hello over wss')).toBe('hello over wss');
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const err = await open(target(wssPort, { insecure: false, caFile: file('other-ca.pem') }, 'wss')).catch((e: unknown) => e);
    expect(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']).toContain((err as NodeJS.ErrnoException).code);
  });
});
