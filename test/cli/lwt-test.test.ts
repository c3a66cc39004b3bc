import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import { encode, Parser, ReasonCode, type Packet, type ProtocolVersion, type Will } from '../../src/core/codec/index.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { spawnMqt, type SpawnMqtResult, assertFreshBuild } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

// `mqt lwt-test` as a user runs it: the built binary against mosquitto, against mqt's broker
// (started here, and the built-in one lwt-test starts itself), and against fake brokers on our
// codec that get wills wrong. Runs are concurrent and use short keep-alives and timeouts.

const STACK_LINE = /^\s+at .+/m;
/** Short enough to keep the suite fast, long enough for a loaded machine. */
const FAST = ['-k', '1', '--timeout', '1.5'];
/**
 * mosquitto 2.0.11 checks keep-alives on a timer: its keep-alive will comes up to about 5 s
 * after 1.5 × keep-alive, and --timeout is how late a will may be.
 */
const MOSQUITTO_FAST = ['-k', '1', '--timeout', '6'];
/** --mode all with MOSQUITTO_FAST: the keep-alive will and the graceful watch take some 13 s together. */
const SUITE_TIMEOUT_MS = 40_000;

beforeAll(() => assertFreshBuild(['commands/lwt-test.ts', 'commands/lwt-test-run.ts', 'commands/render/lwt-test-output.ts', 'core/client/lwt-test.ts', 'core/client/raw-client.ts']));

const lwt = (args: readonly string[], timeoutMs = 30_000): Promise<SpawnMqtResult> => spawnMqt(['lwt-test', ...args], { timeoutMs });

interface ModeLine {
  mode: string;
  result: 'pass' | 'fail' | 'skip';
  pass: boolean;
  protocolVersion: string;
  expected: string;
  observed: string;
  latencyMs?: number;
  willDelay?: number;
  payloadMatched?: boolean;
  qosMatched?: boolean;
  retainMatched?: boolean;
  propertiesMatched?: boolean;
  retained?: { present: boolean; cleared: boolean };
  takeover?: { closed: boolean; reasonCode?: number };
  problems: string[];
  notes: string[];
}

function lines(r: SpawnMqtResult): ModeLine[] {
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ModeLine);
}

function passed(r: SpawnMqtResult): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
}

/** One line on stderr (plus the usage hint for usage errors), the exit code, no stack, nothing on stdout. */
function refused(r: SpawnMqtResult, code: number, stderr: RegExp, usage = true): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(stderr);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(usage ? 2 : 1);
  if (usage) expect(r.stderr).toMatch(/\nUse 'mqt lwt-test --help'\n$/);
  expect(r.stdout).toBe('');
}

