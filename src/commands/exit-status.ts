/**
 * Every exit status of mqt in one table: what it means and which commands end with it. The
 * commands take their codes from here, and scripts/build-man.mjs writes the EXIT STATUS section
 * of each man page from the same rows (mqt(1) gets them all), so the pages cannot drift from
 * what the CLI does.
 *
 * Two rows stand for a range the broker decides: a refused CONNACK (3.1/3.1.1 return codes
 * 1–5, MQTT 5 reason codes from 0x80) and, for pub, the reason code of a refused PUBLISH. The
 * man pages list their numbers and names from the codec's reason-code table
 * (src/core/codec/constants.ts). Not imported here: this module loads with every command and
 * stays a leaf.
 */

/** The fixed codes, by name. errors.ts re-exports Success and Failure as ExitCode. */
export const ExitCode = {
  Success: 0,
  /** Usage errors and local failures (bad flag, unreadable file, …). */
  Failure: 1,
  /** retain-clear: a retained message was still there when it checked after clearing. */
  StillRetained: 2,
  /** bench: the broker lost a QoS 1/2 message or duplicated a QoS 2 one. */
  GuaranteeBroken: 3,
  /** sub -W: mosquitto_sub's exit status when the timeout expires (man mosquitto_sub, EXIT VALUES). */
  Timeout: 27,
  /** bench stopped by Ctrl-C (SIGINT): 128 + 2, as a shell reports it. */
  Interrupted: 130,
} as const;

/** The names the commands used before the table; kept so their call sites read the same. */
export const STILL_RETAINED_EXIT_CODE = ExitCode.StillRetained;
export const GUARANTEE_BROKEN_EXIT = ExitCode.GuaranteeBroken;
export const TIMEOUT_EXIT_CODE = ExitCode.Timeout;
export const INTERRUPTED_EXIT_CODE = ExitCode.Interrupted;

/** The commands that connect to a broker as clients (and so can be refused by one). */
const CLIENTS = ['pub', 'sub', 'bench', 'retain-clear', 'lwt-test'] as const;
/** Every command, for the rows that apply to all; a command missing here has no EXIT STATUS and fails the man build. */
export const EXIT_COMMANDS = ['broker', ...CLIENTS, 'passwd', 'completion'] as const;
const ALL = EXIT_COMMANDS;

export type CommandName = (typeof ALL)[number];

export interface ExitStatusRow {
  /** A code, or the range a broker's answer decides (the pages expand it from the codec's tables). */
  code: number | 'connack-v3' | 'reason-code';
  /** One sentence for the EXIT STATUS section. */
  meaning: string;
  /** Commands that end with it; a command's own meaning wins over the general one. */
  commands: readonly CommandName[];
  /** What it means for one command in particular, when that says more. */
  perCommand?: Partial<Record<CommandName, string>>;
  /** 'reason-code' rows: the packets whose reason codes (0x80 and above) become the exit status, per command. */
  packets?: Partial<Record<CommandName, readonly string[]>>;
}

export const EXIT_STATUSES: readonly ExitStatusRow[] = [
  {
    code: ExitCode.Success,
    meaning: 'Success.',
    commands: ALL,
    perCommand: {
      broker: 'The broker stopped on SIGINT or SIGTERM, or --check found nothing wrong; the admin command succeeded.',
      pub: 'Every message went out (and, at QoS 1 and 2, was acknowledged).',
      sub: 'It ended as asked: -C messages printed, -E subscribed, --retained-only done, SIGINT or SIGTERM, or the reader of stdout went away.',
      bench: 'The run kept the delivery guarantees (no QoS 1/2 message lost, no QoS 2 message duplicated).',
      'retain-clear': 'Everything found was cleared and is gone (or, with --dry-run, listed).',
      'lwt-test': 'Every mode passed (a skipped mode counts as passed).',
    },
  },
  {
    code: ExitCode.Failure,
    meaning: 'A usage error (one line saying what was wrong), or a failure on this side: a file that cannot be read, a broker that cannot be reached, a lost connection, a refused subscription.',
    commands: ALL,
    perCommand: {
      broker: 'A usage error, a configuration or file error, a port already in use, or (admin commands) a refused request.',
      pub: 'A usage error, a local failure, or a message that was not sent or not acknowledged (and the broker gave no reason code of 0x80 or above).',
      'lwt-test': 'A mode failed (the will did not come, came too late or came when it must not), or a usage or local error.',
      'retain-clear': 'A usage or local error, nothing cleared because it was not confirmed, or the broker refused every subscription.',
    },
  },
  {
    code: 'connack-v3',
    meaning: 'The broker refused the connection with this MQTT 3.1/3.1.1 CONNACK return code.',
    commands: CLIENTS,
  },
  {
    code: ExitCode.StillRetained,
    meaning: 'Some retained messages were still there when retain-clear checked again after clearing them (e.g. an ACL that forbids publishing there, or a client that publishes them anew).',
    commands: ['retain-clear'],
  },
  {
    code: ExitCode.GuaranteeBroken,
    meaning: 'The broker broke a delivery guarantee during the run: a QoS 1 or 2 message was lost, or a QoS 2 message was delivered twice.',
    commands: ['bench'],
  },
  {
    code: ExitCode.Timeout,
    meaning: 'The -W timeout expired before sub ended otherwise (as mosquitto_sub).',
    commands: ['sub'],
  },
  {
    code: ExitCode.Interrupted,
    meaning: 'The run was interrupted with Ctrl-C (SIGINT) before it ended.',
    commands: ['bench'],
  },
  {
    code: 'reason-code',
    meaning: 'The broker refused the connection with this MQTT 5 CONNACK reason code, or (pub) refused a message with it in a PUBACK or PUBREC.',
    commands: CLIENTS,
    perCommand: {
      ...Object.fromEntries(CLIENTS.map((c) => [c, 'The broker refused the connection with this MQTT 5 CONNACK reason code.'])),
      pub: 'The broker refused the connection with this MQTT 5 CONNACK reason code, or refused a message with it in a PUBACK or PUBREC (the first refused one, when several were); 0x95 (Packet too large) also for a message larger than the broker\'s Maximum Packet Size, which pub does not send; 0x92 (Packet Identifier not found) for a QoS 2 message another broker of a -L list could not release.',
    },
    packets: { ...Object.fromEntries(CLIENTS.map((c) => [c, ['connack']])), pub: ['connack', 'puback', 'pubrec'] },
  },
];

/** The rows that apply to one command, in table order. */
export function exitStatusesOf(command: CommandName): ExitStatusRow[] {
  return EXIT_STATUSES.filter((row) => row.commands.includes(command));
}
