/**
 * What the broker benchmark prints: per scenario the median of each contender's rounds, the
 * ratios (mqt / mosquitto, and mqt / mqt-base with --baseline), latency, loss and CPU, as one
 * aligned table on stdout, with the connection storm's notes below it (RSS, dropped SYNs, CPU
 * per connection, the node floor); or all of it as one JSON document.
 */
import { median as engineMedian } from '../../dist/core/bench/compare.js';
import { formatCount, formatMs } from '../../dist/core/bench/report.js';

/** Column names of the contenders, kept short. */
const SHORT = { mosquitto: 'mosq', 'mqt-base': 'base', mqt: 'mqt', 'mqt-durable': 'dur' };
const short = (name) => SHORT[name] ?? name;

const finite = (values) => values.filter((x) => x !== undefined && Number.isFinite(x));
const median = (values) => engineMedian(finite(values));
const rate = (x) => (Number.isFinite(x) ? formatCount(x) : '—');
const ms = (x) => (Number.isFinite(x) ? formatMs(x) : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);

/** One contender's rounds of one scenario, reduced to medians and totals. */
export function summarizeRuns(runs, crashedBetweenRuns, storm) {
  // A run that failed (broker gone, connections dropped) says nothing about speed.
  const ok = runs.filter((r) => r.error === undefined);
  return {
    rate: median(ok.map((r) => r.rate)),
    p50: median(ok.map((r) => r.p50)),
    p99: median(ok.map((r) => r.p99)),
    lost: runs.reduce((s, r) => s + r.lost, 0),
    duplicates: runs.reduce((s, r) => s + r.duplicates, 0),
    expected: runs.reduce((s, r) => s + r.expected, 0),
    rss: median(runs.map((r) => r.rss)),
    rssGrowth: median(runs.map((r) => (r.rss === undefined || r.rssBefore === undefined ? Number.NaN : r.rss - r.rssBefore))),
    listenOverflows: runs.reduce((n, r) => n + (r.listenOverflows ?? 0), 0),
    roundsWithOverflows: runs.filter((r) => r.listenOverflows > 0).length,
    brokerCpu: median(runs.map((r) => r.brokerCpu)),
    // Broker CPU (user + system) per CONNACK, in µs: what each connection costs it.
    cpuPerConnectionUs: storm ? median(runs.map((r) => (r.brokerCpuSeconds === undefined || !(r.received > 0) ? Number.NaN : (r.brokerCpuSeconds * 1e6) / r.received))) : undefined,
    generatorCpu: median(runs.map((r) => r.generatorCpu)),
    errors: [...runs.map((r) => r.error).filter((e) => e !== undefined), ...crashedBetweenRuns],
    runs,
  };
}

/** The ratios of a scenario's summary: mqt against mosquitto and against the baseline. */
export function addRatios(summary) {
  if (summary.mosquitto !== undefined && summary.mqt !== undefined) summary.ratio = ratio(summary.mqt.rate, summary.mosquitto.rate);
  if (summary['mqt-base'] !== undefined && summary.mqt !== undefined) summary.vsBase = ratio(summary.mqt.rate, summary['mqt-base'].rate);
  return summary;
}

/** Durable scenarios: our broker on a store against mosquitto in memory, and against itself in memory. */
export function addDurableRatios(summary) {
  const d = summary['mqt-durable'];
  if (d === undefined) return summary;
  if (summary.mosquitto !== undefined) summary.durableRatio = ratio(d.rate, summary.mosquitto.rate);
  if (summary.mqt !== undefined) summary.durableVsMemory = ratio(d.rate, summary.mqt.rate);
  return summary;
}

