import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, describeError } from '../../src/cli.js';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { encode, Parser, ReasonCode, type Packet } from '../../src/core/codec/index.js';
import { until } from '../helpers/broker-client.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { MQT_BIN, spawnMqt, type SpawnMqtResult, assertFreshBuild } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

// `mqt pub` as a user runs it: the built binary against a real mosquitto and our broker, with
// MQTT.js subscribers (MQTT 5) as the independent witness of what arrived.

const STACK_LINE = /^\s+at .+/m;

beforeAll(() => assertFreshBuild(['commands/pub.ts', 'commands/pub-run.ts', 'commands/options/index.ts', 'core/client/connect.ts']));

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'mqt-pub-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let topicSeq = 0;
/** A topic no other test uses, so tests never see each other's messages. */
const fresh = (name: string): string => `pubtest/${process.pid}/${++topicSeq}/${name}`;

interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An MQTT.js MQTT 5 subscriber: the witness. */
async function subscriber(url: string, filter: string): Promise<{ messages: Received[]; wait(n: number, ms?: number): Promise<Received[]>; end(): Promise<void> }> {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5, clientId: `witness-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, packet }));
  await client.subscribeAsync(filter, { qos: 2 });
  return {
    messages,
    async wait(n, ms = 5000) {
      await until(() => messages.length >= n, ms, `${n} messages on ${filter} (got ${messages.length})`);
      return messages;
    },
    end: () => client.endAsync(),
  };
}

function ok(r: SpawnMqtResult): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(0);
  expect(r.stderr).not.toMatch(STACK_LINE);
}

/** One line, the given exit code, no stack, nothing on stdout. */
function failed(r: SpawnMqtResult, code: number, stderr: RegExp): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(stderr);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stdout).toBe('');
}

/** What main() would print and exit with for `argv`, without spawning. */
async function inProcess(argv: string[]): Promise<{ text: string; exitCode: number }> {
  try {
    await buildCli(argv).parseAsync();
    return { text: '', exitCode: 0 };
  } catch (err) {
    return describeError(err, false);
  }
}

/** Usage-error rows that are also run through the built binary. */
const SPAWNED = new Set(['an unknown flag', 'a wildcard topic', 'no payload', '-D swallowing the arguments', 'a bad port', '-P without a value and no terminal']);

describe('mqt pub: usage errors (no broker is contacted)', () => {
  // The in-process rows read the config file like the binary does: keep the machine's out.
  const saved = process.env.XDG_CONFIG_HOME;
  beforeAll(() => {
    process.env.XDG_CONFIG_HOME = join(tmp, 'no-config');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved;
  });

  // Port 9 (discard) on loopback: nothing listens, so a missed check would show as "connection refused".
  const at = ['-h', '127.0.0.1', '-p', '9'];
  const usage = (message: string): RegExp => new RegExp(`^mqt pub: ${message}\\nUse 'mqt pub --help'\\n$`);
  const rows: [name: string, argv: string[], stderr: RegExp, env?: Record<string, string>][] = [
    ['an unknown flag', ['t', 'm', '--bogus'], usage('unknown option --bogus')],
    ['a QoS out of range', ['t', 'm', '-q', '3'], usage("-q/--qos must be 0, 1 or 2, not '3'")],
    ['a QoS that is not a number', ['t', 'm', '-q', 'abc'], usage("-q/--qos must be 0, 1 or 2, not 'abc'")],
    ['-q without a value', ['t', 'm', '-q'], usage('-q/--qos needs a value: 0, 1 or 2')],
    // [MQTT-3.3.2-2] no wildcards in a PUBLISH topic.
    ['a wildcard topic', ['a/#', 'm'], usage(`Topic name "a/#" must not contain the wildcards '\\+' or '#' \\[MQTT-3\\.3\\.2-2\\]`)],
    ['a + in a -t topic', ['-t', 'a/+/b', '-m', 'm'], usage('-t: Topic name "a/\\+/b" must not contain the wildcards.*')],
    // [MQTT-4.7.3-1] a topic is at least one character long.
    ['an empty topic', ['', 'm'], usage('Topic name "" must be at least one character long \\[MQTT-4\\.7\\.3-1\\]')],
    ['no topic at all', ['-m', 'x'], usage('no topic: give it as the first argument, with -t, or in the URL \\(-L mqtt://host/topic\\)')],
    ['nothing at all: the topic is missed first', [], usage('no topic: give it as the first argument, with -t, or in the URL \\(-L mqtt://host/topic\\)')],
    ['no payload', ['t'], usage('no payload: give it as the second argument or with -m, or use -f FILE, -s, -l, --size N, or -n for an empty one')],
    ['two payload sources', ['t', '-m', 'x', '-n'], usage('a message and -n both give the payload: use one')],
    ['the message twice', ['t', 'x', '-m', 'y'], usage("the message is given twice: as 'x' and with -m")],
    ['-t with two arguments', ['-t', 'a', 'b', 'c'], usage("with -t, give only the message as an argument \\(got 'b' and 'c'\\)")],
    ['--line-topic with a topic', ['t', '--line-topic', ':'], usage('--line-topic takes the topic from each line: drop the topic argument and -t')],
    ['--repeat with -l', ['t', '-l', '--repeat', '2'], usage('--repeat and --repeat-delay work with one message, not with -l')],
    ['--repeat-delay alone', ['t', 'm', '--repeat-delay', '1'], usage('--repeat-delay needs --repeat N')],
    ['a bad --repeat', ['t', 'm', '--repeat', '0'], usage("--repeat must be a whole number from 1 to 1000000000, got '0'")],
    ['--topic-alias with two topics', ['-t', 'a', '-t', 'b', '-m', 'm', '--topic-alias', '1'], usage('--topic-alias names one topic: use it with a single topic')],
    ['a topic alias of 0', ['t', 'm', '--topic-alias', '0'], usage("--topic-alias must be a whole number from 1 to 65535, got '0'")],
    ['MQTT 5 flags with -V 3.1.1', ['t', 'm', '-V', '3.1.1', '--message-expiry', '5', '--content-type', 'x'], usage('--message-expiry, --content-type need MQTT 5, but -V asks for 3\\.1\\.1')],
    ['-D publish with -V mqttv31', ['t', 'm', '-V', 'mqttv31', '-D', 'publish', 'content-type', 'x'], usage('-D publish needs MQTT 5, but -V asks for 3\\.1')],
    ['-D for a packet pub never sends', ['t', 'm', '-D', 'subscribe', 'user-property', 'a', 'b'], usage('-D subscribe: mqt pub sends no SUBSCRIBE \\(it takes connect, will, publish, disconnect\\)')],
    ['-D swallowing the arguments', ['-D', 'publish', 'content-type', 'x', 't', 'm'], usage("-D: 't' is not a packet that takes properties; .* put positional arguments before -D\\)")],
    ['a property set twice', ['t', 'm', '--content-type', 'a', '-D', 'publish', 'content-type', 'b'], usage('publish content-type was given more than once')],
    ['a bad user property', ['t', 'm', '--user-property', 'novalue'], usage("--user-property takes key=value, got 'novalue'")],
    ['a wildcard response topic', ['t', 'm', '--response-topic', 'r/#'], usage('--response-topic: Topic name "r/#" must not contain the wildcards.*')],
    ['--payload-format-indicator on bytes that are not UTF-8', ['t', 'ff', '--encoding', 'hex', '--payload-format-indicator'], usage('--payload-format-indicator says UTF-8, but the payload is not valid UTF-8')],
    ['--encoding with -n', ['t', '-n', '--encoding', 'hex'], usage('--encoding decodes a payload you give; -n has none to decode')],
    ['an unknown encoding', ['t', 'm', '--encoding', 'rot13'], usage("--encoding must be utf8, hex or base64, not 'rot13'")],
    ['a bad --size', ['t', '--size', 'big'], usage("--size must be a whole number from 0 to 268435451, got 'big'")],
    ['a bad port', ['t', 'm', '-p', '70000'], usage("--port: a port is a whole number from 1 to 65535, got '70000'")],
    ['a bad keepalive', ['t', 'm', '-k', 'abc'], usage("--keepalive must be a whole number from 0 to 65535, got 'abc'")],
    ['a bad protocol version', ['t', 'm', '-V', '4.0'], usage("--protocol-version: unknown protocol version '4\\.0'; use 3\\.1, 3\\.1\\.1, 5, mqttv31, mqttv311, mqttv5")],
    ['a bad session expiry', ['t', 'm', '-x', 'soon'], usage("--session-expiry: seconds from 0 to 4294967295, or -1 for never; got 'soon'")],
    ['-x with -V 3.1.1', ['t', 'm', '-x', '60', '-V', '3.1.1'], usage('-x/--session-expiry needs MQTT 5, but -V asks for 3\\.1\\.1')],
    ['-c without -i', ['t', 'm', '-c'], usage('-c/--disable-clean-session needs a fixed client id: add -i <id>')],
    ['-i and -I', ['t', 'm', '-i', 'a', '-I', 'b'], usage('-i and -I both set the client id: use one')],
    ['-L with -p', ['t', 'm', '-L', 'mqtt://127.0.0.1', '-p', '1883'], usage('-L/--url already names the host and port: drop -h/-p, or put the port in the URL')],
    ['a bad URL', ['t', 'm', '-L', 'http://x'], usage("--url: unknown URL scheme 'http' in 'http://x'; use mqtt, mqtts, ws or wss")],
    ['-P without a value and no terminal', ['t', 'm', '-u', 'me', '-P'], usage('-P needs a password, and there is no terminal to ask on: give it, or use --password-env VAR or --password-file FILE')],
    ['two password sources', ['t', 'm', '-P', 'x', '--password-env', 'PW'], usage('-P and --password-env both give the password: use one')],
    ['an unset --password-env', ['t', 'm', '-u', 'me', '--password-env', 'MQT_TEST_UNSET_VARIABLE'], usage('--password-env: the environment variable MQT_TEST_UNSET_VARIABLE is not set')],
    ['a missing --password-file', ['t', 'm', '-u', 'me', '--password-file', '/nonexistent/pw'], usage("--password-file: cannot read '/nonexistent/pw': no such file")],
    // [MQTT-3.1.2-22] 3.1.1 has no password without a user name.
    ['a password without a user before 5', ['t', 'm', '-P', 'x', '-V', '3.1.1'], usage('a password needs a user name \\(-u\\) before MQTT 5')],
    ['--will-payload without --will-topic', ['t', 'm', '--will-payload', 'x', '--will-delay', '5'], usage('--will-payload, --will-delay need --will-topic')],
    ['a wildcard will topic', ['t', 'm', '--will-topic', 'w/+'], usage('--will-topic: Topic name "w/\\+" must not contain the wildcards.*')],
    ['a bad will QoS', ['t', 'm', '--will-topic', 'w', '--will-qos', '3'], usage("--will-qos must be 0, 1 or 2, not '3'")],
    ['-D will without a will', ['t', 'm', '-D', 'will', 'content-type', 'x'], usage('-D will needs --will-topic')],
    ['--cert without --key', ['t', 'm', '--cert', '/c.pem'], usage('--cert and --key go together: give both')],
    ['a bad --tls-version', ['t', 'm', '--tls-version', 'sslv3'], usage("--tls-version: unknown TLS version 'sslv3'; use tlsv1\\.2 or tlsv1\\.3 \\(tlsv1\\.1 if the broker is old\\)")],
  ];

  // Rows that name the broker themselves get no -h/-p of ours.
  const full = (argv: string[]): string[] => ['pub', ...(argv.some((a) => a === '-p' || a === '-L') ? [] : at), ...argv];

  // In-process through the same buildCli and describeError that main() uses: each row costs
  // milliseconds instead of a Node start-up. The spawned rows below prove the binary agrees.
  it.each(rows)('%s', async (_name, argv, stderr) => {
    const { text, exitCode } = await inProcess(full(argv));
    expect(exitCode).toBe(1);
    expect(text).toMatch(stderr);
    expect(text).not.toMatch(STACK_LINE);
  });

  it.concurrent.each(rows.filter(([name]) => SPAWNED.has(name)))('the binary agrees: %s', async (_name, argv, stderr) => {
    failed(await spawnMqt(full(argv)), 1, stderr);
  });

  it.concurrent('an unreadable file: one line, no usage hint', async () => {
    failed(await spawnMqt(['pub', ...at, 't', '-f', '/nonexistent/payload.bin']), 1, /^mqt pub: cannot read '\/nonexistent\/payload\.bin': no such file\n$/);
  });

  it.concurrent('bad hex: one line, no usage hint', async () => {
    failed(await spawnMqt(['pub', ...at, 't', 'xyz', '--encoding', 'hex']), 1, /^mqt pub: not hex: 'x' is not a hex digit\n$/);
  });

  it.concurrent('a refused TCP connection: the hint, exit 1', async () => {
    const port = await freePort();
    failed(await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(port), 't', 'm']), 1, new RegExp(`^mqt pub: connection refused by 127\\.0\\.0\\.1:${port}: is a broker running there and listening on port ${port}\\?\\n$`));
  });

  it.concurrent('--debug adds the stack of the cause to a refused connection', async () => {
    const port = await freePort();
    const r = await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(port), 't', 'm', '--debug']);
    expect(r.code).toBe(1);
    // --debug is also -d: the packet trace comes first.
    expect(r.stderr).toMatch(/^Client mqt-pub-[0-9a-f]{8} sending CONNECT \(p5, c1, k60\)\nmqt pub: connection refused[^\n]*\nConnectError: .*\n\s+at /);
  });
});

const gate = needPeers('mosquitto');

describe.skipIf(gate.skip)('mqt pub against mosquitto', () => {
  let mosq: RunningMosquitto;
  let wsPort: number;
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(mosq.port)];

  beforeAll(async () => {
    gate.check();
    wsPort = await freePort();
    mosq = await startMosquitto({ config: [`listener ${wsPort} 127.0.0.1`, 'protocol websockets'] });
  });
  afterAll(() => mosq?.stop());

  it('publishes a retained QoS 2 message: mqt pub heizung 21.5 -q 2 -r', async () => {
    const topic = fresh('heizung');
    const r = await spawnMqt(['pub', ...at(), topic, '21.5', '-q', '2', '-r']);
    ok(r);
    // Nothing on stdout or stderr in a pipe unless asked.
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    const sub = await subscriber(mosq.url, topic);
    const [m] = await sub.wait(1);
    await sub.end();
    expect(m!.payload.toString()).toBe('21.5');
    expect(m!.packet.retain).toBe(true);
    expect(m!.packet.qos).toBe(2);
  });

  it.each([0, 1, 2] as const)('publishes at QoS %i, with -t and -m', async (qos) => {
    const topic = fresh(`qos${qos}`);
    const sub = await subscriber(mosq.url, topic);
    ok(await spawnMqt(['pub', ...at(), '-t', topic, '-m', `q${qos}`, '-q', String(qos)]));
    const [m] = await sub.wait(1);
    await sub.end();
    expect([m!.payload.toString(), m!.packet.qos, m!.packet.retain]).toEqual([`q${qos}`, qos, false]);
  });

  it('publishes to each -t, and takes a lone argument after -t as the message', async () => {
    const base = fresh('multi');
    const sub = await subscriber(mosq.url, `${base}/#`);
    ok(await spawnMqt(['pub', ...at(), '-t', `${base}/a`, '-t', `${base}/b`, 'both', '-q', '1']));
    const got = await sub.wait(2);
    await sub.end();
    expect(got.map((m) => `${m.topic}=${m.payload.toString()}`).sort()).toEqual([`${base}/a=both`, `${base}/b=both`]);
  });

  it('takes the payload from a file (-f), stdin (-s), nothing (-n) and random bytes (--size)', async () => {
    const base = fresh('sources');
    const file = join(tmp, 'payload.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 0xff]));
    const sub = await subscriber(mosq.url, `${base}/#`);
    ok(await spawnMqt(['pub', ...at(), `${base}/file`, '-f', file, '-q', '1']));
    ok(await spawnMqt(['pub', ...at(), `${base}/stdin`, '-s', '-q', '1'], { input: 'line 1\nline 2\n' }));
    ok(await spawnMqt(['pub', ...at(), `${base}/null`, '-n', '-q', '1']));
    ok(await spawnMqt(['pub', ...at(), `${base}/size`, '--size', '100', '-q', '1']));
    const got = await sub.wait(4);
    await sub.end();
    const by = new Map(got.map((m) => [m.topic.slice(base.length + 1), m.payload]));
    expect(by.get('file')).toEqual(Buffer.from([0, 1, 2, 0xff]));
    expect(by.get('stdin')!.toString()).toBe('line 1\nline 2\n');
    expect(by.get('null')!.length).toBe(0);
    expect(by.get('size')!.length).toBe(100);
  });

  it('decodes --encoding hex and base64 (message, stdin and file)', async () => {
    const base = fresh('enc');
    const file = join(tmp, 'payload.b64');
    writeFileSync(file, 'aGk=\n');
    const sub = await subscriber(mosq.url, `${base}/#`);
    ok(await spawnMqt(['pub', ...at(), `${base}/hex`, 'de ad be ef', '--encoding', 'hex', '-q', '1']));
    ok(await spawnMqt(['pub', ...at(), `${base}/stdin`, '-s', '--encoding', 'base64', '-q', '1'], { input: 'AAEC\n' }));
    ok(await spawnMqt(['pub', ...at(), `${base}/file`, '-f', file, '--encoding', 'base64', '-q', '1']));
    const got = await sub.wait(3);
    await sub.end();
    const by = new Map(got.map((m) => [m.topic.slice(base.length + 1), m.payload]));
    expect(by.get('hex')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(by.get('stdin')).toEqual(Buffer.from([0, 1, 2]));
    expect(by.get('file')!.toString()).toBe('hi');
  });

  it('publishes each line of stdin (-l), in order, empty lines as empty messages', async () => {
    const topic = fresh('lines');
    const sub = await subscriber(mosq.url, topic);
    ok(await spawnMqt(['pub', ...at(), topic, '-l', '-q', '1'], { input: 'one\r\ntwo\n\nthree' }));
    const got = await sub.wait(4);
    await sub.end();
    expect(got.map((m) => m.payload.toString())).toEqual(['one', 'two', '', 'three']);
  });

  it('reads topic<SEP>payload lines with --line-topic (mosquitto issue 3060), reporting bad lines', async () => {
    const base = fresh('linetopic');
    const sub = await subscriber(mosq.url, `${base}/#`);
    const input = [`${base}/a\t1`, `${base}/b\t2\t3`, 'no separator here', `${base}/+\t4`, '', `${base}/a\t5`].join('\n');
    const r = await spawnMqt(['pub', ...at(), '--line-topic', '\t', '-q', '1', '--json'], { input });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        'mqt pub: line 3: no "\\t" between topic and payload',
        `mqt pub: line 4: '${base}/+': Topic name "${base}/+" must not contain the wildcards '+' or '#' [MQTT-3.3.2-2]`,
        `mqt pub: 2 of 5 messages failed (first: line 3: no "\\t" between topic and payload)`,
        '',
      ].join('\n'),
    );
    const got = await sub.wait(3);
    await sub.end();
    expect(got.map((m) => `${m.topic.slice(base.length + 1)}=${m.payload.toString()}`)).toEqual(['a=1', 'b=2\t3', 'a=5']);
    // --json: one record per line of input that was a message, failures included.
    // Records come as messages complete (a bad line at once, a good one when acknowledged).
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean; reasonCode?: number });
    expect(records.map((x) => [x.line, x.ok, x.reasonCode]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [1, true, 0],
      [2, true, 0],
      [3, false, undefined],
      [4, false, undefined],
      [6, true, 0],
    ]);
  });

  it('repeats with --repeat and --repeat-delay', async () => {
    const topic = fresh('repeat');
    const sub = await subscriber(mosq.url, topic);
    const started = Date.now();
    ok(await spawnMqt(['pub', ...at(), topic, 'r', '--repeat', '3', '--repeat-delay', '0.2', '-q', '1']));
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect((await sub.wait(3)).map((m) => m.payload.toString())).toEqual(['r', 'r', 'r']);
    await sub.end();
  });

  it('sends MQTT 5 message properties that the subscriber sees', async () => {
    const topic = fresh('props');
    const sub = await subscriber(mosq.url, topic);
    ok(
      await spawnMqt([
        'pub', ...at(), topic, '{"t":21.5}', '-q', '1',
        '--message-expiry', '300', '--content-type', 'application/json', '--response-topic', `${topic}/reply`,
        '--correlation-data', 'req-42', '--payload-format-indicator',
        '--user-property', 'unit=celsius', '--user-property', 'room=kitchen', '--user-property', 'unit=kelvin',
        '-D', 'publish', 'user-property', 'via', 'dash-D',
      ]),
    );
    const [m] = await sub.wait(1);
    await sub.end();
    const p = m!.packet.properties!;
    expect(p.messageExpiryInterval).toBeGreaterThan(290);
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(300);
    expect(p.contentType).toBe('application/json');
    expect(p.responseTopic).toBe(`${topic}/reply`);
    expect(p.correlationData).toEqual(Buffer.from('req-42'));
    expect(p.payloadFormatIndicator).toBe(true);
    expect(p.userProperties).toEqual({ unit: ['celsius', 'kelvin'], room: 'kitchen', via: 'dash-D' });
  });

  it('uses a topic alias across --repeat (mosquitto resolves it for the subscriber)', async () => {
    const topic = fresh('alias');
    const sub = await subscriber(mosq.url, topic);
    const r = await spawnMqt(['pub', ...at(), topic, 'a', '--topic-alias', '3', '--repeat', '3', '-q', '1', '-d']);
    ok(r);
    // The topic travels once; then only the alias.
    expect(r.stderr).toMatch(new RegExp(`sending PUBLISH \\(d0, q1, r0, m\\d+, '${topic}'`));
    expect(r.stderr.match(/sending PUBLISH \(d0, q1, r0, m\d+, alias 3,/g)).toHaveLength(2);
    const got = await sub.wait(3);
    await sub.end();
    expect(got.map((m) => m.topic)).toEqual([topic, topic, topic]);
  });

  it.each([['3.1.1', 'p4'], ['mqttv311', 'p4'], ['3.1', 'p3'], ['mqttv31', 'p3'], ['5', 'p5'], ['mqttv5', 'p5']])('speaks -V %s', async (version, level) => {
    const topic = fresh(`v${version}`);
    const sub = await subscriber(mosq.url, topic);
    const r = await spawnMqt(['pub', ...at(), topic, version, '-V', version, '-q', '1', '-d']);
    ok(r);
    expect(r.stderr).toMatch(new RegExp(`sending CONNECT \\(${level}, c1, k60\\)`));
    expect((await sub.wait(1))[0]!.payload.toString()).toBe(version);
    await sub.end();
  });

  it('prints a -d trace in mosquitto wording: CONNECT, CONNACK, PUBLISH, PUBREC, PUBREL, PUBCOMP, DISCONNECT', async () => {
    const r = await spawnMqt(['pub', ...at(), fresh('trace'), 'x', '-q', '2', '-i', 'tracer', '-k', '30', '-d']);
    ok(r);
    expect(r.stderr.trim().split('\n').map((l) => l.replace(/ \(.*$/, ''))).toEqual([
      'Client tracer sending CONNECT',
      'Client tracer received CONNACK',
      'Client tracer sending PUBLISH',
      'Client tracer received PUBREC',
      'Client tracer sending PUBREL',
      'Client tracer received PUBCOMP',
      'Client tracer sending DISCONNECT',
    ]);
    expect(r.stderr).toMatch(/sending CONNECT \(p5, c1, k30\)/);
  });

  it('--json prints one object per published message on stdout', async () => {
    const base = fresh('json');
    const r = await spawnMqt(['pub', ...at(), '-t', `${base}/a`, '-t', `${base}/b`, '-m', 'xy', '-q', '1', '-r', '--json']);
    ok(r);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(2);
    for (const rec of records) {
      // mosquitto 2.0 answers a PUBLISH nobody subscribed to with 0x10, information and not failure.
      expect(rec).toMatchObject({ qos: 1, retain: true, bytes: 2, ok: true, reasonCode: ReasonCode.NoMatchingSubscribers, reason: 'No matching subscribers' });
      expect(typeof rec.messageId).toBe('number');
    }
    expect(records.map((x) => x.topic).sort()).toEqual([`${base}/a`, `${base}/b`]);
    // Clear the retained messages again.
    ok(await spawnMqt(['pub', ...at(), '-t', `${base}/a`, '-t', `${base}/b`, '-n', '-r']));
  });

  it('takes the topic from -L mqtt://host:port/topic, as mosquitto does', async () => {
    const topic = fresh('url');
    const sub = await subscriber(mosq.url, topic);
    ok(await spawnMqt(['pub', '-L', `mqtt://127.0.0.1:${mosq.port}/${topic}`, '-m', 'via url', '-q', '1']));
    expect((await sub.wait(1))[0]!.payload.toString()).toBe('via url');
    await sub.end();
  });

  it('publishes over WebSocket (--ws, and -L ws://)', async () => {
    const topic = fresh('ws');
    const sub = await subscriber(mosq.url, topic);
    ok(await spawnMqt(['pub', '--ws', '-h', '127.0.0.1', '-p', String(wsPort), topic, 'ws1', '-q', '1']));
    ok(await spawnMqt(['pub', '-L', `ws://127.0.0.1:${wsPort}/mqtt`, '-t', topic, '-m', 'ws2', '-q', '1']));
    expect((await sub.wait(2)).map((m) => m.payload.toString())).toEqual(['ws1', 'ws2']);
    await sub.end();
  });

  it('publishes a -l stream of 2,000 lines over one connection, window-limited, all acknowledged', async () => {
    const topic = fresh('many');
    const sub = await subscriber(mosq.url, topic);
    const lines = Array.from({ length: 2000 }, (_, i) => `m${i}`);
    const r = await spawnMqt(['pub', ...at(), topic, '-l', '-q', '1', '--json'], { input: `${lines.join('\n')}\n`, timeoutMs: 20_000 });
    ok(r);
    expect(r.stdout.trim().split('\n')).toHaveLength(2000);
    const got = await sub.wait(2000, 10_000);
    await sub.end();
    expect(got.map((m) => m.payload.toString())).toEqual(lines);
  });
});

