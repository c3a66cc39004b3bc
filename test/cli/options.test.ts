import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { spawnMqt, type SpawnMqtOptions, type SpawnMqtResult, assertFreshBuild } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

// The shared connection options of the client commands, exercised through `mqt pub` (the
// built binary): config file, profiles and precedence, credentials, TLS against mosquitto with
// certificates made here by openssl, and WebSocket. Every failure: one line and its exit code.

const STACK_LINE = /^\s+at .+/m;
/** A spawn's time limit: generous, since a loaded CI machine makes a TLS handshake in Node slow. */
const SLOW = 20_000;

beforeAll(() => assertFreshBuild(['commands/options/connection.ts', 'commands/options/index.ts', 'core/client/config.ts', 'core/client/diagnose.ts']));

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'mqt-options-test-'));
  // mosquitto started as root drops to its own user before it reads certificates and password
  // files: they must be readable by others (test files, no secrets).
  chmodSync(tmp, 0o755);
});

/** Makes `paths` (files and directories) readable by mosquitto's user. */
function shareWithMosquitto(...paths: string[]): void {
  for (const p of paths) chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
}
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ok(r: SpawnMqtResult): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
}

function failed(r: SpawnMqtResult, code: number, stderr: RegExp): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(stderr);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stdout).toBe('');
}

