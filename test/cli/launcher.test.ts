import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MQT_BIN, REPO_ROOT, assertFreshBuild } from '../helpers/spawn-mqt.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('bin/mqt.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-launcher-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is executable and starts with a node shebang', () => {
    expect(statSync(MQT_BIN).mode & 0o111, 'executable bits').not.toBe(0);
    expect(spawnSync('head', ['-n', '1', MQT_BIN], { encoding: 'utf8' }).stdout).toBe('#!/usr/bin/env node\n');
  });

  it('runs `mqt broker` from a bundle without yargs and the client commands, which a broker would hold for weeks', () => {
    assertFreshBuild();
    const whole = readFileSync(join(REPO_ROOT, 'dist', 'cli.bundle.cjs'), 'utf8');
    const broker = readFileSync(join(REPO_ROOT, 'dist', 'cli-broker.bundle.cjs'), 'utf8');
    // yargs' class and MQTT.js's client: in the whole CLI, not in the broker's.
    for (const name of ['function YargsFactory', 'class MqttClient']) {
      expect(whole, name).toContain(name);
      expect(broker, name).not.toContain(name);
    }
    expect(broker).toContain('function createBroker(');
    // ws (and node:http with it) is loaded from node_modules when a WebSocket listener opens.
    expect(whole).toContain('WebSocketServer=class extends');
    expect(broker).not.toContain('WebSocketServer=class extends');
    expect(whole).toMatch(/require\("(node:)?http"\)/);
    expect(broker).not.toMatch(/require\("(node:)?http"\)/);
  });

  it('runs `mqt pub` and `mqt sub` from a bundle without yargs and the other commands', () => {
    assertFreshBuild();
    const client = readFileSync(join(REPO_ROOT, 'dist', 'cli-client.bundle.cjs'), 'utf8');
    expect(client).toContain('class MqttClient');
    for (const name of ['function YargsFactory', 'function createBroker(', 'function runBench(']) expect(client, name).not.toContain(name);
    // node: modules load on first use (scripts/bundle-cli.mjs lazyBuiltins), not all at start.
    expect(client).not.toMatch(/let node_(tls|worker_threads|child_process|readline|crypto)=require\(/);
    // MQTT.js loads its WebSocket and TLS transports on first use.
    expect(client).toContain("protocols.ws=(client,opts)=>require_ws().streamBuilder(client,opts)");
  });

  /**
   * The quick path of pub and sub (src/cli-fast.ts) either runs the line as the whole CLI would,
   * or hands it on: the launcher's answer is the whole CLI's, byte for byte, for help, usage
   * errors (yargs') and an error of the command itself (a line the quick path takes).
   */
  it.each([
    [['pub', '--help']],
    [['sub', '--help']],
    [['pub', '-q', '5', 't', 'm']],
    [['sub', '--bogus', 'x']],
    [['pub', '-t', 'a', 'x', 'y']],
    [['pub', '-t']],
    [['pub']],
    [['pub', 'a/+', 'm']],
    [['sub', '-c', 'x']],
  ])('answers `mqt %j` as the whole CLI does', (args) => {
    assertFreshBuild();
    // One home for all (no config file; its code cache makes the later runs quick), gone with `dir`.
    const home = join(dir, 'home');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), NO_COLOR: '1', COLUMNS: '100' };
    for (const k of ['MQT_URL', 'MQT_USERNAME', 'MQT_PASSWORD']) delete env[k];
    const launcher = spawnSync(process.execPath, [MQT_BIN, ...args], { encoding: 'utf8', env });
    const bundle = join(REPO_ROOT, 'dist', 'cli.bundle.cjs');
    const whole = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).main(${JSON.stringify(args)})`], { encoding: 'utf8', env });
    expect(launcher.stderr.length + launcher.stdout.length).toBeGreaterThan(0);
    expect({ status: launcher.status, stdout: launcher.stdout, stderr: launcher.stderr }).toEqual({ status: whole.status, stdout: whole.stdout, stderr: whole.stderr });
  });

  it('says in one line to build when dist/ is missing', () => {
    // A copy of bin/ in a package dir with no dist/, as in a fresh clone before the build.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const file of ['mqt.js', 'package.json']) copyFileSync(join(dirname(MQT_BIN), file), join(dir, 'bin', file));
    for (const [args, bundle] of [
      [['--help'], 'cli'],
      [['broker'], 'cli-broker'],
      [['pub', 't', 'm'], 'cli-client'],
    ] as const) {
      const result = spawnSync(process.execPath, [join(dir, 'bin', 'mqt.js'), ...args], { encoding: 'utf8' });
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`mqt: dist/${bundle}.bundle.cjs is missing; run 'npm run build' first\n`);
    }
  });
});

/**
 * The V8 code cache that makes a one-shot `mqt pub` start fast: kept per user, written once
 * per build, and never a reason for the CLI to fail.
 */
describe('bin/mqt.js code cache', () => {
  let cacheHome: string;
  const cacheDir = (): string => join(cacheHome, 'mqt');
  const caches = (): string[] => readdirSync(cacheDir()).filter((n) => n.endsWith('.v8cache'));

  beforeAll(() => assertFreshBuild());
  afterAll(() => rmSync(cacheHome, { recursive: true, force: true }));

  function run(env: Record<string, string> = {}) {
    const result = spawnSync(process.execPath, [MQT_BIN, '--version'], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: cacheHome, ...env },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${VERSION}\n`);
    expect(result.status).toBe(0);
    return result;
  }

  it('is written on the first start, in a folder only the user can read, and reused after', () => {
    cacheHome = mkdtempSync(join(tmpdir(), 'mqt-cache-'));
    run();
    const [file, ...more] = caches();
    expect(more).toEqual([]);
    const buildId = readFileSync(join(REPO_ROOT, 'dist', 'cli.bundle.cjs.id'), 'utf8').trim();
    expect(file).toBe(`cli-${process.version}-${process.arch}-${buildId}.v8cache`);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    const path = join(cacheDir(), file!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).size).toBeGreaterThan(10_000);
    // Accepted by V8 on the next start: an accepted cache is not written again.
    const marked = new Date('2020-01-01T00:00:00Z');
    utimesSync(path, marked, marked);
    run();
    expect(statSync(path).mtimeMs).toBe(marked.getTime());
  });

  it('recovers from a corrupt cache: the command runs and the cache is made anew', () => {
    const path = join(cacheDir(), caches()[0]!);
    writeFileSync(path, Buffer.alloc(5000, 0xab));
    run();
    expect(statSync(path).size).toBeGreaterThan(10_000);
  });

  it('keeps the newest four of other builds and Node versions, and drops the rest', () => {
    const now = Date.now() / 1000;
    for (let i = 0; i < 5; i++) {
      const other = join(cacheDir(), `cli-v0.0.${i}-x64-old-build.v8cache`);
      writeFileSync(other, 'x');
      utimesSync(other, now - 1000 * (i + 1), now - 1000 * (i + 1));
    }
    // The broker's bundle keeps caches of its own, counted apart: the oldest here, and kept.
    const brokers = join(cacheDir(), 'cli-broker-v0.0.9-x64-old-build.v8cache');
    writeFileSync(brokers, 'x');
    utimesSync(brokers, now - 10_000, now - 10_000);
    rmSync(join(cacheDir(), caches().find((n) => n.startsWith(`cli-${process.version}`))!));
    run();
    const left = caches();
    expect(left.filter((n) => n.startsWith('cli-v0.0.')).sort()).toEqual(['cli-v0.0.0-x64-old-build.v8cache', 'cli-v0.0.1-x64-old-build.v8cache', 'cli-v0.0.2-x64-old-build.v8cache']);
    expect(left.filter((n) => n.startsWith(`cli-${process.version}-`))).toHaveLength(1);
    expect(left).toContain('cli-broker-v0.0.9-x64-old-build.v8cache');
    expect(left).toHaveLength(5);
    rmSync(brokers);
  });

  it('is neither read nor written with NODE_DISABLE_COMPILE_CACHE, as for Node its own', () => {
    const home = mkdtempSync(join(tmpdir(), 'mqt-cache-'));
    try {
      run({ XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: '1' });
      expect(readdirSync(home)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('is named after the content of the build, not its size or date (npm installs every file with one mtime)', () => {
    // A copy of the package: the launcher and the bundle, whose build id we control.
    const pkg = mkdtempSync(join(tmpdir(), 'mqt-pkg-'));
    const home = mkdtempSync(join(tmpdir(), 'mqt-cache-'));
    try {
      mkdirSync(join(pkg, 'bin'));
      mkdirSync(join(pkg, 'dist'));
      writeFileSync(join(pkg, 'package.json'), `{ "type": "module", "version": "${VERSION}" }\n`);
      for (const file of ['mqt.js', 'package.json']) copyFileSync(join(dirname(MQT_BIN), file), join(pkg, 'bin', file));
      copyFileSync(join(REPO_ROOT, 'dist', 'cli.bundle.cjs'), join(pkg, 'dist', 'cli.bundle.cjs'));
      const start = () => {
        const r = spawnSync(process.execPath, [join(pkg, 'bin', 'mqt.js'), '--version'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home } });
        expect([r.status, r.stdout, r.stderr]).toEqual([0, `${VERSION}\n`, '']);
        return existsSync(join(home, 'mqt')) ? readdirSync(join(home, 'mqt')).sort() : [];
      };
      // No id: no cache, rather than one that could belong to another build.
      expect(start()).toEqual([]);
      writeFileSync(join(pkg, 'dist', 'cli.bundle.cjs.id'), '0123456789abcdef\n');
      expect(start()).toEqual([`cli-${process.version}-${process.arch}-0123456789abcdef.v8cache`]);
      // Another build of the same size and date: a cache of its own.
      writeFileSync(join(pkg, 'dist', 'cli.bundle.cjs.id'), 'fedcba9876543210\n');
      expect(start()).toEqual([`cli-${process.version}-${process.arch}-0123456789abcdef.v8cache`, `cli-${process.version}-${process.arch}-fedcba9876543210.v8cache`]);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('costs nothing but speed when the cache cannot be written', () => {
    const home = mkdtempSync(join(tmpdir(), 'mqt-cache-'));
    try {
      // The cache "folder" is a file: every write fails.
      writeFileSync(join(home, 'mqt'), 'not a folder');
      run({ XDG_CACHE_HOME: home });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