describe("mqt pub against mqt's own broker", () => {
  let b: StartedBroker;
  const seen: { clientId: string; username: string | undefined; protocolVersion: number }[] = [];
  beforeAll(async () => {
    b = await startBroker({
      hooks: {
        authenticate: (client, username) => {
          seen.push({ clientId: client.clientId, username, protocolVersion: client.protocolVersion });
          return true;
        },
        authorizePublish: (_client, topic) => !topic.startsWith('denied/'),
      },
    });
  });
  afterAll(() => b?.stop());
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(b.port)];

  it('reports 0x10 No matching subscribers as information, exit 0', async () => {
    const r = await spawnMqt(['pub', ...at(), fresh('nobody'), 'x', '-q', '1', '--json']);
    ok(r);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, reasonCode: ReasonCode.NoMatchingSubscribers, reason: 'No matching subscribers' });
  });

  it('reports a refused message with its PUBACK reason code and exits with it', async () => {
    const r = await spawnMqt(['pub', ...at(), 'denied/x', 'v', '-q', '1']);
    failed(r, ReasonCode.NotAuthorized, /^mqt pub: 'denied\/x' refused by the broker: Not authorized \(0x87\)\n$/);
  });

  it('reports each refused message of several (PUBREC at QoS 2), exiting with the first code', async () => {
    const topic = fresh('allowed');
    const sub = await subscriber(b.url, topic);
    const r = await spawnMqt(['pub', ...at(), '-t', topic, '-t', 'denied/y', '-m', 'v', '-q', '2', '--json']);
    expect(r.code).toBe(ReasonCode.NotAuthorized);
    expect(r.stderr).toBe("mqt pub: 'denied/y' refused by the broker: Not authorized (0x87)\nmqt pub: 1 of 2 messages failed (first: 'denied/y' refused by the broker: Not authorized (0x87))\n");
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; ok: boolean; reasonCode: number });
    expect(records.map((x) => [x.topic, x.ok, x.reasonCode]).sort()).toEqual([['denied/y', false, 0x87], [topic, true, 0]]);
    expect((await sub.wait(1))[0]!.payload.toString()).toBe('v');
    await sub.end();
  });

  it('publishes over our WebSocket listener', async () => {
    const topic = fresh('ourws');
    const sub = await subscriber(b.url, topic);
    ok(await spawnMqt(['pub', '--ws', '-h', '127.0.0.1', '-p', String(b.wsPort), topic, 'over ws', '-q', '1']));
    expect((await sub.wait(1))[0]!.payload.toString()).toBe('over ws');
    await sub.end();
  });

  it('uses a random client id per run, -i as given, -I as a prefix', async () => {
    seen.length = 0;
    ok(await spawnMqt(['pub', ...at(), fresh('id'), 'x']));
    ok(await spawnMqt(['pub', ...at(), fresh('id'), 'x']));
    ok(await spawnMqt(['pub', ...at(), fresh('id'), 'x', '-i', 'fixed-id']));
    ok(await spawnMqt(['pub', ...at(), fresh('id'), 'x', '-I', 'sensor-']));
    const ids = seen.map((s) => s.clientId);
    expect(ids[0]).toMatch(/^mqt-pub-[0-9a-f]{8}$/);
    expect(ids[1]).toMatch(/^mqt-pub-[0-9a-f]{8}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe('fixed-id');
    expect(ids[3]).toMatch(/^sensor-[0-9a-f]{8}$/);
  });
});

