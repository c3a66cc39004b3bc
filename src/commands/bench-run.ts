/**
 * `mqt bench`: read and check every flag, decide the targets (the broker named by -h/-p/-L,
 * the env or a profile; else ours, started for the run in a child process; or the --compare
 * list), run the engine with a spinner on a terminal, print the summary (or one JSON object;
 * with --report also an HTML page, core/bench/html-report.ts, its path checked before the run),
 * and fail with exit code 3 when the broker broke a delivery guarantee. Loaded only when the
 * command runs (bench.ts imports it lazily).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { startBuiltinBroker, type BuiltinBroker } from '../core/bench/builtin.js';
import { compareJson, compareResults, runRounds } from '../core/bench/compare.js';
import { causeOf, failureName } from '../core/bench/loss-hints.js';
import { reportPathProblem, writeBenchReport } from '../core/bench/html-report-file.js';
import { runBench } from '../core/bench/index.js';
import { PAYLOAD_HEADER_BYTES } from '../core/bench/payload.js';
import { benchJson, describeConfig, describeRun, summarize } from '../core/bench/report.js';
import type { BenchConfig, BenchProgress, BenchResult, BenchTarget, Scenario } from '../core/bench/types.js';
import { envSettings, expandUrl, loadConfig, parseUrl, pickProfile, type ConnectionSettings } from '../core/client/config.js';
import { connectError } from '../core/client/diagnose.js';
import type { ConnectionOptions } from '../core/client/types.js';
import { MqttError } from '../core/codec/errors.js';
import { validateTopicName } from '../core/topic/validate.js';
import { CliError, UsageError } from './errors.js';
import { GUARANTEE_BROKEN_EXIT, INTERRUPTED_EXIT_CODE } from './exit-status.js';
import { readClient, readGlobal, type ArgvLike, type GlobalGroup } from './options/index.js';
import { renderCompare, renderSummary, progressText } from './render/bench-output.js';
import { colorFor } from './render/color.js';
import { asCliError } from './render/failure.js';
import { startSpinner, type Spinner } from './render/spinner.js';

const COMMAND = 'bench';
export const BUILTIN = 'builtin';

const DEFAULT_MSGS = 100_000;
const DEFAULT_TOPIC = 'mqt/bench/%i';

/** Clients and topic layout of each scenario unless --pubs/--subs/--topic-mode say otherwise. */
const PRESETS: Record<Exclude<Scenario, 'conn'>, { pubs: number; subs: number; topicMode: 'same' | 'distinct' }> = {
  pub: { pubs: 1, subs: 1, topicMode: 'same' },
  // 10 → 1: each publisher on its own topic, the subscriber on a wildcard (the engine's preset).
  'fan-in': { pubs: 10, subs: 1, topicMode: 'distinct' },
  'fan-out': { pubs: 1, subs: 10, topicMode: 'same' },
};

const MESSAGE_FLAGS = ['pubs', 'subs', 'topic', 'topic-mode', 'qos', 'size', 'msgs', 'duration', 'rate', 'inflight', 'retain', 'persistent', 'warmup'] as const;
const CONN_FLAGS = ['conns', 'concurrency'] as const;

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

const given = (argv: ArgvLike, key: string): boolean => argv[key] !== undefined;
const flag = (key: string): string => (key.length === 1 ? `-${key}` : `--${key}`);

/** `--warmup 1000` is messages; `--warmup 2s`, `1.5s` or `500ms` is time. */
export function parseWarmup(value: string): { warmupMsgs?: number; warmupMs?: number } {
  const m = /^(\d+(?:\.\d+)?)(s|ms)?$/.exec(value.trim());
  if (m === null || (m[2] === undefined && m[1]!.includes('.'))) {
    throw usage(`--warmup takes a number of messages (--warmup 1000) or a time with its unit (--warmup 2s, --warmup 500ms), got '${value}'`);
  }
  const n = Number(m[1]);
  if (m[2] === undefined) return { warmupMsgs: n };
  return { warmupMs: m[2] === 's' ? n * 1000 : n };
}

