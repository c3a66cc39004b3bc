/**
 * Listeners as mosquitto.conf declares them: the draft a listener is while the file is read,
 * and the checks made once it is complete (TLS needs certfile and keyfile; TLS-only settings on a
 * plain listener; two listeners that would bind the same port and address).
 */
import { ConfError, type ConfSource, type ListenerConf, type ListenerTlsConf, type SecurityConf } from './conf-types.js';

/** A listener being read: its settings, and where each was set (for errors and duplicates). */
export interface Draft {
  isDefault: boolean;
  port?: number;
  host?: string;
  family?: 4 | 6;
  protocol?: 'mqtt' | 'websockets';
  certFile?: string;
  keyFile?: string;
  // The rest of the TLS settings, each optional while the file is read.
  caFile?: ListenerTlsConf['caFile'];
  caPath?: ListenerTlsConf['caPath'];
  requireCertificate?: ListenerTlsConf['requireCertificate'];
  tlsVersion?: ListenerTlsConf['tlsVersion'];
  ciphers?: ListenerTlsConf['ciphers'];
  ciphersTls13?: ListenerTlsConf['ciphersTls13'];
  maxConnections?: number;
  useIdentityAsUsername?: boolean;
  security: SecurityConf;
  /** First line of each directive applied to this listener. */
  set: Map<string, ConfSource>;
  source?: ConfSource;
}

export const newDraft = (isDefault: boolean, source?: ConfSource): Draft => ({ isDefault, security: {}, set: new Map(), ...(source ? { source } : {}) });

const TLS_ONLY: Array<[keyof Draft, string]> = [
  ['caFile', 'cafile'],
  ['caPath', 'capath'],
  ['requireCertificate', 'require_certificate'],
  ['tlsVersion', 'tls_version'],
  ['ciphers', 'ciphers'],
  ['ciphersTls13', 'ciphers_tls1.3'],
  ['useIdentityAsUsername', 'use_identity_as_username'],
];

export function listenerConf(d: Draft): ListenerConf {
  const src = d.source!;
  const where = d.isDefault ? `the default listener (port ${d.port})` : `the listener of ${src.file}:${src.line}`;
  const at = (name: string): ConfSource => d.set.get(name) ?? src;
  const fail = (name: string, problem: string): never => {
    const s = at(name);
    throw new ConfError(s.file, s.line, problem);
  };
  if (d.certFile !== undefined && d.keyFile === undefined) fail('certfile', `certfile without keyfile on ${where}; add keyfile (TLS needs both; mosquitto would serve plain TCP)`);
  if (d.keyFile !== undefined && d.certFile === undefined) fail('keyfile', `keyfile without certfile on ${where}; add certfile (TLS needs both; mosquitto would serve plain TCP)`);
  const tls = d.certFile !== undefined && d.keyFile !== undefined;
  if (!tls) {
    for (const [key, name] of TLS_ONLY) {
      if (d[key] !== undefined) fail(name, `${name} on ${where}, which has no certfile and keyfile: mosquitto ignores it and serves plain TCP; add certfile and keyfile, or remove ${name}`);
    }
  }
  if (d.requireCertificate === true && d.caFile === undefined && d.caPath === undefined) {
    fail('require_certificate', `require_certificate true on ${where} needs cafile or capath to check client certificates against; add one`);
  }
  const ws = d.protocol === 'websockets';
  const out: ListenerConf = { kind: tls ? (ws ? 'wss' : 'tls') : ws ? 'ws' : 'tcp', port: d.port!, source: src };
  if (d.host !== undefined) out.host = d.host;
  if (d.family !== undefined) out.family = d.family;
  if (tls) {
    out.tls = { certFile: d.certFile!, keyFile: d.keyFile! };
    if (d.caFile !== undefined) out.tls.caFile = d.caFile;
    if (d.caPath !== undefined) out.tls.caPath = d.caPath;
    if (d.requireCertificate !== undefined) out.tls.requireCertificate = d.requireCertificate;
    if (d.tlsVersion !== undefined) out.tls.tlsVersion = d.tlsVersion;
    if (d.ciphers !== undefined) out.tls.ciphers = d.ciphers;
    if (d.ciphersTls13 !== undefined) out.tls.ciphersTls13 = d.ciphersTls13;
  }
  if (d.maxConnections !== undefined) out.maxConnections = d.maxConnections;
  if (d.useIdentityAsUsername !== undefined) out.useIdentityAsUsername = d.useIdentityAsUsername;
  Object.assign(out, d.security);
  return out;
}

/** Two listeners that would bind the same port on the same address (no address = every address). */
export function checkOverlaps(listeners: readonly ListenerConf[]): void {
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = listeners[j]!;
      const b = listeners[i]!;
      if (a.port !== b.port) continue;
      if (a.family !== undefined && b.family !== undefined && a.family !== b.family) continue;
      if (a.host !== undefined && b.host !== undefined && a.host !== b.host) continue;
      const first = `${a.source.file}:${a.source.line}`;
      throw new ConfError(b.source.file, b.source.line, `a second listener on port ${b.port}${b.host ? ` ${b.host}` : ''} overlaps the one of ${first}${a.host ? ` (${a.host})` : ' (every address)'}; the second could not bind (mosquitto fails with "Address already in use"); give it another port or address`);
    }
  }
}
