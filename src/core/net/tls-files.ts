/**
 * The TLS files of a connection (CA file, CA directory, certificate, key), read in one place
 * with one behaviour for every caller: the MQTT.js commands (core/client/connect.ts), the raw
 * dialer of bench and lwt-test (dial.ts), and later the broker's TLS listeners. Before, two
 * copies had drifted: an empty --capath failed in one and silently trusted the system's CAs
 * in the other, and an unreadable file was a sentence in one and a raw ENOENT in the other.
 *
 * Every problem is a TlsFileError whose message is one line naming the file and what is
 * wrong with it, with code 'EFILE' (kept when the error crosses a worker thread as plain data).
 */
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

export type TlsVersion = 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsOptions {
  /** PEM files of the certificate authorities to trust instead of the system's. */
  caFile?: string | undefined;
  /** A directory of PEM files (*.pem, *.crt, *.cer) to trust, as mosquitto's --capath. */
  caPath?: string | undefined;
  /** Client certificate and its key (PEM), for brokers that authenticate by certificate. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** Accept any server certificate: no CA check, no host name check. */
  insecure: boolean;
  /** Exactly this TLS version (both the minimum and the maximum). */
  version?: TlsVersion | undefined;
  alpn?: string[] | undefined;
}

/** What the files hold, as node:tls takes it. `ca` is absent (not empty) when no CA was named. */
export interface TlsFiles {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

/** What node:tls (and ws, and MQTT.js) take for a client connection: the files plus the settings. */
export interface TlsClientOptions extends TlsFiles {
  rejectUnauthorized?: boolean;
  servername?: string;
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  ALPNProtocols?: string[];
}

/** A TLS file that cannot be used; the message names it and says why. */
export class TlsFileError extends Error {
  readonly code = 'EFILE';

  constructor(
    message: string,
    /** The file or directory at fault. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TlsFileError';
  }
}

/** Which file a message is about, in the words of the message. */
type Role = 'CA file' | 'CA directory' | 'certificate file' | 'key file';

/** The certificate files of a CA directory. mosquitto's capath is OpenSSL's hashed directory; reading every PEM in it serves the same purpose. */
const CERT_NAME = /\.(pem|crt|cer)$/i;

/** What went wrong, in words rather than an errno name. */
function reason(cause: unknown, directory: boolean): string {
  switch ((cause as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return directory ? 'no such directory' : 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'ENOTDIR':
      // The path, or a part of it, is a file where a directory must be.
      return directory ? 'not a directory' : 'no such file (a part of the path is not a directory)';
    default: {
      // Node's "ENXIO: no such device or address, open '/x'": the words, without the code and the path named already.
      const message = cause instanceof Error ? cause.message : String(cause);
      return /^[A-Z][A-Z0-9_]+: (.+?), \w+ '/.exec(message)?.[1] ?? message;
    }
  }
}

async function readOne(path: string, role: Role): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new TlsFileError(`cannot read the ${role} '${path}': ${reason(cause, false)}`, path, { cause });
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A CA file must hold certificates that parse: otherwise Node trusts nothing from it, and
 * every handshake fails as "signed by a CA this client does not trust", which sends the user
 * after the wrong file. One DER certificate (what some tools export) is taken too, as the
 * PEM node:tls reads.
 */
function caCertificates(data: Buffer, path: string): Buffer {
  const blocks = data.toString('latin1').match(PEM_CERT);
  if (blocks === null) {
    if (data.includes('-----BEGIN')) throw noPemCertificate('CA file', path);
    try {
      return Buffer.from(new X509Certificate(data).toString());
    } catch {
      throw noPemCertificate('CA file', path);
    }
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (cause) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      const why = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
      throw new TlsFileError(`the CA file '${path}' holds a PEM certificate that cannot be parsed${which}: ${why}`, path, { cause });
    }
  });
  return data;
}

/** A file that should hold PEM certificates and holds none (the broker's checks say it the same way). */
export function noPemCertificate(role: string, path: string): TlsFileError {
  return new TlsFileError(`the ${role} '${path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, path);
}

/** Every certificate file of `dir`, sorted by name so the order does not depend on the file system. */
async function readCaDirectory(dir: string): Promise<Buffer[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new TlsFileError(`cannot read the CA directory '${dir}': ${reason(cause, true)}`, dir, { cause });
  }
  // Without this, an empty directory would mean "trust the system's CAs": the opposite of what was asked.
  if (names.length === 0) throw new TlsFileError(`the CA directory '${dir}' is empty: it holds no .pem, .crt or .cer files`, dir);
  const certs = names.filter((n) => CERT_NAME.test(n)).sort();
  if (certs.length === 0) {
    throw new TlsFileError(`the CA directory '${dir}' holds no .pem, .crt or .cer files (only ${names.length} other file${names.length === 1 ? '' : 's'})`, dir);
  }
  const out: Buffer[] = [];
  for (const name of certs) out.push(await readOne(join(dir, name), 'CA file'));
  return out;
}

/**
 * THE reader of TLS files: the CA file, then every certificate of the CA directory, the
 * certificate and the key. Rejects with a TlsFileError at the first one that cannot be read,
 * then at a CA file that holds no certificate that parses (read errors first: a missing file
 * is said before the content of another).
 */
export async function readTlsFiles(tls: Pick<TlsOptions, 'caFile' | 'caPath' | 'certFile' | 'keyFile'>): Promise<TlsFiles> {
  const out: TlsFiles = {};
  const ca: Buffer[] = [];
  const caFile = tls.caFile !== undefined ? await readOne(tls.caFile, 'CA file') : undefined;
  if (tls.caPath !== undefined) ca.push(...(await readCaDirectory(tls.caPath)));
  if (tls.certFile !== undefined) out.cert = await readOne(tls.certFile, 'certificate file');
  if (tls.keyFile !== undefined) out.key = await readOne(tls.keyFile, 'key file');
  if (caFile !== undefined) ca.unshift(caCertificates(caFile, tls.caFile!));
  if (ca.length > 0) out.ca = ca;
  return out;
}

/**
 * The options of a TLS client connection to `host`: the files, certificate checks unless
 * `insecure`, the exact version, ALPN, and SNI. Read once per run, not once per connection.
 */
export async function tlsClientOptions(tls: TlsOptions, host: string): Promise<TlsClientOptions> {
  const out: TlsClientOptions = { rejectUnauthorized: !tls.insecure, ...(await readTlsFiles(tls)) };
  // SNI takes a name, never an address (RFC 6066 section 3; Node warns about an IP).
  if (isIP(host) === 0) out.servername = host;
  if (tls.version !== undefined) {
    out.minVersion = tls.version;
    out.maxVersion = tls.version;
  }
  if (tls.alpn !== undefined) out.ALPNProtocols = tls.alpn;
  return out;
}
