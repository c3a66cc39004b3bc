import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { needPeers } from '../helpers/peers.js';
import { assertFreshBuild, spawnMqt, type SpawnMqtResult } from '../helpers/spawn-mqt.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';

// `mqt pub` and the sizes a message must fit: the broker's Maximum Packet Size from its CONNACK
// (5.0 section 3.2.2.3.6), checked before sending, and MQTT's own 268,435,455-byte Remaining
// Length, checked before connecting. The broker is the witness: what it received, and that it
// took a packet of exactly its maximum (a size counted one byte short would be refused there).

const STACK_LINE = /^\s+at .+/m;
const MAX = 1000;

beforeAll(() => assertFreshBuild(['commands/pub-run.ts', 'core/client/packet-limits.ts', 'core/client/publisher.ts']));

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'mqt-pub-limits-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function exited(r: SpawnMqtResult, code: number, stderr: RegExp): void {
  expect(r.timedOut, 'mqt did not exit').toBe(false);
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(stderr);
  expect(r.stderr).not.toMatch(STACK_LINE);
}

// A 5.0 PUBLISH to topic 't' at QoS 1 with no properties: 1 byte of fixed header, 2 of
// Remaining Length (from 128 to 16,383), 2 + 1 of topic, 2 of packet id, 1 of property
// length: 9 bytes around the payload. So 991 payload bytes make a packet of exactly 1,000.
const FITS = MAX - 9;

/** The checks of the broker's limit, against any broker announcing MAX. */
function brokerLimitSuite(target: () => { args: string[]; received?: () => string[] }): void {
  it('a message of exactly the maximum goes out; one byte more is refused before sending (exit 0x95)', async () => {
    const t = target();
    const fits = await spawnMqt(['pub', ...t.args, '-t', 't', '-q', '1', '--size', String(FITS)]);
    exited(fits, 0, /^$/);
    const over = await spawnMqt(['pub', ...t.args, '-t', 't', '-q', '1', '--size', String(FITS + 1)]);
    exited(over, 0x95, /^mqt pub: 't': message of 1,001 bytes exceeds the broker's maximum packet size of 1,000 bytes; nothing sent\n$/);
    expect(over.stdout).toBe('');
  });

  it('at QoS 0 as well (a written QoS 0 message proves nothing, so the check comes first)', async () => {
    const r = await spawnMqt(['pub', ...target().args, '-t', 't', '--size', '2000']);
    exited(r, 0x95, /^mqt pub: 't': message of 2,007 bytes exceeds the broker's maximum packet size of 1,000 bytes; nothing sent\n$/);
  });

  it('-l: each oversized line is refused and counted, the others are sent in order; the exit code says one failed', async () => {
    const t = target();
    const before = t.received?.().length ?? 0;
    const big = 'x'.repeat(1500);
    const r = await spawnMqt(['pub', ...t.args, '-t', 'lines', '-q', '1', '-l', '--json'], { input: `one\n${big}\ntwo\n${big}\nthree\n` });
    exited(r, 0x95, /^mqt pub: line 2: 'lines': message of 1,5\d\d bytes exceeds the broker's maximum packet size of 1,000 bytes; nothing sent\n/);
    expect(r.stderr).toMatch(/^mqt pub: 2 of 5 messages failed \(first: line 2: /m);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean; reasonCode?: number });
    // A refusal is recorded at once, an acknowledgement when it comes: in line order to compare.
    records.sort((a, b) => a.line - b.line);
    expect(records.map((x) => [x.line, x.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, false],
      [5, true],
    ]);
    expect(records.filter((x) => !x.ok).map((x) => x.reasonCode)).toEqual([0x95, 0x95]);
    if (t.received !== undefined) expect(t.received().slice(before)).toEqual(['one', 'two', 'three']);
  });
}

describe('mqt pub against mqt broker with a maximum packet size of 1,000 bytes', () => {
  let broker: StartedBroker;
  const received: string[] = [];
  beforeAll(async () => {
    broker = await startBroker({ maxPacketSize: MAX });
    broker.broker.on('publish', (m: { payload: Buffer }) => received.push(m.payload.length > 100 ? `${m.payload.length} bytes` : m.payload.toString()));
  });
  afterAll(() => broker?.stop());

  brokerLimitSuite(() => ({ args: ['-h', '127.0.0.1', '-p', String(broker.port)], received: () => received }));

  it('nothing that was refused reached the broker', () => {
    expect(received.filter((r) => r.endsWith(' bytes') && r !== `${FITS} bytes`)).toEqual([]);
  });

  it('3.1.1 has no Maximum Packet Size: a QoS 0 message the broker closes the connection for does not exit 0', async () => {
    const r = await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-V', '3.1.1', '-t', 't', '--size', '2000']);
    exited(r, 1, /^mqt pub: lost the connection to 127\.0\.0\.1:\d+; the message may not have arrived \(at QoS 0 a broker refuses a message by closing the connection\)\n$/);
  });
});

const gate = needPeers('mosquitto');
describe.skipIf(gate.skip)('mqt pub against mosquitto with max_packet_size 1000', () => {
  let mosquitto: RunningMosquitto;
  beforeAll(async () => {
    gate.check();
    mosquitto = await startMosquitto({ config: [`max_packet_size ${MAX}`] });
  });
  afterAll(() => mosquitto?.stop());

  // mosquitto is not watched here: the exit codes, and the exact boundary it accepts, say enough.
  brokerLimitSuite(() => ({ args: ['-L', mosquitto.url] }));
});

describe('MQTT\'s own limit, checked before connecting', () => {
  // Nothing listens on this port: a connection attempt would fail with "connection refused".
  let at: string[] = [];
  beforeAll(async () => {
    at = ['-h', '127.0.0.1', '-p', String(await freePort())];
  });

  it('a 270 MB file (sparse: no disk used) is refused without being read', async () => {
    const file = join(tmp, 'file.bin');
    writeFileSync(file, '');
    truncateSync(file, 270 * 1024 * 1024);
    const r = await spawnMqt(['pub', ...at, '-t', 't', '-f', file]);
    exited(r, 1, new RegExp(`^mqt pub: '${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is 270 MB; an MQTT message holds at most 256 MB \\(268,435,455 bytes with its headers\\): nothing sent\\n$`));
  });

  it('--size that fits the flag but not the topic and headers is refused before any bytes are made', async () => {
    // 268,435,451 is the largest --size takes (a 1-byte topic at QoS 0, 3.1.1); a longer topic leaves less.
    const r = await spawnMqt(['pub', ...at, '-t', 'a/longer/topic', '-q', '1', '--size', '268435451']);
    exited(r, 1, /^mqt pub: --size 268435451 is 256 MB; an MQTT message holds at most 256 MB \(268,435,455 bytes with its headers\): nothing sent\n$/);
  });

  it('a file that fits is read and then fails only for want of a broker', async () => {
    const file = join(tmp, 'small.bin');
    writeFileSync(file, 'hello');
    const r = await spawnMqt(['pub', ...at, '-t', 't', '-f', file]);
    exited(r, 1, /connection refused/);
  });
});
