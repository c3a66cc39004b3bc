/**
 * Real MQTT peers for interop tests: where they are, whether a test may run, and spawning them
 * so that none outlives its test.
 *
 * A peer that is missing skips only the tests that need it on a developer's machine (one hint
 * line says what to install), but FAILS those tests in CI (`CI=true`): a CI run that silently
 * skipped interop would prove nothing. `MQT_TEST_NO_PEERS=1` (or a comma list of peer names)
 * hides peers, to check that behaviour without uninstalling anything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

/** Peers by the name MQT_TEST_NO_PEERS uses. MQTT.js is a dependency and always there. */
export type PeerName = 'mosquitto' | 'mosquitto-clients' | 'paho' | 'chromium' | 'groff' | 'man' | 'zsh' | 'fish' | 'redis';
export const PEER_NAMES: readonly PeerName[] = ['mosquitto', 'mosquitto-clients', 'paho', 'chromium', 'groff', 'man', 'zsh', 'fish', 'redis'];

/** The Debian packages that provide every peer, for the hint. */
export const PEER_PACKAGES = 'mosquitto mosquitto-clients python3-paho-mqtt chromium groff-base man-db zsh fish redis-server';

/** What a peer is called in messages. */
const LABEL: Record<PeerName, string> = {
  mosquitto: 'mosquitto',
  'mosquitto-clients': 'mosquitto_pub/mosquitto_sub',
  paho: 'Python paho-mqtt',
  chromium: 'headless Chromium',
  groff: 'groff (man page rendering)',
  man: 'man (man-db)',
  zsh: 'zsh',
  fish: 'fish',
  redis: 'redis-server (cluster tests)',
};

export interface Peers {
  /** The broker binary, e.g. /usr/sbin/mosquitto. */
  mosquitto: string | undefined;
  mosquittoPub: string | undefined;
  mosquittoSub: string | undefined;
  /** A Python that can `import paho.mqtt.client` (paho 1.6 API). */
  python: string | undefined;
  /** Chromium for browser tests (Debian's /usr/bin/chromium; MQT_TEST_CHROMIUM names another). */
  chromium: string | undefined;
  /** groff, to render and lint the man pages. */
  groff: string | undefined;
  /** man (man-db), to show a page with `man -l` as a user would. */
  man: string | undefined;
  /** Shells the completion scripts are loaded into (bash is always there). */
  zsh: string | undefined;
  fish: string | undefined;
  /** Redis, which `--cluster` nodes share (Debian's /usr/bin/redis-server). */
  redis?: string | undefined;
}

type Env = Record<string, string | undefined>;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/** Peer names hidden by MQT_TEST_NO_PEERS: '1', 'true' or 'all' hide every one. */
export function hiddenPeers(env: Env): Set<PeerName> {
  const value = (env.MQT_TEST_NO_PEERS ?? '').trim();
  if (value === '' || value === '0' || value === 'false') return new Set();
  if (value === '1' || value === 'true' || value === 'all') return new Set(PEER_NAMES);
  return new Set(value.split(',').map((s) => s.trim()) as PeerName[]);
}

/**
 * Looks for the peers. mosquitto lives in /usr/sbin on Debian, which a normal user's PATH
 * lacks, so that place is tried after PATH. Debian's paho is only importable by the system
 * Python (a pyenv `python3` first on PATH would not have it), so /usr/bin/python3 is used
 * unless MQT_TEST_PYTHON names another.
 */
