#!/usr/bin/env node
/**
 * npm run conformance: the tables test/conformance/mqtt-3.1.1.tsv and mqtt-5.0.tsv against the
 * specs' statement ids and the tests of the tree. Every id has a row; every test a row names
 * exists and cites the id in its own source; a statement that binds the broker or the codec
 * ends with a test or a reason. Prints coverage per version and section; exits 1 on any error.
 *
 *   node scripts/conformance.mjs                 check, print coverage
 *   node scripts/conformance.mjs --cites ID      the tests whose source cites ID
 *   node scripts/conformance.mjs --fragment F    check rows `version id binds test note` (a draft)
 *   node scripts/conformance.mjs --json          the outcome per id, machine-readable
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSIONS, checkTable, coverage, parseIds, parseTable, strayCitations } from './lib/conformance-table.mjs';
import { scanTests } from './lib/conformance-tests.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const valueOf = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${flag} needs a value`);
  return v;
};

function fail(message) {
  process.stderr.write(`conformance: ${message}\n`);
  process.exit(2);
}

const known = new Set(['--cites', '--fragment', '--json']);
for (const a of args) if (a.startsWith('--') && !known.has(a)) fail(`unknown option ${a}: use --cites ID, --fragment FILE or --json`);

/** The ids of a version: the project's own list (ids only), checked against ../shared when it is there. */
function idsOf(version, errors) {
  const own = join(root, 'test/conformance', `ids-mqtt-${version}.txt`);
  if (!existsSync(own)) fail(`${own} is missing: it lists the statement ids of MQTT ${version}`);
  const ids = parseIds(readFileSync(own, 'utf8'));
  const shared = join(root, '..', 'shared', 'mqtt-spec', `mqtt-${version}-statements.txt`);
  if (existsSync(shared)) {
    const theirs = parseIds(readFileSync(shared, 'utf8'));
    if (theirs.join('\n') !== ids.join('\n')) errors.push(`test/conformance/ids-mqtt-${version}.txt differs from the spec's list of ${theirs.length} statements`);
  }
  return ids;
}

const tests = scanTests(root);
const errors = [];
const idsByVersion = new Map(VERSIONS.map((v) => [v, idsOf(v, errors)]));
const allIds = new Set([...idsByVersion.values()].flat());

/** --cites ID: the tests whose source cites it. */
function listCiting(cites) {
  const id = cites.startsWith('MQTT-') ? cites : `MQTT-${cites}`;
  let n = 0;
  for (const [file, list] of tests) {
    for (const t of list) {
      if (!t.cites.has(id)) continue;
      n++;
      process.stdout.write(`${file} › ${t.title}\t(line ${t.line})\n`);
    }
  }
  const versions = VERSIONS.filter((v) => idsByVersion.get(v).includes(id));
  process.stdout.write(`${n} test${n === 1 ? '' : 's'} cite [${id}]${versions.length === 0 ? ', which is no statement id' : ` (a statement of MQTT ${versions.join(' and ')})`}\n`);
  return 0;
}

/** --fragment FILE: rows `version id binds test note` of a draft, checked alone. */
function checkFragment(fragment) {
  if (!existsSync(fragment)) fail(`no file ${fragment}`);
  const perVersion = new Map(VERSIONS.map((v) => [v, []]));
  readFileSync(fragment, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (raw.trim() === '' || raw.startsWith('#')) return;
      const [version, ...rest] = raw.split('\t');
      if (!perVersion.has(version)) {
        errors.push(`${fragment}:${i + 1}: version must be 3.1.1 or 5.0, not '${version}'`);
        return;
      }
      const { rows, errors: bad } = parseTable('\n'.repeat(i) + rest.join('\t'), fragment);
      errors.push(...bad);
      perVersion.get(version).push(...rows);
    });
  let count = 0;
  for (const [version, rows] of perVersion) {
    // Only the ids the draft names: the rest of the spec is somebody else's part.
    const ids = idsByVersion.get(version).filter((id) => rows.some((r) => r.id === id));
    errors.push(...checkTable({ version, name: fragment, rows, ids, tests }).errors);
    count += new Set(rows.map((r) => r.id)).size;
  }
  return report(`${fragment}: ${count} statements`);
}

/** The tables of the tree: errors, then the coverage per version and section. */
function checkTables() {
  const outcomes = new Map();
  for (const version of VERSIONS) {
    const name = `test/conformance/mqtt-${version}.tsv`;
    const path = join(root, name);
    if (!existsSync(path)) {
      errors.push(`${name} is missing`);
      continue;
    }
    const { rows, errors: bad } = parseTable(readFileSync(path, 'utf8'), name);
    errors.push(...bad);
    const result = checkTable({ version, name, rows, ids: idsByVersion.get(version), tests });
    errors.push(...result.errors);
    outcomes.set(version, result.outcome);
  }
  errors.push(...strayCitations(tests, allIds));

  if (args.includes('--json')) {
    const out = {};
    for (const [version, outcome] of outcomes) out[version] = Object.fromEntries(outcome);
    process.stdout.write(JSON.stringify({ errors, outcome: out }, null, 2) + '\n');
    return errors.length === 0 ? 0 : 1;
  }

  for (const [version, outcome] of outcomes) {
    const ids = idsByVersion.get(version);
    const { total, sections } = coverage(ids, outcome);
    process.stdout.write(
      `MQTT ${version}: ${ids.length} statements: ${total.tested} tested, ${total['n/a']} not applicable, ${total.open} open; ` +
        `${total.oursTested} of the ${total.ours} that bind the broker or the codec have a test\n`,
    );
    process.stdout.write('  section  tested  n/a  open\n');
    for (const [s, c] of sections) {
      process.stdout.write(`  ${s.padEnd(7)}  ${String(c.tested).padStart(6)}  ${String(c['n/a']).padStart(3)}  ${String(c.open).padStart(4)}\n`);
    }
  }
  return report('conformance tables');
}

/** The verdict line and the exit code; the errors, one a line, on stderr. */
function report(what) {
  if (errors.length === 0) {
    process.stdout.write(`${what}: OK\n`);
    return 0;
  }
  for (const e of errors) process.stderr.write(`${e}\n`);
  process.stderr.write(`${what}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
  return 1;
}

// exitCode, not exit(): a long --json must reach a pipe whole.
const cites = valueOf('--cites');
const fragment = valueOf('--fragment');
process.exitCode = cites !== undefined ? listCiting(cites) : fragment !== undefined ? checkFragment(fragment) : checkTables();
