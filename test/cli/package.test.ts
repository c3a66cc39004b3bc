import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { needPeers } from '../helpers/peers.js';
import { assertFreshBuild, REPO_ROOT } from '../helpers/spawn-mqt.js';

// The package as a user gets it: `npm pack` (dist/ is built by pretest; a tarball install runs
// no `prepare`, so the tarball must hold everything), `npm install -g` into a fresh prefix, then
// the installed `mqt` from that prefix with a fresh HOME, and the library's types compiled and
// run against the installed package. One pack and one install for the file.

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; man?: string[] };

let tmp: string;
let prefix: string;
let installed: string;
let home: string;
let files: string[];
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (bounded), never throwing for a non-zero exit. */
function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd: options.cwd ?? tmp, env: options.env ?? process.env, timeout: options.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      children.delete(child);
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      if (error !== null && code === null) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    children.add(child);
  });
}

/** The environment a user of the installed package has: its bin first on PATH, a fresh HOME, no cache settings. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH ?? ''].join(delimiter), HOME: home, NO_COLOR: '1', ...extra };
  for (const name of ['XDG_CACHE_HOME', 'NODE_DISABLE_COMPILE_CACHE', 'FORCE_COLOR', 'NODE_OPTIONS', 'NODE_PATH']) if (!(name in extra)) delete env[name];
  return env;
}

/** The installed `mqt` (the prefix's bin link, as a shell finds it). */
const mqt = (args: readonly string[], extra?: NodeJS.ProcessEnv): Promise<Run> => run(join(prefix, 'bin', 'mqt'), args, { env: userEnv(extra) });

/** Every file under `dir`, relative to it. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  // The entries: what is packed is what the last build made of them.
  assertFreshBuild(['cli.ts', 'cli-broker.ts', 'index.ts']);
  tmp = mkdtempSync(join(tmpdir(), 'mqt-package-'));
  prefix = join(tmp, 'prefix');
  home = join(tmp, 'home');
  mkdirSync(home);
  // --ignore-scripts: dist/ is built already (pretest); packing must not build again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], { cwd: REPO_ROOT, timeoutMs: 60_000 });
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = info!.files.map((f) => f.path).sort();
  // Every dependency is in npm's cache after `npm ci`: offline first, no audit, no funding notes.
  const install = await run('npm', ['install', '-g', '--prefix', prefix, join(tmp, info!.filename), '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], {
    timeoutMs: 90_000,
  });
  expect(install.code, install.stderr).toBe(0);
  installed = join(prefix, 'lib', 'node_modules', 'mqt');
}, 150_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds the launcher, the bundles, the library with its types, the dashboard and the man pages', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/mqt.js', 'bin/package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.bundle.cjs', 'dist/cli.bundle.cjs.id', 'dist/cli-broker.bundle.cjs', 'dist/cli-broker.bundle.cjs.id', 'dashboard/index.html']) {
      expect(files).toContain(f);
    }
    // Every bundle the build made (bin/mqt.js picks one per command) and its build id.
    for (const f of readdirSync(join(REPO_ROOT, 'dist')).filter((n) => n.endsWith('.bundle.cjs'))) {
      expect(files).toContain(`dist/${f}`);
      expect(files).toContain(`dist/${f}.id`);
    }
    // The library's modules (and the bench's worker and child, run by path) with their declarations.
    for (const f of ['dist/core/broker/index.js', 'dist/core/broker/index.d.ts', 'dist/core/bench/worker.js', 'dist/core/bench/builtin-child.js']) expect(files).toContain(f);
    // The man pages built and the ones package.json installs.
    for (const page of readdirSync(join(REPO_ROOT, 'man')).filter((n) => /\.[1-8]$/.test(n))) expect(files).toContain(`man/${page}`);
    for (const page of pkg.man ?? []) expect(files).toContain(page.replace(/^\.\//, ''));
  });

  it('holds no tests, sources, source maps, build info, scripts or what the bundles already hold', () => {
    const unwanted = files.filter(
      (f) =>
        /^(test|src|scripts|man\/src|node_modules|test-results)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.endsWith('.map') ||
        f.endsWith('.tsbuildinfo') ||
        // Bundled into dist/*.bundle.cjs: the CLI's modules are not loaded from dist/ at run time.
        /^dist\/(commands\/|cli[^/]*\.(js|d\.ts)$|exit\.)/.test(f) ||
        /^(tsconfig|vitest\.config|package-lock)/.test(f),
    );
    expect(unwanted).toEqual([]);
    // tsc never deletes: a module left in dist/ by an older build, whose source is gone, must not ship.
    const stale = files.filter((f) => /^dist\/core\/.+\.js$/.test(f) && !existsSync(join(REPO_ROOT, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    expect(stale, 'compiled modules without a source (rebuild dist/ from scratch)').toEqual([]);
  });
});

describe('npm install -g of the tarball', () => {
  it('mqt --version runs from the prefix, keeps its code cache in the user\'s cache folder and writes nothing into the package', async () => {
    const before = listFiles(installed);
    const result = await mqt(['--version']);
    expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(readdirSync(join(home, '.cache', 'mqt')).some((f) => /^cli-v.+\.v8cache$/.test(f))).toBe(true);
    expect(listFiles(installed)).toEqual(before);
    // The second start reads that cache: same answer.
    expect(await mqt(['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('a cache folder it cannot write costs only speed: no error, same output', async () => {
    // A regular file where the cache folder should be: even root cannot make a folder there.
    const blocked = join(tmp, 'not-a-folder');
    writeFileSync(blocked, '');
    expect(await mqt(['--version'], { XDG_CACHE_HOME: blocked })).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('runs mqt broker (with --persistence: lmdb loads), mqt sub, mqt pub and a small mqt bench against it', async () => {
    const broker = spawn(join(prefix, 'bin', 'mqt'), ['broker', '--port', '0', '--persistence', join(tmp, 'store'), '-v'], { cwd: tmp, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(broker);
    let out = '';
    let err = '';
    const waiters = new Set<() => void>();
    broker.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      for (const w of [...waiters]) w();
    });
    broker.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const waitFor = (pattern: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} from the broker within 15 s; stdout: ${out}; stderr: ${err}`));
        }, 15_000);
        const check = (): void => {
          const m = pattern.exec(out);
          if (m === null) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        waiters.add(check);
        check();
      });
    const exited = new Promise<number | null>((resolve) => broker.once('close', (code) => resolve(code)));
    try {
      const port = Number((await waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/))[1]);
      const sub = mqt(['sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'pkg/t', '-q', '1', '-C', '1', '-i', 'pkg-sub']);
      await waitFor(/subscribe +pkg-sub pkg\/t qos 1/);
      expect(await mqt(['pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'pkg/t', '-q', '1', '-m', 'from the package'])).toMatchObject({ code: 0, stderr: '' });
      expect(await sub).toEqual({ code: 0, stdout: 'from the package\n', stderr: '' });
      const bench = await mqt(['bench', '-h', '127.0.0.1', '-p', String(port), '--msgs', '50', '--json']);
      expect(bench.code, bench.stderr).toBe(0);
      expect(JSON.parse(bench.stdout)).toMatchObject({ ok: true, totals: { published: 50, delivered: 50 } });
    } finally {
      broker.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toBe('');
  });

  const gate = needPeers('man');
  describe.skipIf(gate.skip)('man pages', () => {
    beforeEach(gate.check);
    it('man finds every page of package.json "man" in the prefix (MANPATH=<prefix>/share/man)', async () => {
      const pages = (pkg.man ?? []).map((p) => /([^/]+)\.\d$/.exec(p)![1]!);
      expect(pages).toContain('mqt-broker');
      for (const page of pages) {
        const found = await run('man', ['-w', page], { env: { ...process.env, MANPATH: join(prefix, 'share', 'man') } });
        expect(found.code, `${page}: ${found.stderr}`).toBe(0);
        expect(found.stdout.trim().startsWith(prefix), `${page} found at ${found.stdout.trim()}, not under ${prefix}`).toBe(true);
      }
    });
  });
});

// ---- the library, typed, from the installed package ---------------------------------------------

/** Every ```ts block of README.md's '## Library' section, in order: the typed example. */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.search(/^## Library\s*$/m);
  if (start < 0) throw new Error("README.md has no '## Library' section: the library example this test compiles lives there");
  const rest = readme.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error("README.md's '## Library' section has no ```ts block: put the typed library example there");
  return blocks.join('\n');
}

