#!/usr/bin/env node
/**
 * npm run fuzz:broker [-- options]   — the broker under attack while well-behaved clients talk.
 *
 * `mqt broker` from dist/ in a child process (a password file and an ACL of its own, every
 * limit at its default: the out-of-the-box broker, 256 MB maximum packet size included),
 * and against it, at once:
 *   attack workers   each runs episodes of a kind drawn by the seed, again and again: a valid
 *                    CONNECT (3.1, 3.1.1, 5.0) then garbage or mutated packets, acknowledgements
 *                    for unknown ids, PUBREL before PUBREC, SUBSCRIBE with invalid filters and
 *                    options, remaining lengths up to 256 MB trickled or abandoned, byte-by-byte
 *                    CONNECTs, silent connections, 5,000 subscriptions per client, packets
 *                    before CONNECT, a second CONNECT, topics at the length limit, PINGREQ
 *                    floods that never read, ACL probes, wrong passwords, and resuming a
 *                    persistent session of the well-behaved user
 *                    (scripts/fuzz-broker/attacks.mjs)
 *   well-behaved     3 publishers (3.1, 3.1.1, 5.0) sending numbered QoS 0/1/2 messages, 3
 *                    subscribers (QoS 2, QoS 2, QoS 1) reading them (fuzz-broker/honest.mjs)
 * It fails (exit 1) when an acknowledged QoS 1 message is lost, a QoS 2 one lost or doubled,
 * any is out of order, a well-behaved client is disconnected, the broker exits or logs an
 * unexpected error, a protocol error is not answered as the spec says, an attacker gets in
 * or reads what it may not, a fresh client is not served at the end, or the broker's RSS
 * (sampled every 250 ms from /proc) peaks over --max-rss-mb.
 *
 * The 300 MB bound: the idle broker holds ~47 MB; each attacker connection can make it hold
 * at most 1 MiB of output (maxClientBuffer, then the broker stops reading it), what it
 * trickled of a partial packet (≤ 512 KiB here) and its subscriptions (5,000 ≈ 2 MB), so
 * 24 workers stay well under 150 MB; a buffer without a bound (one PINGREQ flood used to add
 * 230 MB in 8 s) crosses it within seconds.
 *
 * Options:
 *   --seconds N     how long the attacks go on (default 120)
 *   --seed S        what the attackers send (default: random, printed; rerun with it)
 *   --attackers N   attack workers at once (default 24)
 *   --rate N        messages a second per publisher and QoS (default 40)
 *   --window N      QoS 1/2 messages in flight per publisher and QoS (default 20)
 *   --max-rss-mb N  the broker's RSS bound (default 300)
 *   --only a,b      only these attack kinds (to find which one a failure comes from)
 *   --json          the summary as one JSON document on stdout; progress on stderr
 * A bad option is one line on stderr and exit 2. Linux only (/proc). Needs `npm run build`
 * first (npm run fuzz:broker does it). scripts/fuzz-broker/ holds the parts; the bounded run
 * in `npm test` is test/fuzz/broker/broker-fuzz.test.ts (this script, 20 s, a fixed seed).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DIST = fileURLToPath(new URL('../dist/core/codec/index.js', import.meta.url));

function fail(message) {
  process.stderr.write(`fuzz:broker: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      seconds: { type: 'string', default: '120' },
      seed: { type: 'string' },
      attackers: { type: 'string', default: '24' },
      rate: { type: 'string', default: '40' },
      window: { type: 'string', default: '20' },
      'max-rss-mb': { type: 'string', default: '300' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail(`${err.message.split('\n')[0]} (try --help)`);
}
if (args.help) {
  process.stdout.write('usage: npm run fuzz:broker [-- --seconds N] [--seed S] [--attackers N] [--rate N] [--window N] [--max-rss-mb N] [--only KINDS] [--json]\n');
  process.exit(0);
}

function whole(name, min, max) {
  const text = args[name];
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}

const options = {
  seconds: whole('seconds', 1, 86_400),
  seed: args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : args.seed.trim() === '' ? fail('--seed needs a value') : /^\d+$/.test(args.seed) ? Number(args.seed) : args.seed,
  attackers: whole('attackers', 1, 1000),
  rate: whole('rate', 1, 10_000),
  window: whole('window', 1, 1000),
  maxRssMb: whole('max-rss-mb', 1, 1_000_000),
  brokerFlags: [],
  only: args.only === undefined ? undefined : args.only.split(',').map((k) => k.trim()),
};
if (!existsSync(DIST)) fail('dist/ is missing: run `npm run build` first');
if (process.platform !== 'linux') fail('reads the broker\'s memory from /proc: Linux only');

// Ctrl-C or a kill: exit, so the broker child goes too (broker-process.mjs kills it on exit).
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

const { runFuzz } = await import('./fuzz-broker/run.mjs');
const { ATTACKS } = await import('./fuzz-broker/attacks.mjs');
for (const k of options.only ?? []) if (!(k in ATTACKS)) fail(`--only takes attack kinds (${Object.keys(ATTACKS).join(', ')}), got '${k}'`);
const out = args.json ? process.stderr : process.stdout;
const line = (text) => out.write(`${text}\n`);
line(`fuzz:broker: seed ${options.seed}, ${options.seconds} s, ${options.attackers} attack workers (rerun: --seed ${options.seed})`);

let summary;
try {
  summary = await runFuzz(options, line);
} catch (err) {
  fail(`the run could not start: ${err.message}`);
}

if (args.json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  const q = summary.perQos.map((r) => `  QoS ${r.qos}: sent ${r.sent}, acknowledged ${r.acked}, expected at subscribers ${r.expected}, received ${r.received}, lost ${r.lost}, duplicates ${r.dup}, out of order ${r.outOfOrder}`);
  line('');
  line(`attacks: ${summary.attackTotal} episodes over ${summary.notes['attacker connections'] ?? 0} connections`);
  line(`  ${Object.entries(summary.attacks).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  line(`  ${Object.entries(summary.notes).filter(([k]) => k !== 'attacker connections').map(([k, n]) => `${k} ${n}`).join(', ')}`);
  line('well-behaved traffic:');
  for (const l of q) line(l);
  line(`broker RSS: start ${summary.rss.startMB} MB, peak ${summary.rss.peakMB} MB, end ${summary.rss.endMB} MB (bound ${summary.rss.boundMB} MB, ${summary.rss.samples} samples)`);
  line(`broker: ${summary.broker.aliveAtEnd ? 'up to the end' : 'DIED'}, fresh client ${summary.broker.freshClient ? 'served' : 'NOT served'}, exit ${JSON.stringify(summary.broker.exit)}, ${summary.brokerWarnings.count} warning line(s)`);
  for (const w of summary.brokerWarnings.first) line(`  ${w}`);
  if (summary.ok) line('fuzz:broker: passed');
  else {
    line(`fuzz:broker: FAILED (${summary.failures.length})`);
    for (const f of summary.failures.slice(0, 40)) line(`  - ${f}`);
  }
}
process.exit(summary.ok ? 0 : 1);
