/** No import circle inside src/core/broker, type-only imports included (ARCHITECTURE.md). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../../src/core/broker'));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Import circles among the files of `dir`, type-only imports included. */
function cyclesIn(dir: string): { files: number; cycles: string[] } {
  const graph = new Map<string, string[]>();
  for (const f of files(dir)) {
    const deps = [...readFileSync(f, 'utf8').matchAll(/from\s+'(\.[^']+)'/g)].map((m) => normalize(join(dirname(f), m[1]!.replace(/\.js$/, '.ts')))).filter((t) => t.startsWith(dir));
    graph.set(f, deps);
  }
  const cycles: string[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, stack: string[]): void => {
    state.set(n, 1);
    stack.push(n);
    for (const t of graph.get(n) ?? []) {
      if (state.get(t) === 1) cycles.push(stack.slice(stack.indexOf(t)).concat(t).map((p) => p.slice(dir.length + 1)).join(' -> '));
      else if (!state.has(t)) visit(t, stack);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, []);
  return { files: graph.size, cycles };
}

describe('src/core/broker imports', () => {
  it('form no circle', () => {
    const { files: n, cycles } = cyclesIn(root);
    expect(n).toBeGreaterThan(20);
    expect(cycles).toEqual([]);
  });

  it('form no circle in src/core/cluster either', () => {
    const { files: n, cycles } = cyclesIn(normalize(join(root, '../cluster')));
    expect(n).toBeGreaterThan(8);
    expect(cycles).toEqual([]);
  });

  it('keep types.ts a leaf: it imports only message.ts and stats.ts of the broker, and stats.ts imports nothing', () => {
    const localImports = (file: string): (string | undefined)[] =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/from\s+'(\.[^']+)'/g)].map((m) => m[1]).filter((p) => p!.startsWith('./'));
    expect(localImports('types.ts')).toEqual(['./message.js', './stats.js']);
    expect(localImports('stats.ts')).toEqual([]);
  });
});
