/**
 * `mqt broker --workers N`: N broker processes on one machine, one per core, sharing the
 * listening ports (node:cluster hands each accepted connection to a worker in turn) and, as
 * nodes of one cluster, the routing, sessions and retained messages (through the Redis of
 * --cluster). The primary process runs no broker: it starts the workers, says what the first
 * one says at start-up, passes stop signals on, and starts again a worker that died.
 *
 * Worker 0 starts first and alone: a start-up failure (Redis unreachable, a port in use) is its
 * one line and the primary's exit 1, not N copies of it. Then the others, quiet but for their
 * warnings and errors, each line tagged [wI].
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { defaultNodeId } from './broker-cluster-plan.js';
import { CliError, ExitCode } from './errors.js';

/** Environment of a worker: its index and the node id its own is made from. */
export const WORKER_ENV = 'MQT_WORKER';
export const WORKER_BASE_ENV = 'MQT_WORKER_NODE_BASE';

/** Restarts allowed in any minute before the primary gives up. */
const MAX_RESTARTS_PER_MINUTE = 5;
const RESTART_DELAY_MS = 1000;
const STOP_GRACE_MS = 5000;

/** `--workers` as given: a count from 1 to 64, or `auto` (one per core). */
export function parseWorkers(text: string): number {
  if (text === 'auto') return Math.min(64, availableParallelism());
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64) throw new Error(`--workers must be a whole number from 1 to 64, or auto, got '${text}'`);
  return n;
}

/** This process's worker index, or undefined when it is not a worker of `--workers`. */
export function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const i = Number(process.env[WORKER_ENV]);
  return Number.isInteger(i) && i >= 0 ? i : undefined;
}

/** The node id of worker `index`: the given one or <hostname>-<primary pid>, then -w<index>. */
export function workerNodeId(index: number, given: string | undefined): string {
  return `${given ?? process.env[WORKER_BASE_ENV] ?? defaultNodeId()}-w${index}`;
}

/** Tells the primary that this worker serves (its listeners are open). */
export function workerReady(): void {
  if (cluster.isWorker) process.send?.({ mqt: 'ready' });
}

/**
 * The primary: runs `count` workers until a stop signal, then waits for them. Rejects with a
 * one-line error when the first worker cannot start, or workers keep dying.
 */
export async function runWorkers(count: number, nodeId: string | undefined): Promise<void> {
  // Each worker accepts from the shared socket itself (the kernel spreads the connections):
  // handing every accepted socket from the primary over IPC (round-robin) cost more than a
  // second worker gained in the connection storm (npm run bench:broker, cluster-connect).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const base = nodeId ?? defaultNodeId();
  const workers = new Map<number, Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let fatal: string | undefined;
  let wake: () => void = () => undefined;
  const pending = new Set<NodeJS.Timeout>();

  const start = (index: number): Promise<boolean> =>
    new Promise((resolve) => {
      const w = cluster.fork({ [WORKER_ENV]: String(index), [WORKER_BASE_ENV]: base });
      workers.set(index, w);
      let ready = false;
      w.on('message', (m: unknown) => {
        if ((m as { mqt?: unknown } | null)?.mqt === 'ready' && !ready) {
          ready = true;
          resolve(true);
        }
      });
      w.on('exit', (code, signal) => {
        if (workers.get(index) === w) workers.delete(index);
        if (!ready) {
          // It printed its own one-line error; a worker that never served is not started again.
          resolve(false);
          return;
        }
        if (stopping) {
          wake();
          return;
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
        const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
        if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
          fatal = `worker ${index} died (${how}), the ${restarts.length}th worker to die in a minute; stopping`;
          wake();
          return;
        }
        process.stderr.write(`mqt broker: worker ${index} died (${how}); starting it again in ${RESTART_DELAY_MS / 1000} s\n`);
        // Not unref'd: while every worker is down, this timer is what keeps the primary alive.
        const timer = setTimeout(() => {
          pending.delete(timer);
          if (stopping) return;
          void start(index).then((ok) => {
            // Started again and failed at start-up (Redis gone, say): no loop of those, stop it all.
            if (ok || stopping) return;
            fatal = `worker ${index} could not start again (its error is above); stopping`;
            wake();
          });
        }, RESTART_DELAY_MS);
        pending.add(timer);
      });
    });

  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals): void => {
    signal = s;
    wake();
  };
  const onHangup = (): void => {
    for (const w of workers.values()) w.process.kill('SIGHUP');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  // A worker that could not start printed its own one-line error: the primary adds none, stops the
  // others and ends with the failure's exit status (not a line of its own, so the error is said once).
  let startFailed = false;
  try {
    for (let i = 0; i < count && signal === undefined; i++) {
      if (!(await start(i))) {
        startFailed = true;
        break;
      }
    }
    while (!startFailed && signal === undefined && fatal === undefined) await new Promise<void>((r) => (wake = r));
  } finally {
    stopping = true;
    for (const t of pending) clearTimeout(t);
    await stopAll(workers, signal ?? 'SIGTERM', (r) => (wake = r));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
  }
  if (fatal !== undefined) throw new CliError(fatal, { command: 'broker' });
  if (startFailed) process.exitCode = ExitCode.Failure;
}

/** Passes the signal on and waits for every worker; one still there after the grace period is killed. */
async function stopAll(workers: Map<number, Worker>, signal: NodeJS.Signals, setWake: (r: () => void) => void): Promise<void> {
  for (const w of workers.values()) w.process.kill(signal);
  const deadline = Date.now() + STOP_GRACE_MS;
  while (workers.size > 0 && Date.now() < deadline) {
    await new Promise<void>((r) => {
      setWake(r);
      setTimeout(r, 100).unref();
    });
    for (const [i, w] of workers) if (w.isDead()) workers.delete(i);
  }
  for (const w of workers.values()) w.process.kill('SIGKILL');
}
