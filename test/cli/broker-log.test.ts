import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClientInfo } from '../../src/core/broker/index.js';
import { createBroker } from '../../src/core/broker/index.js';
import { logSinks } from '../../src/commands/broker-log-sinks.js';
import { PUBLISH_LINES_PER_SECOND } from '../../src/commands/broker-options.js';
import { PublishLog } from '../../src/commands/broker-publish-log.js';
import { colorFor } from '../../src/commands/render/color.js';
import { listenerLabel, textLine, type BrokerLogRecord } from '../../src/commands/render/broker-log.js';
import { brokerFor, connect, until } from '../helpers/broker-client.js';
import { cleanUpMqt, mqttClient, nextMessage, startMqt, stop, type RunningBroker } from '../helpers/mqt-process.js';
import { assertFreshBuild } from '../helpers/spawn-mqt.js';

// `mqt broker -v` names the listener a client came in on; `-v -v` adds a line per PUBLISH
// received and sent, in mosquitto's words (log_type all), at most PUBLISH_LINES_PER_SECOND a
// second and then one line counting the rest. The built binary in a child process, MQTT.js
// clients over TCP and WebSocket.

beforeAll(() =>
  assertFreshBuild(['cli-broker.ts', 'commands/broker.ts', 'commands/broker-argv.ts', 'commands/broker-options.ts', 'commands/broker-run.ts', 'commands/broker-log-sinks.ts', 'commands/broker-publish-log.ts', 'commands/render/broker-log.ts', 'core/broker/connection.ts', 'core/broker/handlers/publish.ts']),
);

afterEach(() => cleanUpMqt());

const TIME = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
const LIMIT = PUBLISH_LINES_PER_SECOND;

/** `mqt broker --port 0 …` with the ports it got, read from its listening line. */
async function startLogging(args: string[]): Promise<RunningBroker & { port: number; wsPort: number | undefined }> {
  const broker = startMqt(['broker', '--port', '0', ...args]);
  // The text line or the JSON record, whichever --json chose: both hold the URLs.
  const [line] = await broker.waitForStdout(/^.*listening.*$/m, 10_000);
  const tcp = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(line);
  const ws = /ws:\/\/127\.0\.0\.1:(\d+)\/mqtt/.exec(line);
  if (tcp === null) throw new Error(`no TCP listener in ${line}`);
  return { ...broker, port: Number(tcp[1]), wsPort: ws === null ? undefined : Number(ws[1]) };
}

