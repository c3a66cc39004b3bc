/**
 * Where `mqt broker` writes, as a mosquitto.conf's log settings say: log_dest (stdout,
 * stderr, file PATH, none), log_type (which kinds of lines) and connection_messages. Without
 * a file (or without log settings in it) the command line decides: records on stdout with
 * -v (PUBLISH lines too with -v -v), warnings and errors on stderr.
 */
import { openSync, writeSync } from 'node:fs';
import type { LogConf } from '../core/config/conf-types.js';
import { CliError } from './errors.js';

export interface LogSinks {
  /** Where event records (connect, subscribe, ...) go; empty: nowhere. */
  records: Array<(text: string) => void>;
  /** Where the broker's own log lines go. */
  lines: Array<(text: string) => void>;
  /** Which records and levels are wanted. */
  connections: boolean;
  subscriptions: boolean;
  info: boolean;
  debug: boolean;
  /** A line per PUBLISH received and sent: -v -v, or log_type debug (mosquitto logs them at debug). */
  publishes: boolean;
}

export const stdoutWrite = (text: string): void => void process.stdout.write(text);
export const stderrWrite = (text: string): void => void process.stderr.write(text);
const stdout = stdoutWrite;
const stderr = stderrWrite;

/** The sinks for a command line alone (-v: 1, -v -v: 2) or a file's log settings. */
export function logSinks(log: LogConf | undefined, verbosity: number): LogSinks {
  const verbose = verbosity > 0;
  const publishes = verbosity > 1;
  const types = new Set(log?.types ?? []);
  const all = types.has('all');
  if (log === undefined || (log.dest.length === 0 && types.size === 0 && log.connectionMessages === undefined)) {
    return { records: [stdout], lines: [stderr], connections: verbose, subscriptions: verbose, info: verbose, debug: false, publishes };
  }
  const records: LogSinks['records'] = [];
  const lines: LogSinks['lines'] = [];
  const dest = log.dest.length > 0 ? log.dest : [{ kind: 'stderr' as const }];
  for (const d of dest) {
    if (d.kind === 'stdout') records.push(stdout), lines.push(stdout);
    else if (d.kind === 'stderr') records.push(stderr), lines.push(stderr);
    else if (d.kind === 'file') {
      const write = fileSink(d.path!);
      records.push(write);
      lines.push(write);
    }
  }
  // mosquitto's default log_type: error, warning, notice and information.
  const wanted = (t: string): boolean => all || (types.size === 0 ? ['error', 'warning', 'notice', 'information'].includes(t) : types.has(t));
  return {
    records,
    lines,
    connections: verbose || ((log.connectionMessages ?? true) && (wanted('notice') || wanted('information'))),
    subscriptions: verbose || wanted('subscribe') || wanted('unsubscribe'),
    info: verbose || wanted('information') || wanted('notice'),
    debug: wanted('debug'),
    publishes: publishes || wanted('debug'),
  };
}

/** Appends to a log file, opened at start so that a path that cannot be written is a start-up error. */
function fileSink(path: string): (text: string) => void {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (cause) {
    const e = cause as NodeJS.ErrnoException;
    throw new CliError(`cannot write the log file ${path} (${e.code ?? e.message}); check log_dest file in the configuration`, { command: 'broker', cause });
  }
  return (text) => {
    try {
      writeSync(fd, text);
    } catch {
      // A full disk must not stop the broker; the other destinations still get the line.
    }
  };
}