// Every suite runs at once (each against its own broker or fake): most of the time is waiting.
describe.concurrent('mqt lwt-test', () => {
  describe('usage errors: one line, exit 1, no broker contacted', () => {
    it.concurrent.each([
      [['--mode', 'bogus'], /^mqt lwt-test: --mode: unknown mode 'bogus'; choose from kill, keepalive, graceful, disconnect-with-will, takeover, all\n/],
      [['--mode', 'kill', '--mode', 'all'], /--mode was given more than once: list the modes with commas/],
      [['-k', '0'], /--keepalive must be a whole number from 1 to 65535, got '0'/],
      [['--timeout', 'soon'], /--timeout must be a number of seconds from 0 to 3600, got 'soon'/],
      [['--will-qos', '3'], /--will-qos must be 0, 1 or 2, not '3'/],
      [['-V', '3.1.1', '--will-delay', '2'], /--will-delay needs MQTT 5, but -V asks for 3\.1\.1/],
      [['--tls'], /the built-in broker has no TLS listener: name the broker to test with -h or -L/],
      [['--will-topic', 'a/+'], /--will-topic: /],
      [['--bogus'], /unknown option --bogus/],
    ])('%j', async (args, stderr) => {
      refused(await lwt(args), 1, stderr);
    });
  });

  describe('the built-in broker (no -h): a self-test', () => {
    it.concurrent('--mode all passes over MQTT 5, as a table', async () => {
      const r = await lwt(['--mode', 'all', ...FAST]);
      passed(r);
      const out = r.stdout.split('\n');
      expect(out[0]).toMatch(/^Testing wills on 127\.0\.0\.1:\d+ \(mqt's built-in broker\) with MQTT 5\.0$/);
      expect(out[2]).toMatch(/^MODE\s+EXPECTED\s+OBSERVED\s+TIME\s+PAYLOAD\s+QOS\s+RETAIN\s+RESULT$/);
      expect(out.slice(3, 8).map((l) => l.split(/\s+/)[0])).toEqual(['kill', 'keepalive', 'graceful', 'disconnect-with-will', 'takeover']);
      for (const row of out.slice(3, 8)) expect(row).toMatch(/PASS$/);
      expect(out[4]).toMatch(/^keepalive\s+will\s+will\s+\d+\.\d\d s \(due 1\.50 s\)/);
      expect(out[5]).toMatch(/^graceful\s+no will\s+no will\s+–/);
      expect(r.stdout).toMatch(/\n✔ 5 of 5 modes passed\n$/);
    });

    it.concurrent('-V 3.1.1 --mode all skips disconnect-with-will with a note instead of failing', async () => {
      const r = await lwt(['-V', '3.1.1', '--mode', 'all', ...FAST]);
      passed(r);
      expect(r.stdout).toMatch(/^disconnect-with-will\s+skipped\s+skipped\s.*SKIP$/m);
      expect(r.stdout).toMatch(/^· disconnect-with-will: skipped: it needs MQTT 5/m);
      // mqt's broker keeps the will of a 3.1.1 client that is taken over; the spec lets it.
      expect(r.stdout).toMatch(/^takeover\s+either\s+no will\s.*PASS$/m);
      expect(r.stdout).toMatch(/\n✔ 4 of 4 modes passed \(1 skipped\)\n$/);
    });

    it.concurrent('the default mode is kill; --ws tests it over WebSocket', async () => {
      const r = await lwt(['--ws', '--json']);
      passed(r);
      const [only, ...rest] = lines(r);
      expect(rest).toEqual([]);
      expect(only).toMatchObject({ mode: 'kill', result: 'pass', observed: 'will', payloadMatched: true });
    });

    it.concurrent('--quiet prints nothing and exits 0', async () => {
      const r = await lwt(['--quiet', '--mode', 'kill,graceful', ...FAST]);
      passed(r);
      expect(r.stdout).toBe('');
    });
  });

  // ---- real brokers ------------------------------------------------------------------------

  /** Per version: `--mode all`, with will flags that make the run check more than the defaults. */
  const VERSIONS = [
    ['5', '5.0', ['--will-qos', '1', '--will-retain', '--will-payload', 'bye']],
    ['3.1.1', '3.1.1', ['--will-qos', '2', '--will-retain', '--will-payload', 'last words']],
  ] as const;

  /** The checks every broker must pass; `target` is the connection flags. */
  function brokerSuite(target: () => string[], timing: readonly string[] = FAST): void {
    // Every mode passes, on 5 and 3.1.1: the acceptance check of `mqt lwt-test --mode all`.
    it.concurrent.each(VERSIONS)('-V %s --mode all: every mode passes', async (flag, name, flags) => {
      const r = await lwt([...target(), '-V', flag, '--mode', 'all', ...timing, ...flags, '--json']);
      passed(r);
      const all = lines(r);
      expect(all.map((l) => [l.mode, l.result])).toEqual([
        ['kill', 'pass'],
        ['keepalive', 'pass'],
        ['graceful', 'pass'],
        ['disconnect-with-will', flag === '5' ? 'pass' : 'skip'],
        ['takeover', 'pass'],
      ]);
      for (const line of all) {
        expect(line.protocolVersion).toBe(name);
        if (line.observed !== 'will') continue;
        expect(line).toMatchObject({ payloadMatched: true, qosMatched: true, retainMatched: true });
        // A retained will is found by a new subscriber, then cleared.
        expect(line.retained).toEqual({ present: true, cleared: true });
      }
      expect(all.find((l) => l.mode === 'graceful')?.observed).toBe('no will');
      expect(all.find((l) => l.mode === 'takeover')?.takeover?.closed).toBe(true);
    }, SUITE_TIMEOUT_MS);

    it.concurrent('MQTT 5 will properties arrive as set, the will waits for --will-delay', async () => {
      const r = await lwt([...target(), '--mode', 'kill,disconnect-with-will', '--will-delay', '1', '--will-content-type', 'text/plain', '--will-user-property', 'who=victim', '--will-expiry', '60', '--timeout', '2.5', '--json']);
      passed(r);
      for (const line of lines(r)) {
        expect(line).toMatchObject({ pass: true, willDelay: 1, propertiesMatched: true });
        expect(line.latencyMs).toBeGreaterThanOrEqual(900);
      }
    });
  }

  describe('against mqt broker on real sockets', () => {
    let broker: StartedBroker;
    beforeAll(async () => {
      broker = await startBroker();
    });
    afterAll(() => broker.stop());

    brokerSuite(() => ['-p', String(broker.port), '-h', '127.0.0.1']);

    it.concurrent('over WebSocket (-L ws://…)', async () => {
      const r = await lwt(['-L', broker.wsUrl, '--mode', 'kill,takeover', ...FAST, '--json']);
      passed(r);
      expect(lines(r).map((l) => l.result)).toEqual(['pass', 'pass']);
    });

    // mqt's broker keeps one deadline per connection: the keep-alive will comes at 1.5 × keep-alive, well within a short --timeout.
    it.concurrent('--mode keepalive -k 1 --timeout 1: the will comes on time, the row says when it was due', async () => {
      const r = await lwt(['-p', String(broker.port), '-h', '127.0.0.1', '--mode', 'keepalive', '-k', '1', '--timeout', '1']);
      passed(r);
      expect(r.stdout).toMatch(/^keepalive\s+will\s+will\s+1\.\d\d s \(due 1\.50 s\)\s+yes\s+yes\s+yes\s+PASS$/m);
    });
  });

  const gate = needPeers('mosquitto');
  describe.skipIf(gate.skip)('against mosquitto', () => {
    let mosquitto: RunningMosquitto;
    beforeAll(async () => {
      gate.check();
      mosquitto = await startMosquitto();
    });
    afterAll(() => mosquitto?.stop());

    brokerSuite(() => ['-L', mosquitto.url], MOSQUITTO_FAST);

    // --timeout is how late a will may be. mosquitto's keep-alive timer makes its will come
    // anywhere from about 1 s to 5 s after 1.5 × keep-alive: with --timeout 0 a late one must
    // fail, saying by how much, and never read as missing (it is watched for a while longer).
    it.concurrent('--mode keepalive -k 1 --timeout 0: a will later than due fails with how late it was', async () => {
      const r = await lwt(['-L', mosquitto.url, '--mode', 'keepalive', '-k', '1', '--timeout', '0', '--json']);
      expect(r.timedOut).toBe(false);
      const [line] = lines(r);
      expect(line).toMatchObject({ mode: 'keepalive', observed: 'will' });
      if (line!.latencyMs! > 1500) {
        expect(r.code).toBe(1);
        expect(line!.problems).toEqual([expect.stringMatching(/^the will came \d+(\.\d+)? s after 1\.5 × keep-alive \(1\.5 s\), \d+(\.\d+)? s later than --timeout 0 s allows/)]);
        expect(r.stderr).toMatch(/^mqt lwt-test: keepalive failed: the will came .* later than --timeout 0 s allows/);
      } else {
        passed(r);
      }
    });

    it.concurrent('--mode all, as a person sees it', async () => {
      const r = await lwt(['-L', mosquitto.url, '--mode', 'all', ...MOSQUITTO_FAST]);
      passed(r);
      expect(r.stdout).toMatch(/^Testing wills on 127\.0\.0\.1:\d+ with MQTT 5\.0\n/);
      expect(r.stdout).toMatch(/\n✔ 5 of 5 modes passed\n$/);
    }, SUITE_TIMEOUT_MS);
  });

  // ---- TLS ---------------------------------------------------------------------------------

  describe('over TLS (mqt broker behind a TLS listener, certificate made by openssl)', () => {
    let dir = '';
    let server: TlsServer;
    let broker: Broker;
    let port = 0;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mqt-lwt-tls-'));
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        { cwd: dir, stdio: 'pipe' },
      );
      broker = createBroker();
      server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (socket) => broker.handle(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await broker.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    it.concurrent('the victim speaks TLS too: kill and takeover pass with --cafile', async () => {
      const r = await lwt(['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'cert.pem'), '--mode', 'kill,takeover', ...FAST, '--json']);
      passed(r);
      expect(lines(r).map((l) => l.result)).toEqual(['pass', 'pass']);
    });
  });

  // ---- fake brokers that get wills wrong --------------------------------------------------

  type Flaw = 'drops-wills' | 'wills-on-graceful' | 'refuses';

  /**
   * A broker just big enough for lwt-test, on our codec: CONNECT (with takeover and keep-alive),
   * SUBSCRIBE, UNSUBSCRIBE, PUBLISH acknowledged and routed by exact topic, PINGREQ, DISCONNECT. Its will
   * handling is wrong as told: 'drops-wills' never publishes one, 'wills-on-graceful' publishes
   * it however the client leaves; 'refuses' answers every CONNECT with 0x87 (5.0) / 5 (3.1.1).
   */
  async function fakeBroker(flaw: Flaw): Promise<{ port: number; close(): Promise<void> }> {
    interface Client {
      socket: Socket;
      version: ProtocolVersion;
      id: string;
      will: Will | undefined;
      graceful: boolean;
      topics: Set<string>;
    }
    const clients = new Set<Client>();
    const send = (c: Client, p: Packet): void => {
      if (!c.socket.destroyed) c.socket.write(encode(p, c.version));
    };
    const route = (topic: string, payload: Buffer): void => {
      for (const c of clients) if (c.topics.has(topic)) send(c, { type: 'publish', topic, payload, qos: 0, retain: false, dup: false });
    };
    const server: Server = createServer((socket) => {
      const parser = new Parser();
      const c: Client = { socket, version: 4, id: '', will: undefined, graceful: false, topics: new Set() };
      let keepalive = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        // [MQTT-3.1.2-24] silence for 1.5 × keep-alive: disconnect as if the network had failed.
        clearTimeout(timer);
        if (keepalive > 0) timer = setTimeout(() => socket.destroy(), keepalive * 1500);
        for (const p of parser.push(chunk)) {
          switch (p.type) {
            case 'connect':
              c.version = p.protocolVersion;
              if (flaw === 'refuses') {
                send(c, { type: 'connack', sessionPresent: false, reasonCode: c.version === 5 ? ReasonCode.NotAuthorized : 5 });
                socket.end();
                return;
              }
              c.id = p.clientId;
              c.will = p.will;
              keepalive = p.keepalive;
              timer = setTimeout(() => socket.destroy(), keepalive * 1500);
              // Takeover: the old connection is closed (its will follows the flaw).
              for (const old of clients) if (old.id === c.id) old.socket.destroy();
              clients.add(c);
              send(c, { type: 'connack', sessionPresent: false, reasonCode: 0 });
              break;
            case 'subscribe':
              for (const s of p.subscriptions) c.topics.add(s.topicFilter);
              send(c, { type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) });
              break;
            case 'unsubscribe':
              for (const t of p.topicFilters) c.topics.delete(t);
              send(c, { type: 'unsuback', packetId: p.packetId, ...(c.version === 5 ? { reasonCodes: p.topicFilters.map(() => 0) } : {}) });
              break;
            case 'publish':
              if (p.qos === 1) send(c, { type: 'puback', packetId: p.packetId!, ...(c.version === 5 ? { reasonCode: 0 } : {}) });
              if (p.qos === 2) send(c, { type: 'pubrec', packetId: p.packetId!, ...(c.version === 5 ? { reasonCode: 0 } : {}) });
              route(p.topic, p.payload);
              break;
            case 'pubrel':
              send(c, { type: 'pubcomp', packetId: p.packetId, ...(c.version === 5 ? { reasonCode: 0 } : {}) });
              break;
            case 'pingreq':
              send(c, { type: 'pingresp' });
              break;
            case 'disconnect':
              c.graceful = true;
              socket.end();
              break;
            default:
              break;
          }
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        clients.delete(c);
        const publish = flaw === 'wills-on-graceful' || (flaw !== 'drops-wills' && !c.graceful);
        if (c.will !== undefined && publish) route(c.will.topic, c.will.payload);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: async () => {
        for (const c of clients) c.socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  describe('FAIL is reported against brokers that get wills wrong', () => {
    const fakes: { close(): Promise<void> }[] = [];
    afterAll(() => Promise.all(fakes.map((f) => f.close())));
    const fake = async (flaw: Flaw): Promise<string[]> => {
      const f = await fakeBroker(flaw);
      fakes.push(f);
      return ['-h', '127.0.0.1', '-p', String(f.port)];
    };

    it.concurrent('a broker that drops wills fails kill: FAIL row, one line on stderr, exit 1', async () => {
      const r = await lwt([...(await fake('drops-wills')), '--mode', 'kill', '--timeout', '0.5']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^kill\s+will\s+no will\s+–.*FAIL$/m);
      expect(r.stdout).toMatch(/^✘ kill: no will within 0\.5 s of the victim's end$/m);
      expect(r.stdout).toMatch(/\n✘ 1 of 1 mode failed: kill\n$/);
      expect(r.stderr).toBe("mqt lwt-test: kill failed: no will within 0.5 s of the victim's end\n");
    });

    it.concurrent('a broker that sends wills on a normal DISCONNECT fails graceful', async () => {
      const r = await lwt([...(await fake('wills-on-graceful')), '--mode', 'graceful', '--timeout', '0.5', '--json']);
      expect(r.code).toBe(1);
      const [line] = lines(r);
      expect(line).toMatchObject({ mode: 'graceful', result: 'fail', pass: false, expected: 'no will', observed: 'will' });
      expect(line!.problems[0]).toMatch(/after a normal DISCONNECT, which must discard it \[MQTT-3\.14\.4-3\]/);
      expect(r.stderr).toMatch(/^mqt lwt-test: graceful failed: a will arrived .* after a normal DISCONNECT/);
    });

    it.concurrent('--mode all against it: only graceful fails, and the exit code says so', async () => {
      const r = await lwt([...(await fake('wills-on-graceful')), '--mode', 'all', ...FAST, '--json']);
      expect(r.code).toBe(1);
      expect(lines(r).map((l) => [l.mode, l.result])).toEqual([
        ['kill', 'pass'],
        ['keepalive', 'pass'],
        ['graceful', 'fail'],
        ['disconnect-with-will', 'pass'],
        ['takeover', 'pass'],
      ]);
      expect(r.stderr).toMatch(/^mqt lwt-test: graceful failed: a will arrived/);
    });

    it.concurrent('two failures: the line names both', async () => {
      const r = await lwt([...(await fake('drops-wills')), '--mode', 'kill,disconnect-with-will,graceful', '--timeout', '0.5']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("mqt lwt-test: 2 of 3 modes failed: kill, disconnect-with-will (kill: no will within 0.5 s of the victim's end)\n");
    });

    it.concurrent('-V 3.1.1: a dropped will fails too', async () => {
      const r = await lwt([...(await fake('drops-wills')), '-V', '3.1.1', '--mode', 'kill,graceful', '--timeout', '0.5', '--json']);
      expect(r.code).toBe(1);
      expect(lines(r).map((l) => l.result)).toEqual(['fail', 'pass']);
    });

    it.concurrent('a refused connection exits with the CONNACK reason code', async () => {
      const r = await lwt([...(await fake('refuses')), '--mode', 'kill']);
      refused(r, ReasonCode.NotAuthorized, /^mqt lwt-test: 127\.0\.0\.1:\d+ refused the connection: Not authorized \(0x87\)/, false);
    });
  });

  describe('--json shape', () => {
    it.concurrent('one object per mode, one line each, fields in a fixed order', async () => {
      const r = await lwt(['-V', '3.1.1', '--mode', 'kill,disconnect-with-will', '--will-retain', '--will-qos', '1', '--json', ...FAST]);
      passed(r);
      const raw = r.stdout.split('\n');
      expect(raw).toHaveLength(3);
      expect(raw[2]).toBe('');
      const [kill, skipped] = lines(r);
      expect(Object.keys(kill!)).toEqual(['mode', 'result', 'pass', 'protocolVersion', 'expected', 'observed', 'topic', 'clientId', 'latencyMs', 'dueMs', 'payloadMatched', 'qosMatched', 'retainMatched', 'retained', 'problems', 'notes']);
      expect(kill).toMatchObject({ mode: 'kill', result: 'pass', pass: true, protocolVersion: '3.1.1', expected: 'will', observed: 'will', dueMs: 0, retained: { present: true, cleared: true }, problems: [], notes: [] });
      expect((kill as unknown as { topic: string }).topic).toMatch(/^mqt\/lwt-test\/[0-9a-f]{8}$/);
      expect((kill as unknown as { clientId: string }).clientId).toMatch(/^mqt-lwt-test-[0-9a-f]{8}$/);
      expect(Object.keys(skipped!)).toEqual(['mode', 'result', 'pass', 'protocolVersion', 'expected', 'observed', 'topic', 'clientId', 'problems', 'notes']);
      expect(skipped).toMatchObject({ mode: 'disconnect-with-will', result: 'skip', pass: true, expected: 'skipped', observed: 'skipped' });
    });
  });
});
