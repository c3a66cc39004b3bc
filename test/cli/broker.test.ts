import { createServer, type Server } from 'node:net';
import { connect } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/commands/broker-run.js';
import { colorFor } from '../../src/commands/render/color.js';
import { clock, jsonLine, oneLine, printable, textLine, type BrokerLogRecord } from '../../src/commands/render/broker-log.js';
import { cleanUpMqt, mqttClient, nextMessage, startMqt, stop, trackClient, type RunningBroker } from '../helpers/mqt-process.js';
import { spawnMqt, assertFreshBuild } from '../helpers/spawn-mqt.js';

// `mqt broker` as a user runs it: the built binary in a child process, real clients over
// TCP and WebSocket, signals to stop it. Ports come from binding port 0 first.

/** A line of a stack trace as V8 prints it. */
const STACK_LINE = /^\s+at .+/m;

beforeAll(() =>
  assertFreshBuild(['cli-broker.ts', 'commands/broker.ts', 'commands/broker-argv.ts', 'commands/broker-options.ts', 'commands/broker-run.ts', 'commands/broker-plan.ts', 'commands/broker-access.ts', 'commands/broker-heap.ts', 'commands/render/broker-log.ts', 'commands/render/color.ts']),
);

// ---- helpers ---------------------------------------------------------------------------

/** A port nothing listens on right now: bind port 0 on loopback, note it, let it go. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server holding a loopback port, so the broker finds it taken. */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.add(server);
  return { server, port: (server.address() as { port: number }).port };
}

const servers = new Set<Server>();

