/**
 * A line chart of two series over time on a <canvas>, drawn by hand: a y axis with round
 * steps and units, a time axis in the browser's clock, a line per series (broken where
 * samples are missing) with a light fill under the first. Colours come from the CSS (the
 * legend swatches use the same variables), so the chart follows the page's theme.
 */
import { formatClock } from './format.js';

const PAD = { top: 10, right: 12, bottom: 24, left: 60 };

/** A round step (1, 2 or 5 × 10^n) giving about `count` ticks up to max. */
function niceStep(max, count) {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Bytes per second use binary steps so the labels read 512 B/s, 1 KiB/s, 2 KiB/s. */
function niceByteStep(max, count) {
  const raw = max / count;
  if (raw < 1024) return niceStep(max, count);
  const unit = 1024 ** Math.floor(Math.log(raw) / Math.log(1024));
  return niceStep(max / unit, count) * unit;
}

function cssVar(el, name, fallback) {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

/**
 * canvas: the element; series: [{ key, label }, { key, label }]; formatValue(v) for axis
 * labels; bytes: binary steps.
 */
export function createChart(canvas, { series, formatValue, bytes = false, labels = [] }) {
  let samples = [];
  let windowMs = 5 * 60_000;
  let intervalMs = 1000;
  let nowMs = Date.now();

  /** What the last drawing showed, for the hover read-out. */
  let layout = null;
  let hoverX = null;

  const resize = new ResizeObserver(() => draw());
  resize.observe(canvas.parentElement);

  // Hovering shows the values of the nearest second (in a box of the page, not on the canvas).
  const tip = document.createElement('div');
  tip.className = 'chart-tip';
  tip.hidden = true;
  tip.setAttribute('data-testid', 'chart-tip');
  canvas.parentElement.append(tip);
  canvas.addEventListener('pointermove', (e) => {
    hoverX = e.offsetX;
    draw();
  });
  canvas.addEventListener('pointerleave', () => {
    hoverX = null;
    draw();
  });

  function drawHover(ctx, colors) {
    tip.hidden = true;
    if (hoverX === null || layout === null || layout.shown.length === 0) return;
    const { shown, x, y, plotH } = layout;
    let best = shown[0];
    for (const s of shown) if (Math.abs(x(s.t) - hoverX) < Math.abs(x(best.t) - hoverX)) best = s;
    const px = Math.round(x(best.t)) + 0.5;
    ctx.strokeStyle = colors.axis;
    ctx.setLineDash([2, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(px, PAD.top);
    ctx.lineTo(px, PAD.top + plotH);
    ctx.stroke();
    ctx.setLineDash([]);
    series.forEach(({ key }, i) => {
      ctx.fillStyle = colors.lines[i];
      ctx.beginPath();
      ctx.arc(px, y(best[key] ?? 0), 3, 0, 2 * Math.PI);
      ctx.fill();
    });
    tip.replaceChildren(
      Object.assign(document.createElement('strong'), { textContent: formatClock(best.t, true) }),
      ...series.map(({ key }, i) => Object.assign(document.createElement('span'), { textContent: `${labels[i] ?? key}: ${formatValue(best[key] ?? 0)}` })),
    );
    tip.hidden = false;
    // Beside the line, on whichever side has room.
    const left = px + 12 + tip.offsetWidth > canvas.clientWidth ? px - 12 - tip.offsetWidth : px + 12;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${PAD.top}px`;
  }

  function draw() {
    const box = canvas.parentElement.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(box.width);
    const height = Math.round(box.height);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const colors = {
      grid: cssVar(canvas, '--chart-grid', '#e5e7eb'),
      axis: cssVar(canvas, '--chart-axis', '#6b7280'),
      lines: [cssVar(canvas, '--series-in', '#2563eb'), cssVar(canvas, '--series-out', '#0d9488')],
      fill: cssVar(canvas, '--series-in-fill', 'rgba(37, 99, 235, 0.08)'),
      font: `11px ${cssVar(document.body, 'font-family', 'sans-serif')}`,
    };
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    if (plotW < 20 || plotH < 20) return;

    // A young broker has less history than the window: show what there is (at least a
    // minute) rather than a sliver at the right edge.
    const end = nowMs;
    const first = samples.find((s) => s.t >= end - windowMs)?.t ?? end;
    const span = Math.min(windowMs, Math.max(60_000, end - first));
    const start = end - span;
    const shown = samples.filter((s) => s.t >= start - intervalMs && s.t <= end);
    let max = 0;
    for (const s of shown) for (const { key } of series) max = Math.max(max, s[key] ?? 0);
    const step = bytes ? niceByteStep(max || 1, 4) : niceStep(max || 1, 4);
    const top = Math.max(step, Math.ceil((max || 1) / step) * step);
    const x = (t) => PAD.left + ((t - start) / span) * plotW;
    const y = (v) => PAD.top + plotH - (v / top) * plotH;

    // Grid and y labels.
    ctx.font = colors.font;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let v = 0; v <= top + step / 2; v += step) {
      const py = Math.round(y(v)) + 0.5;
      ctx.strokeStyle = colors.grid;
      ctx.beginPath();
      ctx.moveTo(PAD.left, py);
      ctx.lineTo(PAD.left + plotW, py);
      ctx.stroke();
      ctx.fillStyle = colors.axis;
      ctx.fillText(formatValue(v), PAD.left - 8, py);
    }

    // Time labels on round moments.
    const tickMs = span <= 60_000 ? 15_000 : span <= 2 * 60_000 ? 30_000 : span <= 5 * 60_000 ? 60_000 : 120_000;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(start / tickMs) * tickMs; t <= end; t += tickMs) {
      const px = Math.round(x(t)) + 0.5;
      ctx.strokeStyle = colors.grid;
      ctx.beginPath();
      ctx.moveTo(px, PAD.top + plotH);
      ctx.lineTo(px, PAD.top + plotH + 4);
      ctx.stroke();
      ctx.fillStyle = colors.axis;
      ctx.fillText(formatClock(t, tickMs < 60_000), px, PAD.top + plotH + 7);
    }
    ctx.strokeStyle = colors.axis;
    ctx.beginPath();
    ctx.moveTo(PAD.left, Math.round(PAD.top + plotH) + 0.5);
    ctx.lineTo(PAD.left + plotW, Math.round(PAD.top + plotH) + 0.5);
    ctx.stroke();

    // The series, clipped to the plot; a gap of more than two intervals breaks the line.
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top - 2, plotW, plotH + 4);
    ctx.clip();
    const runs = [];
    let run = [];
    for (const s of shown) {
      if (run.length > 0 && s.t - run.at(-1).t > 2.5 * intervalMs) {
        runs.push(run);
        run = [];
      }
      run.push(s);
    }
    if (run.length > 0) runs.push(run);
    for (const r of runs) {
      if (r.length < 2) continue;
      ctx.fillStyle = colors.fill;
      ctx.beginPath();
      ctx.moveTo(x(r[0].t), y(0));
      for (const s of r) ctx.lineTo(x(s.t), y(s[series[0].key] ?? 0));
      ctx.lineTo(x(r.at(-1).t), y(0));
      ctx.closePath();
      ctx.fill();
    }
    // The second series dashed, on top: where the two lie on each other (one-to-one traffic)
    // both still show.
    for (let i = 0; i < series.length; i++) {
      ctx.strokeStyle = colors.lines[i];
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      ctx.setLineDash(i === 0 ? [] : [6, 4]);
      for (const r of runs) {
        if (r.length < 2) continue;
        ctx.beginPath();
        r.forEach((s, j) => (j === 0 ? ctx.moveTo(x(s.t), y(s[series[i].key] ?? 0)) : ctx.lineTo(x(s.t), y(s[series[i].key] ?? 0))));
        ctx.stroke();
      }
    }
    ctx.restore();
    layout = { shown, x, y, plotH };
    drawHover(ctx, colors);
    canvas.dataset.points = String(shown.length);
    canvas.dataset.max = String(max);
  }

  return {
    update(rates, brokerNowMs) {
      samples = rates.samples ?? [];
      intervalMs = rates.intervalMs ?? 1000;
      nowMs = brokerNowMs ?? samples.at(-1)?.t ?? Date.now();
      draw();
    },
    setWindow(minutes) {
      windowMs = minutes * 60_000;
      draw();
    },
    clear() {
      samples = [];
      draw();
    },
    draw,
  };
}
