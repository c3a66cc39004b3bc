/**
 * CPU time and memory of another process (the broker under test), and the kernel's count of
 * dropped SYNs, from Linux's /proc. Every function returns undefined where /proc is not there
 * or the process is gone.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every Linux port in use (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) the process has used so far. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may hold spaces: utime is
    // field 14 of the line, stime 15 (proc(5)), i.e. 11 and 12 after ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS). */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The TcpExt ListenOverflows counter out of /proc/net/netstat's text: pairs of lines, a header
 * line of names and a line of values, each starting with "TcpExt:". Undefined when absent.
 */
export function parseListenOverflows(netstat: string): number | undefined {
  const lines = netstat.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('TcpExt:') || !lines[i + 1]!.startsWith('TcpExt:')) continue;
    const at = lines[i]!.trim().split(/\s+/).indexOf('ListenOverflows');
    if (at < 0) return undefined;
    const value = Number(lines[i + 1]!.trim().split(/\s+/)[at]);
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

/**
 * Connections this host's kernel has dropped so far because a listen queue was full (every
 * listener of the machine, since boot). A dropped SYN is retried by the client a second later,
 * which shows as a low connect rate with a normal CONNECT → CONNACK latency.
 */
export function listenOverflows(): number | undefined {
  try {
    return parseListenOverflows(readFileSync('/proc/net/netstat', 'utf8'));
  } catch {
    return undefined;
  }
}
