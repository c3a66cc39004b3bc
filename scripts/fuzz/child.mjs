/**
 * Runs the bundled engine in a child process (node --expose-gc, so heap samples follow a
 * real full GC) and reads its control channel (fd 3, see test/fuzz/codec/main.ts). A
 * watchdog kills it when no line has come for `stallSeconds`: a synchronous endless loop in
 * the parser cannot be stopped from inside the process, only from outside.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Resolves with { summary, input, progress, lastAt, stalled, code, signal }: `summary` (or
 * `input` in describe mode) when the child finished, `stalled` when the watchdog fired,
 * `progress` the last progress message, `lastAt` the last input index traced.
 */
export function runChild(file, options, { stallSeconds, onProgress }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', file], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, MQT_FUZZ_OPTIONS: JSON.stringify(options) },
    });
    const result = { summary: undefined, input: undefined, progress: undefined, lastAt: undefined, stalled: false, code: null, signal: null };
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        result.stalled = true;
        child.kill('SIGKILL');
      }, stallSeconds * 1000);
    };
    arm();
    const lines = createInterface({ input: child.stdio[3] });
    lines.on('line', (line) => {
      arm();
      const space = line.indexOf(' ');
      const kind = line.slice(0, space);
      const rest = line.slice(space + 1);
      if (kind === 'at') result.lastAt = Number(rest);
      else if (kind === 'progress') {
        const [done, ms, crashes, heapUsed] = rest.split(' ').map(Number);
        result.progress = { done, ms, crashes, heapUsed };
        onProgress?.(result.progress);
      } else if (kind === 'summary') result.summary = JSON.parse(rest);
      else if (kind === 'input') result.input = JSON.parse(rest);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      result.code = code;
      result.signal = signal;
      resolvePromise(result);
    });
  });
}
