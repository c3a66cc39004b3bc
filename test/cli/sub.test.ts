import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/broker-client.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers, peers, runPeer, spawnPeer, type PeerProcess } from '../helpers/peers.js';
import { MQT_BIN, spawnMqt, assertFreshBuild } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { createBroker } from '../../src/core/broker/broker.js';

// `mqt sub` as a user runs it: the built binary, against a real mosquitto and against our own
// broker, messages published by MQTT.js (MQTT 5, so properties reach the subscriber).

const STACK_LINE = /^\s+at .+/m;
/** -d prints one `Client <id> sending|received <PACKET> …` line per packet; the rest of stderr is what users see. */
const DEBUG_LINE = /^Client \S+ (sending|received) [A-Z]+/;

beforeAll(() => assertFreshBuild(['commands/sub.ts', 'commands/sub-run.ts', 'commands/render/sub-output.ts', 'core/client/format.ts', 'core/client/json-output.ts']));

// The isolation spawnMqt gives, for the long-running children spawned with spawnPeer.
let home = '';
let env: Record<string, string> = {};
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'mqt-sub-test-'));
  env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * Starts `mqt sub` processes that run on (for -C, Ctrl-C, reconnects), each killed after its
 * test. Ours only: killPeers() would also take down the mosquitto a suite shares.
 */
function subProcesses(): (args: readonly string[]) => PeerProcess {
  const children = new Set<PeerProcess>();
  afterEach(async () => {
    await Promise.all([...children].map((p) => p.kill('SIGKILL')));
    children.clear();
  });
  return (args) => {
    const p = spawnPeer(process.execPath, [MQT_BIN, 'sub', ...args], { env });
    children.add(p);
    return p;
  };
}

/** Waits until a `mqt sub -d` has had `n` SUBACKs: from then on, what is published reaches it. */
async function subscribed(p: PeerProcess, n = 1): Promise<void> {
  await until(() => p.stderr().split('received SUBACK').length > n || p.child.exitCode !== null, 8000, `SUBACK #${n} for mqt sub\n${p.stderr()}`);
  if (p.child.exitCode !== null) throw new Error(`mqt sub exited (${p.child.exitCode}):\n${p.stderr()}`);
}

/** stderr without the -d packet log. */
function userStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !DEBUG_LINE.test(line))
    .join('\n');
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

let roots = 0;
/** A topic root of its own for each test, so tests sharing a broker never see each other's messages. */
function newRoot(): string {
  return `t${process.pid}-${++roots}`;
}

interface BrokerUnderTest {
  port: number;
  stop(): Promise<void>;
}

/** The brokers every behaviour is checked against. */
const BROKERS: [name: string, start: (port?: number) => Promise<BrokerUnderTest>][] = [
  ['mosquitto', async (port) => {
    const m: RunningMosquitto = await startMosquitto(port === undefined ? {} : { port });
    return { port: m.port, stop: () => m.stop() };
  }],
  ['mqt broker', async (port) => {
    if (port === undefined) {
      const b: StartedBroker = await startBroker();
      return { port: b.port, stop: () => b.stop() };
    }
    const broker = createBroker();
    await broker.listen({ port, host: '127.0.0.1' });
    return { port, stop: () => broker.close() };
  }],
];

const mosquittoGate = needPeers('mosquitto');

