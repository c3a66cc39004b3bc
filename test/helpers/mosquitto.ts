/**
 * A real mosquitto broker for tests and benchmarks: its own config in a temp dir, loopback
 * only, anonymous access, no persistence, on a free port. startMosquitto() resolves once it
 * accepts TCP connections; stop() ends it (SIGTERM, then SIGKILL) and removes the temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { installHint, peers, spawnPeer, type PeerProcess } from './peers.js';

export interface MosquittoOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Extra mosquitto.conf lines, e.g. ['max_inflight_messages 1000', 'max_queued_messages 100000']. */
  config?: readonly string[];
  /** How long mosquitto may take to accept connections. Default 5000 ms. */
  timeoutMs?: number;
}

export interface RunningMosquitto {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** mqtt://127.0.0.1:port */
  readonly url: string;
  readonly process: PeerProcess;
  /** What mosquitto logged so far (it logs to stderr here). */
  log(): string;
  /** Stops mosquitto and removes its config; safe to call twice. */
  stop(): Promise<void>;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningMosquitto> {
  const bin = peers().mosquitto;
  if (bin === undefined) throw new Error(installHint(['mosquitto']));
  // A port picked here can be taken before mosquitto binds it: try again with another.
  const attempts = options.port ? 1 : 3;
  let lastError: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    const port = options.port || (await freePort());
    try {
      return await startOn(bin, port, options);
    } catch (err) {
      lastError = err as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOn(bin: string, port: number, options: MosquittoOptions): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mqt-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      ...(options.config ?? []),
      '',
    ].join('\n'),
  );
  const proc = spawnPeer(bin, ['-c', conf]);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      proc.child.kill('SIGTERM');
      try {
        await proc.waitForExit(3000); // kills with SIGKILL when SIGTERM is not enough
      } catch {
        await proc.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await waitUntilAccepting(port, proc, options.timeoutMs ?? 5000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: '127.0.0.1', port, url: `mqtt://127.0.0.1:${port}`, process: proc, log: () => proc.stderr(), stop };
}

/** Polls the port until a TCP connect succeeds; fails early when mosquitto exits. */
async function waitUntilAccepting(port: number, proc: PeerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = proc.child.exitCode !== null || proc.child.signalCode !== null;
    if (exited) throw new Error(`mosquitto exited (${proc.child.exitCode ?? proc.child.signalCode}) before accepting connections on ${port}:\n${proc.stderr()}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not accept connections on ${port} within ${timeoutMs} ms:\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether something on 127.0.0.1 accepts a TCP connection on `port` (within half a second). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