export function detectPeers(env: Env = process.env): Peers {
  const hidden = hiddenPeers(env);
  const mosquitto = hidden.has('mosquitto') ? undefined : (onPath('mosquitto', env) ?? (executable('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : undefined));
  const clients = !hidden.has('mosquitto-clients');
  const python = hidden.has('paho') ? undefined : pahoPython(env.MQT_TEST_PYTHON ?? '/usr/bin/python3');
  return {
    mosquitto,
    mosquittoPub: clients ? onPath('mosquitto_pub', env) : undefined,
    mosquittoSub: clients ? onPath('mosquitto_sub', env) : undefined,
    python,
    chromium: hidden.has('chromium') ? undefined : chromiumPath(env),
    groff: hidden.has('groff') ? undefined : onPath('groff', env),
    man: hidden.has('man') ? undefined : onPath('man', env),
    zsh: hidden.has('zsh') ? undefined : onPath('zsh', env),
    fish: hidden.has('fish') ? undefined : onPath('fish', env),
    redis: hidden.has('redis') ? undefined : (onPath('redis-server', env) ?? (executable('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined)),
  };
}

function chromiumPath(env: Env): string | undefined {
  if (env.MQT_TEST_CHROMIUM !== undefined) return executable(env.MQT_TEST_CHROMIUM) ? env.MQT_TEST_CHROMIUM : undefined;
  return onPath('chromium', env) ?? (executable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
}

function pahoPython(python: string): string | undefined {
  if (!executable(python)) return undefined;
  const r = spawnSync(python, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0 ? python : undefined;
}

let detected: Peers | undefined;
/** The peers of this machine, looked for once per test file. */
export function peers(): Peers {
  return (detected ??= detectPeers());
}

export function missingPeers(found: Peers, needs: readonly PeerName[]): PeerName[] {
  return needs.filter((name) => {
    if (name === 'mosquitto') return found.mosquitto === undefined;
    if (name === 'mosquitto-clients') return found.mosquittoPub === undefined || found.mosquittoSub === undefined;
    if (name === 'chromium') return found.chromium === undefined;
    if (name === 'groff') return found.groff === undefined;
    if (name === 'man' || name === 'zsh' || name === 'fish' || name === 'redis') return found[name] === undefined;
    return found.python === undefined;
  });
}

export function isCI(env: Env = process.env): boolean {
  return env.CI === 'true';
}

export function installHint(missing: readonly PeerName[]): string {
  return `interop: ${missing.map((n) => LABEL[n]).join(', ')} not found; install the Debian packages ${PEER_PACKAGES} to run these tests`;
}

export interface PeerGate {
  /** Peers this suite needs that are not here. */
  readonly missing: PeerName[];
  /** For describe.skipIf: true only off CI with a peer missing. */
  readonly skip: boolean;
  /** For beforeEach: throws, failing the test, when a peer is missing (which off CI means skipped anyway). */
  check(): void;
}

/** Decides, from what was found and the environment, whether a suite runs, skips or fails. */
export function gateFor(needs: readonly PeerName[], found: Peers, env: Env): PeerGate {
  const missing = missingPeers(found, needs);
  const ci = isCI(env);
  const message = ci
    ? `${installHint(missing)} (CI=true: interop peers are required; unset MQT_TEST_NO_PEERS if it is set)`
    : installHint(missing);
  return {
    missing,
    skip: missing.length > 0 && !ci,
    check() {
      if (missing.length > 0) throw new Error(message);
    },
  };
}

/**
 * The gate for a suite that needs `needs`:
 *
 *   const gate = needPeers('mosquitto-clients');
 *   describe.skipIf(gate.skip)('…', () => { beforeEach(gate.check); … });
 *
 * When the suite is skipped the hint is printed, once per test run.
 */
export function needPeers(...needs: PeerName[]): PeerGate {
  const gate = gateFor(needs, peers(), process.env);
  if (gate.skip) printHintOnce();
  return gate;
}

/**
 * One hint line for the whole run, naming every missing peer, though each test file runs
 * in a worker of its own: the first worker to create a marker file named after the vitest
 * process prints it. A marker older than a few minutes is from an earlier run whose process
 * id was reused, and is replaced.
 */
function printHintOnce(): void {
  const missing = missingPeers(peers(), PEER_NAMES);
  const runId = isMainThread ? process.ppid : process.pid;
  const marker = join(tmpdir(), `mqt-interop-hint-${runId}`);
  try {
    if (Date.now() - statSync(marker).mtimeMs > 5 * 60_000) rmSync(marker, { force: true });
  } catch {
    // no marker yet
  }
  try {
    closeSync(openSync(marker, 'wx'));
  } catch {
    return; // printed already by another worker of this run
  }
  process.stderr.write(`${installHint(missing)}\n`);
}

// ---- peer processes ----------------------------------------------------------------------

export interface PeerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PeerProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first line (from `from` on) matching `match`; rejects after timeoutMs or
   * if the process exits first. Mind that C programs block-buffer stdout into a pipe: a line
   * may only arrive at exit unless the program flushes it.
   */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves when the process has exited; rejects after timeoutMs (the process is then killed). */
  waitForExit(timeoutMs?: number): Promise<PeerExit>;
  /** Kills the process (SIGKILL unless told) and waits for it to be gone. */
  kill(signal?: NodeJS.Signals): Promise<PeerExit>;
}

const running = new Set<ChildProcess>();

// A safety net for a crashed test run: no peer outlives the worker that spawned it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns a peer program, collecting its output. Stop it with kill() or killPeers(). */
export function spawnPeer(command: string, args: readonly string[], options: { env?: Env; input?: string } = {}): PeerProcess {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  running.add(child);
  const lines: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let partial = '';
  let exit: PeerExit | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out.push(chunk);
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) lines.push(line.replace(/\r$/, ''));
    wake();
  });
  child.stderr!.on('data', (chunk: string) => err.push(chunk));
  child.stdin!.on('error', () => undefined); // a peer that exits without reading its input
  child.stdin!.end(options.input);
  const exited = new Promise<PeerExit>((resolve) => {
    // 'close' rather than 'exit': the output has been read by then.
    child.once('close', (code, signal) => {
      running.delete(child);
      if (partial !== '') lines.push(partial);
      partial = '';
      exit = { code, signal };
      resolve(exit);
      wake();
    });
    child.once('error', (e) => {
      running.delete(child);
      err.push(`spawn failed: ${e.message}`);
      exit = { code: null, signal: null };
      resolve(exit);
      wake();
    });
  });
  const name = `${command} ${args.join(' ')}`;
  const describeState = (): string => `\n--- stdout:\n${out.join('')}\n--- stderr:\n${err.join('')}`;

  const proc: PeerProcess = {
    child,
    lines,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    waitForLine(match, timeoutMs = 5000, from = 0) {
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      return new Promise((resolve, reject) => {
        let checked = from;
        const check = (): void => {
          for (; checked < lines.length; checked++) {
            if (test(lines[checked]!)) return done(() => resolve(lines[checked]!));
          }
          if (exit !== undefined) done(() => reject(new Error(`${name} exited (${exit!.code ?? exit!.signal}) before printing ${String(match)}${describeState()}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(match)} from ${name}${describeState()}`))), timeoutMs);
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async waitForExit(timeoutMs = 5000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } catch {
        // SIGTERM first: mosquitto's clients then flush the output the error should show.
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 500))]);
        child.kill('SIGKILL');
        await exited;
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${name} to exit${describeState()}`);
      } finally {
        clearTimeout(timer);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (exit === undefined) child.kill(signal);
      return exited;
    },
  };
  return proc;
}

/** Runs a peer to completion: its exit code and output, or an error after timeoutMs. */
export async function runPeer(command: string, args: readonly string[], options: { env?: Env; input?: string; timeoutMs?: number } = {}): Promise<PeerExit & { stdout: string; stderr: string; lines: string[] }> {
  const p = spawnPeer(command, args, options);
  const exit = await p.waitForExit(options.timeoutMs ?? 10_000);
  return { ...exit, stdout: p.stdout(), stderr: p.stderr(), lines: p.lines };
}

/** Kills every peer process still running (for afterEach), waiting until each is gone. */
export async function killPeers(): Promise<void> {
  const all = [...running];
  await Promise.all(
    all.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
          setTimeout(resolve, 2000).unref();
        }),
    ),
  );
}
