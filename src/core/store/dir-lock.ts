/**
 * One broker per store directory. LMDB itself lets several processes share a file, which for
 * two brokers would mean two owners of the same sessions; the lock file holds the owner's pid.
 * A lock left by a process that is gone (kill -9, a power cut) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'mqt.lock';

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return !zombie(pid);
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A process killed with -9 whose parent has not reaped it yet still answers kill(pid, 0); on
 * Linux its state in /proc says it is gone (Z, or X while it is torn down).
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

export interface DirLock {
  release(): void;
}

/** Takes the directory's lock, or throws a one-line error naming the process that holds it. */
export function lockDir(dir: string): DirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot lock the store directory ${dir}: ${(err as Error).message}`);
      let pid = NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // gone meanwhile, or unreadable: try again below
      }
      if (alive(pid)) throw new Error(`the store directory ${dir} is in use by another broker (pid ${pid}); stop it, or give this broker another directory`);
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return {
      release(): void {
        try {
          if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
  throw new Error(`cannot lock the store directory ${dir}: another process keeps taking ${LOCK_FILE}`);
}
