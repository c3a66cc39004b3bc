/**
 * `mqt retain-clear`: find the retained messages under topic filters, show them, ask, clear
 * them with pipelined empty retained publishes, and check by subscribing again that they are
 * gone. Every check that needs no broker comes first, including whether it may clear at all
 * (a terminal to ask on, or --yes), so a script never connects only to be refused. Loaded only
 * when the command runs (retain-clear.ts imports it lazily). Returns, or throws a CliError.
 *
 * Exit codes: 0 when everything selected is gone (or nothing was there, or --dry-run);
 * 1 for usage and local errors, a refusal to clear without confirmation, or a lost connection;
 * 2 when the verification still finds some of them retained; the CONNACK code when the broker
 * refuses the connection.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { connect, type Connection } from '../core/client/connect.js';
import { clear, discover, RetainClearError, select, verify, type ClearResult, type DiscoverOptions, type Discovery, type RetainedMessage, type SelectOptions, type Verification } from '../core/client/retain-clear.js';
import { reasonCodeName } from '../core/codec/constants.js';
import { MqttError } from '../core/codec/errors.js';
import { parseSubscriptionFilter, validateTopicFilter } from '../core/topic/validate.js';
import { CliError, ExitCode, UsageError } from './errors.js';
import { STILL_RETAINED_EXIT_CODE } from './exit-status.js';
import { list, num, readClient, str, type ArgvLike, type ClientSetup } from './options/index.js';
import { printable } from './render/broker-log.js';
import { colorFor } from './render/color.js';
import { clientConnectHooks } from './render/connect-hooks.js';
import { asCliError } from './render/failure.js';
import { askToClear, count, foundLine, jsonReport, listing, question, summaryLine, timeoutNote, type ClearSummary, type FoundSummary } from './render/retain-clear-output.js';
import { startSpinner, type Spinner } from './render/spinner.js';

const COMMAND = 'retain-clear';
const DEFAULT_QUIET_MS = 500;
const DEFAULT_TIMEOUT_S = 30;
/** Exit code when the verification finds messages the broker kept (exit-status.ts, mqt-retain-clear(1)). */
export { STILL_RETAINED_EXIT_CODE };
/** Spinner text updates at most this often while clearing: thousands of acks a second. */
const PROGRESS_INTERVAL_MS = 80;
const TOPIC_ORDER = new Intl.Collator('en', { numeric: true });

interface Plan {
  filters: string[];
  exclude: string[];
  match: RegExp | undefined;
  quietMs: number;
  timeoutS: number;
  dryRun: boolean;
  yes: boolean;
}

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

function readPlan(argv: ArgvLike, urlTopic: string | undefined): Plan {
  const filters = [...list(argv, 'filters'), ...list(argv, 'topic')];
  if (urlTopic !== undefined && urlTopic !== '') filters.push(urlTopic);
  if (filters.length === 0) throw usage("give at least one topic filter, e.g. mqt retain-clear 'eg/#'");
  for (const f of filters) {
    let shared: boolean;
    try {
      shared = parseSubscriptionFilter(f).shareGroup !== undefined;
    } catch (err) {
      if (err instanceof MqttError) throw usage(err.message);
      throw err;
    }
    // 5.0 section 4.8.2: a shared subscription is sent no retained messages, so it would find none.
    if (shared) throw usage(`'${printable(f)}' is a shared subscription, which never receives retained messages: drop the $share/<group>/ prefix`);
  }
  const exclude = list(argv, 'exclude');
  for (const f of exclude) {
    try {
      validateTopicFilter(f);
    } catch (err) {
      if (err instanceof MqttError) throw usage(`--exclude: ${err.message}`);
      throw err;
    }
  }
  const matchText = str(argv, 'match');
  let match: RegExp | undefined;
  if (matchText !== undefined) {
    try {
      match = new RegExp(matchText, 'u');
    } catch (err) {
      throw usage(`--match: ${(err as Error).message}`);
    }
  }
  const timeoutS = num(argv, 'timeout') ?? DEFAULT_TIMEOUT_S;
  if (timeoutS === 0) throw usage('--timeout must be more than 0 seconds');
  return {
    filters,
    exclude,
    match,
    quietMs: num(argv, 'quiet-ms') ?? DEFAULT_QUIET_MS,
    timeoutS,
    dryRun: argv['dry-run'] === true,
    yes: argv.yes === true,
  };
}

