import type { Argv, CommandModule, Options } from 'yargs';
import type { LwtMode } from '../core/client/lwt-test.js';
import { integer, seconds, text, withClientOptions } from './options/index.js';

/**
 * The modes in the order `all` runs them. Spelled out here (a type-only import checks each)
 * because importing the library would load MQTT.js for `mqt --help`; a test checks the list
 * is the library's LWT_MODES.
 */
export const MODES = ['kill', 'keepalive', 'graceful', 'disconnect-with-will', 'takeover'] as const satisfies readonly LwtMode[];
export const MODE_CHOICES = [...MODES, 'all'] as const;

/** `--mode kill,graceful` or `--mode all`: the modes to run, in the order given (all: every mode). */
export function parseModes(value: unknown): LwtMode[] {
  if (Array.isArray(value)) throw new Error('--mode was given more than once: list the modes with commas (--mode kill,graceful)');
  const words = String(value).split(',').map((w) => w.trim()).filter((w) => w !== '');
  if (words.length === 0) throw new Error('--mode needs a value');
  for (const w of words) {
    if (!(MODE_CHOICES as readonly string[]).includes(w)) throw new Error(`--mode: unknown mode '${w}'; choose from ${MODE_CHOICES.join(', ')}`);
  }
  return words.includes('all') ? [...MODES] : [...new Set(words as LwtMode[])];
}

/** lwt-test's own flags; the shared client groups come from options/. */
export const lwtTestOptions = {
  mode: {
    requiresArg: true,
    coerce: parseModes,
    defaultDescription: 'kill',
    describe:
      'How the client with the will ends: kill (connection destroyed, no DISCONNECT), keepalive (goes silent), graceful (DISCONNECT: no will), ' +
      'disconnect-with-will (MQTT 5 DISCONNECT 0x04), takeover (a second client with the same id), or all; several with commas',
  },
  timeout: {
    requiresArg: true,
    coerce: seconds('timeout', 3600),
    defaultDescription: '5',
    describe:
      'Seconds a will may come after it is due (at once, after --will-delay, or 1.5 × keep-alive after the last packet) and pass; a later one fails. ' +
      'Also how long past that time to watch for a will that must not come',
  },
} as const satisfies Record<string, Options>;

/** Shared flags whose meaning (or default) lwt-test narrows: re-declared with its own help (aliases stay the group's). */
const narrowedOptions = {
  keepalive: { requiresArg: true, coerce: integer('keepalive', 1, 65_535), defaultDescription: '2', describe: 'Keep-alive of the client with the will in the keepalive mode, seconds' },
  'will-topic': { requiresArg: true, coerce: text('will-topic'), defaultDescription: 'mqt/lwt-test/<random>, one per mode', describe: 'Topic of the will message' },
  'will-payload': { requiresArg: true, coerce: text('will-payload', { allowEmpty: true }), defaultDescription: "'mqt lwt-test: <mode>'", describe: 'Payload of the will message' },
} as const satisfies Record<string, Options>;

export interface LwtTestArgs {
  [flag: string]: unknown;
}

const lwtTest: CommandModule<object, LwtTestArgs> = {
  command: 'lwt-test',
  describe: "Check that a broker sends a client's will only when the client dies",
  builder: (yargs: Argv) =>
    withClientOptions(yargs.options(lwtTestOptions).group(Object.keys(lwtTestOptions), 'Test:'))
      .options(narrowedOptions)
      .example('$0 lwt-test', "Test mqt's own broker, started for the run (kill mode)")
      .example('$0 lwt-test -h broker.lan --mode all', 'Try every way a client can end against a broker, as a table')
      .example('$0 lwt-test -L mqtts://broker.example --mode keepalive -k 1 --will-qos 1 --will-retain', 'Silent client, QoS 1 retained will, over TLS')
      .example('$0 lwt-test --mode kill --will-delay 3 --json', 'MQTT 5 will delay: the will must come 3 s after the client dies')
      .epilogue(
        'With no -h, -p, -L or --profile (and no MQT_URL or default host in the config file), mqt starts its own broker for the run: a self-test.\n\n' +
          'Exit status: 0 when every mode passed (skipped modes count as passed), 1 when a mode failed or on a usage error, ' +
          'the CONNACK reason code when the broker refused a connection.',
      ) as unknown as Argv<LwtTestArgs>,
  handler: async (argv) => {
    // Lazy: the client stack and the raw codec client load only when this command runs.
    const { runLwtTestCommand } = await import('./lwt-test-run.js');
    await runLwtTestCommand(argv);
  },
};

export default lwtTest;
