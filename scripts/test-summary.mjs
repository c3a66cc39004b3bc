#!/usr/bin/env node
// Prints the one-line summary CI ends with, `N passed, M failed[, K skipped]`, from
// vitest's JSON report (--reporter=json --outputFile.json=FILE). Exits 1 when anything
// failed, so the line and the status always agree.
//
// Usage: [VITEST_STATUS=n] node scripts/test-summary.mjs [.vitest-report.json]
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';

let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  process.stderr.write(`test-summary: cannot read the vitest report ${file}: ${err.message}\n`);
  process.exit(1);
}

const passed = report.numPassedTests ?? 0;
// A test file that fails to load or whose hooks throw has no failed test in it, yet the
// run failed: count each such file once so the summary never reads "0 failed" then.
const brokenFiles = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
);
const failed = (report.numFailedTests ?? 0) + brokenFiles.length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);

for (const file of brokenFiles) {
  process.stdout.write(`failed to run: ${file.name}${file.message ? ` (${file.message.split('\n')[0]})` : ''}\n`);
}
// .ci/run passes npm test's exit status: vitest also fails a run for errors outside any
// test (unhandled rejections, a failed build), which the report does not count.
const vitestStatus = Number(process.env.VITEST_STATUS ?? 0);
if (vitestStatus !== 0 && failed === 0) {
  process.stdout.write(`npm test exited with status ${vitestStatus} although no test failed: see the errors above\n`);
}
// In CI a skipped test is a failing test: nothing may be left out there.
const skipFails = process.env.CI === 'true' && skipped > 0;
if (skipFails) process.stdout.write(`${skipped} tests were skipped, which CI counts as failures (is a peer missing?)\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 || skipFails || report.success === false || vitestStatus !== 0 ? 1 : 0);
