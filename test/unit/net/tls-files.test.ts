import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readTlsFiles, TlsFileError, tlsClientOptions } from '../../../src/core/net/tls-files.js';
import { testCerts } from '../../helpers/certs.js';

/** A real CA certificate (openssl, test/helpers/certs.ts): a CA file's certificates are parsed. */
let CA = '';
beforeAll(() => {
  CA = readFileSync(testCerts().ca, 'utf8');
});

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

describe('a CA file must hold certificates', () => {
  // The issue: a --cafile that was no certificate failed later as "signed by a CA this client does not trust".
  it.each([
    ['text', 'a key, a note, anything but a certificate\n'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n'],
    ['an empty file', ''],
  ])('%s: holds no PEM certificate', async (_name, text) => {
    await writeFile(join(dir, 'ca.pem'), text);
    const err = await readTlsFiles({ caFile: join(dir, 'ca.pem') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsFileError);
    expect((err as Error).message).toBe(`the CA file '${join(dir, 'ca.pem')}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });

  it('a PEM block that does not parse is named, with its place in a bundle', async () => {
    await writeFile(join(dir, 'ca.pem'), `${CA}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`);
    const err = await readTlsFiles({ caFile: join(dir, 'ca.pem') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`^the CA file '${join(dir, 'ca.pem')}' holds a PEM certificate that cannot be parsed \\(certificate 2 of 2\\): .+`));
  });

  it('a DER certificate is taken, as the PEM node:tls reads', async () => {
    const der = join(dir, 'ca.der');
    execFileSync('openssl', ['x509', '-in', testCerts().ca, '-outform', 'der', '-out', der]);
    const files = await readTlsFiles({ caFile: der });
    expect(files.ca?.[0]?.toString().replace(/\r/g, '').trim()).toBe(CA.trim());
  });

  it('a missing certificate file is said before a bad CA file (reading comes first)', async () => {
    await writeFile(join(dir, 'ca.pem'), 'nothing');
    await expect(readTlsFiles({ caFile: join(dir, 'ca.pem'), certFile: join(dir, 'nope.pem') })).rejects.toThrow(`cannot read the certificate file '${join(dir, 'nope.pem')}': no such file`);
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