/** A question needs someone to answer it: a terminal on stdin, and stderr to draw it on. */
function canAsk(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Human lines on stderr: not with --quiet, and not with --json (its object says it all). */
function note(setup: ClientSetup, line: string): void {
  if (!setup.global.quiet && !setup.global.json) process.stderr.write(`mqt ${COMMAND}: ${line}\n`);
}

function chalkFor(setup: ClientSetup, stream: 'stdout' | 'stderr'): ChalkInstance {
  return setup.global.color ? colorFor(stream) : new Chalk({ level: 0 });
}

/** A failure of the core (connection lost, no SUBACK) as the one line a user sees. */
function asRunError(err: unknown): unknown {
  if (err instanceof RetainClearError) return new CliError(err.message, { command: COMMAND, cause: err });
  return asCliError(err, COMMAND);
}

export async function runRetainClear(argv: ArgvLike): Promise<void> {
  const setup = await readClient(argv, { command: COMMAND, packets: ['subscribe', 'unsubscribe', 'publish'], reconnect: false });
  const plan = readPlan(argv, setup.urlTopic);
  // Decided before connecting: a script without --yes learns it at once, and nothing is touched.
  if (!plan.dryRun && !plan.yes && !canAsk()) {
    throw new CliError('nothing cleared: there is no terminal to ask for confirmation on; add -y/--yes to clear without asking, or --dry-run to only list', { command: COMMAND });
  }

  watchStdout();
  const spinner = await startSpinner(`connecting to ${setup.connection.host}:${setup.connection.port}`, { quiet: setup.global.quiet, color: setup.global.color });
  let conn: Connection;
  try {
    conn = await connect(setup.connection, {
      needsMqtt5: setup.mqtt5,
      ...clientConnectHooks(setup, (line) => note(setup, line)),
      // Several brokers (-L a,b): the first that accepts is cleared; each one passed over is told.
      onFailover: (line) => note(setup, line),
    });
  } catch (err) {
    spinner.stop();
    throw asCliError(err, COMMAND);
  }

  try {
    await session(conn, plan, setup, spinner);
  } catch (err) {
    spinner.stop();
    await conn.destroy();
    throw asRunError(err);
  }
}

/** Everything after connecting; the connection is ended here on every path but a throw. */
async function session(conn: Connection, plan: Plan, setup: ClientSetup, spinner: Spinner): Promise<void> {
  const where = plan.filters.map(printable).join(', ');
  const discoverOptions: DiscoverOptions = {
    quietMs: plan.quietMs,
    timeoutMs: Math.round(plan.timeoutS * 1000),
    // The JSON object lists payloads (a backup of what is about to go); nothing else needs them.
    keepPayloads: setup.global.json,
    subscribeProperties: setup.properties.subscribe,
    unsubscribeProperties: setup.properties.unsubscribe,
  };
  const selectOptions: SelectOptions = { exclude: plan.exclude, match: plan.match };

  spinner.text(`looking for retained messages under ${where}`);
  const found = await discover(conn, plan.filters, { ...discoverOptions, onProgress: (n) => spinner.text(`looking for retained messages under ${where}: ${count(n)} found`) });
  checkRefusals(found, plan, setup);
  const selection = select(found.messages, selectOptions);
  // Brokers send in their own order; a listing sorted by topic (numbers by value) reads and diffs well.
  selection.selected.sort((a, b) => TOPIC_ORDER.compare(a.topic, b.topic));
  const summary: FoundSummary = {
    filters: plan.filters,
    selected: selection.selected.length,
    excluded: selection.excluded,
    unmatched: selection.unmatched,
  };
  spinner.stop();
  show(selection.selected, summary, setup);
  if (found.timedOut) note(setup, timeoutNote(plan.timeoutS, 'looking'));

  const report = { filters: plan.filters, found: found.messages.length, excluded: selection.excluded, unmatched: selection.unmatched, messages: selection.selected, ignored: found.ignored, timedOut: found.timedOut, refusedFilters: found.refused, dryRun: plan.dryRun };
  if (selection.selected.length === 0 || plan.dryRun) {
    await conn.end(setup.properties.disconnect);
    if (plan.dryRun && selection.selected.length > 0) note(setup, 'dry run: nothing cleared');
    if (setup.global.json) write(jsonReport(report));
    return;
  }

  if (!plan.yes && !(await askToClear(question(selection.selected.length, plan.filters)))) {
    await conn.end(setup.properties.disconnect);
    throw new CliError('nothing cleared (not confirmed)', { command: COMMAND });
  }

  const topics = selection.selected.map((m) => m.topic);
  const clearing = await startSpinner(`clearing 0 of ${count(topics.length)}`, { quiet: setup.global.quiet, color: setup.global.color });
  let lastUpdate = 0;
  let cleared: ClearResult;
  let verification: Verification;
  try {
    cleared = await clear(conn, topics, {
      publishProperties: setup.properties.publish,
      onProgress: (done, total) => {
        const now = Date.now();
        if (now - lastUpdate < PROGRESS_INTERVAL_MS && done !== total) return;
        lastUpdate = now;
        clearing.text(`clearing ${count(done)} of ${count(total)}`);
      },
    });
    clearing.text(`verifying: subscribing to ${where} again`);
    verification = await verify(conn, plan.filters, topics, discoverOptions, selectOptions);
  } finally {
    clearing.stop();
  }
  await conn.end(setup.properties.disconnect);
  if (verification.timedOut) note(setup, timeoutNote(plan.timeoutS, 'verifying'));

  const result: ClearSummary = { selected: topics.length, stillRetained: verification.stillRetained, refused: cleared.refused, appeared: verification.appeared.length };
  if (setup.global.json) write(jsonReport({ ...report, clear: result }));
  const line = summaryLine(result);
  // [exit code] 0 only when nothing that was cleared is still there.
  if (result.stillRetained.length > 0) throw new CliError(line, { command: COMMAND, exitCode: STILL_RETAINED_EXIT_CODE });
  if (!setup.global.quiet && !setup.global.json) {
    const c = chalkFor(setup, 'stderr');
    process.stderr.write(process.stderr.isTTY ? `${c.green('✔')} ${line}\n` : `mqt ${COMMAND}: ${line}\n`);
  }
}

/** Refused subscriptions: all refused is an error (nothing can be known), some is a warning. */
function checkRefusals(found: Discovery, plan: Plan, setup: ClientSetup): void {
  if (found.refused.length === 0) return;
  const text = found.refused.map((r) => `'${printable(r.filter)}' (0x${r.reasonCode.toString(16).padStart(2, '0')} ${reasonCodeName(r.reasonCode, 'suback')})`).join(', ');
  if (found.refused.length === new Set(plan.filters).size) {
    throw new CliError(`the broker refused every subscription: ${text}; nothing cleared`, { command: COMMAND, exitCode: ExitCode.Failure });
  }
  note(setup, `the broker refused ${text}: retained messages under it are neither listed nor cleared`);
}

/**
 * What was found, on stdout: the table on a terminal, a topic a line in a pipe, nothing with
 * --json (its object comes at the end). This is the command's data, so --quiet keeps it.
 */
function show(messages: readonly RetainedMessage[], summary: FoundSummary, setup: ClientSetup): void {
  if (setup.global.json) return;
  const terminal = process.stdout.isTTY === true;
  write(listing(messages, summary, { terminal, chalk: terminal ? chalkFor(setup, 'stdout') : new Chalk({ level: 0 }) }));
  // In a pipe the count goes to stderr, beside the data rather than in it.
  if (!terminal) note(setup, foundLine(summary));
}

let stdoutOpen = true;
/** Writes to stdout until the reader goes away (`--dry-run '#' | head`): then quietly not. */
function write(text: string): void {
  if (stdoutOpen) process.stdout.write(text);
}
function watchStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutOpen = false;
  });
}
