/**
 * What `mqt broker clients` and `mqt broker kick` print: a table of the connected clients (the
 * admin API's ClientView, src/core/admin/api-views.ts), the kick line, and their --json forms.
 * Pure functions of the data, the time and a chalk instance (level 0 off a terminal), so the
 * tests pin the text without a broker.
 */
import type { ChalkInstance } from 'chalk';
import type { ClientView } from '../../core/admin/index.js';
import { printable, urlHost } from './broker-log.js';

const PROTOCOLS: Readonly<Record<number, string>> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local date and time to the second: when a client connected, as a person reads a log. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** 3725 s → "1h 2m": how long it has been connected. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s % 60}s`;
}

interface Column {
  head: string;
  right?: boolean;
  cell(c: ClientView, now: number): string;
}

const COLUMNS: readonly Column[] = [
  { head: 'CLIENT ID', cell: (c) => printable(c.clientId) },
  { head: 'USER', cell: (c) => (c.username === null ? '-' : printable(c.username)) },
  { head: 'ADDRESS', cell: (c) => (c.address === null ? '-' : c.port === null ? c.address : `${urlHost(c.address)}:${c.port}`) },
  { head: 'LISTENER', cell: (c) => c.listener ?? c.transport ?? '-' },
  { head: 'PROTOCOL', cell: (c) => PROTOCOLS[c.protocolVersion] ?? String(c.protocolVersion) },
  { head: 'KEEP-ALIVE', right: true, cell: (c) => (c.keepAlive === 0 ? 'off' : `${c.keepAlive}s`) },
  { head: 'CONNECTED SINCE', cell: (c, now) => `${localTime(c.connectedAt)} (${age((now - c.connectedAt) / 1000)})` },
  { head: 'SUBS', right: true, cell: (c) => String(c.subscriptions) },
  { head: 'QUEUED', right: true, cell: (c) => String(c.queued) },
  { head: 'IN FLIGHT', right: true, cell: (c) => String(c.inflight) },
];

/**
 * The clients as a table, sorted by client id, a header first; the same columns on a terminal
 * and in a pipe (colour only where chalk has it). With none: one line saying so.
 */
export function clientTable(list: readonly ClientView[], c: ChalkInstance, now = Date.now()): string {
  if (list.length === 0) return 'no clients connected\n';
  const sorted = [...list].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  const rows = sorted.map((client) => COLUMNS.map((col) => col.cell(client, now)));
  const widths = COLUMNS.map((col, i) => Math.max(col.head.length, ...rows.map((r) => r[i]!.length)));
  // Padding outside the colour codes, so the columns line up with colour on.
  const line = (cells: readonly string[], style: (s: string) => string): string =>
    cells
      .map((cell, i) => {
        const fill = ' '.repeat(widths[i]! - cell.length);
        return COLUMNS[i]!.right === true ? fill + style(cell) : i === cells.length - 1 ? style(cell) : style(cell) + fill;
      })
      .join('  ')
      .trimEnd();
  const out = [line(COLUMNS.map((col) => col.head), c.bold), ...rows.map((r) => line(r, (s) => s))];
  return `${out.join('\n')}\n`;
}

/** --json of `clients`: the API's list as it came, one document on one line. */
export function clientsJson(list: readonly ClientView[]): string {
  return `${JSON.stringify(list)}\n`;
}

/** What `kick` prints when the broker disconnected the client. */
export function kickedLine(clientId: string, json: boolean): string {
  return json ? `${JSON.stringify({ disconnected: clientId })}\n` : `disconnected ${printable(clientId)}\n`;
}
