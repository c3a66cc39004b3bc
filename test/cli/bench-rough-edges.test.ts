/**
 * `mqt bench` where a new user stumbled (issue 15): the publishing time apart from the wait for
 * stragglers, what the broker answered and why messages went missing, the kernel's counters of
 * a connection storm in --json, and --compare saying which side is better. One real `mqt broker`
 * for the file, with an ACL: anonymous clients may read mqt/bench/# but not write it, and may
 * do anything on free/#. Loads are tiny.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpMqt, startMqt, type RunningBroker } from '../helpers/mqt-process.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';
import { bench, json } from '../helpers/bench-cli.js';

beforeAll(() => assertFreshBuild(['commands/bench-run.ts', 'commands/render/bench-output.ts', 'core/bench/report.ts', 'core/bench/compare.ts', 'core/bench/loss-hints.ts', 'core/bench/netstat.ts']));

const MQTT_LINE = /^mqt broker listening on mqtt:\/\/127\.0\.0\.1:(\d+)$/m;

let dir: string;
let broker: RunningBroker;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mqt-bench-rough-'));
  const acl = join(dir, 'acl');
  // Lines before any `user` line are for anonymous clients (mosquitto 2.x).
  writeFileSync(acl, ['topic read mqt/bench/#', 'topic readwrite free/#', ''].join('\n'));
  broker = startMqt(['broker', '--port', '0', '--acl-file', acl]);
  port = Number((await broker.waitForStdout(MQTT_LINE, 15_000))[1]);
});

afterAll(() => {
  cleanUpMqt();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('an ACL that denies the topic', () => {
  it('MQTT 5: every PUBACK says 0x87, and the summary names it and the ACL', async () => {
    const r = await bench(['-p', String(port), '-V', '5', '-q', '1', '--msgs', '200', '--timeout', '1']);
    // Refused messages are not promised to anyone: no guarantee broken, exit 0.
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}acknowledged {4}0 of 200 · refused 200$/m);
    expect(r.stdout).toMatch(/^ {2}errors {10}PUBACK 0x87 Not authorized ×200$/m);
    expect(r.stdout).toMatch(/^ {2}why {13}the broker answered PUBACK 0x87 Not authorized to 200 publishes: an ACL denies this client the topic: check the broker's ACL file/m);
  });

  it('MQTT 3.1.1: acknowledged and dropped in silence; the wait is its own line, and the hint says -V 5', async () => {
    const r = await bench(['-p', String(port), '-q', '1', '--msgs', '200', '--timeout', '0.5']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^ {2}delivered {7}0 of 200$/m);
    expect(r.stdout).toMatch(/^ {2}waited {10}0\.\d\d s for 200 missing deliveries \(--timeout 0\.50 s\)$/m);
    expect(r.stdout).toMatch(/^ {2}why {13}nothing arrived: usually an ACL that denies the topic \(MQTT 3\.1\.1 cannot say so: .*with -V 5 its PUBACK says 0x87\)/m);
  });

  it('--json: publishMs is the publishing alone, waitedMs the wait, durationMs both; hints and packets', async () => {
    const r = await bench(['-p', String(port), '-q', '2', '--msgs', '100', '--timeout', '0.5', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const j = json(r);
    expect(j.waitedMs).toBeGreaterThanOrEqual(400);
    expect(j.publishMs).toBeLessThan(j.durationMs);
    expect(j.durationMs).toBeGreaterThanOrEqual(j.publishMs + j.waitedMs - 1);
    expect(j.hints[0]).toMatch(/^nothing arrived: usually an ACL/);
    expect(j.errors).toEqual([]);
  });

  it('the codes are counted in every worker thread and merged, by packet', async () => {
    const r = await bench(['-p', String(port), '-V', '5', '-q', '2', '--pubs', '2', '--workers', '2', '--msgs', '100', '--timeout', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j.errors).toEqual([{ reasonCode: 0x87, reason: 'Not authorized', packet: 'PUBREC', count: 100 }]);
    expect(j.totals).toMatchObject({ published: 100, acknowledged: 0, expected: 0 });
    expect(j.hints).toEqual([expect.stringMatching(/^the broker answered PUBREC 0x87 Not authorized to 100 publishes: an ACL denies/)]);
  });

  it('a refused SUBSCRIBE names its code and the likely cause', async () => {
    const r = await bench(['-p', String(port), '-V', '5', '-q', '1', '--msgs', '10', '-t', 'secret/%i']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SUBSCRIBE secret\/0 refused with code 0x87 \(Not authorized\): an ACL denies this client the topic/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('conn: the kernel counters', () => {
  it('--json carries how much they moved during the storm (Linux; null elsewhere)', async () => {
    const r = await bench(['conn', '-p', String(port), '--conns', '40', '--concurrency', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const kernel = json(r).conn.kernel;
    if (process.platform !== 'linux') {
      expect(kernel).toBeNull();
      return;
    }
    for (const key of ['listenOverflows', 'listenDrops', 'synRetrans', 'retransSegs']) expect(kernel[key]).toBeGreaterThanOrEqual(0);
  });
});

describe('conn: a storm in which no connection got through', () => {
  it('ends with the reason in one line and a failing exit code, not a table of zeros', async () => {
    const ws = startMqt(['broker', '--port', '0', '--ws-port', '0']);
    const wsPort = Number((await ws.waitForStdout(/ and ws:\/\/127\.0\.0\.1:(\d+)\/mqtt$/m, 15_000))[1]);
    const http = await bench(['conn', '-p', String(wsPort), '--conns', '5']);
    expect(http.code).toBe(1);
    expect(http.stdout).toBe('');
    expect(http.stderr).toMatch(new RegExp(`^mqt bench: localhost:${wsPort} answered in HTTP, not MQTT: .*--ws.*\n$`));

    const pw = join(dir, 'passwd');
    expect((await spawnMqt(['passwd', '-c', '-b', pw, 'alice', 'secret'])).code).toBe(0);
    const closed = startMqt(['broker', '--port', '0', '--password-file', pw]);
    const closedPort = Number((await closed.waitForStdout(MQTT_LINE, 15_000))[1]);
    const refused = await bench(['conn', '-p', String(closedPort), '--conns', '5']);
    expect(refused.code).toBe(5); // the 3.1.1 CONNACK return code: not authorized
    expect(refused.stderr).toMatch(/^mqt bench: localhost:\d+ refused the connection: not authorized \(return code 5\)/);
  });
});

describe('--compare', () => {
  it('marks for each figure which side is better, in words in a pipe', async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const r = await bench(['--compare', `builtin,${url}`, '--rounds', '1', '-q', '1', '--msgs', '300', '-t', 'free/%i'], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ +builtin +${url.replace(/\./g, '\\.')} +better$`, 'm'));
    // Each figure: a winner with "N.NN× faster/lower/less", or "≈ same" within 5 %.
    expect(r.stdout).toMatch(/^ {2}publish rate \(msg\/s\) +[\d,]+ +[\d,]+ +\d+\.\d\d× +(?:(?:builtin|mqtt:\S+) \d+\.\d\d× faster|≈ same)$/m);
    expect(r.stdout).toMatch(/^ {2}ack p50 \(ms\) +[\d.,]+ +[\d.,]+ +\d+\.\d\d× +(?:(?:builtin|mqtt:\S+) \d+\.\d\d× lower|≈ same)$/m);
    expect(r.stdout).toMatch(/^ {2}lost \/ dup \/ ooo +0 \/ 0 \/ 0 +0 \/ 0 \/ 0 +same$/m);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });
});
