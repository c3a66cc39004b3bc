import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/test-summary.mjs prints the last line of .ci/run; CI reads its verdict from it.
const SCRIPT = fileURLToPath(new URL('../../scripts/test-summary.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mqt-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Status = 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';

/** A report shaped like vitest 4's JSON reporter output, reduced to the fields the script reads. */
function report(files: { status: 'passed' | 'failed'; message?: string; tests: Status[] }[]) {
  const tests = files.flatMap((f) => f.tests);
  const numFailedTests = tests.filter((t) => t === 'failed').length;
  return {
    numPassedTests: tests.filter((t) => t === 'passed').length,
    numFailedTests,
    numPendingTests: tests.filter((t) => t === 'skipped' || t === 'pending').length,
    numTodoTests: tests.filter((t) => t === 'todo').length,
    success: numFailedTests === 0 && files.every((f) => f.status === 'passed'),
    testResults: files.map((f, i) => ({
      name: `/repo/test/f${i}.test.ts`,
      status: f.status,
      message: f.message ?? '',
      assertionResults: f.tests.map((status) => ({ status })),
    })),
  };
}

function summarize(content: unknown, env: Record<string, string> = {}) {
  const file = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  const result = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8', env: { ...process.env, VITEST_STATUS: '0', ...env } });
  const lines = result.stdout.trimEnd().split('\n');
  return { code: result.status, last: lines.at(-1), stdout: result.stdout, stderr: result.stderr };
}

describe('scripts/test-summary.mjs', () => {
  it('prints `N passed, 0 failed` and exits 0 for a green run', () => {
    expect(summarize(report([{ status: 'passed', tests: ['passed', 'passed', 'passed'] }]))).toMatchObject({ code: 0, last: '3 passed, 0 failed' });
  });

  it('adds the skipped count only when tests were skipped', () => {
    expect(summarize(report([{ status: 'passed', tests: ['passed', 'skipped', 'todo'] }]), { CI: '' })).toMatchObject({
      code: 0,
      last: '1 passed, 0 failed, 2 skipped',
    });
  });

  it('fails a run with skipped tests in CI: a skipped test is a failing test there', () => {
    const result = summarize(report([{ status: 'passed', tests: ['passed', 'skipped'] }]), { CI: 'true' });
    expect(result).toMatchObject({ code: 1, last: '1 passed, 0 failed, 1 skipped' });
    expect(result.stdout).toContain('which CI counts as failures');
  });

  it('counts failed tests and exits 1', () => {
    expect(summarize(report([{ status: 'failed', tests: ['passed', 'failed', 'failed'] }]))).toMatchObject({ code: 1, last: '1 passed, 2 failed' });
  });

  it('counts a test file that failed to load as one failure and names it', () => {
    const result = summarize(report([
      { status: 'passed', tests: ['passed'] },
      { status: 'failed', message: 'Cannot find module x\nmore', tests: [] },
    ]));
    expect(result).toMatchObject({ code: 1, last: '1 passed, 1 failed' });
    expect(result.stdout).toContain('failed to run: /repo/test/f1.test.ts (Cannot find module x)\n');
  });

  it('exits 1 when npm test failed although no test did, keeping the summary last', () => {
    const result = summarize(report([{ status: 'passed', tests: ['passed'] }]), { VITEST_STATUS: '1' });
    expect(result).toMatchObject({ code: 1, last: '1 passed, 0 failed' });
    expect(result.stdout).toContain('npm test exited with status 1 although no test failed');
  });

  it('fails with a message when the report is unreadable', () => {
    const result = spawnSync(process.execPath, [SCRIPT, join(dir, 'missing.json')], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^test-summary: cannot read the vitest report .*missing\.json/);
  });
});
