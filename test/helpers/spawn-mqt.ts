import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The launcher the package installs as `mqt`; it runs the bundled CLI, dist/cli.bundle.cjs (`mqt broker`: dist/cli-broker.bundle.cjs; `mqt pub`/`sub`: dist/cli-client.bundle.cjs first). */
export const MQT_BIN = fileURLToPath(new URL('../../bin/mqt.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The launcher's code cache for the spawned CLIs: one folder shared by the test run (so each
 * spawn does not start cold, as a user's second run does not), never the user's own.
 */
export const TEST_CACHE_HOME = join(tmpdir(), 'mqt-test-cache');

export interface SpawnMqtOptions {
  /** Written to the child's stdin, which is then closed (stdin is closed at once without it). */
  input?: string | Buffer;
  /** Added to (or, with undefined, removed from) the child's environment. */
  env?: Record<string, string | undefined>;
  /** The child is killed (SIGKILL) after this long; the result then has timedOut: true. */
  timeoutMs?: number;
  cwd?: string;
}

export interface SpawnMqtResult {
  stdout: string;
  stderr: string;
  /** The exit code, or null when the child died from a signal (e.g. the timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/**
 * Runs `node bin/mqt.js …args` the way a user would, but isolated: HOME and
 * XDG_CONFIG_HOME point at a fresh temp dir (so no ~/.config/mqt of the machine leaks
 * in, as in mosquitto's client tests) and colour is off so output is plain text.
 * Resolves (never rejects on a bad exit) so tests assert on code and output.
 */
export async function spawnMqt(args: readonly string[], options: SpawnMqtOptions = {}): Promise<SpawnMqtResult> {
  const home = await mkdtemp(join(tmpdir(), 'mqt-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: TEST_CACHE_HOME, NO_COLOR: '1' };
  // vitest's workers may carry FORCE_COLOR, which would win over NO_COLOR in chalk.
  delete env.FORCE_COLOR;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }

  try {
    return await new Promise<SpawnMqtResult>((resolve, reject) => {
      const child = spawn(process.execPath, [MQT_BIN, ...args], {
        cwd: options.cwd ?? REPO_ROOT,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs ?? 10_000);

      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // A child that exits without reading its input makes the write fail with EPIPE; that is not our error.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          code,
          signal,
          timedOut,
        });
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * Fails when the built CLI is missing or older than its sources: a stale dist would test
 * yesterday's mqt and pass or fail for the wrong reason. `sources` are paths under src/
 * (default: every source file). `npm test` builds first (pretest).
 */
export function assertFreshBuild(sources?: readonly string[]): void {
  const list = sources ?? sourceFiles(join(REPO_ROOT, 'src')).map((f) => relative(join(REPO_ROOT, 'src'), f));
  let newest = 0;
  for (const source of list) {
    const built = join(REPO_ROOT, 'dist', source.replace(/\.ts$/, '.js'));
    if (!existsSync(built)) throw new Error(`dist/${source.replace(/\.ts$/, '.js')} is missing: run 'npm run build' first ('npm test' does it through pretest)`);
    const builtAt = statSync(built).mtimeMs;
    if (builtAt < statSync(join(REPO_ROOT, 'src', source)).mtimeMs) {
      throw new Error(`dist is older than src/${source}: run 'npm run build' first`);
    }
    newest = Math.max(newest, builtAt);
  }
  // bin/mqt.js runs the bundles made from dist/ (scripts/bundle-cli.mjs): `tsc` alone leaves them behind.
  for (const name of ['cli.bundle.cjs', 'cli-broker.bundle.cjs', 'cli-client.bundle.cjs']) {
    const bundle = join(REPO_ROOT, 'dist', name);
    if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest) {
      throw new Error(`dist/${name} is missing or older than dist/: run 'npm run build' first`);
    }
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}
