/**
 * The broker fuzzer, bounded: `scripts/fuzz-broker.mjs --seconds 20` with a fixed seed against
 * the built broker (dist/, as `npm run fuzz:broker` runs it; `npm test` builds first). Every
 * attack kind runs many times while well-behaved clients stream QoS 0/1/2; the script judges
 * (see its header) and this test reads its JSON summary: no acknowledged message lost, no
 * QoS 2 duplicate, nothing out of order, no access where there should be none, the broker up
 * to the end and serving a fresh client, its RSS under the bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/spawn-mqt.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'fuzz-broker.mjs');
const SEED = 20261204;
const SECONDS = 20;

interface QosRow {
  qos: number;
  sent: number;
  acked: number;
  expected: number;
  received: number;
  lost: number;
  dup: number;
  outOfOrder: number;
}

interface Summary {
  ok: boolean;
  seed: number;
  attacks: Record<string, number>;
  attackTotal: number;
  perQos: QosRow[];
  rss: { startMB: number; peakMB: number; endMB: number; boundMB: number; samples: number };
  broker: { aliveAtEnd: boolean; freshClient: boolean; exit: { code: number | null; signal: string | null } };
  intrusions: unknown[];
  anomalies: unknown[];
  failures: string[];
}

let child: ChildProcess | undefined;
afterEach(() => {
  // SIGTERM: the script exits and kills its broker on the way out.
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  child = undefined;
});

function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it(`${SECONDS} s of every attack kind (seed ${SEED}): well-behaved clients get every acknowledged message as promised, the broker stays up and bounded`, async () => {
  const { code, stdout, stderr } = await runScript(['--seconds', String(SECONDS), '--seed', String(SEED), '--json']);
  let summary: Summary;
  try {
    summary = JSON.parse(stdout) as Summary;
  } catch {
    throw new Error(`no JSON summary (exit ${code}); stderr: ${stderr.slice(-3000)}`);
  }
  // The failures first: they say what went wrong in words.
  expect(summary.failures).toEqual([]);
  expect(summary.ok).toBe(true);
  expect(code).toBe(0);
  expect(summary.seed).toBe(SEED);

  // Every kind ran, most of them many times.
  for (const [kind, episodes] of Object.entries(summary.attacks)) expect(episodes, kind).toBeGreaterThan(0);
  expect(Object.keys(summary.attacks).length).toBeGreaterThanOrEqual(16);
  expect(summary.attackTotal).toBeGreaterThan(200);

  // The well-behaved traffic flowed through the whole run and arrived as promised.
  const [q0, q1, q2] = summary.perQos as [QosRow, QosRow, QosRow];
  for (const row of [q1, q2]) {
    expect(row.acked, `QoS ${row.qos} acknowledged`).toBeGreaterThan(SECONDS * 3 * 10);
    expect(row.lost, `QoS ${row.qos} lost`).toBe(0);
    expect(row.outOfOrder, `QoS ${row.qos} out of order`).toBe(0);
    expect(row.received).toBeGreaterThanOrEqual(row.expected);
  }
  expect(q2.dup).toBe(0);
  expect(q0.dup).toBe(0);
  expect(q0.outOfOrder).toBe(0);
  expect(summary.intrusions).toEqual([]);

  expect(summary.broker.aliveAtEnd).toBe(true);
  expect(summary.broker.freshClient).toBe(true);
  expect(summary.broker.exit).toEqual({ code: 0, signal: null });
  expect(summary.rss.samples).toBeGreaterThan(SECONDS * 2);
  expect(summary.rss.peakMB).toBeLessThanOrEqual(summary.rss.boundMB);
}, 150_000);

it('refuses bad options in one line, before starting anything', async () => {
  for (const [args, message] of [
    [['--seconds', '0'], "--seconds must be a whole number from 1 to 86400, got '0'"],
    [['--attackers', 'many'], "--attackers must be a whole number from 1 to 1000, got 'many'"],
    [['--only', 'nonsense'], "--only takes attack kinds"],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
  ] as const) {
    const { code, stdout, stderr } = await runScript([...args]);
    expect(code, args.join(' ')).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  }
}, 60_000);
