/**
 * `npm run soak` for 2 minutes with 2,000 connections on loopback (issue #14): the broker in a
 * child process under QoS 0/1/2 publishers and subscribers, retained values, wills, persistent
 * and clean sessions and clients dropping at random. It must exit 0 and its JSON must show the
 * promises kept: no acknowledged QoS ≥ 1 message lost, no QoS 2 duplicate, every owed will and
 * no other, fresh retained values, every reconnect through, and RSS levelled off, over enough
 * traffic for that to mean something. Timing is not judged here (the machine is shared).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/soak.mjs', import.meta.url));

interface Row {
  qos: number;
  sent: number;
  acked: number | null;
  received: number;
  lost: number | null;
  dup: number;
}
interface Result {
  final: {
    qos: Row[];
    wills: { expected: number; arrived: number; missing: number; unexpected: number };
    retained: { checked: number; stale: number; missing: number };
    allOnline: boolean;
    misrouted: number;
    wrongQos: number;
    stats: { reconnectAttempts: number; reconnectsOk: number; sessionsLost: number; drops: { abrupt: number; clean: number } };
  };
  rss: { start: number; peak: number; end: number; levelOff: { judged: boolean; ok: boolean } };
  samples: { phase: string; broker?: { rss: number } }[];
  verdict: { ok: boolean; failures: string[] };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    // SIGINT: the script kills its broker on the way out.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run soak', () => {
  it(
    'keeps every promise for 2 minutes under 2,000 connections with drops and reconnects',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'mqt-soak-'));
      dirs.push(out);
      const { code, stdout, stderr } = await run(['--minutes', '2', '--connections', '2000', '--interval', '6', '--out', out, '--seed', '14'], 210_000);
      const json = readdirSync(out).find((f) => f.endsWith('.json'));
      expect(json, `no JSON results in ${out}; stderr: ${stderr.slice(-2000)}`).toBeDefined();
      const result = JSON.parse(readFileSync(join(out, json!), 'utf8')) as Result;
      expect(result.verdict.failures, stdout.slice(-3000)).toEqual([]);
      expect(code).toBe(0);

      const [q0, q1, q2] = result.final.qos;
      // Enough traffic for the counts to mean something: ~100 publishers at ~1 msg/s for 2 min.
      for (const row of [q0!, q1!, q2!]) expect(row.sent).toBeGreaterThan(1500);
      for (const row of [q1!, q2!]) {
        expect(row.acked).toBeGreaterThan(row.sent * 0.95);
        expect(row.lost).toBe(0);
        // Each message has about seven subscribers.
        expect(row.received).toBeGreaterThan(row.acked! * 4);
      }
      expect(q2!.dup).toBe(0);
      expect(result.final.misrouted + result.final.wrongQos).toBe(0);

      const { wills, retained, stats } = result.final;
      expect(wills.expected).toBeGreaterThan(20);
      expect(wills).toMatchObject({ arrived: wills.expected, missing: 0, unexpected: 0 });
      expect(retained.checked).toBeGreaterThan(50);
      expect(retained).toMatchObject({ stale: 0, missing: 0 });
      expect(stats.drops.abrupt).toBeGreaterThan(200);
      expect(stats.drops.clean).toBeGreaterThan(50);
      expect(stats.reconnectAttempts).toBeGreaterThan(300);
      expect(stats.reconnectsOk / stats.reconnectAttempts).toBeGreaterThanOrEqual(0.99);
      expect(stats.sessionsLost).toBe(0);
      expect(result.final.allOnline).toBe(true);

      expect(result.rss.levelOff).toMatchObject({ judged: true, ok: true });
      expect(result.samples.filter((s) => s.phase === 'load' && s.broker !== undefined).length).toBeGreaterThanOrEqual(15);
      const svg = readFileSync(join(out, json!.replace(/\.json$/, '.svg')), 'utf8');
      expect(svg).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
      expect(stdout).toMatch(/soak: PASS/);
    },
    240_000,
  );

  it(
    'fails, naming what was lost, against a broker that loses acknowledged messages',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'mqt-soak-'));
      dirs.push(out);
      const { code, stdout } = await run(['--minutes', '0.25', '--connections', '300', '--interval', '5', '--out', out, '--seed', '7'], 90_000, {
        MQT_SOAK_BROKER_FAULT: 'lose-every=50',
      });
      expect(code, stdout.slice(-2000)).toBe(1);
      const result = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8')) as Result;
      expect(result.verdict.failures).toEqual(expect.arrayContaining([expect.stringMatching(/^\d+ acknowledged QoS 1 messages lost$/), expect.stringMatching(/^\d+ acknowledged QoS 2 messages lost$/)]));
      expect(stdout).toMatch(/soak: FAIL: .*messages lost/);
    },
    120_000,
  );

  it('refuses a bad option in one line, with exit 2', async () => {
    const { code, stderr } = await run(['--minutes', 'soon'], 20_000);
    expect(code).toBe(2);
    expect(stderr).toBe("soak: --minutes must be a number of at least 0.05, got 'soon'\n");
  });
});
