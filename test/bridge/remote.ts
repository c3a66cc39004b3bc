/**
 * mosquitto as a bridge's remote, for the bridge tests: unlike helpers/mosquitto.ts it keeps its
 * directory across stop() and start() on the same port, so a test can take the remote away and
 * bring it back (with persistence true, its sessions survive a graceful stop), and it can hold a
 * password file.
 */
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { peers, runPeer, spawnPeer, type PeerProcess } from '../helpers/peers.js';
import { canConnect } from '../helpers/mosquitto.js';
import { startedRemotes } from './started.js';

export interface Remote {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Everything it logged over all its runs. */
  log(): string;
  /** Resolves once `clientId` has subscribed to `filter` (log_type subscribe). */
  subscribed(clientId: string, filter: string, timeoutMs?: number): Promise<void>;
  start(): Promise<void>;
  /** Graceful (SIGTERM: mosquitto writes its persistence file) or a kill. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export interface RemoteOptions {
  port?: number;
  /** mosquitto.conf lines after the listener; `{dir}` stands for its directory. */
  config?: readonly string[];
  /** Files copied into its directory first (name → source), readable by the mosquitto user. */
  copy?: Record<string, string>;
  /** Users for a password file (allow_anonymous false then). */
  users?: Record<string, string>;
  persistence?: boolean;
  /** Do not start yet. */
  stopped?: boolean;
}

export async function remoteMosquitto(options: RemoteOptions = {}): Promise<Remote> {
  const bin = peers().mosquitto!;
  const dir = await mkdtemp(join(tmpdir(), 'mqt-bridge-remote-'));
  // Started as root, mosquitto drops to its own user: it must read the password file and write persistence here.
  await chmod(dir, 0o777);
  const port = options.port ?? (await freePort());
  const lines = [`listener ${port} 127.0.0.1`, 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'log_type subscribe'];
  if (options.users !== undefined) {
    const file = join(dir, 'passwd');
    let first = true;
    for (const [user, password] of Object.entries(options.users)) {
      const r = await runPeer('mosquitto_passwd', first ? ['-b', '-c', file, user, password] : ['-b', file, user, password]);
      if (r.code !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
      first = false;
    }
    await chmod(file, 0o644);
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else lines.push('allow_anonymous true');
  lines.push(options.persistence ? `persistence true\npersistence_location ${dir}/` : 'persistence false');
  for (const [name, source] of Object.entries(options.copy ?? {})) {
    await copyFile(source, join(dir, name));
    await chmod(join(dir, name), 0o644);
  }
  lines.push(...(options.config ?? []).map((l) => l.replaceAll('{dir}', dir)), '');
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, lines.join('\n'));
  let proc: PeerProcess | undefined;
  let past = '';
  const remote: Remote = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log: () => past + (proc?.stderr() ?? ''),
    async subscribed(clientId, filter, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!remote.log().split('\n').some((l) => l.includes(` ${clientId} `) && l.endsWith(` ${filter}`))) {
        if (Date.now() > deadline) throw new Error(`${clientId} did not subscribe to ${filter} at mosquitto within ${timeoutMs} ms:\n${remote.log()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async start() {
      if (proc !== undefined) return;
      const p = spawnPeer(bin, ['-c', conf]);
      proc = p;
      const deadline = Date.now() + 5000;
      for (;;) {
        if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`mosquitto exited before accepting connections:\n${p.stderr()}`);
        if (await canConnect(port)) return;
        if (Date.now() > deadline) throw new Error(`mosquitto did not accept connections on ${port} within 5 s:\n${p.stderr()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop(signal = 'SIGTERM') {
      const p = proc;
      if (p === undefined) return;
      proc = undefined;
      p.child.kill(signal);
      try {
        await p.waitForExit(3000);
      } catch {
        await p.kill('SIGKILL');
      }
      past += p.stderr();
    },
    async dispose() {
      startedRemotes.delete(remote);
      await remote.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  startedRemotes.add(remote);
  if (!options.stopped) await remote.start();
  return remote;
}