describe('mqt broker -v (spawned)', () => {
  it('-v names the listener on the connect and disconnect lines (tcp:PORT, ws:PORT), and prints no PUBLISH lines', async () => {
    const broker = await startLogging(['--ws-port', '0', '-v']);
    expect(broker.wsPort).toBeDefined();
    const { client: sub } = await mqttClient(`ws://127.0.0.1:${broker.wsPort}/mqtt`, { clientId: 'over-ws', protocolVersion: 5 });
    await sub.subscribeAsync('quiet/t', { qos: 1 });
    const { client: pub } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'over-tcp' });
    const got = nextMessage(sub);
    await pub.publishAsync('quiet/t', 'hello', { qos: 1 });
    expect(await got).toMatchObject({ topic: 'quiet/t', payload: 'hello' });
    await pub.endAsync();
    await broker.waitForStdout(/disconnect +over-tcp/);
    const out = broker.stdout();
    expect(out).toMatch(new RegExp(`^${TIME} connect +over-ws from 127\\.0\\.0\\.1 on ws:${broker.wsPort} \\(MQTT 5, new session\\)$`, 'm'));
    expect(out).toMatch(new RegExp(`^${TIME} connect +over-tcp from 127\\.0\\.0\\.1 on tcp:${broker.port} \\(MQTT 3\\.1\\.1, new session\\)$`, 'm'));
    expect(out).toMatch(new RegExp(`^${TIME} disconnect +over-tcp on tcp:${broker.port} \\(sent DISCONNECT\\)$`, 'm'));
    // One -v: the connection's story, not its traffic.
    expect(out).not.toMatch(/PUBLISH/);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
    expect(broker.stderr()).toBe('');
  });

  it("-v -v logs each PUBLISH received and sent in mosquitto's shape", async () => {
    const broker = await startLogging(['-v', '-v']);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const { client: sub } = await mqttClient(url, { clientId: 'reader' });
    await sub.subscribeAsync('log/t', { qos: 1 });
    const { client: pub } = await mqttClient(url, { clientId: 'writer' });
    const got = nextMessage(sub);
    // Retained and QoS 1: r1 coming in, r0 going out to a subscriber that was already there.
    await pub.publishAsync('log/t', 'hello', { qos: 1, retain: true });
    await got;
    await broker.waitForStdout(/Sending PUBLISH to reader/);
    const out = broker.stdout();
    expect(out).toMatch(new RegExp(`^${TIME} Received PUBLISH from writer \\(d0, q1, r1, m[1-9]\\d*, 'log/t', \\.\\.\\. \\(5 bytes\\)\\)$`, 'm'));
    expect(out).toMatch(new RegExp(`^${TIME} Sending PUBLISH to reader \\(d0, q1, r0, m[1-9]\\d*, 'log/t', \\.\\.\\. \\(5 bytes\\)\\)$`, 'm'));
    // Received before sent, each once.
    expect(out.indexOf('Received PUBLISH')).toBeLessThan(out.indexOf('Sending PUBLISH'));
    expect(out.match(/PUBLISH/g)).toHaveLength(2);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });

  it(`-vv --json: a burst of 2,000 publishes prints at most ${LIMIT} PUBLISH lines a second, then one line counting the rest`, async () => {
    const broker = await startLogging(['-vv', '--json']);
    const { client: pub } = await mqttClient(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'burst' });
    const payload = Buffer.alloc(8);
    for (let i = 0; i < 2000; i++) pub.publish('burst/t', payload, { qos: 0 });
    // Acknowledged once the broker has read everything before it.
    await pub.publishAsync('burst/t', payload, { qos: 1 });
    const total = 2001;
    const records = (): Array<Record<string, unknown>> =>
      broker
        .stdout()
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((r) => r.event === 'publish' || r.event === 'publish-suppressed');
    const accounted = (): number => records().reduce((n, r) => n + (r.event === 'publish' ? 1 : (r.count as number)), 0);
    // The count comes when the second ends: wait until every publish is printed or counted.
    await vi.waitFor(() => expect(accounted()).toBe(total), { timeout: 10_000, interval: 100 });
    const list = records();
    expect(list[0]).toMatchObject({ event: 'publish', direction: 'received', clientId: 'burst', listener: `tcp:${broker.port}`, topic: 'burst/t', qos: 0, retain: false, dup: false, packetId: 0, payloadBytes: 8 });
    const suppressed = list.filter((r) => r.event === 'publish-suppressed');
    expect(suppressed.length).toBeGreaterThanOrEqual(1);
    for (const s of suppressed) expect(s).toMatchObject({ count: expect.any(Number), perSecond: LIMIT });
    // Each second prints at most LIMIT lines; a count line ends a second that had more.
    let inSecond = 0;
    for (const r of list) {
      if (r.event === 'publish-suppressed') {
        expect(inSecond).toBe(LIMIT);
        inSecond = 0;
      } else {
        inSecond++;
        expect(inSecond).toBeLessThanOrEqual(LIMIT);
      }
    }
    expect(list.filter((r) => r.event === 'publish').length).toBeLessThan(total);
    expect(await stop(broker)).toEqual({ code: 0, signal: null });
  });
});

// ---- in-process: the limiter, the sinks, the text ------------------------------------------

describe('PublishLog (the limiter)', () => {
  beforeAll(() => vi.useFakeTimers());
  afterAll(() => vi.useRealTimers());

  const client = { clientId: 'c1', protocolVersion: 4, username: undefined, remoteAddress: '127.0.0.1' } as ClientInfo;

  it(`prints the first ${LIMIT} of a second, counts the rest, and says how many when the second ends`, () => {
    const printed: BrokerLogRecord[] = [];
    const log = new PublishLog((r) => printed.push(r), LIMIT);
    for (let i = 0; i < 2000; i++) log.received(client, 't', 0, false, false, 0, 3);
    expect(printed).toHaveLength(LIMIT);
    expect(printed[0]).toEqual({ event: 'publish', direction: 'received', clientId: 'c1', listener: undefined, topic: 't', qos: 0, retain: false, dup: false, packetId: 0, payloadBytes: 3 });
    vi.advanceTimersByTime(1000);
    expect(printed).toHaveLength(LIMIT + 1);
    expect(printed[LIMIT]).toEqual({ event: 'publish-suppressed', count: 2000 - LIMIT, perSecond: LIMIT });
    // A new second: lines again, and an idle second says nothing.
    log.sent(client, 't', 1, false, true, 7, 3);
    expect(printed[LIMIT + 1]).toMatchObject({ event: 'publish', direction: 'sent', dup: true, packetId: 7 });
    vi.advanceTimersByTime(5000);
    expect(printed).toHaveLength(LIMIT + 2);
  });

  it('close() says what the last second left out', () => {
    const printed: BrokerLogRecord[] = [];
    const log = new PublishLog((r) => printed.push(r), 2);
    for (let i = 0; i < 5; i++) log.received(client, 't', 0, false, false, 0, 0);
    log.close();
    expect(printed.map((r) => r.event)).toEqual(['publish', 'publish', 'publish-suppressed']);
    expect(printed[2]).toMatchObject({ count: 3 });
    vi.advanceTimersByTime(2000);
    expect(printed).toHaveLength(3);
  });
});

