/** The soak's text: one block per sample, and the summary at the end. */
const MB = 1024 * 1024;

export const mb = (bytes) => (bytes === undefined ? '?' : `${(bytes / MB).toFixed(1)} MB`);
const ms = (v) => (v === undefined ? '?' : `${v.toFixed(1)} ms`);
const n = (v) => (v === null || v === undefined ? '-' : String(v));

function clock(seconds) {
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function pad(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

export function qosTable(rows, lostLabel) {
  const widths = [5, 9, 9, 10, 11, 7, 6];
  const lines = [pad(['qos', 'sent', 'acked', 'received', 'deliveries', lostLabel, 'dup'], widths)];
  for (const r of rows) lines.push(pad([r.qos, r.sent, n(r.acked), r.received, r.deliveries, n(r.lost), r.dup], widths));
  return lines.map((l) => `  ${l}`);
}

/** One sample's block (a few lines). */
export function sampleBlock(s) {
  const b = s.broker;
  const st = s.stats;
  const lines = [
    `soak ${clock(s.t)} ${s.phase}: ${s.online}/${s.connections} online (broker: ${n(b?.connections)} connections, ${n(b?.sessions)} sessions), ` +
      `reconnects ${st.reconnectsOk} ok of ${st.reconnectAttempts}, drops ${st.drops.abrupt} abrupt + ${st.drops.clean} clean`,
    ...qosTable(s.qos, 'lost*'),
    `  wills ${s.wills.arrived} arrived of ${s.wills.expected} owed, ${s.wills.missing} missing, ${s.wills.unexpected} unexpected; ` +
      `retained ${s.retained.checked} checked, ${s.retained.stale} stale, ${s.retained.missing} missing`,
    `  broker rss ${mb(b?.rss)}, heap ${mb(b?.heapUsed)} used of ${mb(b?.heapTotal)}, event loop p99 ${ms(b?.loopP99Ms)} (max ${ms(b?.loopMaxMs)}); ` +
      `load rss ${mb(s.load.rss)}, loop p99 ${ms(s.load.loopP99Ms)}`,
  ];
  return lines.join('\n');
}

export function summary(result) {
  const f = result.final;
  const r = result.rss;
  const st = f.stats;
  const lines = [
    '',
    `soak summary: ${result.options.connections} connections, ${result.options.minutes} min of load, seed ${result.options.seed}, ${result.durationS.toFixed(0)} s in all`,
    ...qosTable(f.qos, 'lost'),
    `  wills: ${f.wills.arrived} arrived of ${f.wills.expected} owed, ${f.wills.missing} missing, ${f.wills.unexpected} unexpected`,
    `  retained: ${f.retained.checked} checked on subscribe, ${f.retained.stale} stale, ${f.retained.missing} missing`,
    `  reconnects: ${st.reconnectsOk} ok of ${st.reconnectAttempts} attempted (${st.reconnectsFailed} failed); drops ${st.drops.abrupt} abrupt, ${st.drops.clean} clean; ` +
      `closed by the broker ${st.brokerClosed}; sessions lost ${st.sessionsLost}; all online after the drain: ${f.allOnline ? 'yes' : 'no'}`,
    `  broker rss: start ${mb(r.start)}, peak ${mb(r.peak)}, end ${mb(r.end)}; ` +
      (r.levelOff.judged
        ? `last third max ${mb(r.levelOff.lastMax)} vs middle third max ${mb(r.levelOff.middleMax)} (limit ${mb(r.levelOff.limit)}): ${r.levelOff.ok ? 'levelled off' : 'STILL GROWING'}`
        : `not judged (${r.levelOff.samples} samples after the warm-up; need 6)`),
    `  broker event loop p99: worst sample ${ms(result.loop.worstP99Ms)}, median sample ${ms(result.loop.medianP99Ms)}`,
    `  results: ${result.files.json}, chart: ${result.files.svg}`,
    result.verdict.ok ? 'soak: PASS' : `soak: FAIL: ${result.verdict.failures.join('; ')}`,
  ];
  return lines.join('\n');
}