/** A config dir of its own for one test: XDG_CONFIG_HOME/mqt/config.json holds `config`. */
function withConfig(config: unknown, extraEnv: Record<string, string> = {}): SpawnMqtOptions {
  const xdg = mkdtempSync(join(tmp, 'xdg-'));
  mkdirSync(join(xdg, 'mqt'));
  writeFileSync(join(xdg, 'mqt', 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return { env: { XDG_CONFIG_HOME: xdg, ...extraEnv } };
}

describe('profiles and precedence: flag > env > profile > config defaults', () => {
  let b: StartedBroker;
  /** Who connected, as the broker saw it. */
  const seen: { username: string | undefined; password: string | undefined; clientId: string }[] = [];
  beforeAll(async () => {
    b = await startBroker({
      hooks: {
        authenticate: (client, username, password) => {
          seen.push({ username, password: password?.toString(), clientId: client.clientId });
          return true;
        },
      },
    });
  });
  afterAll(() => b?.stop());

  /** Runs `mqt pub t m` with `args` and `options`; returns who the broker saw. */
  async function who(args: string[], options: SpawnMqtOptions): Promise<{ username: string | undefined; password: string | undefined; clientId: string }> {
    seen.length = 0;
    ok(await spawnMqt(['pub', 't/precedence', 'm', ...args], options));
    expect(seen).toHaveLength(1);
    return seen[0]!;
  }

  it('reads host, port and credentials from the config defaults', async () => {
    const options = withConfig({ defaults: { host: '127.0.0.1', port: b.port, username: 'from-defaults', password: 'pw-defaults', id: 'id-defaults' } });
    expect(await who([], options)).toEqual({ username: 'from-defaults', password: 'pw-defaults', clientId: 'id-defaults' });
  });

  it('lets each layer win over the weaker ones, key by key', async () => {
    const config = {
      defaults: { host: '127.0.0.1', port: b.port, username: 'from-defaults', id: 'id-defaults' },
      profiles: { home: { username: 'from-profile', password: 'pw-profile' } },
    };
    expect(await who(['--profile', 'home'], withConfig(config))).toEqual({ username: 'from-profile', password: 'pw-profile', clientId: 'id-defaults' });
    expect(await who(['--profile', 'home'], withConfig(config, { MQT_USERNAME: 'from-env' }))).toMatchObject({ username: 'from-env', password: 'pw-profile' });
    expect(await who(['--profile', 'home', '-u', 'from-flag', '-i', 'id-flag'], withConfig(config, { MQT_USERNAME: 'from-env', MQT_PASSWORD: 'pw-env' }))).toEqual({
      username: 'from-flag',
      password: 'pw-env',
      clientId: 'id-flag',
    });
    // -I on the command line beats a fixed id from the config file.
    expect((await who(['-I', 'flagprefix-'], withConfig(config))).clientId).toMatch(/^flagprefix-[0-9a-f]{8}$/);
  });

  it('takes MQT_URL over the profile, and a flag over MQT_URL', async () => {
    const unused = await freePort();
    const config = { profiles: { away: { url: `mqtt://nobody@127.0.0.1:${unused}` } } };
    expect(await who(['--profile', 'away'], withConfig(config, { MQT_URL: `mqtt://url-user:url-pw@127.0.0.1:${b.port}` }))).toMatchObject({ username: 'url-user', password: 'url-pw' });
    // The env URL names a port where nothing listens; -p on the command line wins.
    expect(await who(['-p', String(b.port)], withConfig({}, { MQT_URL: `mqtt://url-user@127.0.0.1:${unused}` }))).toMatchObject({ username: 'url-user' });
  });

  it('replaces a weaker password source: -P beats a profile password-file', async () => {
    writeFileSync(join(tmp, 'profile-pw'), 'from-file\n');
    const config = { defaults: { host: '127.0.0.1', port: b.port, username: 'u', 'password-file': join(tmp, 'profile-pw') } };
    expect(await who([], withConfig(config))).toMatchObject({ password: 'from-file' });
    expect(await who(['-P', 'from-flag'], withConfig(config))).toMatchObject({ password: 'from-flag' });
  });

  it('reads the password from --password-env and --password-file (first line)', async () => {
    writeFileSync(join(tmp, 'pw'), 'file-secret\nsecond line ignored\n');
    const at = ['-h', '127.0.0.1', '-p', String(b.port), '-u', 'me'];
    expect(await who([...at, '--password-env', 'MY_PW'], { env: { MY_PW: 'env-secret' } })).toMatchObject({ password: 'env-secret' });
    expect(await who([...at, '--password-file', join(tmp, 'pw')], {})).toMatchObject({ password: 'file-secret' });
  });

  it.each([
    ['a missing profile without a config file', ['--profile', 'home'], undefined, /^mqt pub: no profile 'home': .*\/mqt\/config\.json does not exist\n$/],
    ['a missing profile', ['--profile', 'work'], { profiles: { home: {}, lab: {} } }, /^mqt pub: no profile 'work' in .*config\.json; it has home, lab\n$/],
    ['a config file that is not JSON', [], '{ "defaults": ', /^mqt pub: .*config\.json is not valid JSON: .*\n$/],
    ['an unknown setting', [], { defaults: { hots: 'x' } }, /^mqt pub: .*config\.json: defaults: unknown setting 'hots'; known: url, host, .*\n$/],
    ['a bad URL in MQT_URL', [], {}, /^mqt pub: 'broker:1883' is not a broker URL like mqtt:\/\/host:1883, .*\n$/],
  ] as [string, string[], unknown, RegExp][])('refuses %s in one line, exit 1', async (name, args, config, stderr) => {
    const options = config === undefined ? { env: { XDG_CONFIG_HOME: mkdtempSync(join(tmp, 'xdg-empty-')) } } : withConfig(config);
    if (name.includes('MQT_URL')) options.env = { ...options.env, MQT_URL: 'broker:1883' };
    failed(await spawnMqt(['pub', 't', 'm', ...args], options), 1, stderr);
  });
});

const gate = needPeers('mosquitto');

describe.skipIf(gate.skip)('credentials against mosquitto (password_file from mosquitto_passwd)', () => {
  let mosq: RunningMosquitto;
  beforeAll(async () => {
    gate.check();
    const pw = join(tmp, 'passwords');
    // Plain text upgraded in place (-U), and one more user added with -b: both ways mosquitto users make these files.
    writeFileSync(pw, 'alice:secret\n');
    execFileSync('mosquitto_passwd', ['-U', pw]);
    execFileSync('mosquitto_passwd', ['-b', pw, 'bob', 'hunter2']);
    shareWithMosquitto(pw);
    mosq = await startMosquitto({ config: ['allow_anonymous false', `password_file ${pw}`] });
  });
  afterAll(() => mosq?.stop());
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(mosq.port)];

  it.concurrent.each([
    ['-u/-P', ['-u', 'alice', '-P', 'secret'], {}],
    ['a user added with -b', ['-u', 'bob', '-P', 'hunter2'], {}],
    ['MQT_USERNAME and MQT_PASSWORD', [], { MQT_USERNAME: 'alice', MQT_PASSWORD: 'secret' }],
    ['user and password in -L', ['-L', 'mqtt://alice:secret@127.0.0.1:PORT'], {}],
    ['MQTT 3.1.1', ['-u', 'alice', '-P', 'secret', '-V', '3.1.1'], {}],
    ['MQTT 3.1', ['-u', 'alice', '-P', 'secret', '-V', '3.1'], {}],
  ] as [string, string[], Record<string, string>][])('connects with %s', async (_n, args, env) => {
    const usesUrl = args.includes('-L');
    const r = await spawnMqt(['pub', ...(usesUrl ? [] : at()), ...args.map((a) => a.replace('PORT', String(mosq.port))), 'auth/t', 'm', '-q', '1'], { env });
    ok(r);
  });

  // mosquitto 2.0 refuses bad credentials as "not authorized": 0x87 in 5.0, return code 5 in 3.1.1.
  it.concurrent.each([
    ['a wrong password (MQTT 5)', ['-u', 'alice', '-P', 'wrong'], ReasonCode.NotAuthorized, /refused the connection: Not authorized \(0x87\); this user may not connect; check -u and -P, or the broker's access rules/],
    ['a wrong password (MQTT 3.1.1)', ['-u', 'alice', '-P', 'wrong', '-V', 'mqttv311'], 5, /refused the connection: not authorized \(return code 5\); this user may not connect; check -u and -P, or the broker's access rules/],
    ['no credentials', [], ReasonCode.NotAuthorized, /refused the connection: Not authorized \(0x87\); this user may not connect; check -u and -P, or the broker's access rules/],
  ] as [string, string[], number, RegExp][])('exits with the CONNACK code for %s', async (_n, args, code, stderr) => {
    const r = await spawnMqt(['pub', ...at(), ...args, 'auth/t', 'm']);
    failed(r, code, new RegExp(`^mqt pub: 127\\.0\\.0\\.1:${mosq.port} ${stderr.source}\\n$`));
  });
});

/** openssl, in `dir`: a CA, server certificates (good, for another name, expired) and a client certificate. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = (name: string): void => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  const sign = (name: string, subject: string, san: string | undefined, days: string): void => {
    key(name);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    const ext = `${name}.ext`;
    writeFileSync(join(dir, ext), san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', days, '-extfile', ext, '-out', `${name}.pem`);
  };
  key('ca');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', '/CN=mqt test CA', '-out', 'ca.pem');
  sign('server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1', '2');
  sign('wrong', '/CN=wrong.example', 'DNS:wrong.example', '2');
  // notAfter a day before notBefore: expired from the start.
  sign('expired', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1', '-1');
  sign('client', '/CN=mqt test client', undefined, '2');
  mkdirSync(join(dir, 'capath'));
  writeFileSync(join(dir, 'capath', 'ca.pem'), readFileSync(join(dir, 'ca.pem')));
  shareWithMosquitto(dir, ...readdirSync(dir).map((f) => join(dir, f)));
}

describe.skipIf(gate.skip)('TLS against mosquitto, certificates made by openssl', () => {
  let mosq: RunningMosquitto;
  let certs: string;
  const port = { good: 0, wrong: 0, expired: 0, clientCert: 0, wss: 0 };

  beforeAll(async () => {
    gate.check();
    certs = join(tmp, 'certs');
    mkdirSync(certs);
    makeCertificates(certs);
    for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
    const tls = (p: number, cert: string, extra: string[] = []): string[] => [
      `listener ${p} 127.0.0.1`,
      `cafile ${join(certs, 'ca.pem')}`,
      `certfile ${join(certs, `${cert}.pem`)}`,
      `keyfile ${join(certs, `${cert}.key`)}`,
      ...extra,
    ];
    mosq = await startMosquitto({
      config: [
        ...tls(port.good, 'server'),
        ...tls(port.wrong, 'wrong'),
        ...tls(port.expired, 'expired'),
        ...tls(port.clientCert, 'server', ['require_certificate true']),
        ...tls(port.wss, 'server', ['protocol websockets']),
      ],
    });
  });
  afterAll(() => mosq?.stop());

  const ca = (): string[] => ['--cafile', join(certs, 'ca.pem')];
  const to = (p: number, host = '127.0.0.1'): string[] => ['-h', host, '-p', String(p)];

  it.concurrent.each([
    ['--cafile, by address', () => [...to(port.good), ...ca()]],
    ['--cafile, by name', () => [...to(port.good, 'localhost'), ...ca()]],
    ['mqtts:// with --cafile', () => ['-L', `mqtts://127.0.0.1:${port.good}`, ...ca()]],
    ['--capath', () => [...to(port.good), '--capath', join(certs, 'capath')]],
    ['--insecure without a CA', () => [...to(port.good), '--insecure']],
    ['--insecure with a certificate for another name', () => [...to(port.wrong), '--insecure']],
    ['--tls-version tlsv1.2', () => [...to(port.good), ...ca(), '--tls-version', 'tlsv1.2']],
    ['--tls-version tlsv1.3', () => [...to(port.good), ...ca(), '--tls-version', 'tlsv1.3']],
    ['--alpn', () => [...to(port.good), ...ca(), '--alpn', 'mqtt']],
    ['a client certificate (--cert, --key)', () => [...to(port.clientCert), ...ca(), '--cert', join(certs, 'client.pem'), '--key', join(certs, 'client.key')]],
    ['WebSocket over TLS (--ws --cafile)', () => ['--ws', ...to(port.wss), ...ca()]],
    ['a profile holding the CA, relative to the config file', () => ['--profile', 'tls']],
  ] as [string, () => string[]][])('connects with %s', async (name, args) => {
    const options = name.startsWith('a profile')
      ? withConfig({ profiles: { tls: { url: `mqtts://127.0.0.1:${port.good}`, cafile: join('..', '..', 'certs', 'ca.pem') } } })
      : {};
    if (name.startsWith('a profile')) {
      // withConfig made <tmp>/xdg-*/mqt/config.json: '../../certs' from its directory is <tmp>/certs.
      expect(existsSync(join(options.env!.XDG_CONFIG_HOME!, 'mqt', '..', '..', 'certs', 'ca.pem'))).toBe(true);
    }
    ok(await spawnMqt(['pub', ...args(), 'tls/t', 'm', '-q', '1'], { ...options, timeoutMs: SLOW }));
  }, SLOW + 5000);

  it.concurrent.each([
    // --tls alone trusts the system's CAs, which do not include ours.
    ['an unknown CA', () => [...to(port.good), '--tls'], /^mqt pub: the certificate of 127\.0\.0\.1:\d+ is signed by a CA this client does not trust \([A-Z_]+\); pass that CA with --cafile, or use --insecure to skip the check \(for tests only\)\n$/],
    ['a certificate for another name', () => [...to(port.wrong), ...ca()], /^mqt pub: the certificate of 127\.0\.0\.1:\d+ is not for '127\.0\.0\.1' but for wrong\.example: connect by a name it lists \(-h\), or use --insecure to skip the check \(for tests only\)\n$/],
    ['an expired certificate', () => [...to(port.expired), ...ca()], /^mqt pub: the certificate of 127\.0\.0\.1:\d+ has expired: the broker needs a new one \(or use --insecure to skip the check, for tests only\)\n$/],
    ['a missing client certificate', () => [...to(port.clientCert), ...ca()], /^mqt pub: (the TLS handshake with 127\.0\.0\.1:\d+ failed: the broker may require a client certificate \(--cert, --key\)|127\.0\.0\.1:\d+ closed the connection before accepting it: .*)\n$/],
    // mosquitto reads the ClientHello as a bad CONNECT and hangs up.
    ['TLS to a plain MQTT port', () => ['-h', '127.0.0.1', '-p', String(mosq.port), ...ca()], /^mqt pub: 127\.0\.0\.1:\d+ closed the connection during the TLS handshake: the port probably does not speak TLS; for plain MQTT use mqtt:\/\/ and no TLS options\n$/],
    ['plain MQTT to a TLS port', () => to(port.good), /^mqt pub: 127\.0\.0\.1:\d+ closed the connection before accepting it: is it an MQTT endpoint\?\n$/],
    ['a CA file that does not exist', () => [...to(port.good), '--cafile', join(certs, 'nope.pem')], /^mqt pub: cannot read the CA file '.*nope\.pem': no such file\n$/],
  ] as [string, () => string[], RegExp][])('explains %s, exit 1', async (_n, args, stderr) => {
    failed(await spawnMqt(['pub', ...args(), 'tls/t', 'm'], { timeoutMs: SLOW }), 1, stderr);
  }, SLOW + 5000);
});

