import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MQT_BIN } from '../helpers/spawn-mqt.js';

describe('bin/mqt.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-launcher-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is executable and starts with a node shebang', () => {
    expect(statSync(MQT_BIN).mode & 0o111, 'executable bits').not.toBe(0);
    expect(spawnSync('head', ['-n', '1', MQT_BIN], { encoding: 'utf8' }).stdout).toBe('#!/usr/bin/env node\n');
  });

  it('says in one line to build when dist/ is missing', () => {
    // A copy of the launcher in a package dir with no dist/, as in a fresh clone before the build.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    copyFileSync(MQT_BIN, join(dir, 'bin', 'mqt.js'));
    const result = spawnSync(process.execPath, [join(dir, 'bin', 'mqt.js'), '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("mqt: dist/cli.js is missing; run 'npm run build' first\n");
  });
});
