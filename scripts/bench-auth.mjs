#!/usr/bin/env node
/**
 * npm run bench:auth [-- --rounds N --connects N --parallel N]
 *
 * CONNECT-to-CONNACK time with a user name and a `$7$` password (PBKDF2-HMAC-SHA512, 101
 * rounds, as mosquitto_passwd writes it), our broker (`mqt broker --password-file`, the real
 * CLI) against mosquitto reading the same file, on loopback ports of their own.
 *
 * Per round and broker: `--connects` sequential connections (CONNECT with the password, wait
 * for CONNACK, close), whose median and p99 are the latency a client sees; then the same
 * count with `--parallel` connections in flight, whose rate is what a reconnect storm costs.
 * Rounds alternate (mosquitto, mqt, mosquitto, mqt, ...); medians over the rounds are printed
 * with the ratio. A refused CONNECT fails the run: the password must have been checked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    connects: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '50' },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
  },
});
const ROUNDS = Number(opts.rounds);
const CONNECTS = Number(opts.connects);
const PARALLEL = Number(opts.parallel);
const HOST = '127.0.0.1';
const USER = 'bench';
const PASSWORD = 'correct horse battery staple';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A 3.1.1 CONNECT with user name and password, clean session, keep-alive 60. */
function connectPacket(clientId) {
  const str = (s) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(clientId), str(USER), str(PASSWORD)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Connects, sends CONNECT, resolves with ms to CONNACK (and its return code), closes. */
function once(port, clientId) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port, noDelay: true });
    let start = 0;
    s.once('connect', () => {
      start = performance.now();
      s.write(connectPacket(clientId));
    });
    s.once('data', (d) => {
      const ms = performance.now() - start;
      s.destroy();
      if (d[0] !== 0x20 || d[3] !== 0) reject(new Error(`CONNACK refused (return code ${d[3]}) for ${clientId}`));
      else resolve(ms);
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

async function waitListening(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = connect({ host: HOST, port });
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

async function start(name, dir, passwd) {
  const port = await freePort();
  let child;
  if (name === 'mosquitto') {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} ${HOST}\nallow_anonymous false\npassword_file ${passwd}\npersistence false\nlog_dest none\n`);
    child = spawn(opts.mosquitto, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    child = spawn(process.execPath, [join(root, 'bin/mqt.js'), 'broker', '--port', String(port), '--password-file', passwd], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  await waitListening(port);
  return { name, port, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function round(broker, r) {
  const times = [];
  for (let i = 0; i < CONNECTS; i++) times.push(await once(broker.port, `s${r}-${i}`));
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < CONNECTS) await once(broker.port, `p${r}-${next++}`);
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  const rate = CONNECTS / ((performance.now() - t0) / 1000);
  return { p50: median(times), p99: pct(times, 0.99), rate };
}

const dir = mkdtempSync(join(tmpdir(), 'mqt-bench-auth-'));
try {
  const passwd = join(dir, 'passwd');
  const names = existsSync(opts.mosquitto) ? ['mosquitto', 'mqt'] : ['mqt'];
  if (existsSync('/usr/bin/mosquitto_passwd')) execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', passwd, USER, PASSWORD]);
  else execFileSync(process.execPath, [join(root, 'bin/mqt.js'), 'passwd', '-c', '-b', passwd, USER, PASSWORD]);
  // mosquitto started as root drops to its own user, which must still read the file.
  chmodSync(dir, 0o755);
  chmodSync(passwd, 0o644);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const b = await start(name, dir, passwd);
      try {
        results[name].push(await round(b, r));
      } finally {
        await b.stop();
      }
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${name}: p50 ${results[name].at(-1).p50.toFixed(3)} ms, ${Math.round(results[name].at(-1).rate)} conn/s\n`);
    }
  }
  const summary = Object.fromEntries(
    names.map((n) => [n, { p50: median(results[n].map((x) => x.p50)), p99: median(results[n].map((x) => x.p99)), rate: median(results[n].map((x) => x.rate)) }]),
  );
  console.log(`CONNECT → CONNACK with a $7$ password (101 PBKDF2 rounds), ${CONNECTS} sequential + ${CONNECTS} with ${PARALLEL} in flight, medians of ${ROUNDS} rounds`);
  console.log('broker      p50 ms   p99 ms   conn/s');
  for (const n of names) {
    const s = summary[n];
    console.log(`${n.padEnd(10)} ${s.p50.toFixed(3).padStart(7)}  ${s.p99.toFixed(3).padStart(7)}  ${Math.round(s.rate).toString().padStart(7)}`);
  }
  if (summary.mosquitto !== undefined) {
    console.log(`mqt / mosquitto: p50 ${(summary.mqt.p50 / summary.mosquitto.p50).toFixed(2)}x the time, rate ${(summary.mqt.rate / summary.mosquitto.rate).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
