#!/usr/bin/env node
// Launcher for the CLI. `npm install` builds dist/ (the "prepare" script): dist/cli.bundle.cjs
// is the whole CLI in one file (scripts/bundle-cli.mjs). The command-line clients start once
// per message, so this runs it with V8's code cache: compiled once, then loaded ready to run.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const KEPT_CACHES = 4;
const bundle = fileURLToPath(new URL('../dist/cli.bundle.cjs', import.meta.url));

if (!existsSync(bundle)) {
  process.stderr.write("mqt: dist/cli.bundle.cjs is missing; run 'npm run build' first\n");
  process.exitCode = 1;
} else {
  const cli = load(bundle);
  await cli.main();
}

/** Runs the bundle as CommonJS would, through a vm.Script that takes and makes cached code. */
function load(file) {
  const source = readFileSync(file, 'utf8');
  const cacheFile = cachePath(file);
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
    process.once('exit', () => writeCache(cacheFile, script));
  }
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/**
 * Where the code cache lives: the user's own cache folder (never a shared one: it is code),
 * one file per Node version and build of the bundle. Undefined when caching is off
 * (NODE_DISABLE_COMPILE_CACHE, as for Node's own cache), there is no home to keep it in, or
 * the build has no id.
 */
function cachePath(file) {
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
  return join(base, 'mqt', `cli-${process.version}-${process.arch}-${build}.v8cache`);
}

/** Writes the cache atomically and drops the ones of other builds; any failure only costs speed. */
function writeCache(cacheFile, script) {
  try {
    const dir = dirname(cacheFile);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, cacheFile);
    // Other Node versions or installs keep theirs; only the oldest beyond a handful go.
    const caches = readdirSync(dir)
      .filter((name) => name.startsWith('cli-') && name.endsWith('.v8cache'))
      .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of caches.slice(KEPT_CACHES)) rmSync(old.path, { force: true });
  } catch {
    // read-only or full disk: the next start compiles again
  }
}