/**
 * A broker stand-in on our codec: records every packet and answers CONNECT as told. It is the
 * oracle for what `mqt pub` put in CONNECT (will, properties, session) and for the 5 → 3.1.1
 * fall back, which no real broker here can be made to refuse.
 */
async function recorder(refuseV5 = false): Promise<{ port: number; packets: Packet[]; close(): Promise<void> }> {
  const packets: Packet[] = [];
  const server: Server = createServer((socket) => {
    const parser = new Parser();
    let version: 4 | 5 = 4;
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const p of parser.push(chunk)) {
        packets.push(p);
        if (p.type === 'connect') {
          version = p.protocolVersion === 5 ? 5 : 4;
          const code = refuseV5 && version === 5 ? ReasonCode.UnsupportedProtocolVersion : 0;
          socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: code }, version));
        } else if (p.type === 'publish' && p.qos === 1) {
          socket.write(encode({ type: 'puback', packetId: p.packetId!, reasonCode: 0 }, version));
        } else if (p.type === 'disconnect') {
          socket.end();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, packets, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('mqt pub: what goes into CONNECT (recorded on our codec)', () => {
  it('sends the will with its MQTT 5 properties, the session flags, keep-alive and CONNECT properties', async () => {
    const rec = await recorder();
    try {
      ok(
        await spawnMqt([
          'pub', '-h', '127.0.0.1', '-p', String(rec.port), 't', 'm', '-q', '1',
          '-i', 'sess', '-c', '-x', '120', '-k', '15', '-u', 'me', '-P', 'pw',
          '--will-topic', 'status/sess', '--will-payload', 'offline', '--will-qos', '1', '--will-retain',
          '--will-delay', '5', '--will-expiry', '60', '--will-content-type', 'text/plain', '--will-user-property', 'why=gone',
          '-D', 'connect', 'receive-maximum', '10', '-D', 'will', 'response-topic', 'status/ack',
          '-D', 'disconnect', 'reason-string', 'bye', '-D', 'publish', 'content-type', 'text/plain',
        ]),
      );
      const connect = rec.packets.find((p) => p.type === 'connect');
      expect(connect).toEqual({
        type: 'connect', protocolVersion: 5, clean: false, keepalive: 15, clientId: 'sess', username: 'me', password: Buffer.from('pw'),
        properties: { sessionExpiryInterval: 120, receiveMaximum: 10 },
        will: {
          topic: 'status/sess', payload: Buffer.from('offline'), qos: 1, retain: true,
          properties: { willDelayInterval: 5, messageExpiryInterval: 60, contentType: 'text/plain', responseTopic: 'status/ack', userProperties: [['why', 'gone']] },
        },
      });
      expect(rec.packets.find((p) => p.type === 'publish')).toMatchObject({ topic: 't', properties: { contentType: 'text/plain' } });
      expect(rec.packets.find((p) => p.type === 'disconnect')).toMatchObject({ reasonCode: 0, properties: { reasonString: 'bye' } });
    } finally {
      await rec.close();
    }
  });

  it('-c without -x keeps the session forever in MQTT 5, as mosquitto does', async () => {
    const rec = await recorder();
    try {
      ok(await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(rec.port), 't', 'm', '-i', 'keep', '-c']));
      expect(rec.packets[0]).toMatchObject({ type: 'connect', clean: false, properties: { sessionExpiryInterval: 0xffff_ffff } });
    } finally {
      await rec.close();
    }
  });

  it('falls back to 3.1.1 when the broker refuses 5, sending the message', async () => {
    const rec = await recorder(true);
    try {
      const r = await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(rec.port), 't', 'fallback', '-q', '1']);
      ok(r);
      expect(rec.packets.filter((p) => p.type === 'connect').map((p) => (p as { protocolVersion: number }).protocolVersion)).toEqual([5, 4]);
      expect(rec.packets.find((p) => p.type === 'publish')).toMatchObject({ topic: 't', payload: Buffer.from('fallback') });
    } finally {
      await rec.close();
    }
  });

  it('does not fall back when MQTT 5 flags were given: exit code 0x84', async () => {
    const rec = await recorder(true);
    try {
      const r = await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(rec.port), 't', 'm', '--message-expiry', '10']);
      failed(r, 0x84, /^mqt pub: 127\.0\.0\.1:\d+ refused the connection: Unsupported Protocol Version \(0x84\); try another protocol version \(-V 3\.1\.1 or -V 3\.1\); falling back to MQTT 3\.1\.1 would drop --message-expiry, which need MQTT 5\n$/);
      expect(rec.packets.filter((p) => p.type === 'connect')).toHaveLength(1);
    } finally {
      await rec.close();
    }
  });
});

