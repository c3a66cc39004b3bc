import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCompare, parseWarmup, readConfig } from '../../src/commands/bench-run.js';
import type { PublishPacket } from '../../src/core/codec/types.js';
import { topicMatches } from '../../src/core/topic/match.js';
import { startFakeBroker, type FakeClient } from '../helpers/fake-broker.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { MQT_BIN, spawnMqt, assertFreshBuild } from '../helpers/spawn-mqt.js';
import { bench, json } from '../helpers/bench-cli.js';

// `mqt bench` as a user runs it: the built binary, against the broker it starts itself, a real
// mosquitto and a broker that loses messages on purpose. Loads are tiny: this checks what is
// reported and how the command exits, not how fast anything is.

beforeAll(() => assertFreshBuild(['commands/bench.ts', 'commands/bench-run.ts', 'commands/render/bench-output.ts', 'core/bench/report.ts', 'core/bench/compare.ts', 'core/bench/builtin.ts', 'core/bench/builtin-child.ts']));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('mqt bench against the built-in broker', () => {
  it('with no arguments (the README quick start) prints a summary with nothing lost', async () => {
    const r = await bench([], 60_000);
    expect(r.stderr).toBe(''); // no spinner, no warnings in a pipe
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^pub 1 → 1 against builtin\nQoS 0 · 64 B · 100,000 msgs · flat out · MQTT 3\.1\.1 · topic mqt\/bench\/0\n/);
    expect(r.stdout).toMatch(/^ {2}published {7}100,000 in \d+\.\d\d s$/m);
    expect(r.stdout).toMatch(/^ {2}delivered {7}100,000 of 100,000$/m);
    expect(r.stdout).toMatch(/^ {2}publish rate {4}[\d,]+ msg\/s$/m);
    expect(r.stdout).toMatch(/^ {2}publish → delivery +[\d.,]+ +[\d.,]+ +[\d.,]+ +[\d.,]+ +[\d.,]+$/m);
    expect(r.stdout).toMatch(/^ {2}correctness {5}lost 0 · duplicated 0 · out of order 0$/m);
    expect(r.stdout).toMatch(/^ {2}cpu {13}engine \d+\.\d\d s · broker \d+\.\d\d s · broker RSS [\d.]+ MiB$/m);
    // Plain, stable text in a pipe: no colour codes, no sparkline.
    expect(r.stdout).not.toMatch(/\x1b\[|[▁▂▃▄▅▆▇█]/);
  });

  it('--json prints one object with the documented fields, and stops the broker afterwards', async () => {
    const r = await bench(['--qos', '1', '--msgs', '2000', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const j = json(r);
    expect(Object.keys(j)).toEqual([
      'target', 'brokerPid', 'scenario', 'config', 'startedAt', 'durationMs', 'publishMs', 'waitedMs', 'totals', 'rates', 'perSecond',
      'latencyMs', 'correctness', 'errors', 'socketErrors', 'reconnects', 'cpu', 'brokerRssBytes', 'conn', 'ok', 'problems', 'hints',
    ]);
    expect(j).toMatchObject({
      target: 'builtin',
      scenario: 'pub',
      config: { scenario: 'pub', pubs: 1, subs: 1, qos: 1, size: 64, msgs: 2000, inflight: 100, protocolVersion: 4 },
      totals: { published: 2000, acknowledged: 2000, expected: 2000, delivered: 2000 },
      correctness: { lost: 0, duplicated: 0, outOfOrder: 0 },
      errors: [],
      ok: true,
      problems: [],
    });
    expect(j.rates.publish).toBeGreaterThan(0);
    expect(j.latencyMs.ack.count).toBe(2000);
    expect(j.latencyMs.delivery.count).toBe(2000);
    expect(j.latencyMs.ack.p50).toBeLessThanOrEqual(j.latencyMs.ack.p99);
    expect(j.cpu.brokerSeconds).toBeGreaterThanOrEqual(0);
    expect(j.brokerRssBytes).toBeGreaterThan(1_000_000);
    // The broker was a child process of its own, and it is gone now.
    expect(typeof j.brokerPid).toBe('number');
    expect(alive(j.brokerPid as number)).toBe(false);
  });

  it('--quiet prints nothing at all when the run is fine', async () => {
    const r = await bench(['--quiet', '--msgs', '500']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
  });

  it('a profile that names no broker (only credentials) still measures the built-in one; one that does, not', async () => {
    const config = mkdtempSync(join(tmpdir(), 'mqt-bench-config-'));
    try {
      mkdirSync(join(config, 'mqt'));
      writeFileSync(join(config, 'mqt', 'config.json'), JSON.stringify({ profiles: { me: { username: 'me', password: 'pw' }, far: { url: 'mqtt://127.0.0.1:1' } } }));
      const me = await spawnMqt(['bench', '--profile', 'me', '--msgs', '200', '--json'], { env: { XDG_CONFIG_HOME: config }, timeoutMs: 20_000 });
      expect(me.code, me.stderr).toBe(0);
      expect(json(me)).toMatchObject({ target: 'builtin', totals: { delivered: 200 } });
      const far = await spawnMqt(['bench', '--profile', 'far', '--msgs', '200'], { env: { XDG_CONFIG_HOME: config } });
      expect(far.stderr).toBe('mqt bench: connection refused by 127.0.0.1:1: is a broker running there and listening on port 1?\n');
      expect(far.code).toBe(1);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  it('QoS 2 over MQTT 5: exactly once', async () => {
    const r = await bench(['--qos', '2', '--msgs', '1000', '-V', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ config: { qos: 2, protocolVersion: 5 }, totals: { delivered: 1000, expected: 1000 }, correctness: { lost: 0, duplicated: 0 }, ok: true });
  });

  it('fan-in: 10 publishers to 1 subscriber on a wildcard', async () => {
    const r = await bench(['fan-in', '--qos', '1', '--msgs', '2000', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ scenario: 'fan-in', config: { pubs: 10, subs: 1 }, totals: { published: 2000, expected: 2000, delivered: 2000 }, correctness: { lost: 0 } });
  });

  it('fan-out: 1 publisher to 10 subscribers, in the table', async () => {
    const r = await bench(['--scenario', 'fan-out', '--msgs', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^fan-out 1 → 10 against builtin$/m);
    expect(r.stdout).toMatch(/^ {2}delivered {7}5,000 of 5,000$/m);
  });

  it('conn: opens the connections and reports CONNACK latency', async () => {
    const r = await bench(['conn', '--conns', '50', '--concurrency', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({ scenario: 'conn', conn: { attempted: 50, connected: 50, failed: 0 }, ok: true });
    expect(j.latencyMs.connack.count).toBe(50);
    expect(j.conn.rate).toBeGreaterThan(0);
  });

  it('--duration with --rate and a warm-up', async () => {
    const r = await bench(['--duration', '1', '--rate', '2000', '--warmup', '200', '--qos', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j.config).toMatchObject({ durationMs: 1000, rate: 2000, warmupMsgs: 200 });
    // About 2,000 in one second at 2,000/s; the warm-up is not counted.
    expect(j.totals.published).toBeGreaterThan(1000);
    expect(j.totals.published).toBeLessThan(3000);
    expect(j.correctness.lost).toBe(0);
  });
});

/** Runs mqt on a pseudo-terminal of 100 columns (Python's pty module); everything the terminal showed. */
const PTY_RUNNER = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    # The window size is set before mqt starts, so it never sees a terminal of 0 columns.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
while True:
    ready, _, _ = select.select([fd], [], [], 20)
    if not ready:
        break
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  const home = mkdtempSync(join(tmpdir(), 'mqt-bench-pty-'));
  return new Promise((resolve) => {
    // A person's terminal: no CI, no colour overrides, unless the test says so.
    const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), TERM: 'xterm' };
    for (const k of ['FORCE_COLOR', 'NO_COLOR', 'CI']) delete childEnv[k];
    Object.assign(childEnv, env);
    const child = spawn('/usr/bin/python3', ['-c', PTY_RUNNER, process.execPath, MQT_BIN, 'bench', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    child.on('close', (code) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ code, screen });
    });
  });
}

describe.skipIf(!existsSync('/usr/bin/python3'))('mqt bench on a terminal', () => {
  it('shows a spinner with the live progress, then a coloured summary with a per-second sparkline', async () => {
    const { code, screen } = await onTerminal(['--qos', '1', '--duration', '1.5', '--rate', '4000'], {});
    expect(code, screen).toBe(0);
    expect(screen, screen).toMatch(/pub 1 → 1 against builtin · [\d,]+ sent · [\d,]+ delivered · [\d,]+ msg\/s · \d+\.\d s/);
    expect(screen).toContain('\x1b[1mpub 1 → 1 against builtin\x1b[22m');
    expect(screen).toMatch(/correctness {5}\x1b\[32mlost 0 · duplicated 0 · out of order 0\x1b\[39m/);
    expect(screen).toMatch(/per second {6}\x1b\[36m[▁▂▃▄▅▆▇█]{2,}/);
  });

  it('no spinner with CI set, no colour with NO_COLOR', async () => {
    const { code, screen } = await onTerminal(['--msgs', '2000'], { CI: 'true', NO_COLOR: '1' });
    expect(code, screen).toBe(0);
    expect(screen).not.toContain(' sent · ');
    expect(screen).not.toContain('\x1b[');
    expect(screen).toMatch(/correctness {5}lost 0 · duplicated 0 · out of order 0/);
  });
});

describe('flag values, in process', () => {
  it('--warmup: a bare number is messages, a unit makes it time', () => {
    expect(parseWarmup('1000')).toEqual({ warmupMsgs: 1000 });
    expect(parseWarmup('2s')).toEqual({ warmupMs: 2000 });
    expect(parseWarmup('1.5s')).toEqual({ warmupMs: 1500 });
    expect(parseWarmup('500ms')).toEqual({ warmupMs: 500 });
    for (const bad of ['1.5', '2m', 's', '-1', '']) expect(() => parseWarmup(bad), bad).toThrow(/--warmup takes/);
  });

  it('--compare: builtin and URLs, in the order given', () => {
    expect(parseCompare('builtin, mqtt://127.0.0.1:1883 ,ws://h:80/mqtt')).toEqual(['builtin', 'mqtt://127.0.0.1:1883', 'ws://h:80/mqtt']);
    expect(() => parseCompare('builtin,builtin')).toThrow("--compare names 'builtin' twice");
    expect(() => parseCompare('builtin,,mqtt://h')).toThrow(/empty entry/);
  });

  it('fills in the presets of each scenario', () => {
    expect(readConfig({})).toMatchObject({ scenario: 'pub', pubs: 1, subs: 1, topicMode: 'same', qos: 0, size: 64, msgs: 100_000, inflight: 100, timeoutMs: 10_000, workers: 1 });
    expect(readConfig({ scenario: 'fan-in' })).toMatchObject({ pubs: 10, subs: 1 });
    expect(readConfig({ scenario: 'fan-out', subs: 3 })).toMatchObject({ pubs: 1, subs: 3 });
    expect(readConfig({ scenario: 'conn' })).toMatchObject({ conns: 2000, concurrency: 200 });
    expect(readConfig({ duration: 2.5 })).toMatchObject({ msgs: undefined, durationMs: 2500 });
  });
});

describe('bad input: one line and a pointer to --help, exit 1', () => {
  const rows: [string, string[], RegExp][] = [
    ['QoS 3', ['--qos', '3'], /^-q\/--qos must be 0, 1 or 2, not '3'$/],
    ['no messages', ['--msgs', '0'], /^--msgs must be a whole number from 1 to/],
    ['both bounds', ['--msgs', '10', '--duration', '1'], /^--msgs and --duration both bound the run: use one$/],
    ['an unknown scenario', ['flood'], /^--scenario must be one of pub, fan-in, fan-out, conn, got 'flood'$/],
    ['message flags for conn', ['conn', '--qos', '1'], /^-?-qos does not apply to the conn scenario/],
    ['conn flags for pub', ['--conns', '5'], /^--conns belongs to the conn scenario/],
    ['a warm-up with a bad unit', ['--warmup', '2x'], /^--warmup takes a number of messages \(--warmup 1000\) or a time/],
    ['a payload smaller than the header', ['--size', '5'], /^--size must be at least 20/],
    ['a wildcard topic', ['--topic', 'a/#'], /^--topic 'a\/#': /],
    ['MQTT 3.1', ['-V', '3.1'], /^mqt bench speaks MQTT 3\.1\.1 and 5/],
    ['TLS to the built-in broker', ['--tls'], /^the built-in broker has no TLS listener/],
    ['--inflight at QoS 0', ['--inflight', '5'], /^--inflight limits unacknowledged QoS 1 and 2 messages/],
    ['one target to compare', ['--compare', 'builtin'], /^--compare needs at least two targets/],
    ['a bad URL to compare', ['--compare', 'builtin,http://x'], /^--compare: unknown URL scheme 'http'/],
    ['compare with -h', ['--compare', 'builtin,mqtt://127.0.0.1:1', '-h', 'x'], /^--compare names the brokers: drop -h$/],
    ['--rounds alone', ['--rounds', '2'], /^--rounds goes with --compare/],
    ['--topic-mode for fan-in', ['fan-in', '--topic-mode', 'same'], /^--topic-mode applies to the pub scenario/],
    ['an unknown flag', ['--flood'], /^unknown option --flood$/],
  ];
  // Each is a process start and nothing more: run them side by side.
  it.concurrent.for(rows)('%s', async ([, args, message], { expect }) => {
    const r = await bench(args);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines, r.stderr).toHaveLength(3);
    expect(lines[0]!.startsWith('mqt bench: '), r.stderr).toBe(true);
    expect(lines[0]!.slice('mqt bench: '.length)).toMatch(message);
    expect(lines[1]).toBe("Use 'mqt bench --help'");
    expect(r.code).toBe(1);
  });

  it('--help documents exit status 3', async () => {
    const r = await bench(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('3 when the broker lost a QoS 1 or 2 message or duplicated a QoS 2 message');
  });

  it('a broker that is not there: one line, exit 1', async () => {
    const closed = await closedPort();
    const r = await bench(['-h', '127.0.0.1', '-p', String(closed), '--msgs', '10']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`mqt bench: connection refused by 127.0.0.1:${closed}: is a broker running there and listening on port ${closed}?\n`);
    expect(r.code).toBe(1);
  });
});

// ---- a broker that loses messages on purpose ---------------------------------------------

/**
 * Just enough broker for the bench: PUBLISH at every QoS with its acks on top of the fake
 * broker's defaults. It acknowledges every PUBLISH it receives but forwards only nine in ten
 * (every 10th forwarded copy is dropped): a broker that breaks QoS 1's promise.
 */
async function startLossyBroker(): Promise<{ port: number; dropped: () => number; close: () => Promise<void> }> {
  const subs: { client: FakeClient; filter: string; qos: number; nextId: number }[] = [];
  let forwarded = 0;
  let dropped = 0;
  const broker = await startFakeBroker({
    onPacket(p, client) {
      if (p.type === 'subscribe') {
        for (const s of p.subscriptions) subs.push({ client, filter: s.topicFilter, qos: s.qos, nextId: 1 });
        return false; // the default SUBACK
      }
      if (p.type !== 'publish') return false;
      if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
      if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId!, reasonCode: 0 });
      forward(p);
      return true;
    },
    onClose(client) {
      for (let i = subs.length - 1; i >= 0; i--) if (subs[i]!.client === client) subs.splice(i, 1);
    },
  });
  function forward(p: PublishPacket): void {
    for (const s of subs) {
      if (!topicMatches(s.filter, p.topic)) continue;
      if (++forwarded % 10 === 0) {
        dropped++;
        continue;
      }
      const qos = Math.min(p.qos, s.qos) as 0 | 1 | 2;
      const out: PublishPacket = { type: 'publish', topic: p.topic, payload: p.payload, qos, retain: false, dup: false };
      if (qos > 0) {
        out.packetId = s.nextId;
        s.nextId = s.nextId === 65_535 ? 1 : s.nextId + 1;
      }
      s.client.send(out);
    }
  }
  return { port: broker.port, dropped: () => dropped, close: broker.close };
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('a broker that loses messages', () => {
  let lossy: Awaited<ReturnType<typeof startLossyBroker>>;
  beforeAll(async () => {
    lossy = await startLossyBroker();
  });
  afterAll(() => lossy.close());

  // QoS 1 promises at least once (MQTT 3.1.1 section 4.3.2): 20 of 200 missing is a broken broker.
  it('QoS 1: reported as lost, in red words, with exit code 3', async () => {
    const before = lossy.dropped();
    const r = await bench(['-h', '127.0.0.1', '-p', String(lossy.port), '--qos', '1', '--msgs', '200', '--timeout', '0.5']);
    expect(lossy.dropped() - before).toBe(20);
    expect(r.stdout).toMatch(/^ {2}delivered {7}180 of 200$/m);
    expect(r.stdout).toMatch(/^ {2}correctness {5}lost 20 · duplicated 0 · out of order \d+: lost 20 of 200 QoS 1 deliveries$/m);
    expect(r.stdout).toMatch(/\nFAILED: lost 20 of 200 QoS 1 deliveries\n$/);
    expect(r.stderr).toBe(`mqt bench: mqtt://127.0.0.1:${lossy.port} broke its delivery guarantee: lost 20 of 200 QoS 1 deliveries\n`);
    expect(r.code).toBe(3);
  });

  it('--json carries ok: false and the problem', async () => {
    const r = await bench(['-L', `mqtt://127.0.0.1:${lossy.port}`, '--qos', '2', '--msgs', '100', '--timeout', '0.5', '--json']);
    const j = json(r);
    expect(j).toMatchObject({ ok: false, problems: ['lost 10 of 100 QoS 2 deliveries'], correctness: { lost: 10, duplicated: 0 }, totals: { delivered: 90, expected: 100 } });
    expect(r.code).toBe(3);
  });

  it('QoS 0 loss is allowed by the spec: reported, exit 0', async () => {
    const r = await bench(['-p', String(lossy.port), '--msgs', '100', '--timeout', '0.5', '--json']);
    expect(json(r)).toMatchObject({ ok: true, correctness: { lost: 10 } });
    expect(r.code).toBe(0);
  });
});

// ---- a real mosquitto ----------------------------------------------------------------------

const gate = needPeers('mosquitto');
describe.skipIf(gate.skip)('mqt bench against mosquitto', () => {
  let mosquitto: RunningMosquitto;
  beforeAll(async () => {
    gate.check();
    mosquitto = await startMosquitto();
  });
  afterAll(() => mosquitto?.stop());

  it('QoS 1 one-to-one: nothing lost, the target named by its URL', async () => {
    const r = await bench(['-h', '127.0.0.1', '-p', String(mosquitto.port), '--qos', '1', '--msgs', '2000', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ target: `mqtt://127.0.0.1:${mosquitto.port}`, brokerPid: null, totals: { delivered: 2000 }, correctness: { lost: 0 }, ok: true });
  });

  it('takes the broker from MQT_URL, as the client commands do', async () => {
    const r = await spawnMqt(['bench', '--msgs', '500', '--json'], { env: { MQT_URL: mosquitto.url }, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ target: mosquitto.url, brokerPid: null, totals: { delivered: 500 } });
  });

  it('a refused CONNECT exits with its return code (3.1.1) or reason code (5)', async () => {
    const closed = await startMosquitto({ config: ['allow_anonymous false'] });
    try {
      const v3 = await bench(['-p', String(closed.port), '-h', '127.0.0.1', '--msgs', '10']);
      expect(v3.stderr).toBe(`mqt bench: 127.0.0.1:${closed.port} refused the connection: not authorized (return code 5); this user may not connect; check -u and -P, or the broker's access rules\n`);
      expect(v3.code).toBe(5);
      const v5 = await bench(['-L', `${closed.url}`, '-V', '5', '-u', 'nobody', '-P', 'wrong', '--msgs', '10']);
      expect(v5.stderr).toMatch(/refused the connection: Not authorized \(0x87\)/);
      expect(v5.code).toBe(0x87);
    } finally {
      await closed.stop();
    }
  });

  it('--broker-pid reports the CPU time and memory of a broker we did not start', async () => {
    const r = await bench(['-p', String(mosquitto.port), '--msgs', '1000', '--broker-pid', String(mosquitto.process.child.pid), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j.brokerPid).toBe(mosquitto.process.child.pid);
    expect(j.cpu.brokerSeconds).toBeGreaterThanOrEqual(0);
    expect(j.brokerRssBytes).toBeGreaterThan(0);
  });

  it('--compare builtin,mosquitto --rounds 1: a table with medians and ratios', async () => {
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    const r = await bench(['--compare', `builtin,${url}`, '--rounds', '1', '--qos', '1', '--msgs', '1000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^pub 1 → 1 against builtin vs ${url.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toContain('1 round per target, run round by round (A B A B …); medians, min–max, ratio to builtin');
    expect(r.stdout).toMatch(new RegExp(`^ +builtin +${url.replace(/\./g, '\\.')} +better$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}publish rate \(msg\/s\) +[\d,]+ +[\d,]+ +\d+\.\d\d× +(?:\S+ \d+\.\d\d× faster(?: \(ranges overlap\))?|≈ same)$/m);
    expect(r.stdout).toMatch(/^ {2}lost \/ dup \/ ooo +0 \/ 0 \/ 0 +0 \/ 0 \/ 0 +same$/m);
  });

  it('--compare --json: one object, runs in A B A B order', async () => {
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    const r = await bench(['--compare', `${url},builtin`, '--rounds', '2', '--msgs', '300', '--json'], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j.compare).toEqual({ targets: [url, 'builtin'], rounds: 2, order: 'round by round, targets in the order given' });
    expect(j.runs.map((x: { round: number; target: string }) => `${x.round}:${x.target}`)).toEqual([`1:${url}`, '1:builtin', `2:${url}`, '2:builtin']);
    expect(j.targets[0].metrics.publishRate.ratio).toBe(1);
    expect(j.targets[1].metrics.publishRate.ratio).toBeGreaterThan(0);
    expect(j.ok).toBe(true);
  });
});
