/**
 * The conformance checker (scripts/conformance.mjs): what counts as a test citing a statement,
 * what the tables must hold, and the real tables of the tree passing it (how `npm test` runs
 * `npm run conformance`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript modules of the build scripts, without declarations
import { checkTable, coverage, parseTable, strayCitations } from '../../../scripts/lib/conformance-table.mjs';
// @ts-expect-error plain JavaScript modules of the build scripts, without declarations
import { testsOfSource } from '../../../scripts/lib/conformance-tests.mjs';

interface ScannedTest {
  title: string;
  line: number;
  cites: Set<string>;
  typos: string[];
}
interface Outcome {
  binds: string;
  status: 'tested' | 'n/a' | 'open';
}
const scan = testsOfSource as (source: string, file?: string) => ScannedTest[];
const check = checkTable as (input: { version: string; name: string; rows: unknown[]; ids: string[]; tests: Map<string, ScannedTest[]> }) => {
  errors: string[];
  outcome: Map<string, Outcome>;
};
const table = parseTable as (text: string, name: string) => { rows: unknown[]; errors: string[] };

const SOURCE = `
import { describe, it, test } from 'vitest';
describe('[MQTT-9.9.9-1] a describe title cites for no test', () => {
  // [MQTT-3.1.0-1] the comment right above counts
  it('first packet', () => {
    expect(1).toBe(1);
  });

  const helper = '[MQTT-3.1.0-2]'; // not in any test

  it(\`QoS \${qos} is granted\`, async () => {
    expect(x).toBe(y); // [MQTT-3.8.4-4]
  });
  it.each([1, 2])('each %i', () => { /* [MQTT-3.9.3-1] */ });
  it.skipIf(process.env.X)('skipped when X', () => {});
  test.concurrent('concurrent [MQTT-3.10.4-1] in the title', () => {});
  it('output', () => { expect(out).toMatch(/\\[MQTT-3\\.14\\.4-3\\]/); expect(a).toBe('[MQTT-3-8.3-4]'); });
});
`;

describe('what a test cites', () => {
  const tests = scan(SOURCE, 'x.test.ts');
  const byTitle = new Map(tests.map((t) => [t.title, t]));

  it('finds it, test, it.each(...)(), it.skipIf(...)() and test.concurrent, with their titles as written', () => {
    expect(tests.map((t) => t.title)).toEqual(['first packet', 'QoS ${qos} is granted', 'each %i', 'skipped when X', 'concurrent [MQTT-3.10.4-1] in the title', 'output']);
  });

  it('takes citations from the comment lines directly above, the body and the title, and not from a describe or the code between tests', () => {
    expect([...byTitle.get('first packet')!.cites]).toEqual(['MQTT-3.1.0-1']);
    expect([...byTitle.get('QoS ${qos} is granted')!.cites]).toEqual(['MQTT-3.8.4-4']);
    expect([...byTitle.get('each %i')!.cites]).toEqual(['MQTT-3.9.3-1']);
    expect([...byTitle.get('concurrent [MQTT-3.10.4-1] in the title')!.cites]).toEqual(['MQTT-3.10.4-1']);
    expect(byTitle.get('skipped when X')!.cites.size).toBe(0);
    for (const t of tests) expect(t.cites.has('MQTT-9.9.9-1') || t.cites.has('MQTT-3.1.0-2')).toBe(false);
  });

  it('reports a malformed citation as a typo but not a regular expression that matches one', () => {
    const out = byTitle.get('output')!;
    // Written in pieces here, so that this file itself cites nothing.
    const typo = ['[MQTT-3', '-8.3-4]'].join('');
    expect(out.typos).toEqual([typo]);
    const stray = (strayCitations as (t: Map<string, ScannedTest[]>, ids: Set<string>) => string[])(new Map([['x.test.ts', tests]]), new Set(['MQTT-3.1.0-1']));
    expect(stray.some((s) => s.includes(typo))).toBe(true);
    expect(stray.some((s) => s.includes('3\\.14'))).toBe(false);
    // An id that is no statement of either spec is reported too.
    expect(stray.some((s) => s.includes(['[MQTT-3.8.4', '-4], which is no statement'].join('')))).toBe(true);
  });
});

describe('what a table must hold', () => {
  const tests = new Map([['test/a.test.ts', scan(SOURCE, 'test/a.test.ts')]]);
  const ids = ['MQTT-3.1.0-1', 'MQTT-3.8.4-4', 'MQTT-3.9.3-1', 'MQTT-3.10.4-1'];
  const run = (tsv: string): { errors: string[]; outcome: Map<string, Outcome> } => {
    const parsed = table(`id\tbinds\ttest\tnote\n${tsv}`, 't.tsv');
    const r = check({ version: '5.0', name: 't.tsv', rows: parsed.rows, ids, tests });
    return { errors: [...parsed.errors, ...r.errors], outcome: r.outcome };
  };
  const good: [string, string, string, string] = [
    'MQTT-3.1.0-1\tserver\ttest/a.test.ts › first packet\t',
    'MQTT-3.8.4-4\tserver\ttest/a.test.ts › QoS ${qos} is granted\t',
    'MQTT-3.9.3-1\tboth\ttest/a.test.ts › each %i\talso the second row',
    'MQTT-3.10.4-1\tclient\t-\tclient-only: our clients are MQTT.js',
  ];

  it('passes a table whose every row holds, and counts tested and not applicable', () => {
    const { errors, outcome } = run(good.join('\n'));
    expect(errors).toEqual([]);
    const { total } = (coverage as (ids: string[], o: Map<string, Outcome>) => { total: Record<string, number> })(ids, outcome);
    expect(total).toEqual({ tested: 3, 'n/a': 1, open: 0, ours: 3, oursTested: 3 });
  });

  it.each([
    ['a statement without a row', good.slice(1), /MQTT-3.1.0-1 is missing/],
    ['an id of no statement', [...good, 'MQTT-3.99.1-1\tserver\t-\tx'], /MQTT-3.99.1-1 is not a statement of MQTT 5.0/],
    ['a binding that is not one of the four', [good[0], 'MQTT-3.8.4-4\tbroker\t-\tx', ...good.slice(2)], /binds must be server, client, codec or both/],
    ['a test file that does not exist', [good[0].replace('a.test', 'b.test'), ...good.slice(1)], /no test file test\/b.test.ts/],
    ['a test title that does not exist', [good[0].replace('first packet', 'first packets'), ...good.slice(1)], /has no test titled 'first packets'/],
    ['a test that does not cite the statement', [good[0], good[1].replace('QoS ${qos} is granted', 'skipped when X'), ...good.slice(2)], /does not cite \[MQTT-3.8.4-4\]/],
    ['a broker statement with neither a test nor a reason', [good[0], 'MQTT-3.8.4-4\tserver\t-\t', ...good.slice(2)], /binds server but has neither a test nor a reason/],
    ['a test and a reason for one statement', [...good, 'MQTT-3.1.0-1\tserver\t-\tnot ours'], /has tests and also a '-' row/],
    ['a row with too few cells', [...good, 'MQTT-3.1.0-1\tserver'], /expected 4 tab-separated cells/],
    ['a test cell that is not path › title', [good[0].replace(' › ', ' > '), ...good.slice(1)], /must be 'path › title' or '-'/],
  ])('fails on %s', (_what, rows, message) => {
    expect(run(rows.join('\n')).errors.join('\n')).toMatch(message);
  });

  it('leaves a client-only statement with neither test nor reason open, without failing', () => {
    const { errors, outcome } = run([...good.slice(0, 3), 'MQTT-3.10.4-1\tclient\t-\t'].join('\n'));
    expect(errors).toEqual([]);
    expect(outcome.get('MQTT-3.10.4-1')!.status).toBe('open');
  });
});

describe('the tables of this tree', () => {
  it('pass npm run conformance: every statement of 3.1.1 and 5.0 has a row, every named test cites it, nothing of ours is open', async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, ['scripts/conformance.mjs'], { cwd: new URL('../../..', import.meta.url) }).catch(
      (err: { stdout: string; stderr: string; code: number }) => err,
    );
    expect(result.stderr, result.stderr).toBe('');
    expect(result.stdout).toMatch(/^MQTT 3\.1\.1: 141 statements: \d+ tested, \d+ not applicable, 0 open/m);
    expect(result.stdout).toMatch(/^MQTT 5\.0: 251 statements: \d+ tested, \d+ not applicable, 0 open/m);
    expect(result.stdout).toMatch(/conformance tables: OK/);
  });
});
