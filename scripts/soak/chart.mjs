/**
 * The broker's memory over the soak as an SVG line chart: RSS, heap total and heap used (MB)
 * against minutes, with the end of the warm-up and of the load marked. Plain SVG text, no
 * library: it opens in any browser.
 */
const MB = 1024 * 1024;
const W = 900;
const H = 420;
const PAD = { left: 64, right: 170, top: 40, bottom: 48 };
const SERIES = [
  { key: 'rss', label: 'RSS', color: '#d62728' },
  { key: 'heapTotal', label: 'heap total', color: '#1f77b4' },
  { key: 'heapUsed', label: 'heap used', color: '#2ca02c' },
];

function niceStep(span, ticks) {
  const raw = span / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** points: [{ t (s), rss, heapTotal, heapUsed (bytes) }]; marks: [{ t, label }]. */
export function memoryChart(points, { title, marks = [] }) {
  const tMax = Math.max(1, ...points.map((p) => p.t), ...marks.map((m) => m.t)) / 60;
  const yMaxRaw = Math.max(1, ...points.map((p) => p.rss / MB));
  const yStep = niceStep(yMaxRaw, 6);
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const xStep = niceStep(tMax, 8);
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (min) => PAD.left + (min / tMax) * pw;
  const y = (mb) => PAD.top + ph - (mb / yMax) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${PAD.left}" y="24" font-size="15">${esc(title)}</text>`);
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(3)}</text>`);
  }
  for (let v = 0; v <= tMax + 1e-9; v += xStep) {
    out.push(`<text x="${x(v).toFixed(1)}" y="${PAD.top + ph + 18}" text-anchor="middle">${+v.toFixed(3)}</text>`);
  }
  out.push(`<text x="${PAD.left + pw / 2}" y="${H - 10}" text-anchor="middle">minutes</text>`);
  out.push(`<text x="16" y="${PAD.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${PAD.top + ph / 2})">MB</text>`);
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const m of marks) {
    const mx = x(m.t / 60).toFixed(1);
    out.push(`<line x1="${mx}" x2="${mx}" y1="${PAD.top}" y2="${PAD.top + ph}" stroke="#888" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${mx}" y="${PAD.top - 4}" text-anchor="middle" fill="#555">${esc(m.label)}</text>`);
  }
  SERIES.forEach((s, i) => {
    const d = points.map((p) => `${x(p.t / 60).toFixed(1)},${y(p[s.key] / MB).toFixed(1)}`).join(' ');
    if (points.length > 0) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"/>`);
    const ly = PAD.top + 16 + i * 20;
    out.push(`<line x1="${W - PAD.right + 16}" x2="${W - PAD.right + 40}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${W - PAD.right + 46}" y="${ly}">${s.label}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
