#!/usr/bin/env node
/**
 * npm run fuzz [-- options]   — the codec's parser fed a million inputs (issue #14).
 *
 * The inputs are mutations of valid packets of every type for MQTT 3.1, 3.1.1 and 5.0 (drawn
 * by fast-check from the seed): flipped bits, set bytes, cuts, Remaining Lengths made shorter,
 * longer, huge or malformed, property sections shuffled, duplicated, with foreign or unknown
 * properties and lying lengths, strings with ill-formed UTF-8 or grown to 65,535 bytes,
 * string and binary lengths that lie; streams of several packets; random bytes. Each is
 * fed whole and split at random points, with and without a maximum packet size. The parser may
 * only return packets or throw MqttError with a reason code; chunking may not change the
 * verdict; what it returns must re-encode to itself (test/fuzz/codec/oracle.ts).
 *
 * The engine is test/fuzz/codec/*.ts, bundled here with rolldown and run in a child process
 * against dist/ (node --expose-gc: the heap is sampled after full GCs). The same engine runs
 * a bounded slice in `npm test` (test/fuzz/codec.test.ts). An input slower than --max-ms twice
 * is a crash; a hang (no word from the engine for --stall-seconds: a synchronous endless loop
 * cannot be stopped from inside) kills the child, reruns from the last progress mark naming
 * each input as it starts, and prints the one it hangs in, with its hex.
 *
 * Options:
 *   --inputs N          inputs to run (default 1000000)
 *   --seed S            run seed, 0 to 4294967295 or 0x hex (default: random, printed)
 *   --seconds T         stop after T seconds even if N inputs are not done
 *   --from I            index of the first input (replay: --seed S --from I --inputs 1)
 *   --max-ms M          per-input time cap: slower twice in a row is a crash (default 250)
 *   --memory-mb X       growth allowed from warm-up to the end, heap + buffers (default 4)
 *   --stall-seconds T   no word from the engine for T seconds is a hang (default 60)
 *   --describe          print input --from (kind, version, mutations, cuts, hex) and stop
 *   --json              the summary as one JSON document on stdout
 * Exit status: 0 clean, 1 crashes or heap growth, 2 bad options or setup.
 */
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleEngine, checkDist } from './fuzz/bundle.mjs';
import { runChild } from './fuzz/child.mjs';
import { crashLines, describeInput, progressLine, summaryLine } from './fuzz/report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS_SIZE = 2_000;

function fail(message) {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function integer(name, text, min, max) {
  const clean = text.replace(/_/g, '');
  const value = /^0x[0-9a-f]+$/i.test(clean) ? Number.parseInt(clean, 16) : /^\d+$/.test(clean) ? Number(clean) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) fail(`--${name} takes a whole number from ${min} to ${max}, not "${text}"`);
  return value;
}

function positive(name, text) {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) fail(`--${name} takes a positive number, not "${text}"`);
  return value;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      inputs: { type: 'string' },
      seed: { type: 'string' },
      seconds: { type: 'string' },
      from: { type: 'string' },
      'max-ms': { type: 'string' },
      'memory-mb': { type: 'string' },
      'stall-seconds': { type: 'string' },
      json: { type: 'boolean' },
      describe: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (err) {
  // parseArgs reads a value starting with '-' as the next option ('--seconds -1').
  const dashed = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(err.message);
  const missing = /^Option '(--[\w-]+) <value>' argument missing/.exec(err.message);
  if (dashed) fail(`${dashed[1]} needs a value (one that starts with "-" goes as ${dashed[1]}=VALUE)`);
  if (missing) fail(`${missing[1]} needs a value`);
  fail(`${err.message.split('\n')[0]} (npm run fuzz -- --help lists the options)`);
}
if (parsed.help) {
  const text = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(`${text.slice(text.indexOf('npm run fuzz'), text.indexOf(' */')).replace(/^ \* ?/gm, '')}`);
  process.exit(0);
}

const options = {
  seed: parsed.seed === undefined ? Math.floor(Math.random() * 0x1_0000_0000) : integer('seed', parsed.seed, 0, 0xffff_ffff),
  inputs: parsed.inputs === undefined ? 1_000_000 : integer('inputs', parsed.inputs, 1, 1e12),
  from: parsed.from === undefined ? 0 : integer('from', parsed.from, 0, 2 ** 52),
  maxMsPerInput: parsed['max-ms'] === undefined ? 250 : positive('max-ms', parsed['max-ms']),
  memoryBound: Math.round((parsed['memory-mb'] === undefined ? 4 : positive('memory-mb', parsed['memory-mb'])) * 1024 * 1024),
  corpusSize: CORPUS_SIZE,
  trace: false,
  describe: false,
};
if (parsed.seconds !== undefined) options.seconds = positive('seconds', parsed.seconds);
const stallSeconds = parsed['stall-seconds'] === undefined ? 60 : positive('stall-seconds', parsed['stall-seconds']);

try {
  checkDist(root);
} catch (err) {
  fail(err.message);
}

const say = (line) => process.stderr.write(`${line}\n`);
const { dir, file } = await bundleEngine(root).catch((err) => fail(`cannot bundle the engine: ${err.message.split('\n')[0]}`));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

if (parsed.describe) {
  const described = await runChild(file, { ...options, describe: true }, { stallSeconds });
  if (described.input === undefined) fail(`could not describe input ${options.from} (exit code ${described.code})`);
  say(describeInput(described.input));
  process.exit(0);
}

say(`fuzz: seed ${options.seed}, inputs ${options.from}..${options.from + options.inputs - 1}${options.seconds ? `, at most ${options.seconds} s` : ''}`);
const started = Date.now();
const onProgress = (p) => say(progressLine(p, options.inputs));
let result = await runChild(file, options, { stallSeconds, onProgress });

let hang;
if (result.stalled) {
  // Rerun from the last progress mark, naming each input before it runs: the last one named
  // when it stalls again is the one that hangs.
  const doneBefore = result.progress?.done ?? 0;
  say(`fuzz: no word from the engine for ${stallSeconds} s after ${doneBefore} inputs; rerunning from there to name the input`);
  const again = { ...options, from: options.from + doneBefore, inputs: options.inputs - doneBefore, trace: true };
  result = await runChild(file, again, { stallSeconds, onProgress });
  if (result.stalled && result.lastAt !== undefined) {
    const described = await runChild(file, { ...options, from: result.lastAt, describe: true }, { stallSeconds });
    hang = { index: result.lastAt, input: described.input };
  } else if (result.stalled) {
    hang = { index: undefined };
  }
}

if (hang !== undefined) {
  say(`fuzz: HANG at input ${hang.index ?? '(before the first input)'} of seed ${options.seed}: no progress for ${stallSeconds} s`);
  if (hang.input) say(describeInput(hang.input));
  process.exit(1);
}
if (result.summary === undefined) {
  say(`fuzz: the engine ended without a summary (exit code ${result.code}, signal ${result.signal})`);
  process.exit(1);
}

const summary = result.summary;
for (const line of crashLines(summary)) say(line);
if (parsed.json) process.stdout.write(`${JSON.stringify({ ...summary, wallSeconds: (Date.now() - started) / 1000 })}\n`);
else process.stdout.write(`${summaryLine(summary, (Date.now() - started) / 1000)}\n`);
process.exit(summary.crashCount === 0 && summary.memoryFlat ? 0 : 1);
