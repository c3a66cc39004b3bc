/**
 * CPU pinning for the benchmarks that compare brokers on a 2-CPU machine: the brokers on CPU 0
 * (pinned()), this script (the load) on CPU 1. Left to the scheduler, load generator and broker
 * share a core now and then, which moves a median by 50% from one run to the next.
 *
 *   const PIN = await pinToCpu1(import.meta.url, 'MQT_BENCH_AUTH_CLIENT_CPU', opts.unpinned);
 *
 * Without --unpinned, on two CPUs or more with taskset: runs the script again under `taskset -c 1`
 * and never returns in this process (it exits with the child's status). Under taskset,
 * availableParallelism() is 1, so the re-run child knows itself from `envFlag`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export const TASKSET = '/usr/bin/taskset';

export async function pinToCpu1(scriptUrl, envFlag, unpinned) {
  const pin = process.env[envFlag] !== undefined || (!unpinned && availableParallelism() >= 2 && existsSync(TASKSET));
  if (pin && process.env[envFlag] === undefined) {
    const child = spawn(TASKSET, ['-c', '1', process.execPath, ...process.execArgv, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [envFlag]: '1' },
    });
    child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    await new Promise(() => {});
  }
  return pin;
}

/** `file args` run on CPU 0 when pinning, as [file, args] for spawn. */
export function onCpu0(pin, file, args) {
  return pin ? [TASKSET, ['-c', '0', file, ...args]] : [file, args];
}
