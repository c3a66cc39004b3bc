/** `mqt bench` as the CLI tests run it: the built binary, and its one JSON object of --json. */
import { expect } from 'vitest';
import { spawnMqt, type SpawnMqtResult } from './spawn-mqt.js';

export function bench(args: readonly string[], timeoutMs = 20_000): Promise<SpawnMqtResult> {
  return spawnMqt(['bench', ...args], { timeoutMs });
}

/** The one JSON object of --json (a second line, or none, fails the test with the output). */
export function json(r: SpawnMqtResult): Record<string, any> {
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines, r.stdout + r.stderr).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, any>;
}
