#!/usr/bin/env node
/**
 * npm run bench:auth [-- --rounds N --connects N --parallel N --warmup N --unpinned]
 *
 * CONNECT-to-CONNACK time with a user name and a `$7$` password (PBKDF2-HMAC-SHA512, 101
 * rounds, as mosquitto_passwd writes it), our broker (`mqt broker --password-file`, the real
 * CLI) against mosquitto reading the same file, on loopback ports of their own.
 *
 * Two cases, because mqt remembers a keyed tag of a password that verified (password-file.ts)
 * and mosquitto does not:
 *   first login  every CONNECT is a user this broker process has not seen: both run the full
 *                101 rounds of PBKDF2 each time;
 *   reconnect    one user connecting again and again with its password, as devices do after a
 *                network blip: mosquitto runs PBKDF2 every time, mqt once.
 * Per round, broker and case: `--connects` sequential connections (CONNECT with the password,
 * wait for CONNACK, close), whose median and p99 are the latency a client sees; then the same
 * count with `--parallel` connections in flight, whose rate is what a reconnect storm costs.
 * Both brokers read one file written by mosquitto_passwd. Rounds alternate (mosquitto, mqt,
 * mosquitto, mqt, ...) with fresh processes; medians over the rounds are printed with the
 * ratios. Each broker first gets `--warmup` unmeasured connections, alternately a user it has
 * not seen (w<i>, full PBKDF2) and one it has (`warmup`), so both paths are warm: a fresh Node
 * process runs its first two thousand or so CONNECTs up to twice as slow while V8 compiles the
 * connection path, which is start-up cost, not the steady state a client meets.
 * Each broker runs on CPU 0 and this script, the clients, on CPU 1 (taskset), when the machine
 * has two CPUs or more: left to the scheduler, the load generator and the broker share a core
 * now and then, which on a 2-CPU machine moves a median by 50% from one run to the next and
 * punishes a broker with helper threads more than a single-threaded one. `--unpinned` leaves
 * placement to the scheduler.
 * A refused CONNECT fails the run: the password must have been checked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onCpu0, pinToCpu1 } from './lib/pin.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    connects: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3000' },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
    unpinned: { type: 'boolean', default: false },
  },
});
const PIN = await pinToCpu1(import.meta.url, 'MQT_BENCH_AUTH_CLIENT_CPU', opts.unpinned);
const ROUNDS = Number(opts.rounds);
const CONNECTS = Number(opts.connects);
const PARALLEL = Number(opts.parallel);
const WARMUP = Number(opts.warmup);
const HOST = '127.0.0.1';
const USER = 'bench';
const CASES = ['first login', 'reconnect'];
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
function connectPacket(clientId, user) {
  const str = (s) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(clientId), str(user), str(PASSWORD)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Connects, sends CONNECT, resolves with ms to CONNACK (and its return code), closes. */
function once(port, clientId, user) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port, noDelay: true });
    let start = 0;
    s.once('connect', () => {
      start = performance.now();
      s.write(connectPacket(clientId, user));
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

function spawnBroker(file, args) {
  const [f, a] = onCpu0(PIN, file, args);
  return spawn(f, a, { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function start(name, dir, passwd) {
  const port = await freePort();
  let child;
  if (name === 'mosquitto') {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} ${HOST}\nallow_anonymous false\npassword_file ${passwd}\npersistence false\nlog_dest none\n`);
    child = spawnBroker(opts.mosquitto, ['-c', conf]);
  } else {
    child = spawnBroker(process.execPath, [join(root, 'bin/mqt.js'), 'broker', '--port', String(port), '--password-file', passwd]);
  }
  await waitListening(port);
  return { name, port, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** One case on one broker: sequential latency, then the rate with PARALLEL in flight. */
async function measure(broker, r, kase) {
  // first login: s<i> users for the sequential run, p<i> for the parallel one, none seen before.
  const user = (prefix, i) => (kase === 'reconnect' ? USER : `${prefix}${i}`);
  const times = [];
  for (let i = 0; i < CONNECTS; i++) times.push(await once(broker.port, `s${r}-${i}`, user('s', i)));
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < CONNECTS) {
      const i = next++;
      await once(broker.port, `p${r}-${i}`, user('p', i));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  const rate = CONNECTS / ((performance.now() - t0) / 1000);
  return { p50: median(times), p99: pct(times, 0.99), rate };
}

/** A password file with USER and every first-login user, all with PASSWORD, hashed by mosquitto_passwd when there is one. */
function writePasswords(file) {
  const users = [USER, 'warmup'];
  for (let i = 0; i < CONNECTS; i++) users.push(`s${i}`, `p${i}`);
  for (let i = 0; i < WARMUP; i += 2) users.push(`w${i}`);
  writeFileSync(file, users.map((u) => `${u}:${PASSWORD}\n`).join(''));
  if (existsSync('/usr/bin/mosquitto_passwd')) execFileSync('/usr/bin/mosquitto_passwd', ['-U', file]);
  else execFileSync(process.execPath, [join(root, 'bin/mqt.js'), 'passwd', '-U', file]);
}

const dir = mkdtempSync(join(tmpdir(), 'mqt-bench-auth-'));
try {
  const passwd = join(dir, 'passwd');
  const names = existsSync(opts.mosquitto) ? ['mosquitto', 'mqt'] : ['mqt'];
  writePasswords(passwd);
  // mosquitto started as root drops to its own user, which must still read the file.
  chmodSync(dir, 0o755);
  chmodSync(passwd, 0o644);
  const results = Object.fromEntries(names.map((n) => [n, Object.fromEntries(CASES.map((c) => [c, []]))]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const b = await start(name, dir, passwd);
      try {
        for (let i = 0; i < WARMUP; i++) await once(b.port, `w${r}-${i}`, i % 2 === 0 ? `w${i}` : 'warmup');
        for (const kase of CASES) {
          const m = await measure(b, r, kase);
          results[name][kase].push(m);
          process.stderr.write(`round ${r + 1}/${ROUNDS} ${name} ${kase}: p50 ${m.p50.toFixed(3)} ms, ${Math.round(m.rate)} conn/s\n`);
        }
      } finally {
        await b.stop();
      }
    }
  }
  const summary = (n, c) => {
    const xs = results[n][c];
    return { p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), rate: median(xs.map((x) => x.rate)) };
  };
  console.log(`CONNECT → CONNACK with a $7$ password (101 PBKDF2 rounds), ${CONNECTS} sequential + ${CONNECTS} with ${PARALLEL} in flight after ${WARMUP} to warm up, medians of ${ROUNDS} rounds, ${PIN ? 'broker on CPU 0, clients on CPU 1' : 'unpinned'}`);
  console.log('case         broker      p50 ms   p99 ms   conn/s');
  for (const c of CASES) {
    for (const n of names) {
      const s = summary(n, c);
      console.log(`${c.padEnd(12)} ${n.padEnd(10)} ${s.p50.toFixed(3).padStart(7)}  ${s.p99.toFixed(3).padStart(7)}  ${Math.round(s.rate).toString().padStart(7)}`);
    }
  }
  if (names.includes('mosquitto')) {
    for (const c of CASES) {
      const a = summary('mqt', c);
      const m = summary('mosquitto', c);
      console.log(`${c}: mqt / mosquitto p50 ${(a.p50 / m.p50).toFixed(2)}x the time, p99 ${(a.p99 / m.p99).toFixed(2)}x, rate ${(a.rate / m.rate).toFixed(2)}x`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
