import type { Argv, CommandModule, Options } from 'yargs';
import { addGroup, CLIENT_GROUPS, integer, seconds, text } from './options/index.js';

export const SCENARIOS = ['pub', 'fan-in', 'fan-out', 'conn'] as const;
/** --topic-mode's values (also what `mqt completion` offers). */
export const TOPIC_MODES = ['same', 'distinct'] as const;

function choice<T extends string>(flag: string, values: readonly T[]): (value: unknown) => T {
  return (value: unknown): T => {
    if (Array.isArray(value)) throw new Error(`--${flag} was given more than once`);
    const s = String(value);
    if (!(values as readonly string[]).includes(s)) throw new Error(`--${flag} must be one of ${values.join(', ')}, got '${s}'`);
    return s as T;
  };
}

/** A positive number (a fraction allowed), e.g. --rate 2500.5. */
function positive(flag: string, max: number): (value: unknown) => number {
  return (value: unknown): number => {
    if (Array.isArray(value)) throw new Error(`--${flag} was given more than once`);
    const s = String(value);
    const n = Number(s);
    if (!/^\d+(\.\d+)?$/.test(s) || n <= 0 || n > max) throw new Error(`--${flag} must be a number above 0 and at most ${max}, got '${s}'`);
    return n;
  };
}

/**
 * The flags of `mqt bench`. Names follow the issue and the tools users know (emqtt-bench,
 * mqtt-benchmark): --pubs/--subs for the clients, --msgs or --duration to bound the run.
 * None has a yargs default: bench-run.ts fills in the scenario's own defaults and must tell
 * "not given" from "given" to refuse flags that would do nothing (--conns with pub, …).
 */
export const loadOptions = {
  scenario: { requiresArg: true, coerce: choice('scenario', SCENARIOS), describe: `What to measure: ${SCENARIOS.join(', ')} (default pub; also the first word after bench)` },
  pubs: { requiresArg: true, coerce: integer('pubs', 1, 10_000), defaultDescription: '1; 10 for fan-in', describe: 'Publishing clients' },
  subs: { requiresArg: true, coerce: integer('subs', 0, 10_000), defaultDescription: '1; 10 for fan-out', describe: 'Subscribing clients' },
  topic: { alias: 't', requiresArg: true, coerce: text('topic'), defaultDescription: 'mqt/bench/%i', describe: "Topic to publish on; %i is the publisher's index" },
  'topic-mode': {
    requiresArg: true,
    coerce: choice('topic-mode', TOPIC_MODES),
    defaultDescription: 'same; distinct for fan-in',
    describe: 'same: every client on one topic (%i = 0); distinct: publisher i on its own topic, subscriber j on topic j mod pubs',
  },
  qos: { alias: 'q', requiresArg: true, coerce: integer('qos', 0, 2), defaultDescription: '0', describe: 'QoS of the messages and subscriptions' },
  size: { requiresArg: true, coerce: integer('size', 0, 268_435_000), defaultDescription: '64', describe: 'Payload bytes' },
  msgs: { requiresArg: true, coerce: integer('msgs', 1, 2_000_000_000), defaultDescription: '100000', describe: 'Messages to publish in total (over all publishers)' },
  duration: { requiresArg: true, coerce: positive('duration', 86_400), describe: 'Publish for this many seconds instead of a number of messages' },
  rate: { requiresArg: true, coerce: positive('rate', 100_000_000), describe: 'Messages per second in total (fixed rate, for latency under a given load); default flat out' },
  inflight: { requiresArg: true, coerce: integer('inflight', 1, 65_535), defaultDescription: '100', describe: 'Unacknowledged QoS 1/2 messages per publisher' },
  retain: { alias: 'r', type: 'boolean', describe: 'Publish retained messages' },
  persistent: {
    type: 'boolean',
    describe: 'Subscribers hold persistent sessions (3.1.1 clean session 0, 5.0 session expiry 300 s), so a broker with persistence stores every QoS 1/2 message it owes them; ended when the run closes',
  },
  warmup: { requiresArg: true, coerce: text('warmup'), describe: "Not counted: a number of messages (--warmup 1000) or a time ('2s', '500ms') sent first" },
  timeout: { requiresArg: true, coerce: seconds('timeout', 3600), defaultDescription: '10', describe: 'Seconds to wait for missing deliveries once publishing ended (and for a stalled run to move)' },
  workers: { requiresArg: true, coerce: integer('workers', 1, 256), defaultDescription: '1', describe: 'Worker threads to spread the clients over' },
  conns: { requiresArg: true, coerce: integer('conns', 1, 1_000_000), defaultDescription: '2000', describe: 'conn: connections to open' },
  concurrency: { requiresArg: true, coerce: integer('concurrency', 1, 100_000), defaultDescription: '200', describe: 'conn: connections waiting for CONNACK at a time' },
} as const satisfies Record<string, Options>;

