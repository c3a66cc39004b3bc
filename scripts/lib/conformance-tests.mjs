/**
 * The tests of the tree and the spec statements each one cites. A test is a vitest `it(...)` or
 * `test(...)` call (with .skip/.only/.concurrent, .each(...)/.for(...)/.skipIf(...)/.runIf(...));
 * what it cites is every `[MQTT-x.y.z-n]` in its own source (title and body) or in the comment
 * lines directly above it. A citation elsewhere (a describe title, a helper, a loop's table) is
 * not a test's: the table may only name tests that carry the id where they check it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseAst } from 'rolldown/parseAst';

/** `[MQTT-3.8.4-4]`: the only citation form counted. */
export const CITATION = /\[MQTT-(\d+(?:\.\d+)*-\d+)\]/g;
/** Anything that looks like a citation, well-formed or not: `[MQTT-3-8.3-4]` is a typo to report. */
const CITATION_LIKE = /\[MQTT-[^\]\s]*\]/g;

const TEST_NAMES = new Set(['it', 'test']);
/** Members that make a new test function rather than register a test: `it.each(rows)(title, fn)`. */
const FACTORIES = new Set(['each', 'for', 'skipIf', 'runIf', 'extend']);

/** Every *.test.ts under `dir`, as paths relative to `root` with forward slashes. */
export function listTestFiles(root, dir = 'test') {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(join(root, d), { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const rel = `${d}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.test.ts')) out.push(rel);
    }
  };
  walk(dir);
  return out.sort();
}

/** The root name of `it.concurrent.skip` → `it`; undefined when it is not a member chain of an identifier. */
function rootName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MemberExpression' && !node.computed) return rootName(node.object);
  return undefined;
}

/** Whether a callee registers a test: it, it.skip, it.each(rows), it.skipIf(c), test.concurrent, … */
function isTestCallee(callee) {
  if (callee.type === 'Identifier') return TEST_NAMES.has(callee.name);
  if (callee.type === 'MemberExpression' && !callee.computed) {
    return TEST_NAMES.has(rootName(callee) ?? '') && !FACTORIES.has(callee.property.name);
  }
  if (callee.type === 'CallExpression' && callee.callee.type === 'MemberExpression' && !callee.callee.computed) {
    return TEST_NAMES.has(rootName(callee.callee) ?? '') && FACTORIES.has(callee.callee.property.name);
  }
  return false;
}

/** The title as written: a string's value, a template literal's text between its backticks, else the expression's source. */
function titleOf(arg, source) {
  if (arg === undefined) return '';
  if (arg.type === 'Literal' && typeof arg.value === 'string') return arg.value;
  if (arg.type === 'TemplateLiteral') return source.slice(arg.start + 1, arg.end - 1);
  return source.slice(arg.start, arg.end);
}

/** The comment lines directly above the line where `start` is (a `//` run or a `/* … *\/` block). */
function leadingComments(source, start) {
  const lineStart = source.lastIndexOf('\n', start - 1) + 1;
  const lines = source.slice(0, lineStart).split('\n');
  lines.pop(); // the empty piece after the last newline
  const taken = [];
  let inBlock = false;
  for (let i = lines.length - 1; i >= 0; i--) {
    const t = lines[i].trim();
    if (inBlock) {
      taken.push(t);
      if (t.startsWith('/*')) inBlock = false;
      continue;
    }
    if (t.startsWith('//')) taken.push(t);
    else if (t.endsWith('*/')) {
      taken.push(t);
      if (!t.startsWith('/*')) inBlock = true;
    } else break;
  }
  return taken.reverse().join('\n');
}

function walk(node, visit) {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
    return;
  }
  if (typeof node.type === 'string' && visit(node) === false) return;
  for (const key in node) {
    if (key === 'start' || key === 'end' || key === 'type') continue;
    const v = node[key];
    if (v !== null && typeof v === 'object') walk(v, visit);
  }
}

/**
 * The tests of one file: `{ title, line, cites: Set<id>, typos: string[] }`. Nested tests (none
 * should exist) are each their own. `cites` holds ids without the `MQTT-` prefix added back:
 * `MQTT-3.8.4-4`.
 */
export function testsOfSource(source, file = '<source>') {
  let ast;
  try {
    ast = parseAst(source, { lang: 'ts' }, file);
  } catch (err) {
    throw new Error(`${file}: cannot be parsed (${err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err)})`);
  }
  const tests = [];
  walk(ast, (node) => {
    if (node.type !== 'CallExpression' || !isTestCallee(node.callee)) return true;
    const text = leadingComments(source, node.start) + '\n' + source.slice(node.start, node.end);
    const cites = new Set();
    for (const m of text.matchAll(CITATION)) cites.add(`MQTT-${m[1]}`);
    const typos = [];
    for (const m of text.matchAll(CITATION_LIKE)) {
      // A backslash is a regular expression matching a citation in output, not a citation.
      if (!m[0].includes('\\') && !/^\[MQTT-\d+(?:\.\d+)*-\d+\]$/.test(m[0])) typos.push(m[0]);
    }
    const line = source.slice(0, node.start).split('\n').length;
    tests.push({ title: titleOf(node.arguments[0], source), line, cites, typos });
    return true;
  });
  return tests;
}

/** Every test of the tree: Map<path, tests[]>; paths relative to root, with forward slashes. */
export function scanTests(root, dir = 'test') {
  const byFile = new Map();
  for (const file of listTestFiles(root, dir)) {
    const source = readFileSync(join(root, file), 'utf8');
    byFile.set(file.split(sep).join('/'), testsOfSource(source, relative(root, join(root, file))));
  }
  return byFile;
}
