#!/usr/bin/env node
/**
 * npm run bench:startup [-- options]   — how long the one-shot commands take, wall time.
 *
 * Issue 15 asks `mqt pub` to a local broker to take at most 1.5 times `node -e 0` (the median of
 * each, in one run; issue 4 had asked for under 200 ms), so that shell loops of it stay cheap
 * whatever the machine. This starts
 * our broker in this process on a free loopback port, then runs each command below as a user
 * would (`node bin/mqt.js …`, a fresh process every time), round-robin so that a machine
 * slowing down in the middle of the run weighs on every command alike, and prints the median,
 * the fastest and the slowest run of each:
 *
 *   node -e 0                 the floor: Node starting and stopping with nothing to do
 *   mqt --version, --help     start-up alone; help also lays out text (string-width)
 *   mqt pub (QoS 0 and 1)     start, connect, publish, (PUBACK), disconnect, exit
 *   mqt sub -E                start, connect, subscribe, exit once subscribed
 *   mosquitto_pub             for reference, when installed
 *
 * The first start after a build compiles the CLI and writes V8's code cache (bin/mqt.js);
 * that cold start is measured once, apart, with an empty cache folder. HOME, XDG_CONFIG_HOME
 * and XDG_CACHE_HOME point at a temporary folder, so no config or cache of the user's counts.
 *
 * Options: --runs N (default 21), --json (one JSON document on stdout), --help.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBroker } from '../dist/core/broker/index.js';

/** mqt pub (QoS 0) at most this many times node -e 0, medians of one run. */
const TARGET_RATIO = 1.5;
const MQT = fileURLToPath(new URL('../bin/mqt.js', import.meta.url));
const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub';

let args;
try {
  ({ values: args } = parseArgs({
    options: { runs: { type: 'string', default: '21' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    strict: true,
  }));
} catch (err) {
  process.stderr.write(`bench:startup: ${err.message.split('\n')[0]} (try --help)\n`);
  process.exit(1);
}
if (args.help) {
  process.stdout.write('usage: npm run bench:startup [-- --runs N] [--json]\n');
  process.exit(0);
}
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`bench:startup: --runs must be a positive integer, got '${args.runs}'\n`);
  process.exit(1);
}

const home = mkdtempSync(join(tmpdir(), 'mqt-startup-'));
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), NO_COLOR: '1' };
delete env.MQT_URL;
delete env.MQT_USERNAME;
delete env.MQT_PASSWORD;

const broker = createBroker({});
const [address] = await broker.listen({ port: 0, host: '127.0.0.1' });
const port = String(address.port);

/** Wall time of one run in ms; rejects when the command fails. */
function time(argv) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${argv.slice(1).join(' ')} exited with ${code}: ${stderr.trim().split('\n')[0]}`));
    });
  });
}

const mqt = (...rest) => [process.execPath, MQT, ...rest];
const commands = [
  { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
  { name: 'mqt --version', argv: mqt('--version') },
  { name: 'mqt --help', argv: mqt('--help') },
  { name: 'mqt pub (QoS 0)', argv: mqt('pub', '-h', '127.0.0.1', '-p', port, 'bench/startup', '21.5'), target: true },
  { name: 'mqt pub -q 1', argv: mqt('pub', '-h', '127.0.0.1', '-p', port, 'bench/startup', '21.5', '-q', '1'), target: true },
  { name: 'mqt sub -E', argv: mqt('sub', '-h', '127.0.0.1', '-p', port, '-E', 'bench/#') },
];
if (existsSync(MOSQUITTO_PUB)) {
  commands.push({ name: 'mosquitto_pub', argv: [MOSQUITTO_PUB, '-h', '127.0.0.1', '-p', port, '-t', 'bench/startup', '-m', '21.5'] });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const load = loadavg();
let cold;
try {
  // The first start of this build: empty cache folder, so it compiles and writes the cache.
  cold = await time(commands[3].argv);
  for (const c of commands) await time(c.argv); // warm-up: file cache, code cache
  for (const c of commands) c.times = [];
  for (let r = 0; r < runs; r++) {
    for (const c of commands) c.times.push(await time(c.argv));
    if (process.stderr.isTTY) process.stderr.write(`\rbench:startup: round ${r + 1}/${runs}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
} catch (err) {
  process.stderr.write(`\nbench:startup: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  await broker.close();
  rmSync(home, { recursive: true, force: true });
}

if (process.exitCode !== 1) {
  const rows = commands.map((c) => ({ name: c.name, median: median(c.times), min: Math.min(...c.times), max: Math.max(...c.times), target: c.target === true }));
  const pubMedian = rows.find((r) => r.name === 'mqt pub (QoS 0)').median;
  const ratio = pubMedian / rows[0].median;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ runs, node: process.version, loadavg: load, coldPubMs: cold, targetRatio: TARGET_RATIO, pubRatio: ratio, commands: rows })}\n`);
  } else {
    const pad = Math.max(...rows.map((r) => r.name.length));
    const lines = [
      `start-up wall time, ${runs} runs each (round-robin), node ${process.version}, load average at start ${load.map((l) => l.toFixed(2)).join(' ')}`,
      '',
      `${'command'.padEnd(pad)}  median ms  min ms  max ms`,
      ...rows.map((r) => `${r.name.padEnd(pad)}  ${r.median.toFixed(0).padStart(9)}  ${r.min.toFixed(0).padStart(6)}  ${r.max.toFixed(0).padStart(6)}`),
      '',
      `first start after a build (compiles, writes the code cache): mqt pub ${cold.toFixed(0)} ms`,
      `target: mqt pub at most ${TARGET_RATIO}x node -e 0 (medians): ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'} (${pubMedian.toFixed(0)} ms, ${ratio.toFixed(2)}x, ${(pubMedian - rows[0].median).toFixed(0)} ms above node -e 0)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
