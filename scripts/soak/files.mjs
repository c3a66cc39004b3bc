/**
 * Open files for 10,000 sockets. Node cannot raise its own limit (no setrlimit), so when the soft
 * limit is too low but the hard one allows, the soak runs itself again under
 * `sh -c 'ulimit -Sn N && exec node …'`; the broker child inherits the raised limit. When the hard
 * limit is too low, it says how to raise it, in one line.
 */
import { spawn, spawnSync } from 'node:child_process';

/** Files a process needs besides its sockets: libraries, pipes, the listener, epoll... */
export const SPARE_FILES = 512;
const RAISED = 'MQT_SOAK_FILES_RAISED';

/** The soft and hard open-file limits of this process, as the shell reports them (Infinity for unlimited). */
export function fileLimits() {
  const r = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [soft, hard] = r.stdout.trim().split('\n').map((l) => (l.trim() === 'unlimited' ? Infinity : Number(l)));
  return Number.isFinite(soft) || soft === Infinity ? { soft, hard } : undefined;
}

/**
 * Makes sure `connections` sockets fit. Returns 'ok' when they do here; 'again' with a promise
 * of the re-run's exit code when it ran itself under a raised limit; or a one-line error.
 */
export function ensureFiles(connections) {
  const needed = connections + SPARE_FILES;
  const limits = fileLimits();
  if (limits === undefined) return { error: 'cannot read the open-file limit (sh -c "ulimit -n" failed)' };
  if (limits.soft >= needed) return { ok: true };
  if (limits.hard < needed || process.env[RAISED] === '1') {
    return {
      error:
        `${connections} connections need ${needed} open files but the hard limit (ulimit -Hn) is ${limits.hard}: ` +
        `raise it (as root: ulimit -Hn ${needed}, or nofile in /etc/security/limits.conf, or LimitNOFILE= for a service) ` +
        `or run with --connections ${Math.max(100, limits.hard - SPARE_FILES)}`,
    };
  }
  const child = spawn('sh', ['-c', `ulimit -Sn ${needed} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [RAISED]: '1' },
  });
  // The re-run owns the terminal's signals too (same process group); this one only waits.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  return {
    again: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)))),
  };
}
