/**
 * Line charts as inline SVG strings for the bench's HTML report (html-report.ts): drawn once
 * when the file is written, so the page needs no script, no canvas and no network to show
 * them. Colours are presentation attributes (fill, stroke), never style attributes, so the
 * page's Content-Security-Policy can forbid inline styles other than its one stylesheet.
 * Every string that reaches the markup goes through escapeHtml.
 */

/** Text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface Tick {
  at: number;
  label: string;
}

export interface Axis {
  title: string;
  min: number;
  max: number;
  ticks: Tick[];
}

export interface Series {
  /** The legend's name; series of one name share a legend entry (rounds of one broker). */
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** Drawn as steps: each y holds until the next x (counts per interval, percentiles). */
  step?: boolean | undefined;
  dashed?: boolean | undefined;
  /** Extra words on the path's data-detail (e.g. "round 2"); not shown. */
  detail?: string | undefined;
}

export interface ChartSpec {
  /** data-chart of the figure, e.g. "latency-ack". */
  id: string;
  title: string;
  x: Axis;
  y: Axis;
  series: readonly Series[];
  /** A line under the chart. */
  note?: string | undefined;
}

const WIDTH = 760;
const HEIGHT = 340;
// Room on the right for the last tick's label ("99.999%") centred on the edge.
const M = { left: 72, right: 40, top: 14, bottom: 50 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;

/** Series colours, distinguishable on white and for the common colour-blindness (Okabe–Ito). */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'] as const;

const num = (n: number): string => (Math.round(n * 10) / 10).toString();

/** 1, 2 or 5 × 10^k: the step for about `want` intervals over [0, max]. */
function niceStep(max: number, want: number): number {
  const raw = max / want;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** An axis from 0 to a round number at or above `max` (1 when max is 0), with ~5 ticks. */
export function linearAxis(title: string, max: number, label: (v: number) => string, want = 5): Axis {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const step = niceStep(top, want);
  const end = Math.ceil(top / step - 1e-9) * step;
  const ticks: Tick[] = [];
  // Multiples of the step, computed afresh each time so 0.1 + 0.2 does not creep in.
  for (let k = 0; k * step <= end + step * 1e-9; k++) ticks.push({ at: k * step, label: label(k * step) });
  return { title, min: 0, max: end, ticks };
}

/** The x of a percentile on the HDR scale: log10(1 / (1 − p)); 0 % → 0, 90 % → 1, 99 % → 2, … */
export function percentileX(percentile: number): number {
  if (percentile >= 100) return Number.POSITIVE_INFINITY;
  return percentile <= 0 ? 0 : -Math.log10(1 - percentile / 100);
}

/** "0%", "90%", "99%", "99.9%", … for decade d. */
export function decadeLabel(d: number): string {
  if (d === 0) return '0%';
  return `${(100 - 100 / 10 ** d).toFixed(Math.max(0, d - 2))}%`;
}

/** The percentile axis: whole decades from 0 % to at least 99 %, enough for `lastX`. */
export function percentileAxis(lastX: number): Axis {
  const decades = Math.max(2, Math.ceil(lastX - 1e-9));
  const ticks: Tick[] = [];
  for (let d = 0; d <= decades; d++) ticks.push({ at: d, label: decadeLabel(d) });
  return { title: 'percentile', min: 0, max: decades, ticks };
}

function sx(axis: Axis, v: number): number {
  const span = axis.max - axis.min || 1;
  return M.left + ((Math.min(Math.max(v, axis.min), axis.max) - axis.min) / span) * PLOT_W;
}

function sy(axis: Axis, v: number): number {
  const span = axis.max - axis.min || 1;
  return M.top + PLOT_H - ((Math.min(Math.max(v, axis.min), axis.max) - axis.min) / span) * PLOT_H;
}

/** The path's d: straight segments, or steps (horizontal to the next x, then vertical). */
export function pathData(spec: ChartSpec, s: Series): string {
  const parts: string[] = [];
  let prevY: number | undefined;
  for (const [x, y] of s.points) {
    const px = num(sx(spec.x, x));
    const py = num(sy(spec.y, y));
    if (prevY === undefined) parts.push(`M${px} ${py}`);
    else if (s.step === true) parts.push(`H${px}`, `V${py}`);
    else parts.push(`L${px} ${py}`);
    prevY = y;
  }
  return parts.join(' ');
}

function axes(spec: ChartSpec): string {
  const out: string[] = [];
  const x0 = M.left;
  const x1 = M.left + PLOT_W;
  const y0 = M.top + PLOT_H;
  const y1 = M.top;
  out.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const t of spec.y.ticks) out.push(`<line x1="${x0}" x2="${x1}" y1="${num(sy(spec.y, t.at))}" y2="${num(sy(spec.y, t.at))}"/>`);
  for (const t of spec.x.ticks) out.push(`<line x1="${num(sx(spec.x, t.at))}" x2="${num(sx(spec.x, t.at))}" y1="${y1}" y2="${y0}"/>`);
  out.push('</g>');
  out.push(`<g class="axis" stroke="#555" stroke-width="1"><line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/><line x1="${x0}" x2="${x0}" y1="${y1}" y2="${y0}"/></g>`);
  out.push('<g class="tick-labels" fill="#333" font-size="12">');
  for (const t of spec.x.ticks) {
    out.push(`<text class="x-tick" x="${num(sx(spec.x, t.at))}" y="${y0 + 17}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  for (const t of spec.y.ticks) {
    out.push(`<text class="y-tick" x="${x0 - 6}" y="${num(sy(spec.y, t.at) + 4)}" text-anchor="end">${escapeHtml(t.label)}</text>`);
  }
  out.push('</g>');
  out.push(`<text class="x-title" x="${num(x0 + PLOT_W / 2)}" y="${HEIGHT - 8}" text-anchor="middle" fill="#222" font-size="13">${escapeHtml(spec.x.title)}</text>`);
  out.push(
    `<text class="y-title" x="14" y="${num(M.top + PLOT_H / 2)}" text-anchor="middle" fill="#222" font-size="13" transform="rotate(-90 14 ${num(M.top + PLOT_H / 2)})">${escapeHtml(spec.y.title)}</text>`,
  );
  return out.join('');
}

/** The swatch of a legend entry: a short line in the series' colour. */
function swatch(color: string, dashed: boolean): string {
  return `<svg class="swatch" width="22" height="10" aria-hidden="true"><line x1="1" x2="21" y1="5" y2="5" stroke="${escapeHtml(color)}" stroke-width="3"${dashed ? ' stroke-dasharray="5 3"' : ''}/></svg>`;
}

/** A figure: caption, the SVG, a legend with one entry per series name, and the note. */
export function renderChart(spec: ChartSpec): string {
  const paths: string[] = [];
  const legend = new Map<string, { color: string; dashed: boolean }>();
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    if (!legend.has(s.name)) legend.set(s.name, { color: s.color, dashed: s.dashed === true });
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    const detail = s.detail === undefined ? '' : ` data-detail="${escapeHtml(s.detail)}"`;
    paths.push(
      `<path class="series" data-series="${escapeHtml(s.name)}"${detail} data-points="${s.points.length}" d="${pathData(spec, s)}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="2" stroke-linejoin="round"${dash}/>`,
    );
    // A lone point is no line: mark it.
    if (s.points.length === 1) {
      const [x, y] = s.points[0]!;
      paths.push(`<circle cx="${num(sx(spec.x, x))}" cy="${num(sy(spec.y, y))}" r="3" fill="${escapeHtml(s.color)}"/>`);
    }
  }
  const items = [...legend].map(([name, l]) => `<li data-legend="${escapeHtml(name)}">${swatch(l.color, l.dashed)}${escapeHtml(name)}</li>`);
  const label = `${spec.title}: ${spec.y.title} by ${spec.x.title}`;
  return [
    `<figure class="chart" data-chart="${escapeHtml(spec.id)}">`,
    `<figcaption>${escapeHtml(spec.title)}</figcaption>`,
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(label)}">`,
    axes(spec),
    `<g class="plot">${paths.join('')}</g>`,
    '</svg>',
    items.length === 0 ? '<p class="empty">nothing was measured</p>' : `<ul class="legend">${items.join('')}</ul>`,
    spec.note === undefined ? '' : `<p class="note">${escapeHtml(spec.note)}</p>`,
    '</figure>',
  ].join('\n');
}