describe('WebSocket paths', () => {
  let http: Server;
  let b: StartedBroker;
  beforeAll(async () => {
    b = await startBroker();
    // Anything but an MQTT WebSocket endpoint: every request gets a 404.
    http = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('not here');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await b?.stop();
  });

  it('sends --ws-path to the server (ours accepts /mqtt)', async () => {
    const seen: string[] = [];
    b.broker.on('publish', (m) => seen.push(m.topic));
    ok(await spawnMqt(['pub', '--ws', '--ws-path', '/mqtt', '-h', '127.0.0.1', '-p', String(b.wsPort), 'ws/path', 'm', '-q', '1']));
    expect(seen).toContain('ws/path');
  });

  it('explains an HTTP refusal of the upgrade, exit 1', async () => {
    const port = (http.address() as AddressInfo).port;
    failed(
      await spawnMqt(['pub', '--ws', '--ws-path', '/wrong', '-h', '127.0.0.1', '-p', String(port), 'ws/t', 'm']),
      1,
      new RegExp(`^mqt pub: ws://127\\.0\\.0\\.1:${port}/wrong answered the WebSocket upgrade with HTTP 404: check the path \\(--ws-path\\) and that the port serves MQTT over WebSocket\\n$`),
    );
  });

  it('explains a refused WebSocket connection, exit 1', async () => {
    const port = await freePort();
    failed(await spawnMqt(['pub', '-L', `ws://127.0.0.1:${port}/mqtt`, 'ws/t', 'm']), 1, new RegExp(`^mqt pub: connection refused by ws://127\\.0\\.0\\.1:${port}/mqtt: is a broker running there and listening on port ${port} for WebSocket\\?\\n$`));
  });
});