afterEach(async () => {
  cleanUpMqt();
  await Promise.all([...servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  servers.clear();
});

/** Starts the broker on a free port and waits for its listener line. */
async function startBroker(extra: string[] = []): Promise<RunningBroker & { port: number }> {
  const port = await freePort();
  const broker = startMqt(['broker', '--port', String(port), ...extra]);
  // The text line or the JSON record, whichever --json chose.
  await broker.waitForStdout(/listening.*\n/);
  return { ...broker, port };
}


// ---- starting, serving and stopping ----------------------------------------------------

describe('mqt broker (running)', () => {
  it('prints its one listener line, on loopback by default, and nothing on stderr', async () => {
    const broker = await startBroker();
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${broker.port}\n`);
    expect(broker.stderr()).toBe('');
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  // bin/mqt.js starts a broker from its own quick parser (src/cli-broker.ts) and hands any line
  // it does not take, such as `-p1884` or `--wsPort`, to the whole CLI (yargs): both start it.
  it('starts from a command line only yargs parses (-pPORT), the same broker', async () => {
    const port = await freePort();
    const broker = startMqt(['broker', `-p${port}`, '-vd']);
    await broker.waitForStdout(/listening.*\n/);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${port}\n`);
    await mqttClient(`mqtt://127.0.0.1:${port}`, { clientId: 'via-yargs' });
    // -v came through yargs too: the connect is logged.
    await broker.waitForStdout(/connect +via-yargs/);
    expect(broker.stderr()).toBe('');
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['3.1.1', 4],
    ['5', 5],
  ] as const)('serves MQTT.js publish/subscribe at QoS 1 on MQTT %s', async (_name, protocolVersion) => {
    const broker = await startBroker();
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const { client: sub } = await mqttClient(url, { protocolVersion, clientId: 'sub' });
    await sub.subscribeAsync('eg/#', { qos: 1 });
    const { client: pub } = await mqttClient(url, { protocolVersion, clientId: 'pub' });
    const got = nextMessage(sub);
    await pub.publishAsync('eg/temp', '21.5', { qos: 1 });
    expect(await got).toEqual({ topic: 'eg/temp', payload: '21.5', qos: 1 });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('adds a WebSocket listener with --ws-port and names both in the listener line', async () => {
    const wsPort = await freePort();
    const broker = await startBroker(['--ws-port', String(wsPort)]);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://127.0.0.1:${broker.port} and ws://127.0.0.1:${wsPort}/mqtt\n`);
    // A message crosses transports: WebSocket subscriber, TCP publisher.
    const { client: sub } = await mqttClient(`ws://127.0.0.1:${wsPort}/mqtt`, { protocolVersion: 5 });
    await sub.subscribeAsync('ws/t', { qos: 0 });
    const { client: pub } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`);
    const got = nextMessage(sub);
    await pub.publishAsync('ws/t', 'over ws');
    expect(await got).toMatchObject({ topic: 'ws/t', payload: 'over ws' });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s closes the broker: clients get DISCONNECT 0x8B, exit 0, a last stopped line', async (signal) => {
    const broker = await startBroker();
    const { client } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5 });
    const disconnected = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
    expect(await stop(broker, signal)).toEqual({ code: 0, signal: null });
    // 0x8B Server shutting down (MQTT 5 DISCONNECT reason code).
    expect(await disconnected).toBe(0x8b);
    expect(broker.stdout()).toMatch(new RegExp(`\\nmqt broker stopped \\(${signal}\\)\\n$`));
    expect(broker.stderr()).toBe('');
  });

  it('-v prints one line per connect, subscribe, disconnect (with the reason) and will', async () => {
    const broker = await startBroker(['-v']);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const { client: watcher } = await mqttClient(url, { protocolVersion: 5, clientId: 'watcher' });
    await watcher.subscribeAsync('status/+', { qos: 1 });
    const { client: doomed } = await mqttClient(url, {
      clientId: 'doomed',
      will: { topic: 'status/doomed', payload: Buffer.from('offline'), qos: 1, retain: false },
    });
    const will = nextMessage(watcher);
    doomed.stream.destroy(); // no DISCONNECT: the will must go out
    expect(await will).toMatchObject({ topic: 'status/doomed', payload: 'offline' });
    await watcher.endAsync();
    const time = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
    await broker.waitForStdout(/disconnect +watcher/);
    const lines = broker.stdout().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${time} connect +watcher from 127\\.0\\.0\\.1 on tcp:${broker.port} \\(MQTT 5, new session\\)$`)),
        expect.stringMatching(new RegExp(`^${time} subscribe +watcher status/\\+ qos 1$`)),
        expect.stringMatching(new RegExp(`^${time} connect +doomed from 127\\.0\\.0\\.1 on tcp:${broker.port} \\(MQTT 3\\.1\\.1, new session\\)$`)),
        expect.stringMatching(new RegExp(`^${time} will +doomed to status/doomed \\(qos 1, 7 bytes\\)$`)),
        expect.stringMatching(new RegExp(`^${time} disconnect +doomed on tcp:${broker.port} \\(socket closed\\)$`)),
        expect.stringMatching(new RegExp(`^${time} disconnect +watcher on tcp:${broker.port} \\(sent DISCONNECT\\)$`)),
      ]),
    );
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('--json -v prints one JSON object per line with time, event and fields', async () => {
    const broker = await startBroker(['--json', '-v']);
    const { client } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, clientId: 'j1', username: 'ann' });
    await client.subscribeAsync('j/#', { qos: 2 });
    await client.endAsync();
    await broker.waitForStdout(/"event":"disconnect"/);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
    const records = broker
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const r of records) expect(new Date(r.time as string).toISOString()).toBe(r.time);
    expect(records.map((r) => r.event)).toEqual(['listening', 'connect', 'subscribe', 'disconnect', 'stopped']);
    expect(records[0]).toMatchObject({
      listeners: [{ kind: 'tcp', url: `mqtt://127.0.0.1:${broker.port}`, address: '127.0.0.1', port: broker.port }],
    });
    expect(records[1]).toMatchObject({ clientId: 'j1', protocolVersion: 5, username: 'ann', remoteAddress: '127.0.0.1', sessionPresent: false });
    expect(records[2]).toMatchObject({ clientId: 'j1', topicFilter: 'j/#', qos: 2 });
    expect(records[3]).toMatchObject({ clientId: 'j1', reason: 'disconnect' });
    expect(records[4]).toMatchObject({ signal: 'SIGTERM' });
  });

  it('--host 0.0.0.0 warns on stderr (one line) about anonymous access beyond loopback, and serves', async () => {
    const broker = await startBroker(['--host', '0.0.0.0']);
    expect(broker.stdout()).toBe(`mqt broker listening on mqtt://0.0.0.0:${broker.port}\n`);
    expect(broker.stderr()).toMatch(/^mqt broker: warning: listening on 0\.0\.0\.0 beyond loopback with anonymous access; [^\n]+\n$/);
    const { connack } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`);
    expect(connack.returnCode).toBe(0);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('passes --max-packet-size and --max-keepalive to the broker (MQTT 5 CONNACK announces them)', async () => {
    const broker = await startBroker(['--max-packet-size', '1000', '--max-keepalive', '10', '--max-inflight', '5']);
    const { connack } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, keepalive: 60 });
    expect(connack.properties).toMatchObject({ maximumPacketSize: 1000, serverKeepAlive: 10 });
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it('passes --max-queued to the broker: an offline session keeps that many messages', async () => {
    const broker = await startBroker(['--max-queued', '2']);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const first = await mqttClient(url, { clientId: 'away', clean: false });
    await first.client.subscribeAsync('q/t', { qos: 1 });
    await first.client.endAsync();
    const { client: pub } = await mqttClient(url);
    for (const m of ['m1', 'm2', 'm3']) await pub.publishAsync('q/t', m, { qos: 1 });
    const received: string[] = [];
    const back = connect(url, { clientId: 'away', clean: false, reconnectPeriod: 0 });
    trackClient(back);
    back.on('message', (_topic, payload) => received.push(payload.toString()));
    await new Promise((resolve) => back.once('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Beyond the limit the newest are dropped.
    expect(received).toEqual(['m1', 'm2']);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });
});

// ---- failing to start ------------------------------------------------------------------

describe('mqt broker (errors)', () => {
  function expectOneLineError(result: { stdout: string; stderr: string; code: number | null; timedOut: boolean }): void {
    expect(result.timedOut, 'mqt did not exit').toBe(false);
    expect(result.code, `stderr: ${result.stderr}`).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(STACK_LINE);
  }

  it('a port in use: one line naming the port and the flag, exit 1', async () => {
    const { port } = await occupy();
    const result = await spawnMqt(['broker', '--port', String(port)]);
    expectOneLineError(result);
    expect(result.stderr).toBe(`mqt broker: port ${port} on 127.0.0.1 is already in use; choose another with --port\n`);
  });

  it('a WebSocket port in use: the error names --ws-port, exit 1', async () => {
    const { port: wsPort } = await occupy();
    const port = await freePort();
    const result = await spawnMqt(['broker', '--port', String(port), '--ws-port', String(wsPort)]);
    expectOneLineError(result);
    expect(result.stderr).toBe(`mqt broker: port ${wsPort} on 127.0.0.1 is already in use; choose another with --ws-port\n`);
  });

  it.each([
    [['--port', '-1'], "--port must be a whole number from 0 to 65535, got '-1'"],
    [['--port', 'abc'], "--port must be a whole number from 0 to 65535, got 'abc'"],
    [['--port', '70000'], "--port must be a whole number from 0 to 65535, got '70000'"],
    [['-p', '1.5'], "--port must be a whole number from 0 to 65535, got '1.5'"],
    [['--port', '1', '--port', '2'], '--port was given more than once'],
    [['--port'], '-p/--port needs a value'],
    [['--ws-port', '65536'], "--ws-port must be a whole number from 0 to 65535, got '65536'"],
    [['--max-inflight', '0'], "--max-inflight must be a whole number from 1 to 65535, got '0'"],
    [['--max-queued', 'lots'], "--max-queued must be a whole number from 1 to 100000000, got 'lots'"],
    [['--max-packet-size', '268435461'], "--max-packet-size must be a whole number from 1 to 268435460, got '268435461'"],
    [['--max-keepalive', '-5'], "--max-keepalive must be a whole number from 1 to 65535, got '-5'"],
    [['--port', '2000', '--ws-port', '2000'], '--ws-port must differ from --port'],
    [['--host', ''], '--host needs an address or a host name'],
    [['--bogus'], 'unknown option --bogus'],
  ])('mqt broker %j: one-line usage error, exit 1', async (args, message) => {
    const result = await spawnMqt(['broker', ...args]);
    expectOneLineError(result);
    expect(result.stderr).toBe(`mqt broker: ${message}\nUse 'mqt broker --help'\n`);
  });

  it('--help lists every option', async () => {
    const result = await spawnMqt(['broker', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['-p, --port', '--host', '--ws-port', '--max-inflight', '--max-queued', '--max-packet-size', '--max-keepalive', '-v, --verbose', '--json']) {
      expect(result.stdout).toContain(flag);
    }
  });
});

// ---- rendering (in-process) ------------------------------------------------------------

describe('broker log rendering', () => {
  const plain = colorFor('stdout', { NO_COLOR: '1' });
  const at = new Date(2024, 0, 2, 3, 4, 5, 6);

  it.each<[BrokerLogRecord, string]>([
    [{ event: 'listening', listeners: [{ kind: 'tcp', url: 'mqtt://[::1]:1883', address: '::1', port: 1883 }] }, 'mqt broker listening on mqtt://[::1]:1883'],
    [{ event: 'stopped', signal: 'SIGINT' }, 'mqt broker stopped (SIGINT)'],
    [
      { event: 'connect', clientId: 'c1', protocolVersion: 3, username: 'u', remoteAddress: '10.0.0.1', sessionPresent: true },
      '03:04:05.006 connect     c1 from 10.0.0.1 (MQTT 3.1, user u, session resumed)',
    ],
    [{ event: 'disconnect', clientId: 'c1', reason: 'keep-alive timeout' }, '03:04:05.006 disconnect  c1 (keep-alive timeout)'],
    [
      { event: 'subscribe', clientId: 'c1', topicFilter: '$share/g/x', reasonCode: 0x87, reason: 'Not authorized' },
      '03:04:05.006 subscribe   c1 $share/g/x refused: Not authorized (0x87)',
    ],
    [{ event: 'unsubscribe', clientId: 'c1', topicFilter: 'a/#' }, '03:04:05.006 unsubscribe c1 a/#'],
    [{ event: 'will', clientId: 'c1', topic: 't', qos: 0, retain: true, payloadBytes: 1 }, '03:04:05.006 will        c1 to t (qos 0, retained, 1 byte)'],
    [{ event: 'client-error', message: 'malformed\n  at x' }, '03:04:05.006 error       a connection before CONNECT: malformed'],
  ])('text %#: %s', (record, expected) => {
    expect(textLine(at, record, plain)).toBe(`${expected}\n`);
  });

  it('JSON lines lead with the ISO time, then the event and its fields', () => {
    const line = jsonLine(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), { event: 'disconnect', clientId: 'c1', reason: 'socket closed' });
    expect(line).toBe('{"time":"2024-01-02T03:04:05.006Z","event":"disconnect","clientId":"c1","reason":"socket closed"}\n');
  });

  it('shows client ids and messages that could forge lines or drive the terminal as escaped literals', () => {
    expect(printable('')).toBe('""');
    expect(printable('fake\n03:00:00.000 connect admin')).toBe('"fake\\n03:00:00.000 connect admin"');
    expect(printable('\u001b[2Jhi')).toBe('"\\u001b[2Jhi"');
    expect(printable('sensor-1/ü')).toBe('sensor-1/ü');
    expect(oneLine('bad \u001b[31mred\u0007')).toBe('bad \\u001b[31mred\\u0007');
  });

  it('NO_COLOR (non-empty) turns colour off whatever the terminal', () => {
    expect(colorFor('stdout', { NO_COLOR: '1' }).level).toBe(0);
    expect(colorFor('stderr', { NO_COLOR: 'yes' }).level).toBe(0);
  });

  it('clock pads to HH:MM:SS.mmm', () => {
    expect(clock(new Date(2024, 0, 1, 9, 8, 7, 60))).toBe('09:08:07.060');
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.5', false],
    ['::ffff:10.0.0.1', false],
  ])('isLoopback(%s) is %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