/** The --compare list: 'builtin' or broker URLs, at least two, none twice. */
export function parseCompare(value: string): string[] {
  const targets = value.split(',').map((s) => s.trim());
  if (targets.some((t) => t === '')) throw usage(`--compare takes a comma-separated list like builtin,mqtt://127.0.0.1:1883; '${value}' has an empty entry`);
  for (const t of targets) {
    if (t === BUILTIN) continue;
    try {
      parseUrl(t);
    } catch (err) {
      throw usage(`--compare: ${(err as Error).message}`);
    }
  }
  if (targets.length < 2) throw usage(`--compare needs at least two targets, e.g. builtin,${targets[0] === BUILTIN ? 'mqtt://127.0.0.1:1883' : targets[0]}`);
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  if (twice !== undefined) throw usage(`--compare names '${twice}' twice`);
  return targets;
}

/** The load, from the flags and the scenario's defaults; every refusal is a one-line usage error. */
export function readConfig(argv: ArgvLike): BenchConfig {
  const scenario = (argv.scenario as Scenario | undefined) ?? 'pub';
  const n = (key: string): number | undefined => argv[key] as number | undefined;
  if (scenario === 'conn') {
    const extra = MESSAGE_FLAGS.filter((k) => given(argv, k));
    if (extra.length > 0) throw usage(`${extra.map(flag).join(', ')} ${extra.length === 1 ? 'does' : 'do'} not apply to the conn scenario, which only connects (use --conns and --concurrency)`);
  } else {
    const extra = CONN_FLAGS.filter((k) => given(argv, k));
    if (extra.length > 0) throw usage(`${extra.map(flag).join(', ')} ${extra.length === 1 ? 'belongs' : 'belong'} to the conn scenario: mqt bench conn ${extra.map((k) => `${flag(k)} N`).join(' ')}`);
  }
  // fan-in and fan-out lay out their own topics (scenarios.ts): a topic per publisher on a wildcard, one topic for all.
  if (given(argv, 'topic-mode') && scenario !== 'pub') throw usage(`--topic-mode applies to the pub scenario; ${scenario} has its own layout`);
  const preset = scenario === 'conn' ? PRESETS.pub : PRESETS[scenario];
  const qos = (n('qos') ?? 0) as 0 | 1 | 2;
  const size = n('size') ?? 64;
  if (size < PAYLOAD_HEADER_BYTES) throw usage(`--size must be at least ${PAYLOAD_HEADER_BYTES}: each payload carries a ${PAYLOAD_HEADER_BYTES}-byte header (run, sequence number, publisher, send time)`);
  if (given(argv, 'msgs') && given(argv, 'duration')) throw usage('--msgs and --duration both bound the run: use one');
  const durationS = n('duration');
  const msgs = durationS === undefined ? (n('msgs') ?? DEFAULT_MSGS) : undefined;
  if (given(argv, 'inflight') && qos === 0) throw usage('--inflight limits unacknowledged QoS 1 and 2 messages; add -q 1 or -q 2');
  const pubs = n('pubs') ?? preset.pubs;
  const subs = n('subs') ?? preset.subs;
  if (msgs !== undefined && msgs < pubs) throw usage(`--msgs ${msgs} is fewer than one message per publisher (--pubs ${pubs})`);
  const topic = (argv.topic as string | undefined) ?? DEFAULT_TOPIC;
  try {
    validateTopicName(topic.replaceAll('%i', '0'));
  } catch (err) {
    if (err instanceof MqttError) throw usage(`--topic '${topic}': ${err.message}`);
    throw err;
  }
  const warmup = argv.warmup === undefined ? {} : parseWarmup(argv.warmup as string);
  return {
    scenario,
    pubs,
    subs,
    topic,
    topicMode: (argv['topic-mode'] as 'same' | 'distinct' | undefined) ?? preset.topicMode,
    qos,
    size,
    msgs,
    durationMs: durationS === undefined ? undefined : durationS * 1000,
    rate: n('rate'),
    inflight: n('inflight') ?? 100,
    retain: argv.retain === true,
    persistent: argv.persistent === true,
    protocolVersion: 4, // decided with the connection (readTargets)
    warmupMsgs: warmup.warmupMsgs,
    warmupMs: warmup.warmupMs,
    workers: n('workers') ?? 1,
    timeoutMs: (n('timeout') ?? 10) * 1000,
    conns: n('conns') ?? 2000,
    concurrency: n('concurrency') ?? 200,
  };
}

