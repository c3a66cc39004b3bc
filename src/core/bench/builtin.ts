/**
 * The broker `mqt bench` measures when no broker is named: ours, started for the run in a child
 * process (builtin-child.ts) on a free loopback port, so it has its own core and its CPU time
 * and memory can be read from its PID. stop() ends it; so does the parent's exit (the child
 * leaves when its IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BuiltinReady, BuiltinStats } from './builtin-child.js';

export interface BuiltinBroker {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The WebSocket listener's port, when asked for. */
  readonly wsPort: number | undefined;
  readonly pid: number;
  /** Messages the broker dropped so far (queues full, clients too slow); undefined once it is gone. */
  dropped(): Promise<number | undefined>;
  /** Stops the broker (SIGTERM, then SIGKILL after a grace period); safe to call twice. */
  stop(): Promise<void>;
}

export interface BuiltinOptions {
  /** Also listen for MQTT over WebSocket. */
  ws?: boolean;
  /** How long the child may take to listen. Default 10 s. */
  startTimeoutMs?: number;
}

const CHILD = fileURLToPath(new URL('./builtin-child.js', import.meta.url));
const STOP_GRACE_MS = 3000;

export async function startBuiltinBroker(options: BuiltinOptions = {}): Promise<BuiltinBroker> {
  // execArgv []: the child must not inherit the parent's --inspect or --cpu-prof and fight over them.
  const child = fork(CHILD, options.ws === true ? ['ws'] : [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr.push(text);
    if (stderr.length > 20) stderr.shift();
  });
  // An IPC send racing the child's exit; the exit itself is what we report.
  child.on('error', () => undefined);
  let exited = child.exitCode !== null;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });

  let ready: BuiltinReady;
  try {
    ready = await waitReady(child, gone, options.startTimeoutMs ?? 10_000, () => stderr.join('').trim());
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid!;

  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port: ready.port,
    wsPort: ready.wsPort,
    pid,
    async dropped() {
      if (exited || !child.connected) return undefined;
      return new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => finish(undefined), 2000);
        const onMessage = (m: unknown): void => {
          if ((m as BuiltinStats | null)?.type === 'stats') finish((m as BuiltinStats).dropped);
        };
        const finish = (value: number | undefined): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(value);
        };
        child.on('message', onMessage);
        child.send({ type: 'stats' }, (err) => {
          if (err) finish(undefined);
        });
      });
    },
    stop() {
      return (stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await gone;
        clearTimeout(timer);
      })());
    },
  };
}

function waitReady(child: ChildProcess, gone: Promise<void>, timeoutMs: number, stderr: () => string): Promise<BuiltinReady> {
  return new Promise<BuiltinReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the built-in broker did not start within ${timeoutMs} ms${stderr() ? `: ${stderr()}` : ''}`)), timeoutMs);
    child.on('message', function onMessage(m: unknown) {
      if ((m as BuiltinReady | null)?.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as BuiltinReady);
    });
    void gone.then(() => {
      clearTimeout(timer);
      reject(new Error(`the built-in broker exited before listening${stderr() ? `: ${stderr()}` : ''}`));
    });
  });
}
