/**
 * `mqt broker clients` and `mqt broker kick ID` against a real `mqt broker --http-port`, with
 * MQTT.js clients: the start-up line that names the admin URL, the table and --json listing,
 * a kick the client sees (5.0: DISCONNECT 0x98; 3.1.1: the connection closed), and each failure
 * as one line with exit code 1: a refused token (naming where it came from), an unknown client,
 * no listener, an MQTT port, the API off, HTTPS without a trusted CA. Basic with an admin user
 * of the password file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDisconnectPacket, MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientView } from '../../src/core/admin/index.js';
import { hashPassword } from '../../src/core/auth/password-file.js';
import { testCerts } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { cleanUpMqt, mqttClient, startMqt, stop, type RunningBroker } from '../helpers/mqt-process.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

const TOKEN = 'cli-admin-token-7c1e';
const ADMIN_LINE = /^mqt broker admin on (https?):\/\/127\.0\.0\.1:(\d+)\/ \((.*)\)$/m;
const MQTT_LINE = /^mqt broker listening on mqtt:\/\/127\.0\.0\.1:(\d+)$/m;

let dir: string;
let tokenFile: string;

beforeAll(() => {
  assertFreshBuild(['commands/broker-admin.ts', 'commands/broker-admin-run.ts', 'commands/broker-run.ts', 'commands/broker-http.ts', 'core/admin/admin-client.ts', 'commands/render/admin-clients.ts']);
  dir = mkdtempSync(join(tmpdir(), 'mqt-broker-admin-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => cleanUpMqt());

interface Started {
  broker: RunningBroker;
  mqttPort: number;
  httpPort: number;
  /** What the admin line says in its parentheses. */
  says: string;
}

/** `mqt broker --port 0 --http-port 0 …`, its ports read from its start-up lines. */
async function startBroker(extra: string[]): Promise<Started> {
  const broker = startMqt(['broker', '--port', '0', '--http-port', '0', ...extra]);
  const admin = await broker.waitForStdout(ADMIN_LINE, 15_000);
  const mqtt = await broker.waitForStdout(MQTT_LINE);
  return { broker, mqttPort: Number(mqtt[1]), httpPort: Number(admin[2]), says: admin[3]! };
}

/** Runs `mqt broker <args>` (clients or kick) to its end. */
function admin(args: string[], env: Record<string, string | undefined> = {}): ReturnType<typeof spawnMqt> {
  return spawnMqt(['broker', ...args], { env: { MQT_ADMIN_TOKEN: undefined, ...env }, timeoutMs: 15_000 });
}

function disconnectOf(client: MqttClient): Promise<IDisconnectPacket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no DISCONNECT from the broker within 5 s')), 5000);
    client.once('disconnect', (p) => {
      clearTimeout(timer);
      resolve(p);
    });
  });
}