// The two brokers' suites run side by side (most of a test is waiting on a child process);
// within each, tests run one after the other.
describe.concurrent.each(BROKERS)('mqt sub against %s', (name, start) => {
  const skip = name === 'mosquitto' && mosquittoGate.skip;
  const startSub = subProcesses();
  let broker: BrokerUnderTest | undefined;
  let pub: MqttClient | undefined;

  beforeAll(async () => {
    if (skip) return;
    if (name === 'mosquitto') mosquittoGate.check();
    broker = await start();
    pub = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, clientId: `sub-test-pub-${process.pid}`, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await broker?.stop();
  });

  const conn = (): string[] => ['-h', '127.0.0.1', '-p', String(broker!.port)];
  const publish = async (topic: string, payload: string | Buffer, options: Partial<IClientPublishOptions> = {}): Promise<void> => {
    await pub!.publishAsync(topic, payload, { qos: 1, ...options });
  };

  describe('prints what arrives', { skip, sequential: true }, () => {
    it("-C 3 'eg/#' with three publishes prints three lines and exits 0", async () => {
      const root = newRoot();
      const p = startSub([...conn(), '-d', '-C', '3', `${root}/#`]);
      await subscribed(p);
      for (const [topic, payload] of [['a', 'one'], ['b/c', 'two'], ['d', 'three']] as const) await publish(`${root}/${topic}`, payload);
      expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
      expect(p.stdout()).toBe('one\ntwo\nthree\n');
      expect(userStderr(p.stderr())).toBe('');
    });

    it("-C 3 'eg/#' with three `mqt pub` calls prints three lines and exits 0", async () => {
      const root = newRoot();
      const p = startSub([...conn(), '-d', '-C', '3', '-v', `${root}/#`]);
      await subscribed(p);
      for (const [topic, payload] of [['heizung', '21.5'], ['a/b', 'two'], ['c', 'three']] as const) {
        const r = await spawnMqt(['pub', ...conn(), `${root}/${topic}`, payload, '-q', '1']);
        expect(r.code, r.stderr).toBe(0);
      }
      expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
      expect(p.stdout()).toBe(`${root}/heizung 21.5\n${root}/a/b two\n${root}/c three\n`);
    });

    it('-C with QoS 1 and 2: the last message is acknowledged before DISCONNECT', async () => {
      const root = newRoot();
      const p = startSub([...conn(), '-d', '-q', '2', '-C', '2', '-F', '%q %p', `${root}/#`]);
      await subscribed(p);
      await publish(`${root}/one`, 'one', { qos: 1 });
      await publish(`${root}/two`, 'two', { qos: 2 });
      expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
      expect(p.stdout()).toBe('1 one\n2 two\n');
      // The broker delivers at the QoS the publisher used (at most the subscription's).
      expect(p.stderr()).toMatch(/sending PUBACK[^]*sending PUBCOMP[^]*sending DISCONNECT/);
    });

    // [name, sub flags, published [topic suffix, payload, options], expected stdout]
    const rows: [string, string[], [string, string | Buffer, Partial<IClientPublishOptions>][], string | RegExp][] = [
      ['-v prints topic and payload', ['-v', '-C', '2'], [['a', 'x', {}], ['b', '', {}]], '{root}/a x\n{root}/b (null)\n'],
      ['-N drops the newline', ['-N', '-C', '2'], [['a', 'x', {}], ['b', 'y', {}]], 'xy'],
      [
        '-F with MQTT 5 specifiers shows the properties the publisher set',
        ['-q', '1', '--sub-id', '7', '-C', '1', '-F', '%t|%p|%q|%r|%l|%C|%R|%D|%E|%F|%P|%S'],
        [['x', 'hi', {
          qos: 1,
          properties: {
            contentType: 'text/plain',
            responseTopic: 'r/t',
            correlationData: Buffer.from('c1'),
            messageExpiryInterval: 600,
            payloadFormatIndicator: true,
            userProperties: { a: '1' },
          },
        }]],
        // A broker may count down the expiry interval by the time it forwards the message.
        /^\{root\}\/x\|hi\|1\|0\|2\|text\/plain\|r\/t\|c1\|(600|599)\|1\|a:1\|7\n$/,
      ],
      ['-F %x shows a binary payload as hex', ['-C', '1', '-F', '%x %X %l'], [['b', Buffer.from([0, 0xab, 0xff]), {}]], '00abff 00ABFF 3\n'],
      ['-T leaves out topics matching a filter', ['-v', '-C', '2', '-T', '{root}/skip/#'], [['skip/x', 's', {}], ['keep', 'k1', {}], ['skip', 's2', {}], ['keep2', 'k2', {}]], '{root}/keep k1\n{root}/keep2 k2\n'],
      // A live message published with retain set reaches existing subscribers with retain 0 [MQTT-3.3.1-9],
      // unless they asked for Retain As Published [MQTT-3.3.1-12].
      ['a live retained publish arrives with retain 0', ['-C', '1', '-F', '%r %p'], [['x', 'live', { retain: true }]], '0 live\n'],
      ['--retain-as-published keeps its retain flag', ['--retain-as-published', '-C', '1', '-F', '%r %p'], [['x', 'live', { retain: true }]], '1 live\n'],
    ];
    it.each(rows)('%s', async (_name, flags, messages, expected) => {
      const root = newRoot();
      const args = flags.map((f) => f.replaceAll('{root}', root));
      const p = startSub([...conn(), '-d', ...args, `${root}/#`]);
      await subscribed(p);
      for (const [suffix, payload, options] of messages) await publish(`${root}/${suffix}`, payload, options);
      expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
      if (typeof expected === 'string') expect(p.stdout()).toBe(expected.replaceAll('{root}', root));
      else expect(p.stdout()).toMatch(new RegExp(expected.source.replaceAll('\\{root\\}', root)));
      expect(userStderr(p.stderr())).toBe('');
    });

    it('--json prints one parseable object per line with MQTT 5 properties', async () => {
      const root = newRoot();
      const p = startSub([...conn(), '-d', '--json', '-q', '1', '-C', '2', `${root}/#`]);
      await subscribed(p);
      const before = Date.now();
      await publish(`${root}/j`, 'hello', { qos: 1, properties: { userProperties: { k: 'v' }, contentType: 'text/plain' } });
      await publish(`${root}/bin`, Buffer.from([0xff, 0x00]), { qos: 0 });
      expect((await p.waitForExit()).code).toBe(0);
      const records = lines(p.stdout()).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records).toHaveLength(2);
      expect(records[0]).toMatchObject({ topic: `${root}/j`, payload: 'hello', qos: 1, retain: false, properties: { userProperties: [['k', 'v']], contentType: 'text/plain' } });
      expect(records[0]!.messageId).toEqual(expect.any(Number));
      expect(Date.parse(String(records[0]!.received))).toBeGreaterThanOrEqual(before - 1000);
      expect(records[1]).toMatchObject({ topic: `${root}/bin`, payload: '/wA=', encoding: 'base64', qos: 0 });
    });

    // [MQTT-3.3.1-10] Retain Handling 0 sends the retained messages on subscribe; [MQTT-3.3.1-11] 2 never does.
    it.each([
      ['0', 0, 'kept\n'],
      ['2', 27, ''],
    ])('--retain-handling %s', async (handling, code, stdout) => {
      const root = newRoot();
      await publish(`${root}/r`, 'kept', { retain: true });
      const r = await spawnMqt(['sub', ...conn(), '--retain-handling', handling, '-C', '1', '-W', '0.6', `${root}/#`]);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe(stdout);
    });

    it('-R skips the retained message and prints the live one', async () => {
      const root = newRoot();
      await publish(`${root}/old`, 'stale', { retain: true });
      const p = startSub([...conn(), '-d', '-R', '-C', '1', `${root}/#`]);
      await subscribed(p);
      await publish(`${root}/new`, 'fresh');
      expect((await p.waitForExit()).code).toBe(0);
      expect(p.stdout()).toBe('fresh\n');
    });

    it('--output FILE appends, and binary payloads reach the file as they are', async () => {
      const root = newRoot();
      const file = join(home, `${root}.out`);
      writeFileSync(file, 'before\n');
      await publish(`${root}/bin`, Buffer.from([0x00, 0xff, 0x1b]), { retain: true });
      const r = await spawnMqt(['sub', ...conn(), '--retained-only', '--output', file, `${root}/#`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(readFileSync(file)).toEqual(Buffer.from([...Buffer.from('before\n'), 0x00, 0xff, 0x1b, 0x0a]));
    });

    it('on a terminal: topic coloured, retained marked, binary as hex (never raw)', async () => {
      const root = newRoot();
      await publish(`${root}/bin`, Buffer.from([0x00, 0x1b, 0xff]), { retain: true });
      await publish(`${root}/txt`, 'plain', { retain: true });
      // script(1) gives mqt a pseudo-terminal as stdout. Asynchronously: our broker runs in this process.
      const command = [process.execPath, MQT_BIN, 'sub', ...conn(), '--retained-only', `'${root}/#'`].join(' ');
      const { stdout: out } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, NO_COLOR: '', FORCE_COLOR: '1' }, timeout: 10_000 });
      expect(out).toContain(`\x1b[36m${root}/bin\x1b[39m \x1b[33m[retained]\x1b[39m`);
      expect(out).toMatch(/\(3 bytes, hex\)\S* \S*001bff/);
      expect(out).toContain('plain');
      expect(out).not.toContain('\x00');
    });
  });

  describe('ends by itself', { skip, sequential: true }, () => {
    it('-W expires with exit code 27, as mosquitto_sub', async () => {
      const r = await spawnMqt(['sub', ...conn(), '-W', '0.5', `${newRoot()}/#`]);
      expect(r).toMatchObject({ code: 27, stdout: '', stderr: 'mqt sub: timed out after 0.5 s\n' });
    });

    it('--retained-only prints the retained burst and exits 0 without -W', async () => {
      const root = newRoot();
      await publish(`${root}/a`, 'A', { retain: true });
      await publish(`${root}/b/c`, 'B', { retain: true });
      const started = Date.now();
      const r = await spawnMqt(['sub', ...conn(), '--retained-only', '--quiet-ms', '300', '-v', `${root}/#`]);
      expect(r.code).toBe(0);
      expect(lines(r.stdout).sort()).toEqual([`${root}/a A`, `${root}/b/c B`]);
      expect(r.stderr).toBe('');
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('--retained-only with nothing retained prints nothing and exits 0', async () => {
      const r = await spawnMqt(['sub', ...conn(), '--retained-only', '--quiet-ms', '200', `${newRoot()}/#`]);
      expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    });

    it('-E exits 0 once subscribed', async () => {
      const r = await spawnMqt(['sub', ...conn(), '-E', '-d', `${newRoot()}/#`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/received SUBACK[^]*sending DISCONNECT/);
    });

    it('Ctrl-C (SIGINT) disconnects cleanly and exits 0', async () => {
      const p = startSub([...conn(), '-d', `${newRoot()}/#`]);
      await subscribed(p);
      p.child.kill('SIGINT');
      expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
      expect(p.stderr()).toContain('sending DISCONNECT');
      expect(userStderr(p.stderr())).toBe('');
    });

    // With a persistent session, the broker keeps the subscription (and queues for it) until -U.
    it.each([
      ['keeps the subscription of a persistent session without -U', false, 0, 'queued\n'],
      ['-U removes the subscription of a persistent session', true, 27, ''],
    ])('%s', async (_name, withUnsubscribe, code, stdout) => {
      const root = newRoot();
      const id = ['-c', '-i', `sub-u-${root}`];
      expect((await spawnMqt(['sub', ...conn(), ...id, '-q', '1', '-E', `${root}/u/#`])).code).toBe(0);
      if (withUnsubscribe) {
        const r = await spawnMqt(['sub', ...conn(), ...id, '-U', `${root}/u/#`, '-E']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
      }
      await publish(`${root}/u/x`, 'queued', { qos: 1 });
      const r = await spawnMqt(['sub', ...conn(), ...id, '-q', '1', '-W', '0.6', '-C', '1', `${root}/other`]);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe(stdout);
    });
  });

  describe('a broker that goes away', { skip, sequential: true }, () => {
    it('--no-reconnect exits non-zero with one line', async () => {
      const own = await start();
      try {
        const p = startSub(['-h', '127.0.0.1', '-p', String(own.port), '-d', '--no-reconnect', 'x/#']);
        await subscribed(p);
        await own.stop();
        const exit = await p.waitForExit();
        expect(exit.code).toBe(1);
        expect(userStderr(p.stderr())).toMatch(new RegExp(`^mqt sub: (the connection to 127\\.0\\.0\\.1:${own.port} was lost|127\\.0\\.0\\.1:${own.port} disconnected us: 0x8b Server shutting down); not reconnecting \\(--no-reconnect\\)\\n$`));
        expect(p.stderr()).not.toMatch(STACK_LINE);
      } finally {
        await own.stop();
      }
    });

    it('Ctrl-C while waiting to reconnect exits 0 at once', async () => {
      const own = await start();
      try {
        const p = startSub(['-h', '127.0.0.1', '-p', String(own.port), '-d', 'x/#']);
        await subscribed(p);
        await own.stop();
        await until(() => p.stderr().includes('reconnecting'), 5000, 'the reconnecting note');
        p.child.kill('SIGINT');
        expect(await p.waitForExit(2000)).toEqual({ code: 0, signal: null });
      } finally {
        await own.stop();
      }
    });

    it('reconnects and resubscribes by default', async () => {
      let own = await start();
      const { port } = own;
      try {
        const p = startSub(['-h', '127.0.0.1', '-p', String(port), '-d', '-C', '1', 'back/#']);
        await subscribed(p);
        await own.stop();
        own = await start(port);
        await subscribed(p, 2); // MQTT.js subscribes again on the new connection
        const other = await connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
        await other.publishAsync('back/x', 'again', { qos: 1 });
        await other.endAsync();
        expect((await p.waitForExit()).code).toBe(0);
        expect(p.stdout()).toBe('again\n');
        expect(userStderr(p.stderr())).toMatch(/connection lost; reconnecting[^]*reconnected/);
      } finally {
        await own.stop();
      }
    });
  });
});

// Each row is a process of its own, with no broker: run them side by side.
describe('mqt sub: subscriptions the broker refuses', () => {
  let broker: StartedBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker({ hooks: { authorizeSubscribe: (_client, filter, qos) => (filter.startsWith('secret/') ? false : qos) } });
  });
  afterAll(() => broker?.stop());

  it('every filter refused: one line naming each with its reason code, exit 1', async () => {
    const r = await spawnMqt(['sub', '-p', String(broker!.port), 'secret/a', 'secret/b']);
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "mqt sub: the broker refused every subscription: 'secret/a' (0x87 Not authorized), 'secret/b' (0x87 Not authorized)\n",
    });
  });

  it('one of two refused: a note on stderr, and the other subscription works', async () => {
    const r = await spawnMqt(['sub', '-p', String(broker!.port), '-E', 'secret/a', 'open/#']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: "mqt sub: the broker refused 'secret/a' (0x87 Not authorized)\n" });
  });
});

