/**
 * What the HTML report says about the machine a run was measured on (numbers mean little
 * without it), and our own version for the built-in broker's row. Read from node:os when the
 * report is written; plain data.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, type, version } from 'node:os';

export interface MachineInfo {
  /** e.g. "AMD EPYC 7B13"; "unknown" where the OS does not say. */
  cpuModel: string;
  /** Logical CPUs. */
  cpus: number;
  memoryBytes: number;
  /** e.g. "Linux 6.1.0-18-amd64 (#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1) x64". */
  os: string;
  /** e.g. "v20.19.0". */
  node: string;
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  const model = list[0]?.model.trim().replace(/\s+/g, ' ');
  let osVersion = '';
  try {
    osVersion = version();
  } catch {
    // os.version() is missing on some platforms' older kernels: the release says enough.
  }
  return {
    cpuModel: model === undefined || model === '' ? 'unknown' : model,
    cpus: list.length,
    memoryBytes: totalmem(),
    os: `${type()} ${release()}${osVersion === '' ? '' : ` (${osVersion})`} ${arch()}`,
    node: process.version,
  };
}

/** Our version, from the package.json beside src/ or dist/; undefined when it cannot be read. */
export function mqtVersion(): string | undefined {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
