/**
 * The child process of `npm run fuzz` (scripts/fuzz.mjs bundles this file and runs it with
 * --expose-gc). Options come as JSON in MQT_FUZZ_OPTIONS, already checked by the script.
 * It talks to the script on file descriptor 3, one line a message:
 *   progress <inputs done> <elapsed ms> <crashes> <heapUsed>
 *   at <index>                before each input, with `trace` (to name the input of a hang)
 *   input <json>              with `describe`: the input, not run
 *   summary <json>            at the end
 */
import { writeSync } from 'node:fs';
import { hex } from './bytes.js';
import { buildCorpus } from './corpus.js';
import { runFuzz, type FuzzOptions } from './engine.js';
import { makeInput } from './inputs.js';

interface ChildOptions {
  seed: number;
  inputs: number;
  from: number;
  seconds?: number;
  maxMsPerInput: number;
  memoryBound: number;
  corpusSize: number;
  trace: boolean;
  /** Print input `from` and stop. */
  describe: boolean;
}

const CONTROL = 3;

function send(line: string): void {
  writeSync(CONTROL, `${line}\n`);
}

const options = JSON.parse(process.env.MQT_FUZZ_OPTIONS ?? '{}') as ChildOptions;

if (options.describe) {
  const input = makeInput(options.seed, options.from, buildCorpus(options.seed, options.corpusSize));
  send(`input ${JSON.stringify({ ...input, bytes: hex(input.bytes), packets: undefined })}`);
} else {
  const fuzz: FuzzOptions = {
    seed: options.seed,
    inputs: options.inputs,
    from: options.from,
    maxMsPerInput: options.maxMsPerInput,
    memoryBound: options.memoryBound,
    corpusSize: options.corpusSize,
    progressMs: 2_000,
    onProgress: (done, ms, crashes) => send(`progress ${done} ${Math.round(ms)} ${crashes} ${process.memoryUsage().heapUsed}`),
  };
  if (options.seconds !== undefined) fuzz.seconds = options.seconds;
  if (options.trace) fuzz.beforeInput = (input) => send(`at ${input.index}`);
  const summary = runFuzz(fuzz);
  send(`summary ${JSON.stringify(summary)}`);
}
