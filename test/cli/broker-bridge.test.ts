/**
 * `mqt broker -c FILE` with mosquitto.conf bridge sections: a real mosquitto on the other end,
 * messages each way with the prefixes applied, the start-up line (text and JSON) and the
 * `--check` summary that list each bridge, and a bad section stopping the broker with one line
 * naming the file and line (exit code 1, as every other configuration error).
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { cleanUpMqt, mqttClient, startMqt, stop } from '../helpers/mqt-process.js';
import { needPeers } from '../helpers/peers.js';
import { spawnMqt } from '../helpers/spawn-mqt.js';
import { testCerts } from '../helpers/certs.js';
import { colorFor } from '../../src/commands/render/color.js';
import { textLine } from '../../src/commands/render/broker-log.js';

const dir = mkdtempSync(join(tmpdir(), 'mqt-broker-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => cleanUpMqt());

function write(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The next message on `topic` (exactly), waited for with a bound. */
function messageOn(client: MqttClient, topic: string, timeoutMs = 10_000): Promise<{ payload: string; qos: number; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer, packet: { qos: number; retain: boolean }): void => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

const gate = needPeers('mosquitto');

describe.skipIf(gate.skip)('mqt broker bridged to a real mosquitto', () => {
  beforeEach(gate.check);
  let remote: RunningMosquitto | undefined;
  afterEach(async () => {
    await remote?.stop();
    remote = undefined;
  });

  it('carries messages both ways at QoS 1 with the prefixes applied, says its state on the remote, and lists the bridge at start', async () => {
    remote = await startMosquitto();
    const port = await freePort();
    const conf = write('both.conf', [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection cloud',
      `address 127.0.0.1:${remote.port}`,
      // Local edge/... is cloud/edge/... at the remote, both ways.
      'topic # both 1 edge/ cloud/edge/',
      'restart_timeout 1',
    ]);
    const broker = startMqt(['broker', '-c', conf]);
    await broker.waitForStdout(/bridge cloud/);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${port}\nmqt broker bridge cloud → 127.0.0.1:${remote.port} topics edge/# both qos 1 (remote cloud/edge/#)\n`);

    // mosquitto's default notification: retained '1' at the remote, under <hostname>.<name>.
    const { client: atRemote } = await mqttClient(remote.url, { clientId: 'remote-side' });
    const state = messageOn(atRemote, `$SYS/broker/connection/${hostname()}.cloud/state`);
    await atRemote.subscribeAsync(`$SYS/broker/connection/${hostname()}.cloud/state`);
    expect(await state).toMatchObject({ payload: '1', retain: true });

    const { client: local } = await mqttClient(`mqtt://127.0.0.1:${port}`, { clientId: 'local-side' });
    await local.subscribeAsync('edge/in/#', { qos: 1 });
    await atRemote.subscribeAsync('cloud/#', { qos: 1 });

    // Remote → local: the remote prefix taken off, the local one put on.
    const inbound = messageOn(local, 'edge/in/x');
    await atRemote.publishAsync('cloud/edge/in/x', 'from the cloud', { qos: 1 });
    expect(await inbound).toMatchObject({ payload: 'from the cloud', qos: 1 });

    // Local → remote; a topic outside the mapping stays home, so the mapped one is the first to arrive.
    const outbound = new Promise<string>((resolve) => atRemote.on('message', (t) => t !== 'cloud/edge/in/x' && resolve(t)));
    const outPayload = messageOn(atRemote, 'cloud/edge/out/y');
    await local.publishAsync('elsewhere/z', 'not bridged', { qos: 1 });
    await local.publishAsync('edge/out/y', 'from the edge', { qos: 1 });
    expect(await outPayload).toMatchObject({ payload: 'from the edge', qos: 1 });
    expect(await outbound).toBe('cloud/edge/out/y');

    expect(await stop(broker)).toEqual({ code: 0, signal: null });
    expect(broker.stderr()).toBe('');
    // Closed before the broker: the remote's retained state says the bridge is down.
    const { client: later } = await mqttClient(remote.url, { clientId: 'remote-later' });
    const down = messageOn(later, `$SYS/broker/connection/${hostname()}.cloud/state`);
    await later.subscribeAsync(`$SYS/broker/connection/${hostname()}.cloud/state`);
    expect(await down).toMatchObject({ payload: '0', retain: true });
  }, 30_000);

  it('connects over TLS with the bridge_* files: the remote checks our client certificate, we check its', async () => {
    const c = testCerts();
    // mosquitto started as root reads its files as the mosquitto user: copies it may read.
    const readable = (path: string, name: string): string => {
      const copy = join(dir, name);
      copyFileSync(path, copy);
      chmodSync(copy, 0o644);
      return copy;
    };
    chmodSync(dir, 0o755);
    remote = await startMosquitto({
      config: [`certfile ${readable(c.serverCert, 'server.crt')}`, `keyfile ${readable(c.serverKey, 'server.key')}`, `cafile ${readable(c.ca, 'ca.crt')}`, 'require_certificate true'],
    });
    const port = await freePort();
    const conf = write('tls.conf', [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection secure',
      `address 127.0.0.1:${remote.port}`,
      'topic tls/# out 1',
      `bridge_cafile ${c.ca}`,
      `bridge_certfile ${c.clientCert}`,
      `bridge_keyfile ${c.clientKey}`,
      'bridge_protocol_version mqttv50',
      'restart_timeout 1',
    ]);
    const broker = startMqt(['broker', '-c', conf]);
    await broker.waitForStdout(/bridge secure → 127\.0\.0\.1:\d+ \(TLS, MQTT 5\) topics tls\/# out qos 1\n/);
    const { client: atRemote } = await mqttClient(`mqtts://127.0.0.1:${remote.port}`, { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
    const state = messageOn(atRemote, `$SYS/broker/connection/${hostname()}.secure/state`);
    await atRemote.subscribeAsync([`$SYS/broker/connection/${hostname()}.secure/state`, 'tls/#'], { qos: 1 });
    expect(await state).toMatchObject({ payload: '1' });
    const { client: local } = await mqttClient(`mqtt://127.0.0.1:${port}`);
    const got = messageOn(atRemote, 'tls/a');
    await local.publishAsync('tls/a', 'sealed', { qos: 1 });
    expect(await got).toMatchObject({ payload: 'sealed', qos: 1 });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  }, 30_000);
});

describe('bridge sections at start-up and in --check', () => {
  it('--json prints one bridge record after the listening one', async () => {
    const port = await freePort();
    const nobody = await freePort();
    const conf = write('json.conf', [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection quiet',
      `address 127.0.0.1:${nobody} 127.0.0.2:${nobody}`,
      'topic sensors/# out 2',
      'topic "" in 1 here/state there/state',
      'bridge_protocol_version mqttv50',
    ]);
    const broker = startMqt(['broker', '-c', conf, '--json']);
    await broker.waitForStdout(/"event":"bridge"/);
    const records = broker.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.event)).toEqual(['listening', 'bridge']);
    expect(records[1]).toEqual({
      time: expect.any(String),
      event: 'bridge',
      name: 'quiet',
      addresses: [`127.0.0.1:${nobody}`, `127.0.0.2:${nobody}`],
      tls: false,
      protocolVersion: 5,
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 2, localPrefix: '', remotePrefix: '' },
        { pattern: '', direction: 'in', qos: 1, localPrefix: 'here/state', remotePrefix: 'there/state' },
      ],
    });
    // A remote that is not there is no reason to stop.
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  }, 20_000);

  it('--check lists each bridge and reads its TLS files', async () => {
    const c = testCerts();
    const conf = write('check.conf', [
      'listener 18830 127.0.0.1',
      'connection cloud',
      'address broker.example:8883',
      `bridge_cafile ${c.ca}`,
      `bridge_certfile ${c.clientCert}`,
      `bridge_keyfile ${c.clientKey}`,
      'topic a/# out 1 "" site-1/',
      'connection other',
      'address 10.0.0.2',
      'topic # in',
    ]);
    const r = await spawnMqt(['broker', '--check', '-c', conf]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${conf}: OK\n  tcp on 127.0.0.1:18830 (anonymous refused)\n  bridge cloud → broker.example:8883 (TLS) topics a/# out qos 1 (remote site-1/a/#)\n  bridge other → 10.0.0.2:1883 topics # in qos 0\n`,
    );
  });

  it('a bad bridge section stops the broker with one line naming the file and line, exit code 1', async () => {
    const port = await freePort();
    const missing = join(dir, 'no-such-ca.pem');
    const cases: Array<{ lines: string[]; error: RegExp }> = [
      { lines: ['connection b', 'address 127.0.0.1'], error: /:3: bridge b has no topic line, so it would carry nothing/ },
      { lines: ['connection b', 'topic #'], error: /:3: bridge b has no address/ },
      { lines: ['topic # both'], error: /:3: topic is a bridge setting but comes before any "connection NAME" line/ },
      { lines: ['connection b', 'address h', 'topic # sideways'], error: /:5: topic #: the direction must be in, out or both, not "sideways"/ },
      { lines: ['connection b', 'address h', 'topic a', 'connection b'], error: /:6: connection b is declared a second time \(first at .*:3\)/ },
      { lines: ['connection a', 'address h', 'topic t', 'local_clientid same', 'connection b', 'address h', 'topic t', 'local_clientid same'], error: /:7: bridges a \(.*:3\) and b would both be same in mqt/ },
      { lines: ['connection b', 'address h', 'topic t', `bridge_cafile ${missing}`], error: new RegExp(`:6: bridge b: cannot read the CA file '${escape(missing)}': no such file`) },
      { lines: ['connection b', 'address h', 'topic t', 'start_type lazy'], error: /:6: mqt does not support start_type lazy/ },
      { lines: ['connection b', 'address h', 'topic t', 'bridge_bind_address 10.0.0.1'], error: /:6: mqt does not support bridge_bind_address: / },
    ];
    for (const [i, { lines, error }] of cases.entries()) {
      const conf = write(`bad-${i}.conf`, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...lines]);
      for (const check of [[], ['--check']]) {
        const r = await spawnMqt(['broker', '-c', conf, ...check]);
        expect(r.code, `${lines.join(' / ')} ${check.join('')}`).toBe(1);
        expect(r.stderr, lines.join(' / ')).toMatch(new RegExp(`^mqt broker: ${escape(conf)}${error.source}[^\\n]*\\n$`));
        expect(r.stdout).toBe('');
      }
    }
  }, 60_000);
});

describe('the bridge line', () => {
  const plain = colorFor('stdout', { NO_COLOR: '1' });
  it('names TLS and a protocol other than 3.1.1, the remote side of a remapped filter, and quotes what could forge a line', () => {
    const line = textLine(new Date(), {
      event: 'bridge',
      name: 'two\nlines',
      addresses: ['[::1]:8883', 'b.example:8883'],
      tls: true,
      protocolVersion: 5,
      topics: [
        { pattern: 'a/#', direction: 'in', qos: 2, localPrefix: 'l/', remotePrefix: '' },
        { pattern: '', direction: 'out', qos: 0, localPrefix: 'up', remotePrefix: 'edge/up' },
        { pattern: 'x y', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' },
      ],
    }, plain);
    expect(line).toBe('mqt broker bridge "two\\nlines" → [::1]:8883, b.example:8883 (TLS, MQTT 5) topics l/a/# in qos 2 (remote a/#), up out qos 0 (remote edge/up), "x y" both qos 1\n');
  });
});