/** The durable scenarios' table: mosquitto and mqt in memory, mqt on its store, and the ratios. */
export function renderDurable(results, names) {
  const all = [...names, 'mqt-durable'];
  const times = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
  const header = ['durable scenario', 'unit', ...all, ...(names.includes('mosquitto') ? ['durable/mosq'] : []), 'durable/mqt', ...all.map((n) => `${short(n)} p50/p99 ms`), `lost ${all.map(short).join('/')}`];
  const rows = results.map((s) => [
    s.name,
    s.unit,
    ...all.map((n) => rate(s[n].rate)),
    ...(names.includes('mosquitto') ? [times(s.durableRatio)] : []),
    times(s.durableVsMemory),
    ...all.map((n) => `${ms(s[n].p50)} / ${ms(s[n].p99)}`),
    all.map((n) => `${s[n].lost}${s[n].duplicates > 0 ? ` +${s[n].duplicates} dup` : ''}${s[n].errors.length > 0 ? ' ERR' : ''}`).join(' / '),
  ]);
  const out = [
    '',
    table(header, rows),
    'durable = our broker with an LMDB store (as --persistence): a QoS 1/2 message is acknowledged only once it is on disk (fsync); mosquitto runs with persistence false, its state in memory only.',
  ];
  for (const s of results) for (const n of all) for (const e of s[n].errors) out.push(`error: ${s.id} on ${n}: ${e}`);
  return `${out.join('\n')}\n`;
}

/** QoS 1/2 and the connection storm must be exact; any error or duplicate is a failure too. */
export function failed(results, brokerNames) {
  const exact = (s) => s.id !== 'qos0' && s.id !== 'many-to-one' && s.id !== 'fan-out';
  // A scenario without a contender (the baseline sits out the durable ones) has nothing to judge.
  brokerNames = brokerNames.filter((b) => results.every((s) => s[b] !== undefined));
  return results.some((s) => brokerNames.some((b) => s[b].errors.length > 0 || s[b].duplicates > 0 || (exact(s) && s[b].lost > 0)));
}

/** Plain aligned columns: first column left, the rest right. */
export function table(header, rows) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The text report. `names`: the brokers in round order (mosquitto, mqt-base, mqt); `floor`: the
 * node floor's name when it ran; `heading`: the lines above the table.
 */
