/**
 * Where `mqt bench --report FILE` goes: checked before the run starts (a long run should not
 * end in "cannot write"), written once it is over. Problems come back as one line of our
 * words; the command turns them into its error.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeMachine, mqtVersion } from './html-report-machine.js';
import { buildHtmlReport, type ReportTarget } from './html-report.js';
import type { BenchResult, BenchTarget } from './types.js';

/** Why `path` cannot take the report, or undefined when it can (its folder exists and is writable). */
export function reportPathProblem(path: string): string | undefined {
  if (path.trim() === '') return 'needs a file name, e.g. --report bench.html';
  const full = resolve(path);
  const folder = dirname(full);
  let folderStat;
  try {
    folderStat = statSync(folder);
  } catch {
    return `the folder ${folder} does not exist: create it, or give a path in a folder that does`;
  }
  if (!folderStat.isDirectory()) return `${folder} is not a folder`;
  let existing;
  try {
    existing = statSync(full);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory() === true) return `${path} is a folder: give a file name, e.g. ${path.replace(/\/+$/, '')}/bench.html`;
  try {
    accessSync(existing === undefined ? folder : full, constants.W_OK);
  } catch {
    return existing === undefined ? `cannot create files in ${folder} (no write permission)` : `cannot write ${path} (no write permission)`;
  }
  return undefined;
}

/** Writes the page; a failure (disk full, the folder gone since the check) is an Error with one line. */
export function writeReportFile(path: string, html: string): void {
  try {
    writeFileSync(path, html, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot write the report to ${path}${code === undefined ? '' : ` (${code})`}`, { cause: err });
  }
}

/** One broker of the run as the command knows it. */
export interface ReportSource {
  target: BenchTarget;
  /** Ours, started for the run: its software is known. */
  builtin: boolean;
  runs: readonly BenchResult[];
}

function address(c: BenchTarget['connection']): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  const path = c.transport === 'ws' || c.transport === 'wss' ? c.wsPath : '';
  return `${c.transport}://${host}:${c.port}${path}`;
}

/** Builds the page of these runs, with this machine's description, and writes it to `path`. */
export function writeBenchReport(path: string, sources: readonly ReportSource[], generatedAt = new Date()): void {
  const version = mqtVersion();
  const targets: ReportTarget[] = sources.map((s) => ({
    name: s.target.name,
    address: address(s.target.connection),
    broker: s.builtin ? `mqt ${version ?? '(version not known)'}, built in, started for the run` : undefined,
    runs: s.runs,
  }));
  writeReportFile(path, buildHtmlReport({ targets, machine: describeMachine(), generatedAt: generatedAt.toISOString() }));
}
