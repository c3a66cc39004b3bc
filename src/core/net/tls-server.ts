/**
 * A TLS server's files (certificate, key, CAs) read and checked before a listener opens or
 * reloads, so that what Node would accept but fail on later (every handshake, or the first
 * client's) is one line at start-up naming the file and what is wrong. Node already refuses a
 * key that does not match an RSA certificate; it misses an EC certificate with an RSA key: the
 * server starts and every handshake fails. X509Certificate.checkPrivateKey catches both.
 *
 * Like mosquitto (net__tls_load_verify / listener setup, net_mosq.c): require_certificate sets
 * SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; without it the verify mode is
 * SSL_VERIFY_NONE, so a cafile alone neither requests nor checks a client certificate.
 * tls_version is the minimum version; ciphers the TLS <= 1.2 list, ciphers_tls1.3 the 1.3 suites.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type { SecureContextOptions } from 'node:tls';
import { noPemCertificate, readTlsFiles, TlsFileError } from './tls-files.js';

export interface TlsServerFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
  caPath?: string;
  /** mosquitto's require_certificate: clients must present a certificate signed by the CA(s). */
  requireCertificate?: boolean;
  /** The minimum version, as mosquitto's tls_version. */
  tlsVersion?: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3';
  /** OpenSSL cipher list for TLS 1.2 and below (mosquitto's ciphers). */
  ciphers?: string;
  /** TLS 1.3 cipher suites (mosquitto's ciphers_tls1.3), e.g. TLS_AES_256_GCM_SHA384. */
  ciphersTls13?: string;
}

/** What node:tls takes for the server: its secure-context options plus the client-certificate policy. */
export interface TlsServerOptions extends SecureContextOptions {
  cert: Buffer;
  key: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** What a server certificate says about itself, for logs and tests. */
export interface ServerCertificateInfo {
  subject: string;
  serialNumber: string;
  validTo: string;
}

/**
 * node:tls, loaded at the first TLS listener: the broker bundle hoists a static import to start-up,
 * and a broker without TLS would hold it all its life (the same reason as ws in listeners/ws.ts).
 */
function nodeTls(): typeof import('node:tls') {
  return createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
}

const VERSION = { 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of `pem`; throws naming `path` when there is none or one cannot be parsed. */
function certificates(pem: Buffer, path: string, role: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT);
  if (blocks === null) throw noPemCertificate(role, path);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw new TlsFileError(`the ${role} '${path}' holds a PEM certificate that cannot be parsed: ${firstLine(cause)}`, path, { cause });
    }
  });
}

function firstLine(cause: unknown): string {
  return (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!;
}

function checkDates(cert: X509Certificate, path: string, role: string, now: number): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now < from) throw new TlsFileError(`the ${role} '${path}' is not valid yet: valid from ${cert.validFrom} to ${cert.validTo}`, path);
  if (now > to) throw new TlsFileError(`the ${role} '${path}' has expired: valid from ${cert.validFrom} to ${cert.validTo}`, path);
}

/**
 * Reads and checks a server's TLS files; rejects with a one-line TlsFileError (a file) or Error
 * (a cipher string) at the first problem. `now` is for tests of the validity dates.
 */
export async function loadTlsServer(files: TlsServerFiles, now = Date.now()): Promise<{ options: TlsServerOptions; certificate: ServerCertificateInfo }> {
  const read = await readTlsFiles({ certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile, caPath: files.caPath });
  const certPem = read.cert!;
  const keyPem = read.key!;
  const [leaf] = certificates(certPem, files.certFile, 'certificate file');
  checkDates(leaf!, files.certFile, 'certificate file', now);

  const keyText = keyPem.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(keyText)) {
    throw new TlsFileError(`the key file '${files.keyFile}' is encrypted with a passphrase, which we cannot read: decrypt it (openssl pkey -in key.pem -out plain.pem)`, files.keyFile);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw new TlsFileError(`the key file '${files.keyFile}' holds no PEM private key: ${firstLine(cause)}`, files.keyFile, { cause });
  }
  if (!leaf!.checkPrivateKey(key)) {
    throw new TlsFileError(
      `the key file '${files.keyFile}' does not match the certificate '${files.certFile}' (a ${key.asymmetricKeyType} key for a ${leaf!.publicKey.asymmetricKeyType} certificate${key.asymmetricKeyType === leaf!.publicKey.asymmetricKeyType ? ' of another key pair' : ''})`,
      files.keyFile,
    );
  }

  // Each CA file and every file of the CA directory, checked one by one so the message names it.
  if (read.ca !== undefined) {
    const caNames: string[] = [];
    if (files.caFile !== undefined) caNames.push(files.caFile);
    const fromDir = read.ca.length - caNames.length;
    for (let i = 0; i < fromDir; i++) caNames.push(`${files.caPath} (file ${i + 1})`);
    read.ca.forEach((pem, i) => certificates(pem, caNames[i]!, i === 0 && files.caFile !== undefined ? 'CA file' : 'CA directory'));
  }
  if (files.requireCertificate === true && read.ca === undefined) {
    throw new Error('requireCertificate needs a caFile or caPath: the CAs that sign the client certificates');
  }

  const options: TlsServerOptions = { cert: certPem, key: keyPem, requestCert: files.requireCertificate === true, rejectUnauthorized: files.requireCertificate === true };
  if (read.ca !== undefined) options.ca = read.ca;
  if (files.tlsVersion !== undefined) {
    const min = VERSION[files.tlsVersion];
    if (min === undefined) throw new Error(`tlsVersion '${String(files.tlsVersion)}' is not one of tlsv1.1, tlsv1.2, tlsv1.3`);
    options.minVersion = min;
  }
  // Node takes both lists in `ciphers`: the TLS_* names go to the 1.3 suites, the rest to the <= 1.2
  // list, and a string without TLS_* names turns TLS 1.3 off. mosquitto sets each list alone, the
  // other keeping its default: so the default of the one not given is added.
  if (files.ciphers !== undefined || files.ciphersTls13 !== undefined) {
    const defaults = nodeTls().DEFAULT_CIPHERS.split(':');
    const old = files.ciphers ?? defaults.filter((c) => !c.startsWith('TLS_')).join(':');
    const v13 = files.ciphersTls13 ?? defaults.filter((c) => c.startsWith('TLS_')).join(':');
    options.ciphers = `${v13}:${old}`;
  }
  checkCiphers(files);
  // Anything else OpenSSL refuses, once here rather than at the first handshake.
  try {
    nodeTls().createSecureContext(options);
  } catch (cause) {
    throw new Error(`TLS files '${files.certFile}' and '${files.keyFile}' are refused: ${firstLine(cause)}`, { cause });
  }
  return { options, certificate: { subject: leaf!.subject.replace(/\n/g, ', '), serialNumber: leaf!.serialNumber, validTo: leaf!.validTo } };
}

function checkCiphers(files: TlsServerFiles): void {
  const one = (name: string, value: string | undefined, tls13: boolean): void => {
    if (value === undefined) return;
    if (tls13 && value.split(':').some((s) => s !== '' && !s.startsWith('TLS_'))) {
      throw new Error(`ciphersTls13 '${value}': TLS 1.3 suites are named TLS_*, e.g. TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256`);
    }
    try {
      nodeTls().createSecureContext({ ciphers: value });
    } catch {
      throw new Error(`${name} '${value}' matches no cipher OpenSSL knows (see openssl ciphers -v)`);
    }
  };
  one('ciphers', files.ciphers, false);
  one('ciphersTls13', files.ciphersTls13, true);
}
