/**
 * One TLS file problem, one error, whichever way mqt connects: MQTT.js (connect.ts, for pub,
 * sub, retain-clear and lwt-test's watcher), the raw client (lwt-test's victim), the dialer
 * itself and the bench engine (pub and conn scenarios). None of them dials: a port nothing
 * listens on shows it, since a path that skipped the files would fail with ECONNREFUSED.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBench } from '../../../src/core/bench/index.js';
import { connect, ConnectError } from '../../../src/core/client/connect.js';
import { RawClient } from '../../../src/core/client/raw-client.js';
import type { ConnectionOptions, TlsOptions } from '../../../src/core/client/types.js';
import { createDialer } from '../../../src/core/net/dial.js';
import { TlsFileError } from '../../../src/core/net/tls-files.js';
import { CONFIG } from '../bench/fixtures.js';
import { freePort } from '../../helpers/free-port.js';

// Tests run as root here, and root reads any file whatever its mode: a file named locked.pem
// answers EACCES as Node does, so "permission denied" is checked on every machine.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const readFile = (async (path: Parameters<typeof fs.readFile>[0], ...rest: [never]) => {
    if (String(path).endsWith('locked.pem')) throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES', errno: -13, syscall: 'open', path: String(path) });
    return fs.readFile(path, ...rest);
  }) as typeof fs.readFile;
  return { ...fs, readFile, default: { ...fs, readFile } };
});

let dir: string;
let port: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqt-tls-errors-'));
  await mkdir(join(dir, 'empty'));
  await mkdir(join(dir, 'no-certs'));
  await writeFile(join(dir, 'no-certs', 'README'), 'not a certificate');
  await mkdir(join(dir, 'locked-capath'));
  await writeFile(join(dir, 'locked-capath', 'a.pem'), 'A');
  await writeFile(join(dir, 'locked-capath', 'locked.pem'), 'B');
  // Read, never parsed here: the first error these cases meet is the one about another file.
  await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
  await writeFile(join(dir, 'not-a-cert.pem'), 'a key, a note, anything but a certificate\n');
  await writeFile(join(dir, 'locked.pem'), 'x');
  port = await freePort();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function options(tls: TlsOptions): ConnectionOptions {
  return {
    transport: 'mqtts',
    host: '127.0.0.1',
    port,
    wsPath: '/mqtt',
    clientId: 'tls-errors',
    keepalive: 60,
    protocolVersion: 5,
    fallback: false,
    clean: true,
    reconnect: false,
    connectTimeoutMs: 2000,
    tls,
  };
}

const CASES: [string, () => Omit<TlsOptions, 'insecure'>, () => string][] = [
  ['an empty --capath', () => ({ caPath: join(dir, 'empty') }), () => `the CA directory '${join(dir, 'empty')}' is empty: it holds no .pem, .crt or .cer files`],
  ['a --capath without certificates', () => ({ caPath: join(dir, 'no-certs') }), () => `the CA directory '${join(dir, 'no-certs')}' holds no .pem, .crt or .cer files (only 1 other file)`],
  ['a missing --capath', () => ({ caPath: join(dir, 'nope') }), () => `cannot read the CA directory '${join(dir, 'nope')}': no such directory`],
  ['an unreadable file in --capath', () => ({ caPath: join(dir, 'locked-capath') }), () => `cannot read the CA file '${join(dir, 'locked-capath', 'locked.pem')}': permission denied`],
  ['a missing --cafile', () => ({ caFile: join(dir, 'nope.pem') }), () => `cannot read the CA file '${join(dir, 'nope.pem')}': no such file`],
  ['an unreadable --cafile', () => ({ caFile: join(dir, 'locked.pem') }), () => `cannot read the CA file '${join(dir, 'locked.pem')}': permission denied`],
  ['a --cafile that holds no certificate', () => ({ caFile: join(dir, 'not-a-cert.pem') }), () => `the CA file '${join(dir, 'not-a-cert.pem')}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
  ['a directory as --cafile', () => ({ caFile: join(dir, 'empty') }), () => `cannot read the CA file '${join(dir, 'empty')}': it is a directory, not a file`],
  ['a missing --cert', () => ({ caFile: join(dir, 'ca.pem'), certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'ca.pem') }), () => `cannot read the certificate file '${join(dir, 'nope.pem')}': no such file`],
  ['an unreadable --cert', () => ({ certFile: join(dir, 'locked.pem'), keyFile: join(dir, 'ca.pem') }), () => `cannot read the certificate file '${join(dir, 'locked.pem')}': permission denied`],
  ['a missing --key', () => ({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'nope.pem') }), () => `cannot read the key file '${join(dir, 'nope.pem')}': no such file`],
  ['an unreadable --key', () => ({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'locked.pem') }), () => `cannot read the key file '${join(dir, 'locked.pem')}': permission denied`],
  ['a directory as --key', () => ({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'empty') }), () => `cannot read the key file '${join(dir, 'empty')}': it is a directory, not a file`],
];

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (err: unknown) => err,
  );

describe.each(CASES)('%s', (_name, tls, expected) => {
  it('is the same one-line ConnectError (code EFILE) from MQTT.js (connect.ts) and from the raw client (raw-client.ts)', async () => {
    const o = options({ insecure: false, ...tls() });
    const viaMqttJs = await rejection(connect(o));
    const viaRaw = await rejection(RawClient.connect({ connection: o, clientId: 'raw', protocolVersion: 5, keepalive: 60, clean: true }));
    for (const err of [viaMqttJs, viaRaw]) {
      expect(err).toBeInstanceOf(ConnectError);
      expect(err).toMatchObject({ code: 'EFILE', message: expected() });
    }
  });

  it('is the same from the dialer and from both bench scenarios', async () => {
    const o = options({ insecure: false, ...tls() });
    const fromDialer = await rejection(createDialer(o));
    expect(fromDialer).toBeInstanceOf(TlsFileError);
    expect((fromDialer as Error).message).toBe(expected());
    const target = { name: 'tls-errors', connection: { ...o, protocolVersion: 4 as const } };
    for (const scenario of ['pub', 'conn'] as const) {
      // conn used to count the file's error once per connection and report a "successful" run.
      const fromBench = await rejection(runBench(target, { ...CONFIG, scenario, msgs: 10, conns: 5, concurrency: 5, timeoutMs: 2000 }));
      expect(fromBench).toMatchObject({ code: 'EFILE', message: expected() });
    }
  });
});
