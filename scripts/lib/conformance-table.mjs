/**
 * The conformance tables (test/conformance/mqtt-<version>.tsv): one row per statement and
 * test, `id  binds  test  note`, checked against the specs' statement ids and the tests of the
 * tree. Pure functions over parsed input, so the checker's own tests can feed it small trees.
 */

export const VERSIONS = ['3.1.1', '5.0'];
/** server: the broker's duty; client: a client's only; codec: a wire-format rule of src/core/codec; both: server and client alike. */
export const BINDS = new Set(['server', 'client', 'codec', 'both']);
/** The bindings whose statements must end with a test or a reason: they are ours to keep. */
export const OURS = new Set(['server', 'codec', 'both']);
export const HEADER = ['id', 'binds', 'test', 'note'];
/** Between a test's file and its title in the `test` column. */
export const REF_SEPARATOR = ' › ';

/** A statements list: `id<TAB>text` lines or bare ids, `#` comments. Returns ids in order. */
export function parseIds(text) {
  return text
    .split('\n')
    .map((l) => l.split('\t')[0].trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The section of an id: `MQTT-3.8.4-4` → `3.8`. */
export function sectionOf(id) {
  const m = /^MQTT-(\d+)\.(\d+)/.exec(id);
  return m === null ? '?' : `${m[1]}.${m[2]}`;
}

/** Rows of a table file: `{ line, id, binds, test, note }`; a malformed line becomes an error. */
export function parseTable(text, name) {
  const rows = [];
  const errors = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const cells = raw.split('\t');
    if (cells.join('\t') === HEADER.join('\t')) return;
    if (cells.length < 3 || cells.length > 4) {
      errors.push(`${name}:${line}: expected 4 tab-separated cells (id, binds, test, note), found ${cells.length}`);
      return;
    }
    const [id, binds, test, note = ''] = cells.map((c) => c.trim());
    rows.push({ line, id, binds, test, note });
  });
  return { rows, errors };
}

/** `test/x.test.ts › title` → { file, title }; undefined when it is not of that shape. */
export function parseRef(ref) {
  const at = ref.indexOf(REF_SEPARATOR);
  if (at <= 0) return undefined;
  return { file: ref.slice(0, at), title: ref.slice(at + REF_SEPARATOR.length) };
}

/**
 * Checks one version's rows. `ids`: the spec's ids in order; `tests`: Map<file, tests[]> from
 * scanTests. Returns the errors and, per id, what it ended as: tested, n/a (a reason, no test)
 * or open (no test, no reason: an error when the statement is ours).
 */
export function checkTable({ version, name, rows, ids, tests }) {
  const errors = [];
  const known = new Set(ids);
  const byId = new Map();
  for (const row of rows) {
    const where = `${name}:${row.line}`;
    if (!known.has(row.id)) {
      errors.push(`${where}: ${row.id} is not a statement of MQTT ${version}`);
      continue;
    }
    if (!BINDS.has(row.binds)) {
      errors.push(`${where}: ${row.id}: binds must be server, client, codec or both, not '${row.binds}'`);
      continue;
    }
    const entry = byId.get(row.id) ?? { binds: row.binds, tests: [], reasons: [], line: row.line };
    if (entry.binds !== row.binds) errors.push(`${where}: ${row.id}: binds '${row.binds}' here, '${entry.binds}' on line ${entry.line}`);
    byId.set(row.id, entry);
    if (row.test === '-') {
      if (row.note !== '') entry.reasons.push(row.note);
      else if (OURS.has(row.binds)) errors.push(`${where}: ${row.id} binds ${row.binds} but has neither a test nor a reason it does not apply`);
      continue;
    }
    const ref = parseRef(row.test);
    if (ref === undefined) {
      errors.push(`${where}: ${row.id}: the test must be 'path${REF_SEPARATOR}title' or '-', not '${row.test}'`);
      continue;
    }
    const inFile = tests.get(ref.file);
    if (inFile === undefined) {
      errors.push(`${where}: ${row.id}: no test file ${ref.file}`);
      continue;
    }
    const named = inFile.filter((t) => t.title === ref.title);
    if (named.length === 0) {
      errors.push(`${where}: ${row.id}: ${ref.file} has no test titled '${ref.title}'`);
      continue;
    }
    if (!named.some((t) => t.cites.has(row.id))) {
      errors.push(`${where}: ${row.id}: ${ref.file} › '${ref.title}' (line ${named[0].line}) does not cite [${row.id}] in its source`);
      continue;
    }
    entry.tests.push(row.test);
  }
  const outcome = new Map();
  for (const id of ids) {
    const entry = byId.get(id);
    if (entry === undefined) {
      errors.push(`${name}: ${id} is missing: every statement of MQTT ${version} needs a row`);
      outcome.set(id, { binds: '?', status: 'open' });
      continue;
    }
    if (entry.tests.length > 0 && entry.reasons.length > 0) {
      errors.push(`${name}:${entry.line}: ${id} has tests and also a '-' row with a reason: keep one`);
    }
    const status = entry.tests.length > 0 ? 'tested' : entry.reasons.length > 0 ? 'n/a' : 'open';
    outcome.set(id, { binds: entry.binds, status, tests: entry.tests });
  }
  return { errors, outcome };
}

/** Counts per binding class and status, overall and per section: the coverage the checker prints. */
export function coverage(ids, outcome) {
  const total = { tested: 0, 'n/a': 0, open: 0, ours: 0, oursTested: 0 };
  const sections = new Map();
  for (const id of ids) {
    const o = outcome.get(id);
    const s = sectionOf(id);
    const sec = sections.get(s) ?? { tested: 0, 'n/a': 0, open: 0, count: 0 };
    sec[o.status]++;
    sec.count++;
    sections.set(s, sec);
    total[o.status]++;
    if (OURS.has(o.binds)) {
      total.ours++;
      if (o.status === 'tested') total.oursTested++;
    }
  }
  return { total, sections };
}

/** Citations in tests of ids no spec has (`[MQTT-3-8.3-4]`, `[MQTT-9.9.9-1]`): typos to fix. */
export function strayCitations(tests, allIds) {
  const out = [];
  for (const [file, list] of tests) {
    for (const t of list) {
      for (const typo of t.typos) out.push(`${file}:${t.line}: '${t.title}' cites ${typo}, which is not a statement id`);
      for (const id of t.cites) if (!allIds.has(id)) out.push(`${file}:${t.line}: '${t.title}' cites [${id}], which is no statement of MQTT 3.1.1 or 5.0`);
    }
  }
  return out;
}