describe('PUBLISH lines: when and how they read', () => {
  it('are on at -v -v and with log_type debug or all, off at -v alone', () => {
    expect(logSinks(undefined, 0).publishes).toBe(false);
    expect(logSinks(undefined, 1)).toMatchObject({ connections: true, publishes: false });
    expect(logSinks(undefined, 2)).toMatchObject({ connections: true, publishes: true });
    expect(logSinks({ dest: [{ kind: 'stdout' }], types: ['all'] }, 0).publishes).toBe(true);
    expect(logSinks({ dest: [{ kind: 'stdout' }], types: ['debug'] }, 0).publishes).toBe(true);
    expect(logSinks({ dest: [{ kind: 'stdout' }], types: ['information', 'subscribe'] }, 0).publishes).toBe(false);
  });

  it('cost the broker nothing unless asked for: no trace is set by default', async () => {
    const broker = createBroker();
    expect(broker.publishTrace).toBeUndefined();
    await broker.close();
  });

  it('come from broker.publishTrace: each PUBLISH read and written, a re-send with dup', async (ctx) => {
    const broker = brokerFor(ctx);
    const seen: string[] = [];
    const at = (direction: string) => (client: ClientInfo, topic: string, qos: number, retain: boolean, dup: boolean, packetId: number, bytes: number): void => {
      seen.push(`${direction} ${client.clientId} ${topic} q${qos} r${retain ? 1 : 0} d${dup ? 1 : 0} m${packetId} ${bytes}`);
    };
    broker.publishTrace = { received: at('received'), sent: at('sent') };
    const away = { clientId: 'away', clean: false };
    const { client: sub } = await connect(broker, away);
    await sub.subscribe('t/#', 1);
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    pub.publish('t/x', 'abc', { qos: 1, packetId: 7, retain: true });
    await pub.expect('puback');
    const delivered = await sub.expect('publish');
    // Not acknowledged: the resumed session sends it again, with DUP.
    sub.kill();
    await until(() => broker.inspect.session('away')?.connected === false);
    const { client: back } = await connect(broker, away);
    expect(await back.receive()).toMatchObject({ dup: true, packetId: delivered.packetId });
    expect(seen).toEqual([`received pub t/x q1 r1 d0 m7 3`, `sent away t/x q1 r0 d0 m${delivered.packetId} 3`, `sent away t/x q1 r0 d1 m${delivered.packetId} 3`]);
  });

  const plain = colorFor('stdout', { NO_COLOR: '1' });
  const at = new Date(2024, 0, 2, 3, 4, 5, 6);
  it.each<[BrokerLogRecord, string]>([
    [
      { event: 'publish', direction: 'received', clientId: 'pub', topic: 'a/b', qos: 1, retain: true, dup: false, packetId: 12, payloadBytes: 5 },
      "03:04:05.006 Received PUBLISH from pub (d0, q1, r1, m12, 'a/b', ... (5 bytes))",
    ],
    [
      { event: 'publish', direction: 'sent', clientId: 'sub', listener: 'ws:9001', topic: 'x\ny', qos: 2, retain: false, dup: true, packetId: 3, payloadBytes: 0 },
      "03:04:05.006 Sending PUBLISH to sub (d1, q2, r0, m3, 'x\\u000ay', ... (0 bytes))",
    ],
    [{ event: 'publish-suppressed', count: 1900, perSecond: 100 }, '03:04:05.006 … 1900 more PUBLISH lines suppressed in the last second (at most 100 a second)'],
    [
      { event: 'connect', clientId: 'c1', protocolVersion: 5, remoteAddress: '::1', listener: 'tls:8883', sessionPresent: false },
      '03:04:05.006 connect     c1 from ::1 on tls:8883 (MQTT 5, new session)',
    ],
    [{ event: 'disconnect', clientId: 'c1', listener: 'main', reason: 'socket closed' }, '03:04:05.006 disconnect  c1 on main (socket closed)'],
  ])('text %#: %s', (record, expected) => {
    expect(textLine(at, record, plain)).toBe(`${expected}\n`);
  });

  it.each([
    [{ name: 'tcp:1883', port: 1883 }, 'tcp:1883'],
    [{ name: 'tcp:0', port: 41234 }, 'tcp:41234'],
    [{ name: 'wss:0#2', port: 5000 }, 'wss:5000#2'],
    [{ name: 'stream', port: undefined }, 'stream'],
    [undefined, undefined],
  ])('listenerLabel(%j) is %s', (listener, expected) => {
    expect(listenerLabel(listener)).toBe(expected);
  });
});
