import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTlsFiles, TlsFileError, tlsClientOptions } from '../../../src/core/net/tls-files.js';

/** Only read here, not parsed: what a CA file must at least look like. */
const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqt-tls-files-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('readTlsFiles', () => {
  it('reads the CA file first, then every certificate of the CA directory sorted by name, whatever the case of the extension', async () => {
    await writeFile(join(dir, 'ca.pem'), CA);
    await mkdir(join(dir, 'capath'));
    // Written out of order: the result must not depend on the directory's order.
    for (const [name, text] of [['c.cer', 'C'], ['a.PEM', 'A'], ['b.crt', 'B'], ['notes.txt', 'no'], ['d.pem.bak', 'no']]) await writeFile(join(dir, 'capath', name!), text!);
    const files = await readTlsFiles({ caFile: join(dir, 'ca.pem'), caPath: join(dir, 'capath') });
    expect(files.ca?.map((b) => b.toString())).toEqual([CA, 'A', 'B', 'C']);
  });

  it('reads the certificate and the key, and names no CA when none was given (the system CAs then apply)', async () => {
    await writeFile(join(dir, 'cert.pem'), 'CERT');
    await writeFile(join(dir, 'key.pem'), 'KEY');
    const files = await readTlsFiles({ certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') });
    expect(files).toEqual({ cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
    expect('ca' in files).toBe(false);
  });

  it('refuses an empty CA directory instead of falling back to the system CAs', async () => {
    await mkdir(join(dir, 'empty'));
    const err = await readTlsFiles({ caPath: join(dir, 'empty') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsFileError);
    expect(err).toMatchObject({ code: 'EFILE', path: join(dir, 'empty'), message: `the CA directory '${join(dir, 'empty')}' is empty: it holds no .pem, .crt or .cer files` });
  });

  it('refuses a CA directory without certificate files, even with a CA file beside it', async () => {
    await writeFile(join(dir, 'ca.pem'), CA);
    await mkdir(join(dir, 'capath'));
    await writeFile(join(dir, 'capath', 'README'), 'x');
    await writeFile(join(dir, 'capath', 'ca.key'), 'x');
    await expect(readTlsFiles({ caFile: join(dir, 'ca.pem'), caPath: join(dir, 'capath') })).rejects.toThrow(
      `the CA directory '${join(dir, 'capath')}' holds no .pem, .crt or .cer files (only 2 other files)`,
    );
  });

  it.each([
    ['a missing CA file', () => ({ caFile: join(dir, 'nope.pem') }), () => `cannot read the CA file '${join(dir, 'nope.pem')}': no such file`],
    ['a directory as CA file', () => ({ caFile: dir }), () => `cannot read the CA file '${dir}': it is a directory, not a file`],
    ['a missing CA directory', () => ({ caPath: join(dir, 'nope') }), () => `cannot read the CA directory '${join(dir, 'nope')}': no such directory`],
    ['a file as CA directory', () => ({ caPath: join(dir, 'file.pem') }), () => `cannot read the CA directory '${join(dir, 'file.pem')}': not a directory`],
    ['a missing certificate', () => ({ certFile: join(dir, 'nope.pem') }), () => `cannot read the certificate file '${join(dir, 'nope.pem')}': no such file`],
    ['a path through a file', () => ({ keyFile: join(dir, 'file.pem', 'key.pem') }), () => `cannot read the key file '${join(dir, 'file.pem', 'key.pem')}': no such file (a part of the path is not a directory)`],
    ['a directory as key', () => ({ keyFile: dir }), () => `cannot read the key file '${dir}': it is a directory, not a file`],
  ])('names the file and the problem in one line: %s', async (_name, tls, message) => {
    await writeFile(join(dir, 'file.pem'), 'x');
    const err = await readTlsFiles(tls()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsFileError);
    expect((err as Error).message).toBe(message());
  });
});

describe('tlsClientOptions', () => {
  it('checks certificates unless insecure, and sets the exact version and ALPN', async () => {
    expect(await tlsClientOptions({ insecure: false }, '127.0.0.1')).toEqual({ rejectUnauthorized: true });
    expect(await tlsClientOptions({ insecure: true, version: 'TLSv1.2', alpn: ['mqtt', 'x-amzn-mqtt-ca'] }, '127.0.0.1')).toEqual({
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ALPNProtocols: ['mqtt', 'x-amzn-mqtt-ca'],
    });
  });

  it('sends SNI for a host name, never for an address', async () => {
    expect((await tlsClientOptions({ insecure: false }, 'broker.example')).servername).toBe('broker.example');
    expect((await tlsClientOptions({ insecure: false }, '10.0.0.1')).servername).toBeUndefined();
    expect((await tlsClientOptions({ insecure: false }, '::1')).servername).toBeUndefined();
  });

  it('carries the files read', async () => {
    await writeFile(join(dir, 'ca.pem'), CA);
    expect(await tlsClientOptions({ insecure: false, caFile: join(dir, 'ca.pem') }, '127.0.0.1')).toEqual({ rejectUnauthorized: true, ca: [Buffer.from(CA)] });
  });
});
