import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/core/auth/password-file.js';
import { testCerts } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, mqttClient, nextMessage, startMqt, stop } from '../helpers/mqt-process.js';
import { spawnMqt } from '../helpers/spawn-mqt.js';

// `mqt broker -c mosquitto.conf` as an operator runs it: the built binary, a mosquitto.conf
// with three listeners (TCP, TLS, WSS), a password file and an ACL file; SIGHUP re-reads
// them with connections up; a file it cannot take stops it with the line named.

const dir = mkdtempSync(join(tmpdir(), 'mqt-broker-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => cleanUpMqt());

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const line = (user: string, password: string): string => `${user}:${hashPassword(password)}\n`;

describe('mqt broker -c', () => {
  it('opens the three listeners of a mosquitto.conf, with its users and ACL on each, and re-reads them on SIGHUP', async () => {
    const c = testCerts();
    const [tcp, tls, wss] = [await freePort(), await freePort(), await freePort()];
    const passwd = write('passwd', line('alice', 'wonder') + line('bob', 'builder'));
    const acl = write('acl', 'user alice\ntopic readwrite home/#\n\nuser bob\ntopic read home/#\ntopic write bob/#\n');
    const conf = write(
      'mosquitto.conf',
      [
        '# three listeners, one set of users',
        `password_file ${passwd}`,
        `acl_file ${acl}`,
        '',
        `listener ${tcp} 127.0.0.1`,
        `listener ${tls} 127.0.0.1`,
        `certfile ${c.serverCert}`,
        `keyfile ${c.serverKey}`,
        `listener ${wss} 127.0.0.1`,
        'protocol websockets',
        `certfile ${c.serverCert}`,
        `keyfile ${c.serverKey}`,
        '',
      ].join('\n'),
    );
    const broker = startMqt(['broker', '-c', conf]);
    await broker.waitForStdout(/listening.*\n/);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${tcp} and mqtts://127.0.0.1:${tls} and wss://127.0.0.1:${wss}/mqtt\n`);
    const ca = readFileSync(c.ca);

    // No anonymous access once a password file is given; a wrong password is refused.
    await expect(mqttClient(`mqtt://127.0.0.1:${tcp}`)).rejects.toThrow(/Not authorized|Bad User Name or Password|Connection refused/i);
    await expect(mqttClient(`mqtt://127.0.0.1:${tcp}`, { username: 'alice', password: 'wrong' })).rejects.toThrow();

    // bob reads home/# over WSS; alice writes over TLS; bob may not write home/#.
    const { client: bob } = await mqttClient(`wss://127.0.0.1:${wss}/mqtt`, { username: 'bob', password: 'builder', ca, protocolVersion: 5 });
    await bob.subscribeAsync('home/#', { qos: 1 });
    const { client: alice } = await mqttClient(`mqtts://127.0.0.1:${tls}`, { username: 'alice', password: 'wonder', ca, protocolVersion: 5 });
    const first = nextMessage(bob);
    await alice.publishAsync('home/temp', '21.5', { qos: 1 });
    expect(await first).toMatchObject({ topic: 'home/temp', payload: '21.5' });
    const refused = await bob.publishAsync('home/temp', 'from bob', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(refused)).toMatch(/Not authorized|0x87|135/i);

    // SIGHUP: carol is added, bob loses home/#; nobody is dropped.
    writeFileSync(passwd, line('alice', 'wonder') + line('bob', 'builder') + line('carol', 'singer'));
    writeFileSync(acl, 'user alice\ntopic readwrite home/#\n\nuser bob\ntopic write bob/#\n\nuser carol\ntopic read home/#\n');
    broker.child.kill('SIGHUP');
    await expect.poll(() => broker.stderr(), { timeout: 5000 }).toMatch(/re-read/);
    const { client: carol } = await mqttClient(`mqtt://127.0.0.1:${tcp}`, { username: 'carol', password: 'singer' });
    await carol.subscribeAsync('home/#', { qos: 1 });
    const got: string[] = [];
    bob.on('message', (_t, p) => got.push(`bob ${p.toString()}`));
    carol.on('message', (_t, p) => got.push(`carol ${p.toString()}`));
    await alice.publishAsync('home/temp', '22.0', { qos: 1 });
    await expect.poll(() => got, { timeout: 5000 }).toContain('carol 22.0');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['carol 22.0']);
    expect(bob.connected).toBe(true);

    // A file that no longer parses keeps the rules read before, and says where it broke.
    writeFileSync(acl, 'user alice\ntopic readwrite home/#\ntopik read x\n');
    broker.child.kill('SIGHUP');
    await expect.poll(() => broker.stderr(), { timeout: 5000 }).toMatch(/acl:3: .*keeping the rules read before/);
    const again = nextMessage(carol);
    await alice.publishAsync('home/temp', '22.5', { qos: 1 });
    expect(await again).toMatchObject({ payload: '22.5' });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('writes its log where log_dest says, with connection messages as mosquitto does by default', async () => {
    const port = await freePort();
    const logFile = join(dir, 'broker.log');
    const conf = write('log.conf', `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest file ${logFile}\nlog_type all\n`);
    const broker = startMqt(['broker', '-c', conf]);
    await broker.waitForStdout(/listening.*\n/);
    const { client } = await mqttClient(`mqtt://127.0.0.1:${port}`, { clientId: 'logged-one' });
    await client.subscribeAsync('log/#');
    await client.endAsync();
    await expect.poll(() => readFileSync(logFile, 'utf8'), { timeout: 5000 }).toMatch(/disconnect\s+logged-one/);
    const text = readFileSync(logFile, 'utf8');
    expect(text).toMatch(/connect\s+logged-one from 127\.0\.0\.1/);
    expect(text).toMatch(/subscribe\s+logged-one log\/# qos 0/);
    expect(text).not.toContain('\u001b[');
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${port}\n`);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('refuses a directive it does not know, naming the file, the line and the directive', async () => {
    const conf = write('unknown.conf', `listener ${await freePort()} 127.0.0.1\nallow_anonymous true\nbridge_protocol_versio mqttv311\n`);
    const r = await spawnMqt(['broker', '-c', conf]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mqt broker: ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: [^\\n]*bridge_protocol_versio[^\\n]*\\n$`));
  });

  it('--check validates a file and its files and exits: 0 with a summary, 1 with the first problem', async () => {
    const c = testCerts();
    const passwd = write('check.passwd', line('alice', 'wonder'));
    const good = write('good.conf', `listener 1883\nlistener 8883 127.0.0.1\ncertfile ${c.serverCert}\nkeyfile ${c.serverKey}\npassword_file ${passwd}\n`);
    const ok = await spawnMqt(['broker', '--check', '-c', good]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${good}: OK`);
    expect(ok.stdout).toMatch(/tls on 127\.0\.0\.1:8883/);

    const expired = write('expired.conf', `listener 8883 127.0.0.1\ncertfile ${c.expiredCert}\nkeyfile ${c.serverKey}\nallow_anonymous true\n`);
    const bad = await spawnMqt(['broker', '--check', '-c', expired]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')).toHaveLength(2);
    expect(bad.stderr).toContain(c.expiredCert);
    expect(bad.stderr).toMatch(/expired/);

    const badPasswd = write('bad.passwd', 'alice:$7$101$nosalt\n');
    const withBad = write('bad-passwd.conf', `listener 1883\npassword_file ${badPasswd}\n`);
    const r = await spawnMqt(['broker', '--check', '-c', withBad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mqt broker: [^\\n]*bad\\.passwd:1[^\\n]*\\n$`));
  });

  it('serves TLS from flags alone, with a password file, and no plain TCP listener', async () => {
    const c = testCerts();
    const port = await freePort();
    const passwd = write('flags.passwd', line('dora', 'explorer'));
    const broker = startMqt(['broker', '--tls-port', String(port), '--cert', c.serverCert, '--key', c.serverKey, '--password-file', passwd]);
    await broker.waitForStdout(/listening.*\n/);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtts://127.0.0.1:${port}\n`);
    const { connack } = await mqttClient(`mqtts://127.0.0.1:${port}`, { username: 'dora', password: 'explorer', ca: readFileSync(c.ca) });
    expect(connack.returnCode).toBe(0);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('stops at start with one line naming a key that does not match its certificate', async () => {
    const c = testCerts();
    const r = await spawnMqt(['broker', '--tls-port', String(await freePort()), '--cert', c.serverCert, '--key', c.rsaKey]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toContain(c.rsaKey);
  });
});
