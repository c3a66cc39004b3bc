/**
 * Test certificates made with openssl in a temp dir, once per process (vitest runs each test
 * file in its own), removed at exit. EC P-256 keys, quick to make; RSA only where the test needs
 * it. `openssl ca` (not `x509 -req`) because it can set past and future validity dates.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string;
  /** localhost / 127.0.0.1 / ::1, signed by `ca`. */
  serverCert: string;
  serverKey: string;
  /** The same names and key, another serial: a renewed certificate. */
  renewedCert: string;
  /** CN=mqt-client, signed by `ca`. */
  clientCert: string;
  clientKey: string;
  /** Signed by `ca`, a subject without a CN (O=mqt only). */
  noCnCert: string;
  noCnKey: string;
  expiredCert: string;
  notYetCert: string;
  /** Another CA and a client certificate (CN=stranger) it signed. */
  strangerCa: string;
  strangerCert: string;
  strangerKey: string;
  /** An RSA key that belongs to no certificate here (serverCert is EC). */
  rsaKey: string;
  /** serverKey under a passphrase. */
  encryptedKey: string;
  /** A file that is no PEM at all. */
  garbage: string;
}

let made: TestCerts | undefined;

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', name]);
  return join(dir, name);
}

/** Sets up a CA directory (index, serial) for `openssl ca` and returns its config file. */
function caConfig(dir: string, name: string): string {
  const home = join(dir, `${name}.db`);
  mkdirSync(join(home, 'new'), { recursive: true });
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(join(home, 'serial'), `${name === 'ca' ? '1000' : '2000'}\n`);
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(
    cnf,
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${home}/index.txt`,
      `new_certs_dir = ${home}/new`,
      `serial = ${home}/serial`,
      'default_md = sha256',
      'policy = p',
      'unique_subject = no',
      'email_in_dn = no',
      '[p]',
      'organizationName = optional',
      'commonName = optional',
      '',
    ].join('\n'),
  );
  return cnf;
}

export function testCerts(): TestCerts {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), 'mqt-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const f = (name: string): string => join(dir, name);

  const makeCa = (name: string, cn: string): string => {
    ecKey(dir, `${name}.key`);
    openssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${cn}`]);
    return caConfig(dir, name);
  };
  const caCnf = makeCa('ca', 'mqt test CA');
  const strangerCnf = makeCa('stranger-ca', 'stranger CA');

  writeFileSync(f('server.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\nextendedKeyUsage = serverAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage = clientAuth\n');
  const sign = (cnf: string, ca: string, key: string, subj: string, out: string, ext: string, dates: string[]): void => {
    openssl(dir, ['req', '-new', '-key', key, '-out', `${out}.csr`, '-subj', subj]);
    openssl(dir, ['ca', '-batch', '-notext', '-config', cnf, '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`, '-in', `${out}.csr`, '-out', out, '-extfile', ext, ...dates]);
  };
  const days = ['-days', '30'];
  ecKey(dir, 'server.key');
  sign(caCnf, 'ca', 'server.key', '/CN=localhost', 'server.crt', 'server.ext', days);
  sign(caCnf, 'ca', 'server.key', '/CN=localhost', 'renewed.crt', 'server.ext', days);
  sign(caCnf, 'ca', 'server.key', '/CN=localhost', 'expired.crt', 'server.ext', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
  sign(caCnf, 'ca', 'server.key', '/CN=localhost', 'not-yet.crt', 'server.ext', ['-startdate', '20991201000000Z', '-enddate', '21000101000000Z']);
  ecKey(dir, 'client.key');
  sign(caCnf, 'ca', 'client.key', '/CN=mqt-client', 'client.crt', 'client.ext', days);
  ecKey(dir, 'nocn.key');
  sign(caCnf, 'ca', 'nocn.key', '/O=mqt', 'nocn.crt', 'client.ext', days);
  ecKey(dir, 'stranger.key');
  sign(strangerCnf, 'stranger-ca', 'stranger.key', '/CN=stranger', 'stranger.crt', 'client.ext', days);
  openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa.key']);
  openssl(dir, ['pkey', '-in', 'server.key', '-out', 'encrypted.key', '-aes256', '-passout', 'pass:secret']);
  writeFileSync(f('garbage.pem'), 'this is not a certificate\n');

  made = {
    dir,
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    renewedCert: f('renewed.crt'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    noCnCert: f('nocn.crt'),
    noCnKey: f('nocn.key'),
    expiredCert: f('expired.crt'),
    notYetCert: f('not-yet.crt'),
    strangerCa: f('stranger-ca.crt'),
    strangerCert: f('stranger.crt'),
    strangerKey: f('stranger.key'),
    rsaKey: f('rsa.key'),
    encryptedKey: f('encrypted.key'),
    garbage: f('garbage.pem'),
  };
  return made;
}
