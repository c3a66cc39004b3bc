/**
 * `mqt broker` under fuzz: the built CLI in a child process on a free loopback port, with a
 * password file and an ACL of its own (a temporary folder), its output kept, its RSS sampled
 * from /proc. A child process, so a crash shows as an exit and its memory is its own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssOf } from '../../dist/core/bench/procstat.js';
import { FUZZ_PASSWORD, FUZZ_USER, HONEST_USER } from './attack-kit.mjs';
import { HONEST_PASSWORD } from './honest.mjs';

const MQT = fileURLToPath(new URL('../../bin/mqt.js', import.meta.url));

/** Brokers still running: killed when this process exits, however it exits. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Each user reads and writes its own tree only: an attacker (fuzz) must never see or forge
 * the well-behaved clients' messages (honest/#).
 */
const ACL = `user ${HONEST_USER}\ntopic readwrite honest/#\n\nuser ${FUZZ_USER}\ntopic readwrite fuzz/#\n`;

/** Files for the broker: passwords hashed by `mqt passwd` itself (mosquitto's $7$ format). */
function accessFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-fuzz-'));
  const passwd = join(dir, 'passwd');
  const acl = join(dir, 'acl');
  writeFileSync(acl, ACL);
  for (const [i, [user, password]] of [[HONEST_USER, HONEST_PASSWORD], [FUZZ_USER, FUZZ_PASSWORD]].entries()) {
    const r = spawnSync(process.execPath, [MQT, 'passwd', ...(i === 0 ? ['-c'] : []), '-b', passwd, user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mqt passwd failed: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return { dir, passwd, acl };
}

/**
 * Starts the broker; resolves once it printed its port. `flags` are the broker flags beyond
 * the port, the password file and the ACL.
 */
export async function startBroker(flags = []) {
  const files = accessFiles();
  const args = [MQT, 'broker', '-p', '0', '--password-file', files.passwd, '--acl-file', files.acl, ...flags];
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const broker = { child, args: args.slice(1), stdout: '', stderr: '', exit: undefined, samples: [], files };
  broker.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      broker.exit = { code, signal };
      resolve(broker.exit);
    }),
  );
  child.stdout.on('data', (d) => (broker.stdout += d));
  child.stderr.on('data', (d) => (broker.stderr += d));
  broker.port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker printed no port within 15 s: ${broker.stdout}${broker.stderr}`)), 15_000);
    const look = () => {
      const m = /listening on mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(broker.stdout);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    broker.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the broker exited (${JSON.stringify(broker.exit)}) before listening: ${broker.stderr.trim()}`));
    });
  });
  return broker;
}

/** Samples the broker's RSS every `everyMs`; returns the function that stops sampling. */
export function sampleRss(broker, everyMs = 250) {
  const take = () => {
    const rss = rssOf(broker.child.pid);
    if (rss !== undefined) broker.samples.push({ at: Date.now(), rss });
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
  };
}

export function rssSummary(broker) {
  const s = broker.samples;
  if (s.length === 0) return { startMB: NaN, peakMB: NaN, endMB: NaN, samples: 0 };
  const mb = (b) => Math.round((b / 1024 / 1024) * 10) / 10;
  return { startMB: mb(s[0].rss), peakMB: mb(Math.max(...s.map((x) => x.rss))), endMB: mb(s[s.length - 1].rss), samples: s.length };
}

/** The broker's log lines at level error (an exception it did not expect) and warning. */
export function brokerLog(broker) {
  const lines = `${broker.stdout}\n${broker.stderr}`.split('\n');
  return {
    errors: lines.filter((l) => l.includes('mqt broker: error:')),
    warnings: lines.filter((l) => l.includes('mqt broker: warning:')),
  };
}

/** SIGTERM, then SIGKILL if it has not gone in 10 s; removes the temporary files. */
export async function stopBroker(broker) {
  if (broker.exit === undefined) {
    broker.child.kill('SIGTERM');
    const timer = setTimeout(() => broker.child.kill('SIGKILL'), 10_000);
    await broker.exited;
    clearTimeout(timer);
  }
  rmSync(broker.files.dir, { recursive: true, force: true });
  return broker.exit;
}