function closeOf(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection was not closed within 5 s')), 5000);
    client.stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('mqt broker clients and kick', () => {
  it('lists the connected clients as JSON and as a table, and kicks a 5.0 client (0x98) and a 3.1.1 one', { timeout: 40_000 }, async () => {
    const { broker, mqttPort, httpPort, says } = await startBroker(['--admin-token-file', tokenFile]);
    expect(says).toBe('dashboard /, API /api/v1/, metrics /metrics');
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const { client: five } = await mqttClient(url, { protocolVersion: 5, clientId: 'sensor-5', username: 'alice', keepalive: 30 });
    await five.subscribeAsync(['a/#', 'b'], { qos: 1 });
    const { client: four } = await mqttClient(url, { protocolVersion: 4, clientId: 'sensor-4', keepalive: 0 });
    const http = ['--http-port', String(httpPort), '--admin-token-file', tokenFile];

    const json = await admin(['clients', ...http, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(json.stdout.endsWith('\n')).toBe(true);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    const list = JSON.parse(json.stdout) as ClientView[];
    const byId = new Map(list.map((c) => [c.clientId, c]));
    expect([...byId.keys()].sort()).toEqual(['sensor-4', 'sensor-5']);
    expect(byId.get('sensor-5')).toMatchObject({ username: 'alice', address: '127.0.0.1', protocolVersion: 5, keepAlive: 30, subscriptions: 2, queued: 0, inflight: 0, transport: 'tcp' });
    expect(byId.get('sensor-4')).toMatchObject({ username: null, protocolVersion: 4, keepAlive: 0, subscriptions: 0 });
    expect(byId.get('sensor-5')!.connectedAt).toBeGreaterThan(Date.now() - 60_000);

    // Not a terminal here: the same table, without colour.
    const table = await admin(['clients', ...http]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLIENT ID +USER +ADDRESS +LISTENER +PROTOCOL +KEEP-ALIVE +CONNECTED SINCE +SUBS +QUEUED +IN FLIGHT$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^sensor-4 +- +127\\.0\\.0\\.1:${byId.get('sensor-4')!.port} +tcp\\S* +3\\.1\\.1 +off +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(\\d+s\\) +0 +0 +0$`));
    expect(lines[2]).toMatch(/^sensor-5 +alice +127\.0\.0\.1:\d+ +tcp\S* +5\.0 +30s +\S+ \S+ \(\d+s\) +2 +0 +0$/);
    expect(table.stdout).not.toContain('\u001b[');

    // The port from the broker's mosquitto.conf (http_port), as `mqt broker -c` reads it.
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${mqttPort}\nhttp_port ${httpPort}\nhttp_host 127.0.0.1\n`);
    const fromConf = await admin(['clients', '-c', conf, '--admin-token-file', tokenFile, '--json']);
    expect(fromConf.code).toBe(0);
    expect((JSON.parse(fromConf.stdout) as ClientView[]).map((c) => c.clientId).sort()).toEqual(['sensor-4', 'sensor-5']);

    // A token in MQT_ADMIN_TOKEN works as the file does.
    const fromEnv = await admin(['clients', '--http-port', String(httpPort), '--json'], { MQT_ADMIN_TOKEN: TOKEN });
    expect(fromEnv.code).toBe(0);

    const kicked = disconnectOf(five);
    const kick = await admin(['kick', 'sensor-5', ...http]);
    expect(kick).toMatchObject({ code: 0, stdout: 'disconnected sensor-5\n', stderr: '' });
    expect((await kicked).reasonCode).toBe(0x98);

    const closed = closeOf(four);
    const kickJson = await admin(['kick', 'sensor-4', ...http, '--json']);
    expect(kickJson).toMatchObject({ code: 0, stdout: '{"disconnected":"sensor-4"}\n' });
    await closed;

    const after = await admin(['clients', ...http]);
    expect(after).toMatchObject({ code: 0, stdout: 'no clients connected\n' });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('says each failure in one line with exit code 1', { timeout: 60_000 }, async () => {
    const { broker, mqttPort, httpPort } = await startBroker(['--admin-token-file', tokenFile]);
    const wrongFile = join(dir, 'wrong-token');
    writeFileSync(wrongFile, 'not-the-token\n');
    const where = `127.0.0.1:${httpPort}`;
    const nobody = await freePort();
    const noHttp = join(dir, 'no-http.conf');
    writeFileSync(noHttp, 'listener 1883\n');
    const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['a wrong token file', ['clients', '--http-port', String(httpPort), '--admin-token-file', wrongFile], {}, new RegExp(`^mqt broker clients: the broker at ${where} refused the token from --admin-token-file ${wrongFile} \\(401\\)[^\\n]*\\n$`)],
      ['a wrong MQT_ADMIN_TOKEN', ['kick', 'x', '--http-port', String(httpPort)], { MQT_ADMIN_TOKEN: 'nope' }, new RegExp(`^mqt broker kick: the broker at ${where} refused the token from MQT_ADMIN_TOKEN \\(401\\)[^\\n]*\\n$`)],
      ['an unknown client', ['kick', 'nobody-here', '--http-port', String(httpPort), '--admin-token-file', tokenFile], {}, new RegExp(`^mqt broker kick: no client 'nobody-here' is connected to the broker at ${where}[^\\n]*\\n$`)],
      ['no listener', ['clients', '--http-port', String(nobody), '--admin-token-file', tokenFile], {}, new RegExp(`^mqt broker clients: nothing is listening at 127\\.0\\.0\\.1:${nobody}: start the broker with --http-port[^\\n]*\\n$`)],
      ['the MQTT port', ['clients', '--http-port', String(mqttPort), '--admin-token-file', tokenFile], {}, new RegExp(`^mqt broker clients: 127\\.0\\.0\\.1:${mqttPort} did not answer HTTP: give the broker's --http-port \\(not an MQTT port\\)[^\\n]*\\n$`)],
      ['HTTPS asked of HTTP', ['clients', '--url', `https://127.0.0.1:${httpPort}`, '--admin-token-file', tokenFile], {}, /^mqt broker clients: [^\n]+ answers plain HTTP, not HTTPS[^\n]*\n$/],
      ['an unreadable token file', ['clients', '--http-port', String(httpPort), '--admin-token-file', join(dir, 'missing')], {}, /^mqt broker clients: cannot read --admin-token-file \S+missing: no such file\n$/],
      ['no credentials', ['clients', '--http-port', String(httpPort)], {}, /^mqt broker clients: no credentials: give --admin-token-file FILE[^\n]*\nUse 'mqt broker clients --help'\n$/],
      ['no port', ['clients', '--admin-token-file', tokenFile], {}, /^mqt broker clients: give --http-port N[^\n]*\nUse 'mqt broker clients --help'\n$/],
      ['--insecure on HTTP', ['clients', '--http-port', String(httpPort), '--insecure', '--admin-token-file', tokenFile], {}, /^mqt broker clients: --insecure is for an HTTPS listener[^\n]*\nUse 'mqt broker clients --help'\n$/],
      ['an unknown flag', ['kick', 'x', '--bogus'], {}, /^mqt broker kick: unknown option --bogus\nUse 'mqt broker kick --help'\n$/],
      ['a configuration without http_port', ['clients', '-c', noHttp, '--admin-token-file', tokenFile], {}, new RegExp(`^mqt broker clients: ${noHttp} has no http_port: give --http-port N[^\\n]*\\nUse 'mqt broker clients --help'\\n$`)],
    ];
    for (const [what, args, env, stderr] of cases) {
      const r = await admin(args, env);
      expect({ what, code: r.code, stdout: r.stdout }).toEqual({ what, code: 1, stdout: '' });
      expect(r.stderr, what).toMatch(stderr);
    }
    // The broker logged the refusals (once a minute per address), without the token.
    await broker.waitForStdout(/listening/);
    expect(broker.stderr()).toMatch(/admin API: refused GET "\/api\/v1\/clients" from 127\.0\.0\.1: wrong token/);
    expect(broker.stderr()).not.toContain('not-the-token');
  });

  it('with no token and no admin user: the start-up line says the API is off, and clients says so', { timeout: 30_000 }, async () => {
    const { httpPort, says } = await startBroker([]);
    expect(says).toBe('API and metrics off: give --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME');
    const r = await admin(['clients', '--http-port', String(httpPort), '--admin-token-file', tokenFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`mqt broker clients: the broker at 127.0.0.1:${httpPort} has its admin API off: start it with --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME\n`);

  });

  it('prints the admin listener as a JSON record with --json', { timeout: 30_000 }, async () => {
    const broker = startMqt(['broker', '--port', '0', '--http-port', '0', '--metrics-public', '--json']);
    const m = await broker.waitForStdout(/^(\{"time":"[^"]+","event":"admin".*\})$/m, 15_000);
    const record = JSON.parse(m[1]!) as Record<string, unknown>;
    expect(record).toEqual({ time: expect.any(String), event: 'admin', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/), api: false, metrics: 'public' });
    const res = await fetch(new URL('/metrics', record.url as string));
    expect(res.status).toBe(200);
    // The listening record comes first, and names only the MQTT listeners.
    const first = JSON.parse(broker.stdout().split('\n')[0]!) as { event: string; listeners: Array<{ kind: string }> };
    expect(first.event).toBe('listening');
    expect(first.listeners.map((l) => l.kind)).toEqual(['tcp']);
  });

  it('takes Basic credentials of an --admin-user in the password file, and refuses another user', { timeout: 30_000 }, async () => {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, `root:${hashPassword('s3cret')}\nbob:${hashPassword('builder')}\n`);
    const { httpPort, says } = await startBroker(['--password-file', passwd, '--admin-user', 'root']);
    expect(says).toBe('dashboard /, API /api/v1/, metrics /metrics');
    const ok = await admin(['clients', '--http-port', String(httpPort), '-u', 'root', '-P', 's3cret', '--json']);
    expect(ok).toMatchObject({ code: 0, stdout: '[]\n' });
    const bob = await admin(['clients', '--http-port', String(httpPort), '-u', 'bob', '-P', 'builder']);
    expect(bob.code).toBe(1);
    expect(bob.stderr).toBe(`mqt broker clients: the broker at 127.0.0.1:${httpPort} refused user bob (401): it must be an --admin-user of the broker, with the password its --password-file holds\n`);
  });

  it('reaches an HTTPS listener with --http-cafile or --insecure, and says when the certificate is not trusted', { timeout: 30_000 }, async () => {
    const c = testCerts();
    const { httpPort, says } = await startBroker(['--admin-token-file', tokenFile, '--http-cert', c.serverCert, '--http-key', c.serverKey]);
    expect(says).toBe('dashboard /, API /api/v1/, metrics /metrics');
    const base = ['clients', '--http-port', String(httpPort), '--admin-token-file', tokenFile, '--json'];
    expect(await admin([...base, '--http-cafile', c.ca])).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await admin([...base, '--https', '--insecure'])).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await admin(['clients', '--url', `https://localhost:${httpPort}`, '--http-cafile', c.ca, '--admin-token-file', tokenFile])).toMatchObject({ code: 0, stdout: 'no clients connected\n' });
    const untrusted = await admin([...base, '--https']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(new RegExp(`^mqt broker clients: the certificate of 127\\.0\\.0\\.1:${httpPort} is not trusted \\([A-Z_]+\\): give --http-cafile[^\\n]*\\n$`));
    const plain = await admin(base);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(new RegExp(`^mqt broker clients: 127\\.0\\.0\\.1:${httpPort} did not answer HTTP: [^\\n]*add --https\\n$`));
  });

  it('a taken --http-port is one line and exit 1, and the MQTT listener does not stay open', { timeout: 30_000 }, async () => {
    const { httpPort, broker } = await startBroker(['--admin-token-file', tokenFile]);
    const r = await spawnMqt(['broker', '--port', '0', '--http-port', String(httpPort), '--admin-token-file', tokenFile], { timeoutMs: 15_000 });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(`mqt broker: the admin listener's port ${httpPort} on 127.0.0.1 is already in use; choose another with --http-port\n`);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('a missing token file stops the start before any listener opens', { timeout: 30_000 }, async () => {
    const r = await spawnMqt(['broker', '--port', '0', '--http-port', '0', '--admin-token-file', join(dir, 'nothing-here')], { timeoutMs: 15_000 });
    expect(r).toEqual({ code: 1, signal: null, timedOut: false, stdout: '', stderr: `mqt broker: cannot read --admin-token-file ${join(dir, 'nothing-here')}: no such file\n` });
  });
});