describe('mqt pub -l over a connection that drops', () => {
  /** A pub whose stdin stays open, so lines can be fed while the broker goes away and comes back. */
  function startPub(args: string[]) {
    const home = mkdtempSync(join(tmpdir(), 'mqt-pub-l-'));
    const child = spawn(process.execPath, [MQT_BIN, 'pub', ...args], {
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close' comes only once stdout has been read to its end.
    child.stdout.resume();
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const exited = Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve(`no exit within 10 s; stderr: ${stderr}`), 10_000))]);
    return {
      write: (line: string) => child.stdin.write(`${line}\n`),
      end: () => child.stdin.end(),
      stderr: () => stderr,
      exited,
      kill: () => child.kill('SIGKILL'),
      cleanup: () => rmSync(home, { recursive: true, force: true }),
    };
  }

  async function brokerOn(port: number): Promise<Broker> {
    const broker = createBroker();
    await broker.listen({ port, host: '127.0.0.1' });
    return broker;
  }

  it('reconnects and goes on publishing (mosquitto issue 1899)', async () => {
    const port = await freePort();
    let broker = await brokerOn(port);
    const received: string[] = [];
    const watch = (br: Broker) => br.on('publish', (m) => received.push(m.payload.toString()));
    watch(broker);
    const pub = startPub(['-h', '127.0.0.1', '-p', String(port), 'drop/t', '-l', '-q', '1']);
    try {
      pub.write('before');
      await until(() => received.includes('before'), 5000, 'the first line');
      await broker.close();
      broker = await brokerOn(port);
      watch(broker);
      pub.write('after');
      await until(() => received.includes('after'), 8000, `the line after the reconnect; stderr: ${pub.stderr()}`);
      pub.end();
      expect(await pub.exited).toBe(0);
      expect(pub.stderr()).toMatch(/^mqt pub: lost the connection to 127\.0\.0\.1:\d+.*; reconnecting\n/);
    } finally {
      pub.kill();
      pub.cleanup();
      await broker.close();
    }
  });

  it('exits with an error when the connection drops and --no-reconnect is given', async () => {
    const port = await freePort();
    const broker = await brokerOn(port);
    const received: string[] = [];
    broker.on('publish', (m) => received.push(m.payload.toString()));
    const pub = startPub(['-h', '127.0.0.1', '-p', String(port), 'drop/t', '-l', '-q', '1', '--no-reconnect', '-d']);
    try {
      pub.write('before');
      await until(() => received.includes('before'), 5000, 'the first line');
      await broker.close();
      pub.write('after');
      expect(await pub.exited).toBe(1);
      // One line, whether or not 'after' was in flight when the broker went (a race this test does not pin).
      const lines = pub.stderr().split('\n').filter((l) => l.startsWith('mqt pub:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mqt pub: lost the connection to 127\.0\.0\.1:\d+: Server shutting down \(0x8b\)(; 1 message was not acknowledged)?$/);
      expect(pub.stderr()).not.toMatch(STACK_LINE);
    } finally {
      pub.kill();
      pub.cleanup();
    }
  });
});