export const targetOptions = {
  compare: {
    requiresArg: true,
    coerce: text('compare'),
    describe: "Compare brokers: a comma-separated list of URLs, 'builtin' for ours, e.g. builtin,mqtt://127.0.0.1:1883",
  },
  rounds: { requiresArg: true, coerce: integer('rounds', 1, 100), defaultDescription: '3', describe: 'With --compare: runs per target, taken in turn (A B A B …)' },
  'broker-pid': { requiresArg: true, coerce: integer('broker-pid', 1, 4_194_304), describe: "PID of the broker under test, to report its CPU time and memory (known for 'builtin')" },
} as const satisfies Record<string, Options>;

/** Bench's own output flag, shown with --json and the other output flags. */
export const reportOptions = {
  report: {
    requiresArg: true,
    coerce: text('report'),
    describe: 'Also write the results as one self-contained HTML page with charts (rate per second, latency percentiles; every broker of --compare on the same axes)',
  },
} as const satisfies Record<string, Options>;

/**
 * Connection flags that mean nothing to the load clients, which always start clean sessions
 * and never reconnect (a dropped connection is counted, not hidden): left out of --help, and
 * refused by strict parsing.
 */
const NOT_FOR_BENCH = new Set(['disable-clean-session', 'session-expiry', 'reconnect']);

/** What the shared flags mean for bench, where that differs from pub and sub. */
const BENCH_MEANING: Record<string, Partial<Options>> = {
  host: { defaultDescription: 'the built-in broker, started for the run' },
  port: { defaultDescription: "the built-in broker's; else 1883, 8883 with TLS, 80/443 with --ws" },
  'protocol-version': { defaultDescription: '3.1.1', describe: 'MQTT version of the load clients: 3.1.1 or 5' },
  id: { describe: "Client id prefix of the load clients, which add the run and their role (default: mqt-bench- and random hex)" },
  json: { describe: 'Print the result as one JSON object on stdout, for programs' },
};

/** The client groups bench takes: every way to reach a broker, and the output flags; no Will or -D (the load clients send neither). */
const BENCH_CLIENT_GROUPS = CLIENT_GROUPS.filter(([heading]) => heading === 'Connection:' || heading === 'TLS:' || heading === 'Output:').map(
  ([heading, options]) =>
    [heading, Object.fromEntries(Object.entries(options).filter(([key]) => !NOT_FOR_BENCH.has(key)).map(([key, o]) => [key, { ...o, ...BENCH_MEANING[key] }]))] as const,
);

export interface BenchArgs {
  scenario?: string;
}

const bench: CommandModule<object, BenchArgs> = {
  command: 'bench [scenario]',
  describe: 'Measure a broker: message rate, latency percentiles, lost messages',
  builder: (yargs: Argv) => {
    let y = yargs.positional('scenario', {
      type: 'string',
      describe: `What to measure: ${SCENARIOS.join(', ')} (default pub)`,
      coerce: (v: unknown) => (v === undefined ? undefined : choice('scenario', SCENARIOS)(v)),
    }) as Argv;
    y = addGroup(y, 'Load:', loadOptions);
    y = addGroup(y, 'Target:', targetOptions);
    for (const [heading, options] of BENCH_CLIENT_GROUPS) y = addGroup(y, heading, options);
    y = addGroup(y, 'Output:', reportOptions);
    return y
      .example('$0 bench', 'Measure the built-in broker: 1 publisher, 1 subscriber, QoS 0, 100,000 messages')
      .example('$0 bench --qos 1 --msgs 100000', 'Send 100,000 QoS 1 messages and report rate, latency and losses')
      .example('$0 bench fan-in -h broker.lan --qos 1', '10 publishers to 1 subscriber on a wildcard, against broker.lan')
      .example('$0 bench --rate 10000 --duration 30 --json', 'Latency at 10,000 msg/s for 30 s, as one JSON object')
      .example('$0 bench --compare builtin,mqtt://127.0.0.1:1883 --rounds 3', 'Ours against the broker on port 1883, 3 rounds each')
      .epilogue(
        'With no -h, -p, -L or --compare, mqt bench starts its own broker in a separate process for the run. ' +
          'Exit status: 0 when the run kept the delivery guarantees; 3 when the broker lost a QoS 1 or 2 message ' +
          'or duplicated a QoS 2 message; 1 for a usage or local error; the CONNACK reason code when the broker ' +
          'refused a connection.',
      ) as unknown as Argv<BenchArgs>;
  },
  handler: async (argv) => {
    // Lazy: the bench engine loads only when this command runs.
    const { runBenchCommand } = await import('./bench-run.js');
    await runBenchCommand(argv as unknown as Readonly<Record<string, unknown>>);
  },
};

export default bench;