describe.concurrent('mqt sub: bad input gets one line and exit 1, before connecting', () => {
  const rows: [name: string, argv: string[], stderr: RegExp][] = [
    ['no filter', [], /^mqt sub: give at least one topic filter, e\.g\. mqt sub 'eg\/#'\nUse 'mqt sub --help'\n$/],
    ['invalid filter', ['a/#/b'], /^mqt sub: Topic filter "a\/#\/b" may use '#' only as the whole last level, as in 'a\/#' \[MQTT-4\.7\.1-2\]\nUse 'mqt sub --help'\n$/],
    ['invalid -t filter', ['-t', 'a+'], /^mqt sub: Topic filter "a\+" may use '\+' only as a whole level.*\nUse 'mqt sub --help'\n$/],
    ['invalid -T filter', ['-T', 'x#', 'a'], /^mqt sub: --filter-out: Topic filter "x#".*\nUse 'mqt sub --help'\n$/],
    ['invalid shared subscription', ['$share//a'], /^mqt sub: Shared subscription "\$share\/\/a" needs a share name.*\nUse 'mqt sub --help'\n$/],
    ['unknown flag', ['--bogus', 'a'], /^mqt sub: unknown option --bogus\nUse 'mqt sub --help'\n$/],
    ['bad QoS', ['-q', '3', 'a'], /^mqt sub: -q\/--qos must be 0, 1 or 2, not '3'\nUse 'mqt sub --help'\n$/],
    ['bad -C', ['-C', '0', 'a'], /^mqt sub: --count must be a whole number from 1 to \d+, got '0'\nUse 'mqt sub --help'\n$/],
    ['bad -W', ['-W', 'soon', 'a'], /^mqt sub: --timeout must be a number of seconds.*got 'soon'\nUse 'mqt sub --help'\n$/],
    ['-W 0', ['-W', '0', 'a'], /^mqt sub: --timeout must be more than 0 seconds\nUse 'mqt sub --help'\n$/],
    ['bad --retain-handling', ['--retain-handling', '3', 'a'], /^mqt sub: --retain-handling must be 0, 1 or 2, not '3'\nUse 'mqt sub --help'\n$/],
    ['-R with --retained-only', ['-R', '--retained-only', 'a'], /^mqt sub: combining -R and --retained-only makes no sense.*\nUse 'mqt sub --help'\n$/],
    ['--no-local on a shared subscription', ['--no-local', '$share/g/a'], /^mqt sub: --no-local cannot be used with a shared subscription.*\[MQTT-3\.8\.3-4\]\nUse 'mqt sub --help'\n$/],
    ['MQTT 5 option with -V 3.1.1', ['-V', '3.1.1', '--sub-id', '3', 'a'], /^mqt sub: --sub-id needs MQTT 5.*\nUse 'mqt sub --help'\n$/],
    ['unknown -F specifier', ['-F', '%z', 'a'], /^mqt sub: --format: invalid format specifier '%z'\nUse 'mqt sub --help'\n$/],
    ['unknown -F escape', ['-F', '\\q', 'a'], /^mqt sub: --format: invalid escape specifier '\\q'\nUse 'mqt sub --help'\n$/],
    ['-F with --json', ['-F', '%t', '--json', 'a'], /^mqt sub: --format and --json cannot be combined: choose one output\nUse 'mqt sub --help'\n$/],
    ['--output in a missing directory', ['--output', '/nonexistent-mqt-dir/out', 'a'], /^mqt sub: cannot open '\/nonexistent-mqt-dir\/out' for --output: .+\n$/],
  ];
  it.for(rows)('%s', async ([, argv, stderr], { expect }) => {
    // Port 9 (discard) on loopback: nothing listens, so reaching the connect step would fail differently.
    const r = await spawnMqt(['sub', '-p', '9', ...argv]);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

const oracleGate = needPeers('mosquitto', 'mosquitto-clients');

describe.skipIf(oracleGate.skip)('-F prints what mosquitto_sub prints for the same message', () => {
  let mosquitto: RunningMosquitto | undefined;
  const root = `oracle-${process.pid}`;
  beforeEach(oracleGate.check);
  beforeAll(async () => {
    if (oracleGate.skip) return;
    oracleGate.check();
    mosquitto = await startMosquitto();
    const pub = await connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await pub.publishAsync(`${root}/text`, 'abc', { qos: 1, retain: true, properties: { contentType: 'text/x', userProperties: { k: 'v' }, responseTopic: 'r/1' } });
    await pub.publishAsync(`${root}/bin`, Buffer.from([0x00, 0x7f, 0xff, 0x41]), { qos: 1, retain: true });
    await pub.endAsync();
  });
  afterAll(() => mosquitto?.stop());

  // Formats whose output does not depend on the clock; each runs on every retained message.
  const formats = [
    '%t|%p|%q|%r|%l|%m|%C|%P|%R|%%',
    '%x|%X|%l',
    '[%5p|%-6t|%05l|%3q|%.2t|%10C|%-8R|%03l|%-3l]',
    '\\e[92m%t\\e[0m\\t%p@@\\\\\\a\\v\\r',
    '[%A|%E|%F|%S|%D|%3A|%03E]',
  ];
  it.concurrent.for(formats)('%s', async (format, { expect }) => {
    for (const topic of [`${root}/text`, `${root}/bin`]) {
      const theirs = await runPeer(peers().mosquittoSub!, ['-p', String(mosquitto!.port), '-V', 'mqttv5', '-C', '1', '-F', format, '-t', topic], { env: { XDG_CONFIG_HOME: home } });
      const ours = await runPeer(process.execPath, [MQT_BIN, 'sub', '-p', String(mosquitto!.port), '-C', '1', '-F', format, topic], { env });
      expect(theirs.code, theirs.stderr).toBe(0);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout).toBe(theirs.stdout);
    }
  });

  it('default and -v output match mosquitto_sub', async () => {
    for (const flags of [[], ['-v']]) {
      const theirs = await runPeer(peers().mosquittoSub!, ['-p', String(mosquitto!.port), '-V', 'mqttv5', '-C', '1', ...flags, '-t', `${root}/text`], { env: { XDG_CONFIG_HOME: home } });
      const ours = await runPeer(process.execPath, [MQT_BIN, 'sub', '-p', String(mosquitto!.port), '-C', '1', ...flags, `${root}/text`], { env });
      expect(ours.stdout).toBe(theirs.stdout);
    }
  });
});
