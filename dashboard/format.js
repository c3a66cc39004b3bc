/** How numbers, sizes, durations and payloads are written on the page: pure functions, no DOM. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** 12,345 */
export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? integer.format(n) : '–';
}

/** A rate: 0, 0.4, 12, 1,234, 12.3k, 4.5M (per second values are often fractional). */
export function formatRate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e6) return `${oneDecimal.format(n / 1e6)}M`;
  if (a >= 1e4) return `${oneDecimal.format(n / 1e3)}k`;
  if (a >= 10 || a === 0) return integer.format(n);
  return oneDecimal.format(n);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 0 B, 512 B, 1.5 KiB, 12 MiB */
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  let v = Math.abs(n);
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const text = unit === 0 || v >= 100 ? integer.format(v) : oneDecimal.format(v);
  return `${n < 0 ? '-' : ''}${text} ${BYTE_UNITS[unit]}`;
}

/** 45 s, 12 min, 3 h 5 min, 2 d 4 h */
export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return m % 60 === 0 ? `${hours} h` : `${hours} h ${m % 60} min`;
  const d = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${d} d` : `${d} d ${hours % 24} h`;
}

/** How long ago a moment was, from the broker's clock (`now`), not the browser's. */
export function formatAgo(thenMs, nowMs) {
  if (typeof thenMs !== 'number' || typeof nowMs !== 'number') return '–';
  const s = Math.max(0, (nowMs - thenMs) / 1000);
  return s < 5 ? 'just now' : `${formatDuration(s)} ago`;
}

/** 2025-01-31 14:05:09 in the browser's time zone. */
export function formatDateTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** 14:05 or 14:05:30: a chart's time axis. */
export function formatClock(ms, withSeconds) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return withSeconds ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}`;
}

const PROTOCOLS = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

/** MQTT's protocol level as people name the versions. */
export function formatProtocol(level) {
  return PROTOCOLS[level] ?? String(level);
}

/** A limit where 0 (or absent) means none. */
export function formatLimit(value, format = formatCount) {
  if (value === 0 || value === null || value === undefined) return 'none';
  return format(value);
}

/** Bytes of base64 text; an empty array for null or bad input. */
export function base64Bytes(b64) {
  if (typeof b64 !== 'string') return new Uint8Array(0);
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return new Uint8Array(0);
  }
}

/** "48 65 6c 6c 6f", at most `max` bytes, with "…" when there were more. */
export function hexDump(bytes, max = Infinity) {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0'));
  return shown.join(' ') + (bytes.length > max ? ' …' : '');
}

/** At most `max` characters of a text, with "…" when it was longer, on one line. */
export function truncate(text, max) {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