/** Fails to compile if the installed declarations were `any`: each check needs a real type. */
const TYPES_CHECK = `import { createBroker, encode, Parser, TopicTrie, type Broker, type Packet } from 'mqt';

type IsAny<T> = 0 extends 1 & T ? true : false;
const notAny: [IsAny<typeof createBroker>, IsAny<typeof encode>, IsAny<typeof Parser>, IsAny<typeof TopicTrie>, IsAny<Broker>, IsAny<Packet>] = [false, false, false, false, false, false];

// Compiled, never run: the declarations must refuse it.
export function misuse(): void {
  // @ts-expect-error encode takes a packet object, not text
  encode('not a packet', 4);
}

const broker: Broker = createBroker();
const [tcp] = await broker.listen({ port: 0, host: '127.0.0.1' });
const trie = new TopicTrie<number>();
trie.add('eg/+', 'client-1', 21);
const hits: number[] = trie.match('eg/temp').map((s) => s.value);
const packets: Packet[] = new Parser({ protocolVersion: 4 }).push(encode({ type: 'pingreq' }, 4));
await broker.close();
console.log(JSON.stringify({ listened: (tcp?.port ?? 0) > 0, hits, first: packets[0]?.type, checks: notAny.length }));
`;

describe('the library from the installed package', () => {
  it("README's typed example and a types check compile (strict, nodenext) against dist/index.d.ts and run", async () => {
    const app = join(tmp, 'app');
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    symlinkSync(installed, join(app, 'node_modules', 'mqt'), 'dir');
    symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        // skipLibCheck off: the shipped declarations themselves must check.
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], outDir: 'out', skipLibCheck: false },
        include: ['*.ts'],
      }),
    );
    writeFileSync(join(app, 'readme.ts'), `${readmeLibraryExample()}\nexport {};\n`);
    writeFileSync(join(app, 'types.ts'), TYPES_CHECK);
    const tsc = await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app, timeoutMs: 60_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    // Resolved through the installed package, not the repository.
    expect(existsSync(join(app, 'out', 'readme.js'))).toBe(true);
    const readme = await run(process.execPath, ['out/readme.js'], { cwd: app });
    expect(readme).toMatchObject({ code: 0, stderr: '' });
    const types = await run(process.execPath, ['out/types.js'], { cwd: app });
    expect(types.stderr).toBe('');
    expect(JSON.parse(types.stdout)).toEqual({ listened: true, hits: [21], first: 'pingreq', checks: 6 });
  });

  it('dist/index.d.ts exports createBroker, encode, Parser and TopicTrie', () => {
    const dts = readFileSync(join(installed, 'dist', 'index.d.ts'), 'utf8');
    for (const name of ['createBroker', 'encode', 'Parser', 'TopicTrie']) expect(dts).toMatch(new RegExp(`export \\{[^}]*\\b${name}\\b[^}]*\\} from`));
  });
});