/**
 * Runs mqt with stdin, stdout and stderr on a pseudo-terminal (Python's pty module), typing
 * `answer` when a password prompt shows. Returns everything the terminal showed.
 */
const PTY_RUNNER = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
# A terminal of 24 rows and 100 columns, as a person would have.
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
out, answer, answered = b'', os.environ.get('PTY_ANSWER', ''), False
while True:
    ready, _, _ = select.select([fd], [], [], 15)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if answer and not answered and b'Password' in out:
        os.write(fd, answer.encode() + b'\\r')
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function onTerminal(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; screen: string }> {
  const home = mkdtempSync(join(tmpdir(), 'mqt-pty-'));
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' };
    delete childEnv.FORCE_COLOR;
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete childEnv[key];
      else childEnv[key] = value;
    }
    const child = spawn('/usr/bin/python3', ['-c', PTY_RUNNER, process.execPath, MQT_BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    child.on('close', (code) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ code, screen });
    });
  });
}

describe.skipIf(!existsSync('/usr/bin/python3'))('mqt pub on a terminal', () => {
  let b: StartedBroker;
  const passwords: (string | undefined)[] = [];
  beforeAll(async () => {
    b = await startBroker({ hooks: { authenticate: (_c, _u, password) => (passwords.push(password?.toString()), true) } });
  });
  afterAll(() => b?.stop());

  it('shows one confirmation line (and no spinner left behind)', async () => {
    const { code, screen } = await onTerminal(['pub', '-h', '127.0.0.1', '-p', String(b.port), 'tty/t', '21.5', '-q', '1', '-r'], { CI: undefined });
    expect(code).toBe(0);
    // The spinner showed while waiting...
    expect(screen).toContain('connecting to 127.0.0.1');
    // ...and redrew its line in place (back to column 1, or a carriage return), leaving only the
    // confirmation: what a person sees is the text after the last return on each line.
    const lines = screen
      .split('\n')
      .map((l) => l.replace(/[^]*(\r(?!$)|\x1b\[\d*G)/, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim())
      .filter((l) => l !== '');
    expect(lines).toEqual(['✔ published 1 message to tty/t (QoS 1, retained, no subscribers)']);
  });

  it('asks for the password when -P has no value', async () => {
    passwords.length = 0;
    const { code, screen } = await onTerminal(['pub', '-h', '127.0.0.1', '-p', String(b.port), 'tty/t', 'x', '-u', 'me', '-P', '--quiet'], { PTY_ANSWER: 's3cret', CI: 'true' });
    expect(code, screen).toBe(0);
    expect(screen).toContain('Password for me:');
    // Masked: the typed password never shows.
    expect(screen).not.toContain('s3cret');
    expect(passwords).toEqual(['s3cret']);
  });

  it('colours the confirmation, unless --no-color or NO_COLOR says not to', async () => {
    const args = ['pub', '-h', '127.0.0.1', '-p', String(b.port), 'tty/t', 'x'];
    const GREEN = '\x1b[32m✔';
    const coloured = await onTerminal(args, { CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color' });
    expect(coloured.code, coloured.screen).toBe(0);
    expect(coloured.screen).toContain(GREEN);
    const flag = await onTerminal([...args, '--no-color'], { CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color' });
    expect(flag.screen).toContain('✔ published 1 message');
    expect(flag.screen).not.toContain('\x1b[32m');
    const env = await onTerminal(args, { CI: undefined, NO_COLOR: '1', TERM: 'xterm-256color' });
    expect(env.screen).toContain('✔ published 1 message');
    expect(env.screen).not.toContain('\x1b[32m');
  });

  it('prints nothing with --quiet', async () => {
    const { code, screen } = await onTerminal(['pub', '-h', '127.0.0.1', '-p', String(b.port), 'tty/t', 'x', '--quiet'], { CI: undefined });
    expect(code).toBe(0);
    expect(screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim()).toBe('');
  });
});