/**
 * Whether the user named a broker anywhere a client command would look: -h, -p, -L, MQT_URL,
 * a --profile, or the config file's defaults. Without one, bench measures its own broker.
 */
async function namesBroker(argv: ArgvLike, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (given(argv, 'host') || given(argv, 'port') || given(argv, 'url')) return true;
  if (envSettings(env).url !== undefined) return true;
  const names = (layer: ConnectionSettings): boolean => {
    const expanded = expandUrl(layer);
    return expanded.host !== undefined || expanded.port !== undefined;
  };
  try {
    const config = await loadConfig(env);
    const profile = argv.profile as string | undefined;
    if (profile !== undefined && names(pickProfile(config, profile, env))) return true;
    return names(config?.defaults ?? {});
  } catch {
    // A config that cannot be read names a broker we cannot know: readClient reports the error.
    return true;
  }
}

interface TargetPlan {
  /** 'builtin' or the URL / host:port named. */
  name: string;
  builtin: boolean;
  connection: ConnectionOptions;
}

/** One password prompt for all targets of a --compare. */
function promptOnce(): ((message: string) => Promise<string>) | undefined {
  if (!(process.stdin.isTTY && process.stderr.isTTY)) return undefined;
  let answer: Promise<string> | undefined;
  return (message) =>
    (answer ??= import('./render/prompt.js').then(({ promptPassword }) => promptPassword(message)));
}

