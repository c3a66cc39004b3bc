#!/usr/bin/env node
// Launcher for the CLI. `npm install` builds dist/ (the "prepare" script, scripts/bundle-cli.mjs):
// dist/cli.bundle.cjs is the whole CLI in one file, dist/cli-broker.bundle.cjs `mqt broker` alone,
// dist/cli-client.bundle.cjs `mqt pub` and `mqt sub` alone.
// The command-line clients start once per message, so this runs a bundle with V8's code cache:
// compiled once, then loaded ready to run; pub and sub first try their own bundle, without yargs
// (src/cli-fast.ts), a third of the CLI to read (`npm run bench:startup`). A broker runs for weeks:
// it gets the bundle without the clients' code and without yargs (src/cli-broker.ts), which it
// would otherwise hold all along. Both hand any line they do not take to the whole CLI.
// (A V8 start-up snapshot would need node started with --snapshot-blob, a second process after
// this one: deserialising even a small one costs ~5 ms over `node -e 0`, a second node start ~75.)
// CommonJS (bin/package.json), not ESM like the rest of mqt: an ES module entry has Node load
// its ESM loader too, 1 MB that a broker would keep for nothing.
'use strict';
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const KEPT_CACHES = 4;
/**
 * Commands with a bundle of their own that runs a plain command line without yargs and answers
 * false for any other: `mqt broker` (src/cli-broker.ts) and the one-shot clients `mqt pub` and
 * `mqt sub` (src/cli-fast.ts), which then need to read and compile only a third of the CLI.
 */
const FIRST_BUNDLE = { __proto__: null, broker: 'cli-broker', pub: 'cli-client', sub: 'cli-client' };
const args = process.argv.slice(2);

// A rejection (a broken bundle) ends the process as an uncaught error does: its stack, exit code 1.
main();

async function main() {
  const first = FIRST_BUNDLE[commandWord(args)];
  if (first === undefined) {
    await loadBundle('cli')?.main(args);
    return;
  }
  const bundle = loadBundle(first);
  // Help, version, usage errors and unusual command lines are the whole CLI's (yargs').
  if (bundle !== undefined && !(await bundle.main(args))) await loadBundle('cli')?.main(args);
}

/** Loads dist/<name>.bundle.cjs, or says to build and returns undefined when it is missing. */
function loadBundle(name) {
  const bundle = join(__dirname, '..', 'dist', `${name}.bundle.cjs`);
  if (existsSync(bundle)) return load(bundle, name);
  process.stderr.write(`mqt: dist/${name}.bundle.cjs is missing; run 'npm run build' first\n`);
  process.exitCode = 1;
  return undefined;
}

/** The first word that is not a flag, as yargs finds the command (the global flags take no value). */
function commandWord(args) {
  for (const arg of args) {
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Runs the bundle as CommonJS would, through a vm.Script that takes and makes cached code. */
function load(file, name) {
  const source = readFileSync(file, 'utf8');
  const cacheFile = cachePath(file, name);
  let cachedData;
  try {
    if (cacheFile !== undefined) cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  // No importModuleDynamically: Node 20 drops it for cached code, so the bundle holds no import().
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // Made at exit, after the command ran: the cache then holds the functions it compiled
    // on the way (V8 compiles most functions lazily, on their first call).
    process.once('exit', () => writeCache(cacheFile, name, script));
  }
  const bundleModule = { exports: {} };
  script.runInThisContext().call(bundleModule.exports, bundleModule.exports, Module.createRequire(file), bundleModule, file, dirname(file));
  return bundleModule.exports;
}

/**
 * Where the code cache lives: the user's own cache folder (never a shared one: it is code),
 * one file per bundle, Node version and build. Undefined when caching is off
 * (NODE_DISABLE_COMPILE_CACHE, as for Node's own cache), there is no home to keep it in, or
 * the build has no id.
 */
function cachePath(file, name) {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  let base = process.env.XDG_CACHE_HOME;
  if (!base) {
    try {
      base = join(homedir(), '.cache');
    } catch {
      return undefined;
    }
  }
  // The build's content hash (scripts/bundle-cli.mjs): V8 checks a cache against the source's
  // length only, and npm installs every file with the same mtime.
  let build;
  try {
    build = readFileSync(`${file}.id`, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{16}$/.test(build)) return undefined;
  return join(base, 'mqt', `${name}-${process.version}-${process.arch}-${build}.v8cache`);
}

/** Writes the cache atomically and drops the bundle's caches of other builds; any failure only costs speed. */
function writeCache(cacheFile, name, script) {
  try {
    const dir = dirname(cacheFile);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, cacheFile);
    // Other Node versions or installs keep theirs; only the oldest beyond a handful go.
    // `cli-v…` and `cli-broker-v…`: the version after the name keeps the two bundles apart.
    const caches = readdirSync(dir)
      .filter((f) => f.startsWith(`${name}-v`) && f.endsWith('.v8cache'))
      .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of caches.slice(KEPT_CACHES)) rmSync(old.path, { force: true });
  } catch {
    // read-only or full disk: the next start compiles again
  }
}
