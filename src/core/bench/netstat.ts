/**
 * The kernel's TCP counters that explain a slow connection storm: a full listen queue drops
 * the SYN (ListenOverflows, ListenDrops) and the client's kernel sends it again after 1 s,
 * then 3 s (TCPSynRetrans), time that no CONNECT → CONNACK latency shows. Linux only: read
 * from /proc/net/netstat (TcpExt) and /proc/net/snmp (Tcp); undefined where they are missing
 * or unreadable. The counters are the whole machine's (every process, every listener, since
 * boot), so a run reports how much they moved, and says that another process may have moved them.
 */
import { readFileSync } from 'node:fs';
import type { KernelTcpCounters } from './types.js';

/**
 * The named counters of one section of /proc/net/netstat or /proc/net/snmp: lines in pairs,
 * a header of names and a line of values, both starting with `prefix:` (e.g. "TcpExt:").
 * Empty when the section is not there.
 */
export function parseCounterSection(text: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  const head = `${prefix}:`;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith(head) || !lines[i + 1]!.startsWith(head)) continue;
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    // Index 0 is the prefix itself on both lines.
    for (let k = 1; k < names.length && k < values.length; k++) {
      const v = Number(values[k]);
      if (Number.isFinite(v)) out.set(names[k]!, v);
    }
    break;
  }
  return out;
}

/**
 * The counters out of the two files' text. Undefined unless the listen counters are there
 * (a kernel without them, or not Linux); a counter missing from an older kernel reads 0.
 */
export function parseKernelTcp(netstat: string, snmp: string | undefined): KernelTcpCounters | undefined {
  const ext = parseCounterSection(netstat, 'TcpExt');
  const overflows = ext.get('ListenOverflows');
  const drops = ext.get('ListenDrops');
  if (overflows === undefined || drops === undefined) return undefined;
  const tcp = snmp === undefined ? new Map<string, number>() : parseCounterSection(snmp, 'Tcp');
  return { listenOverflows: overflows, listenDrops: drops, synRetrans: ext.get('TCPSynRetrans') ?? 0, retransSegs: tcp.get('RetransSegs') ?? 0 };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** This machine's counters now; undefined off Linux or when /proc cannot be read. `dir` is for tests. */
export function readKernelTcp(dir = '/proc/net'): KernelTcpCounters | undefined {
  const netstat = readOrUndefined(`${dir}/netstat`);
  return netstat === undefined ? undefined : parseKernelTcp(netstat, readOrUndefined(`${dir}/snmp`));
}

/** after − before, per counter; undefined when either reading is missing. */
export function kernelTcpDelta(before: KernelTcpCounters | undefined, after: KernelTcpCounters | undefined): KernelTcpCounters | undefined {
  if (before === undefined || after === undefined) return undefined;
  // A counter never goes down; a negative difference (a 32-bit wrap) is reported as 0.
  const d = (a: number, b: number): number => Math.max(0, a - b);
  return {
    listenOverflows: d(after.listenOverflows, before.listenOverflows),
    listenDrops: d(after.listenDrops, before.listenDrops),
    synRetrans: d(after.synRetrans, before.synRetrans),
    retransSegs: d(after.retransSegs, before.retransSegs),
  };
}

/**
 * Whether the storm ran into a full listen queue: the counters that mean dropped SYNs moved.
 * RetransSegs alone does not count (any retransmission of any connection moves it).
 */
export function backlogOverflowed(delta: KernelTcpCounters | undefined): boolean {
  return delta !== undefined && (delta.listenOverflows > 0 || delta.listenDrops > 0 || delta.synRetrans > 0);
}
