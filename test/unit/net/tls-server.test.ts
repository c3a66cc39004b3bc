import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { TlsFileError } from '../../../src/core/net/tls-files.js';
import { loadTlsServer, type TlsServerFiles } from '../../../src/core/net/tls-server.js';
import { testCerts } from '../../helpers/certs.js';

const c = testCerts();
const good: TlsServerFiles = { certFile: c.serverCert, keyFile: c.serverKey };

async function failure(files: TlsServerFiles): Promise<Error> {
  const err = await loadTlsServer(files).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'expected a start-up error').toBeInstanceOf(Error);
  expect(err!.message).not.toContain('\n');
  return err!;
}

describe('loadTlsServer', () => {
  it('loads a good certificate and key, no client certificate asked for', async () => {
    const { options, certificate } = await loadTlsServer(good);
    expect(options.requestCert).toBe(false);
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.ca).toBeUndefined();
    expect(certificate.subject).toContain('CN=localhost');
  });

  it('without requireCertificate a cafile does not make it ask for a client certificate (mosquitto: SSL_VERIFY_NONE)', async () => {
    const { options } = await loadTlsServer({ ...good, caFile: c.ca });
    expect(options.requestCert).toBe(false);
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.ca).toHaveLength(1);
  });

  it('requireCertificate asks for and verifies a client certificate', async () => {
    const { options } = await loadTlsServer({ ...good, caFile: c.ca, requireCertificate: true });
    expect(options.requestCert).toBe(true);
    expect(options.rejectUnauthorized).toBe(true);
  });

  it('requireCertificate without a CA is an error', async () => {
    expect((await failure({ ...good, requireCertificate: true })).message).toMatch(/requireCertificate needs a caFile or caPath/);
  });

  it('a missing file is named', async () => {
    const err = await failure({ ...good, certFile: join(c.dir, 'nope.crt') });
    expect(err).toBeInstanceOf(TlsFileError);
    expect(err.message).toBe(`cannot read the certificate file '${join(c.dir, 'nope.crt')}': no such file`);
  });

  it('a certificate file without a PEM certificate', async () => {
    expect((await failure({ ...good, certFile: c.garbage })).message).toBe(`the certificate file '${c.garbage}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });

  it('a key file without a key', async () => {
    expect((await failure({ ...good, keyFile: c.garbage })).message).toMatch(new RegExp(`^the key file '${c.garbage}' holds no PEM private key`));
  });

  it('an EC certificate with an RSA key, which Node itself accepts', async () => {
    // The case this check exists for: Node builds the context, and every handshake fails later.
    const { readFileSync } = await import('node:fs');
    expect(() => createSecureContext({ cert: readFileSync(c.serverCert), key: readFileSync(c.rsaKey) })).not.toThrow();
    const err = await failure({ ...good, keyFile: c.rsaKey });
    expect(err.message).toBe(`the key file '${c.rsaKey}' does not match the certificate '${c.serverCert}' (a rsa key for a ec certificate)`);
  });

  it('a key of another EC key pair', async () => {
    expect((await failure({ ...good, keyFile: c.clientKey })).message).toMatch(/does not match the certificate .* of another key pair\)$/);
  });

  it('an expired certificate, with its dates', async () => {
    expect((await failure({ ...good, certFile: c.expiredCert })).message).toBe(
      `the certificate file '${c.expiredCert}' has expired: valid from Jan  1 00:00:00 2020 GMT to Feb  1 00:00:00 2020 GMT`,
    );
  });

  it('a certificate not valid yet, with its dates', async () => {
    expect((await failure({ ...good, certFile: c.notYetCert })).message).toBe(
      `the certificate file '${c.notYetCert}' is not valid yet: valid from Dec  1 00:00:00 2099 GMT to Jan  1 00:00:00 2100 GMT`,
    );
  });

  it('a key under a passphrase', async () => {
    expect((await failure({ ...good, keyFile: c.encryptedKey })).message).toMatch(new RegExp(`^the key file '${c.encryptedKey}' is encrypted with a passphrase, which we cannot read`));
  });

  it('a CA file without a certificate, a missing or empty CA directory', async () => {
    expect((await failure({ ...good, caFile: c.garbage })).message).toBe(`the CA file '${c.garbage}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    expect((await failure({ ...good, caPath: join(c.dir, 'no-dir') })).message).toBe(`cannot read the CA directory '${join(c.dir, 'no-dir')}': no such directory`);
    const empty = join(c.dir, 'empty-capath');
    mkdirSync(empty, { recursive: true });
    expect((await failure({ ...good, caPath: empty })).message).toMatch(/is empty/);
  });

  it('a CA directory with a bad file names the directory', async () => {
    const dir = join(c.dir, 'bad-capath');
    mkdirSync(dir, { recursive: true });
    copyFileSync(c.ca, join(dir, 'a.pem'));
    writeFileSync(join(dir, 'b.pem'), 'nothing\n');
    expect((await failure({ ...good, caPath: dir })).message).toBe(`the CA directory '${dir} (file 2)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });

  it('tlsVersion is the minimum; ciphers and ciphersTls13 go to node:tls, each keeping the other default', async () => {
    const { options } = await loadTlsServer({ ...good, tlsVersion: 'tlsv1.3' });
    expect(options.minVersion).toBe('TLSv1.3');
    expect(options.maxVersion).toBeUndefined();
    const only12 = (await loadTlsServer({ ...good, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).options.ciphers!;
    expect(only12).toMatch(/^TLS_.*:ECDHE-ECDSA-AES128-GCM-SHA256$/);
    const only13 = (await loadTlsServer({ ...good, ciphersTls13: 'TLS_AES_256_GCM_SHA384' })).options.ciphers!;
    expect(only13.startsWith('TLS_AES_256_GCM_SHA384:')).toBe(true);
    expect(only13.split(':').filter((s) => s.startsWith('TLS_'))).toEqual(['TLS_AES_256_GCM_SHA384']);
  });

  it('a cipher string OpenSSL does not know is one line', async () => {
    expect((await failure({ ...good, ciphers: 'NO-SUCH-CIPHER' })).message).toBe("ciphers 'NO-SUCH-CIPHER' matches no cipher OpenSSL knows (see openssl ciphers -v)");
    expect((await failure({ ...good, ciphersTls13: 'TLS_NOPE' })).message).toBe("ciphersTls13 'TLS_NOPE' matches no cipher OpenSSL knows (see openssl ciphers -v)");
    expect((await failure({ ...good, ciphersTls13: 'AES256-SHA' })).message).toMatch(/^ciphersTls13 'AES256-SHA': TLS 1.3 suites are named TLS_\*/);
  });
});