export function renderText(results, { names, floor, heading, stormClients, rounds, qos0Window, baselineNote }) {
  const withMosq = names.includes('mosquitto');
  const withBase = names.includes('mqt-base');
  const shorts = names.map(short);
  const header = [
    'scenario',
    'unit',
    ...(names.length > 1 ? names : []),
    ...(withMosq ? ['ratio'] : []),
    ...(withBase ? ['new/base'] : []),
    ...(names.length > 1 ? [] : ['mqt']),
    ...names.map((n) => `${short(n)} p50/p99 ms`),
    names.length > 1 ? `lost ${shorts.join('/')}` : 'lost',
    `cpu% ${shorts.join('/')}/gen`,
  ];
  const lat = (x) => `${ms(x.p50)} / ${ms(x.p99)}`;
  const lost = (x) => `${x.lost}${x.duplicates > 0 ? ` +${x.duplicates} dup` : ''}${x.errors.length > 0 ? ' ERR' : ''}`;
  const pct = (x) => (Number.isFinite(x) ? String(Math.round(x)) : '?');
  const times = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
  const rows = results.map((s) => [
    s.name,
    s.unit,
    ...(names.length > 1 ? names.map((n) => rate(s[n].rate)) : []),
    ...(withMosq ? [times(s.ratio)] : []),
    ...(withBase ? [times(s.vsBase)] : []),
    ...(names.length > 1 ? [] : [rate(s.mqt.rate)]),
    ...names.map((n) => lat(s[n])),
    names.map((n) => lost(s[n])).join(' / '),
    // The generator's share is that of the mqt runs: near 100, the number is the generator's limit.
    [...names.map((n) => pct(s[n].brokerCpu)), pct(s.mqt.generatorCpu)].join('/'),
  ]);
  const out = [...heading, '', table(header, rows)];
  const storm = results.find((s) => s.id === 'connect');
  if (storm !== undefined) {
    const mb = (x) => (Number.isFinite(x) ? `${(x / 2 ** 20).toFixed(1)} MB` : '—');
    const rss = (x) => `${mb(x.rss)} (${x.rssGrowth < 0 ? '-' : '+'}${mb(Math.abs(x.rssGrowth))} over the run)`;
    out.push('', `broker RSS holding ${formatCount(stormClients)} connections: ${[...names, ...(floor !== undefined ? [floor] : [])].map((n) => `${n} ${rss(storm[n])}`).join(', ')}`);
    const overflows = names.map((n) => `${n} ${storm[n].listenOverflows} (in ${storm[n].roundsWithOverflows} of ${rounds} rounds)`).join(', ');
    out.push(`SYNs dropped on a full listen queue (each costs the client a 1 s retry), all rounds: ${overflows}`);
    if (names.some((n) => storm[n].roundsWithOverflows > 0)) {
      out.push("  a round with dropped SYNs measures the kernel's retry, not the broker: compare the rounds without (stderr) and the CPU per connection below.");
    }
    const us = (x) => (Number.isFinite(x) ? `${Math.round(x)} µs` : '—');
    out.push(`broker CPU per connection (median, user + system): ${[...names, ...(floor !== undefined ? [floor] : [])].map((n) => `${n} ${us(storm[n].cpuPerConnectionUs)}`).join(', ')}`);
    if (floor !== undefined) {
      const f = storm[floor];
      out.push(
        `node floor = a bare node:net server answering CONNECT with CONNACK, nothing else: ${rate(f.rate)} conn/s, p50/p99 ${ms(f.p50)} / ${ms(f.p99)} ms, cpu ${pct(f.brokerCpu)}%; ` +
          'what any broker on node:net spends per connection at the least.',
      );
    }
  }
  out.push(
    `lost = messages (or CONNACKs) not received, summed over all rounds; at most ${qos0Window} QoS 0 messages are on their way to each subscriber (shared by its publishers).`,
    'cpu% = share of one core used over a run by the broker, and by the load generator (the bench engine) during the mqt runs (near 100: the generator is the limit).',
  );
  if (baselineNote !== undefined) out.push(baselineNote);
  for (const s of results) for (const n of names) for (const e of s[n].errors) out.push(`error: ${s.id} on ${n}: ${e}`);
  return `${out.join('\n')}\n`;
}

/** One stderr line per run. */
export function runLine(scenario, round, rounds, name, r) {
  const mb = (x) => `${(x / 2 ** 20).toFixed(1)} MB`;
  const pct = (x) => (x === undefined ? '?' : Math.round(x));
  return (
    `${scenario.id.padEnd(11)} round ${round + 1}/${rounds} ${name.padEnd(10)} ${rate(r.rate).padStart(11)} ${scenario.unit}` +
    `  p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms  received ${r.received}/${r.expected}` +
    (r.duplicates > 0 ? `  DUPLICATES ${r.duplicates}` : '') +
    (r.outOfOrder > 0 ? `  out-of-order ${r.outOfOrder}` : '') +
    (r.brokerDropped > 0 ? `  broker dropped ${r.brokerDropped} ${JSON.stringify(r.brokerDrops)}` : '') +
    (r.brokerLeft !== undefined && (r.brokerLeft.connections > 0 || r.brokerLeft.sessions > 0)
      ? `  broker still holds ${r.brokerLeft.connections} connections, ${r.brokerLeft.sessions} sessions`
      : '') +
    (r.rss !== undefined ? `  rss ${mb(r.rss)}` : '') +
    (r.listenOverflows > 0 ? `  listen-queue overflows ${r.listenOverflows}` : '') +
    `  cpu broker ${pct(r.brokerCpu)}% generator ${pct(r.generatorCpu)}%` +
    (r.error !== undefined ? `  ERROR ${r.error}` : '')
  );
}
