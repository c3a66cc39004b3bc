import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, assertFreshBuild } from '../helpers/spawn-mqt.js';

// The ceiling `mqt broker` puts on V8's young generation, in a process of its own (it changes
// a V8 flag of the whole process): objects that all survive, as while clients connect, make
// V8 grow the young generation to its 2 x 16 MB unless the cap holds it.

const MB = 1024 * 1024;
const HEAP = pathToFileURL(join(REPO_ROOT, 'dist', 'commands', 'broker-heap.js')).href;

beforeAll(() => assertFreshBuild(['commands/broker-heap.ts']));

/** Young generation size in bytes after allocating ~40 MB that survives, with `setup` run first. */
function youngAfterSurvivors(setup: string): number {
  const script = `
    import { capYoungGeneration, youngGenerationSize } from ${JSON.stringify(HEAP)};
    const keep = [];
    const allocate = async () => {
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 20000; i++) keep.push({ round, i, s: 'x' + i });
        await new Promise((r) => setImmediate(r)); // lets the collections' observer run
      }
    };
    ${setup}
    process.stdout.write(String(youngGenerationSize()));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Number(r.stdout);
}

describe('capYoungGeneration', () => {
  it('is needed: without it the young generation grows past the cap', () => {
    expect(youngAfterSurvivors('await allocate();')).toBeGreaterThan(16 * MB);
  });

  it('holds the young generation at 8 MB (both semi-spaces)', () => {
    expect(youngAfterSurvivors('capYoungGeneration(); await allocate();')).toBeLessThanOrEqual(8 * MB);
  });

  it('lets it grow again once stopped', () => {
    expect(youngAfterSurvivors('const stop = capYoungGeneration(); await allocate(); stop(); await allocate();')).toBeGreaterThan(8 * MB);
  });
});