async function readTargets(argv: ArgvLike, config: BenchConfig, compare: string[] | undefined, env: NodeJS.ProcessEnv): Promise<{ targets: TargetPlan[]; global: GlobalGroup }> {
  const prompt = promptOnce();
  const names = compare ?? [(await namesBroker(argv, env)) ? '' : BUILTIN];
  const targets: TargetPlan[] = [];
  let global: GlobalGroup | undefined;
  for (const name of names) {
    const builtin = name === BUILTIN;
    // The builtin's port is known once it listens; 1 stands in until then.
    const override: Record<string, unknown> = builtin ? { url: undefined, host: '127.0.0.1', port: 1 } : name === '' ? {} : { url: name, host: undefined, port: undefined };
    const setup = await readClient({ ...argv, ...override }, { command: COMMAND, packets: ['publish', 'subscribe'], reconnect: false, env, prompt });
    global ??= setup.global;
    const c = setup.connection;
    if (builtin && (c.transport === 'mqtts' || c.transport === 'wss')) {
      throw usage("the built-in broker has no TLS listener: drop the TLS options, or name a broker with -h, -L or --compare");
    }
    if (setup.urlTopic !== undefined && setup.urlTopic !== '') throw usage(`the URL names a topic ('${setup.urlTopic}'): mqt bench takes its topic from --topic`);
    if (c.protocolVersion === 3) throw usage('mqt bench speaks MQTT 3.1.1 and 5: use -V 3.1.1 or -V 5');
    // MQTT 3.1.1 unless asked for 5 (by -V, the config, or a flag that needs 5): the version every broker speaks.
    const protocolVersion: 4 | 5 = !c.fallback ? (c.protocolVersion as 4 | 5) : setup.mqtt5.length > 0 ? 5 : 4;
    config.protocolVersion = protocolVersion;
    const label = builtin ? BUILTIN : name !== '' ? name : `${c.transport}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
    targets.push({ name: label, builtin, connection: { ...c, protocolVersion, fallback: false } });
  }
  return { targets, global: global ?? readGlobal(argv, env) };
}

function checkTargetFlags(argv: ArgvLike): { compare: string[] | undefined; rounds: number } {
  const compare = argv.compare === undefined ? undefined : parseCompare(argv.compare as string);
  if (compare !== undefined) {
    const named = (['host', 'port', 'url'] as const).filter((k) => given(argv, k));
    if (named.length > 0) throw usage(`--compare names the brokers: drop ${named.map((k) => ({ host: '-h', port: '-p', url: '-L' })[k]).join(', ')}`);
    if (given(argv, 'broker-pid')) throw usage("--broker-pid names one broker's process; it cannot be used with --compare");
  } else if (given(argv, 'rounds')) {
    throw usage('--rounds goes with --compare: mqt bench --compare builtin,mqtt://host:1883 --rounds 3');
  }
  return { compare, rounds: (argv.rounds as number | undefined) ?? 3 };
}

/** The spinner's updates, at most a few a second whatever the engine reports. */
function progress(spinner: Spinner, config: BenchConfig, prefix: () => string): (p: BenchProgress) => void {
  let last = 0;
  return (p) => {
    const t = Date.now();
    if (t - last < 100) return;
    last = t;
    spinner.text(progressText(p, config, prefix()));
  };
}

function stdoutChalk(global: GlobalGroup): ChalkInstance {
  return global.color ? colorFor('stdout') : new Chalk({ level: 0 });
}

function perSecondValues(r: BenchResult): number[] {
  return r.perSecond.map((s) => (r.expected > 0 ? s.delivered : s.published));
}

function write(text: string): void {
  process.stdout.write(text);
}

/**
 * Why a run could not start, in the words the client commands use (core/client/diagnose.ts):
 * a refused CONNECT exits with its reason code, a socket failure says what to check.
 */
function startFailure(err: unknown, target: BenchTarget, config: BenchConfig): CliError {
  const version = config.protocolVersion;
  // The engine rejects with an MqttError for a refused CONNECT (CONNACK code) or SUBSCRIBE (SUBACK code).
  if (err instanceof MqttError && /^CONNECT\b/.test(err.message)) {
    return asCliError(connectError(err, target.connection, version, { reasonCode: err.reasonCode, returnCode: err.reasonCode }), COMMAND) as CliError;
  }
  if (err instanceof MqttError) {
    // A refused SUBSCRIBE: name the code and say what usually causes it (an ACL, mostly).
    const cause = /^SUBSCRIBE\b/.test(err.message) ? causeOf(err.reasonCode) : undefined;
    const why = cause === undefined ? '' : ` (${failureName(err.reasonCode, 'SUBACK', version)}): ${cause}`;
    return new CliError(`${target.name}: ${err.message}${why}`, { command: COMMAND, cause: err });
  }
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') {
    return asCliError(connectError(err, target.connection, version), COMMAND) as CliError;
  }
  return new CliError(`${target.name}: ${err instanceof Error ? err.message : String(err)}`, { command: COMMAND, cause: err });
}

/**
 * A conn storm in which no connection got through measured nothing: it ends as a failed first
 * connect of the other scenarios does, with the most frequent failure in words (an HTTP answer,
 * a refusal, a CONNACK code), not with a table of zeros and exit 0.
 */
function noConnection(r: BenchResult): Error | undefined {
  if (r.conn === undefined || r.conn.connected > 0 || r.conn.attempted === 0) return undefined;
  const socket = [...(r.socketErrors ?? [])].sort((a, b) => b.count - a.count)[0];
  const refusal = r.errors.filter((e) => e.packet === undefined || e.packet === 'CONNACK').sort((a, b) => b.count - a.count)[0];
  if (refusal !== undefined && (socket === undefined || refusal.count >= socket.count)) return new MqttError(refusal.reasonCode, `CONNECT refused with ${refusal.reasonCode}`);
  const code = socket?.code ?? 'ECLOSED';
  return Object.assign(new Error(`none of the ${r.conn.attempted} connections was accepted (${code})`), { code });
}

export async function runBenchCommand(argv: ArgvLike, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = readConfig(argv);
  const { compare, rounds } = checkTargetFlags(argv);
  // --report: a path that cannot be written is said now, not after a long run.
  const reportPath = argv.report as string | undefined;
  const reportProblem = reportPath === undefined ? undefined : reportPathProblem(reportPath);
  if (reportProblem !== undefined) throw new CliError(`--report: ${reportProblem}`, { command: COMMAND });
  const { targets, global } = await readTargets(argv, config, compare, env);
  if (given(argv, 'broker-pid') && targets[0]?.builtin === true) throw usage("--broker-pid is for a broker you name with -h or -L; the built-in broker's PID is known");

  const controller = new AbortController();
  // Ctrl-C stops the run; a second one gets Node's default (immediate exit), the builtin follows via IPC.
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  let builtin: BuiltinBroker | undefined;
  let spinner: Spinner | undefined;
  try {
    const benchTargets: BenchTarget[] = [];
    if (targets.some((t) => t.builtin)) {
      const ws = targets.some((t) => t.builtin && t.connection.transport === 'ws');
      try {
        builtin = await startBuiltinBroker({ ws });
      } catch (err) {
        throw new CliError(`cannot start the built-in broker: ${(err as Error).message}`, { command: COMMAND, cause: err });
      }
    }
    for (const t of targets) {
      if (t.builtin && builtin !== undefined) {
        const port = t.connection.transport === 'ws' ? builtin.wsPort! : builtin.port;
        benchTargets.push({ name: t.name, connection: { ...t.connection, host: builtin.host, port }, brokerPid: builtin.pid });
      } else {
        benchTargets.push({ name: t.name, connection: t.connection, brokerPid: argv['broker-pid'] as number | undefined });
      }
    }

    // ora loops forever clearing lines on a terminal that reports 0 columns (a pty without a
    // window size, e.g. `script` in a container): no spinner there.
    const noSpinner = global.quiet || !((process.stderr.columns ?? 0) > 0);
    spinner = await startSpinner(`${describeRun(config, benchTargets[0]!.name)}: connecting`, { quiet: noSpinner, color: global.color });
    // The HTML page, written after the output (also when a guarantee was broken); "report: FILE" on stderr.
    const report = (runs: readonly (readonly BenchResult[])[]): void => {
      if (reportPath === undefined) return;
      try {
        writeBenchReport(reportPath, benchTargets.map((target, i) => ({ target, builtin: targets[i]!.builtin, runs: runs[i] ?? [] })));
      } catch (err) {
        throw new CliError((err as Error).message, { command: COMMAND, cause: err });
      }
      if (!global.quiet) process.stderr.write(`report: ${reportPath}\n`);
    };
    const run = async (target: BenchTarget, prefix: () => string): Promise<BenchResult> => {
      let result: BenchResult;
      try {
        result = await runBench(target, config, progress(spinner!, config, prefix), controller.signal);
      } catch (err) {
        if (controller.signal.aborted) throw new CliError('interrupted', { command: COMMAND, exitCode: INTERRUPTED_EXIT_CODE, cause: err });
        throw startFailure(err, target, config);
      }
      const none = noConnection(result);
      if (none !== undefined) throw startFailure(none, target, config);
      return result;
    };

    if (compare === undefined) {
      const target = benchTargets[0]!;
      const result = await run(target, () => describeRun(config, target.name));
      spinner.stop();
      const summary = summarize(result);
      if (global.json) write(`${JSON.stringify(benchJson(result, target.brokerPid))}\n`);
      else if (!global.quiet) write(renderSummary(summary, stdoutChalk(global), { perSecond: process.stdout.isTTY ? perSecondValues(result) : undefined }));
      report([[result]]);
      const who = target.name === BUILTIN ? 'the built-in broker' : target.name;
      if (!summary.verdict.ok) throw new CliError(`${who} broke its delivery guarantee: ${summary.verdict.problems.join('; ')}`, { command: COMMAND, exitCode: GUARANTEE_BROKEN_EXIT });
      return;
    }

    let current = { round: 0, target: 0 };
    const results = await runRounds(benchTargets.length, rounds, (t, r) => {
      current = { round: r, target: t };
      return run(benchTargets[t]!, () => `round ${current.round + 1}/${rounds} · ${benchTargets[current.target]!.name}`);
    });
    spinner.stop();
    const names = benchTargets.map((t) => t.name);
    const summary = compareResults(names, results);
    const pids = benchTargets.map((t) => t.brokerPid);
    if (global.json) write(`${JSON.stringify(compareJson(summary, results, pids))}\n`);
    else if (!global.quiet) write(renderCompare(summary, stdoutChalk(global), `${describeRun(config, names.join(' vs '))}`, describeConfig(config)));
    report(results);
    if (!summary.ok) throw new CliError(`a broker broke its delivery guarantee: ${summary.problems.join('; ')}`, { command: COMMAND, exitCode: GUARANTEE_BROKEN_EXIT });
  } finally {
    spinner?.stop();
    process.off('SIGINT', onSigint);
    await builtin?.stop();
  }
}
