import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { ConnectError } from '../../src/core/client/diagnose.js';
import { RawClient } from '../../src/core/client/raw-client.js';
import type { ConnectionOptions } from '../../src/core/client/types.js';
import { createDialer } from '../../src/core/net/dial.js';
import { testCerts, type TestCerts } from '../helpers/certs.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { assertFreshBuild, spawnMqt, type SpawnMqtResult } from '../helpers/spawn-mqt.js';

// Connections that cannot work, as a new user makes them, in one line of our words each,
// whichever way the command connects: MQTT.js (pub, sub, lwt-test's watcher) or the raw
// dialer (bench, lwt-test's victim). Against real listeners: mqt's broker with a plain port, a
// WebSocket port and a TLS port at its default minimum of TLS 1.2; mosquitto's plain port.

const STACK_LINE = /^\s+at .+/m;

beforeAll(() => assertFreshBuild(['core/client/diagnose.ts', 'core/client/connect.ts', 'core/net/dial.ts', 'core/net/tls-files.ts']));

let certs: TestCerts;
let broker: Broker;
const ports = { tcp: 0, ws: 0, tls: 0 };
beforeAll(async () => {
  certs = testCerts();
  broker = createBroker();
  const records = await broker.listen([
    { kind: 'tcp', port: 0, host: '127.0.0.1' },
    { kind: 'ws', port: 0, host: '127.0.0.1', path: '/mqtt' },
    { kind: 'tls', port: 0, host: '127.0.0.1', tls: { certFile: certs.serverCert, keyFile: certs.serverKey } },
  ]);
  [ports.tcp, ports.ws, ports.tls] = records.map((r) => r.port) as [number, number, number];
});
afterAll(() => broker?.close());

/** The client commands, each with the arguments that make it connect once and stop. */
const COMMANDS: [name: string, args: string[]][] = [
  ['pub', ['pub', '-t', 't', '-m', 'x']],
  ['sub', ['sub', '-t', 't', '-C', '1', '-W', '5']],
  ['bench', ['bench', 'pub', '--msgs', '10']],
  ['lwt-test', ['lwt-test', '--mode', 'kill', '--timeout', '1']],
];

async function mqt(args: string[], target: string[]): Promise<SpawnMqtResult> {
  const [command, ...rest] = args;
  return spawnMqt([command!, ...target, ...rest], { timeoutMs: 15_000 });
}

/** One line on stderr, exit 1, no stack. */
function oneLine(r: SpawnMqtResult, command: string, message: RegExp): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^mqt ${command}: ${message.source}`));
  expect(r.stderr).not.toMatch(STACK_LINE);
}

const at = (port: number): string[] => ['-h', '127.0.0.1', '-p', String(port)];

describe.each(COMMANDS)('mqt %s', (name, args) => {
  // The issue: "Invalid header flag bits, must be 0x0 for puback packet".
  it.concurrent('plain MQTT to a WebSocket port: it speaks HTTP, use --ws', async () => {
    const r = await mqt(args, at(ports.ws));
    oneLine(r, name, /127\.0\.0\.1:\d+ answered in HTTP, not MQTT: port \d+ serves WebSocket \(or the web\); connect with --ws \(or -L ws:\/\/127\.0\.0\.1:\d+\/mqtt\)$/);
  });

  // The issue: "signed by a CA this client does not trust".
  it.concurrent('a --cafile that is no certificate: the file holds none', async () => {
    const r = await mqt(args, [...at(ports.tls), '--cafile', certs.garbage]);
    oneLine(r, name, new RegExp(`the CA file '${certs.garbage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' holds no PEM certificate \\(-----BEGIN CERTIFICATE-----\\)$`));
  });

  // The issue: raw OpenSSL text for --tls-version tlsv1.1 against a TLS 1.2+ broker.
  it.concurrent('--tls-version tlsv1.1 against a broker that starts at TLS 1.2: too old, use 1.2 or 1.3', async () => {
    const r = await mqt(args, [...at(ports.tls), '--cafile', certs.ca, '--tls-version', 'tlsv1.1']);
    oneLine(r, name, /127\.0\.0\.1:\d+ does not accept TLS 1\.1 \(--tls-version tlsv1\.1 is too old for it\): use --tls-version tlsv1\.2 or tlsv1\.3, or leave it out$/);
    expect(r.stderr).not.toMatch(/SSL routines|alert/);
  });

  it.concurrent('TLS to a plain MQTT port: the port does not speak TLS', async () => {
    const r = await mqt(args, [...at(ports.tcp), '--cafile', certs.ca]);
    oneLine(r, name, /127\.0\.0\.1:\d+ closed the connection during the TLS handshake: the port probably does not speak TLS; for plain MQTT use mqtt:\/\/ and no TLS options$/);
  });
});

it('the TLS listener is sound: TLS 1.2 with the right CA publishes', async () => {
  const r = await mqt(COMMANDS[0]![1], [...at(ports.tls), '--cafile', certs.ca, '--tls-version', 'tlsv1.2']);
  expect(r.code, r.stderr).toBe(0);
});

const gate = needPeers('mosquitto');
describe.skipIf(gate.skip)('against mosquitto', () => {
  let mosquitto: RunningMosquitto;
  beforeAll(async () => {
    gate.check();
    mosquitto = await startMosquitto();
  });
  afterAll(() => mosquitto?.stop());

  it.concurrent.each(COMMANDS)('%s: TLS to its plain port says the port does not speak TLS', async (name, args) => {
    const r = await mqt(args, [...at(mosquitto.port), '--cafile', certs.ca]);
    oneLine(r, name, /127\.0\.0\.1:\d+ closed the connection during the TLS handshake: the port probably does not speak TLS/);
  });
});

describe('the raw paths in-process (lwt-test\'s victim, the bench dialer)', () => {
  const connection = (o: Partial<ConnectionOptions>): ConnectionOptions => ({
    transport: 'mqtt', host: '127.0.0.1', port: ports.ws, wsPath: '/mqtt', clientId: 'raw', keepalive: 60, protocolVersion: 5, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 5000, ...o,
  });

  it('RawClient to a WebSocket port: EHTTP, told as HTTP', async () => {
    const err = await RawClient.connect({ connection: connection({}), clientId: 'raw', protocolVersion: 5, keepalive: 60, clean: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: 'EHTTP' });
    expect((err as Error).message).toMatch(/answered in HTTP, not MQTT/);
  });

  it('the dialer over TLS to a plain port: ETLSCLOSED', async () => {
    const dialer = await createDialer(connection({ transport: 'mqtts', port: ports.tcp, tls: { insecure: false, caFile: certs.ca } }));
    await expect(dialer.open(5000)).rejects.toMatchObject({ code: 'ETLSCLOSED' });
  });

  it('a DER --cafile is read as its certificate: the TLS connection succeeds', async () => {
    const der = join(certs.dir, 'ca-from-test.der');
    execFileSync('openssl', ['x509', '-in', certs.ca, '-outform', 'der', '-out', der]);
    const client = await RawClient.connect({ connection: connection({ transport: 'mqtts', host: 'localhost', port: ports.tls, tls: { insecure: false, caFile: der } }), clientId: 'der', protocolVersion: 5, keepalive: 60, clean: true });
    client.disconnect();
  });
});
