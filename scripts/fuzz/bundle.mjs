/**
 * Bundles the fuzz engine (test/fuzz/codec/main.ts, TypeScript) into one ES module that plain
 * Node 20 runs: rolldown strips the types and takes in fast-check and the test helpers, while
 * every import of src/ is pointed at its compiled twin in dist/ and left external, so the
 * fuzzer exercises the codec as built and shipped (and MqttError is one class on both sides).
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rolldown } from 'rolldown';

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Throws a one-line error when dist/ is missing or older than the codec sources. */
export function checkDist(root) {
  const built = resolve(root, 'dist/core/codec/index.js');
  if (!existsSync(built)) throw new Error('dist/ is not built: run npm run build (npm run fuzz does)');
  if (newestMtime(resolve(root, 'src/core/codec')) > statSync(built).mtimeMs) {
    throw new Error('dist/ is older than src/core/codec: run npm run build (npm run fuzz does)');
  }
}

/** Writes the bundle to a new temporary folder; returns its path (the caller removes the folder). */
export async function bundleEngine(root) {
  const src = resolve(root, 'src') + sep;
  const toDist = {
    name: 'codec-from-dist',
    async resolveId(source, importer, extra) {
      if (builtins.has(source)) return { id: source, external: true };
      const resolved = await this.resolve(source, importer, { ...extra, skipSelf: true });
      if (resolved === null || !resolved.id.startsWith(src)) return resolved;
      const built = resolve(root, 'dist', relative(src, resolved.id)).replace(/\.ts$/, '.js');
      return { id: pathToFileURL(built).href, external: true };
    },
  };
  const bundle = await rolldown({
    input: resolve(root, 'test/fuzz/codec/main.ts'),
    platform: 'node',
    plugins: [toDist],
    logLevel: 'warn',
  });
  const dir = mkdtempSync(join(tmpdir(), 'mqt-fuzz-'));
  const file = join(dir, 'fuzz-engine.mjs');
  await bundle.write({ file, format: 'esm', codeSplitting: false });
  await bundle.close();
  return { dir, file };
}
