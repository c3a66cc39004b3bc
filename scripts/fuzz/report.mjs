/** The lines `npm run fuzz` prints: progress, crashes (with how to replay each), the summary. */

const MB = 1024 * 1024;
const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const count = (n) => n.toLocaleString('en-US');

export function progressLine({ done, ms, crashes, heapUsed }, total) {
  const rate = done / (ms / 1000);
  return `fuzz: ${count(done)} / ${count(total)} inputs, ${count(Math.round(rate))}/s, ${crashes} crashes, heap ${mb(heapUsed)}`;
}

/** An input as main.ts describes it (bytes in hex). */
export function describeInput(input) {
  return [
    `input ${input.index}: ${input.kind} v${input.version} max ${input.maxPacketSize ?? 'none'} [${input.mutations.join(' ')}] cuts ${JSON.stringify(input.cuts)}`,
    `  hex ${input.bytes}`,
  ].join('\n');
}

export function crashLines(summary) {
  const lines = [];
  for (const c of summary.crashes) {
    lines.push(
      `fuzz: CRASH ${c.failure} at input ${c.index}: ${c.message}`,
      `  ${c.kind} v${c.version} max ${c.maxPacketSize ?? 'none'} [${c.mutations.join(' ')}] cuts ${JSON.stringify(c.cuts)}`,
      `  hex ${c.hex}`,
      `  replay: npm run fuzz -- --seed ${c.seed} --from ${c.index} --inputs 1`,
    );
  }
  if (summary.crashCount > summary.crashes.length) lines.push(`fuzz: ... and ${summary.crashCount - summary.crashes.length} more crashes`);
  return lines;
}

export function summaryLine(s, wallSeconds) {
  const outcomes = Object.entries(s.outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name.startsWith('0x') ? `MqttError ${name}` : name} ${count(n)}`)
    .join(', ');
  const { heap: h, buffers: b } = s.memory;
  const memory = [
    `heap start ${mb(h.start)} warm ${mb(h.warm)} peak ${mb(h.peak)} end ${mb(h.end)}`,
    `buffers warm ${mb(b.warm)} peak ${mb(b.peak)} end ${mb(b.end)}`,
    `growth ${mb(h.growth + b.growth)} of ${mb(s.memoryBound)} allowed: ${s.memoryFlat ? 'flat' : 'GROWS'}`,
  ].join(', ');
  return [
    `fuzz: seed ${s.seed}: ${count(s.inputs)} inputs${s.stoppedBy === 'time' ? ' (stopped by --seconds)' : ''}`,
    outcomes,
    memory,
    `${count(Math.round(s.inputsPerSecond))} inputs/s, slowest ${s.slowest.ms.toFixed(1)} ms (input ${s.slowest.index})`,
    `${(s.elapsedMs / 1000).toFixed(1)} s fuzzing, ${wallSeconds.toFixed(1)} s wall`,
    `crashes ${s.crashCount}`,
  ].join('; ');
}
