/**
 * `mqt broker --workers N` without `--cluster`: the workers still need one place to share
 * routing, sessions and retained messages, so the primary starts a redis-server of its own
 * for them, on a free loopback port, keeping nothing on disk (like a broker without
 * --persistence), and stops it when they have stopped. Why Redis rather than the primary as a
 * hub: the workers then run exactly the code of nodes on several machines, which is tested
 * against a real Redis; the primary stays a supervisor that can never lose a message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CliError } from './errors.js';

/** Where the workers find it (set by the primary for its workers). */
export const PRIVATE_REDIS_ENV = 'MQT_WORKERS_REDIS';

export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** redis-server on PATH (or MQT_REDIS_SERVER), or undefined. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.MQT_REDIS_SERVER !== undefined ? [env.MQT_REDIS_SERVER] : [...(env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'redis-server')), '/usr/bin/redis-server', '/usr/sbin/redis-server'];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts it, or a one-line error saying what to install or give instead. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = findRedisServer();
  if (binary === undefined) {
    throw new CliError('--workers shares state between the workers through Redis: install redis-server (Debian: apt-get install redis-server) or give --cluster redis://HOST:PORT', { command: 'broker' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'mqt-workers-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', '--loglevel', 'warning'], { stdio: 'ignore' });
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      if (await answers(port)) {
        // A primary that dies without its finally still takes its Redis with it.
        const kill = (): void => {
          child.kill('SIGKILL');
        };
        process.once('exit', kill);
        return {
          url: `redis://127.0.0.1:${port}`,
          async stop() {
            process.off('exit', kill);
            if (child.exitCode === null) {
              child.kill('SIGTERM');
              await new Promise((r) => child.once('exit', r));
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
  throw new CliError(`--workers: the workers' own redis-server (${binary}) did not start; give --cluster redis://HOST:PORT instead`, { command: 'broker' });
}
