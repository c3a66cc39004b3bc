/**
 * What `mqt sub` writes for each message, chosen once at start-up:
 * - --json: one JSON record per line, on a terminal or not;
 * - -F: mosquitto's format engine;
 * - a terminal: the topic in colour, retained messages marked, binary payloads as hex;
 * - a pipe or file: mosquitto_sub's own output (payload, or `topic payload` with -v), bytes as received.
 * Binary payloads never reach a terminal raw unless --raw.
 */
import type { ChalkInstance } from 'chalk';
import { formatDefault, renderFormat, viewPayload, type CompiledFormat, type Rendered } from '../../core/client/format.js';
import { jsonRecord } from '../../core/client/json-output.js';
import type { ReceivedMessage } from '../../core/client/message.js';

export interface SubOutputOptions {
  json: boolean;
  /** The compiled -F format, when given. */
  format?: CompiledFormat | undefined;
  /** -v */
  verbose: boolean;
  /** false with -N */
  eol: boolean;
  pretty: boolean;
  /** --raw: let binary bytes through to a terminal. */
  raw: boolean;
  /** Whether the destination is a terminal (stdout is a TTY and there is no --output). */
  terminal: boolean;
  /** Colours for the terminal view; a level-0 instance prints plain text (NO_COLOR, --no-color). */
  chalk: ChalkInstance;
}

export type SubOutput = (message: ReceivedMessage) => Rendered;

const NONE: readonly string[] = Object.freeze([]);

/** The terminal view of one message: `topic [retained] payload`. */
export function terminalLine(message: ReceivedMessage, options: Pick<SubOutputOptions, 'eol' | 'pretty' | 'raw' | 'chalk'>): Buffer {
  const { chalk } = options;
  const parts: (string | Buffer)[] = [chalk.cyan(message.topic)];
  if (message.retain) parts.push(' ', chalk.yellow('[retained]'));
  parts.push(' ');
  if (message.payload.length === 0) {
    parts.push(chalk.dim('(empty)'));
  } else {
    const view = viewPayload(message.payload, { binaryAsHex: !options.raw, pretty: options.pretty });
    if (view.kind === 'raw') parts.push(view.bytes);
    else if (view.kind === 'hex') parts.push(chalk.dim(`(${message.payload.length} bytes, hex)`), ' ', chalk.magenta(view.text));
    else parts.push(view.text);
  }
  if (options.eol) parts.push('\n');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

export function createSubOutput(options: SubOutputOptions): SubOutput {
  if (options.json) {
    // One object per line whatever -N says: the line is the record separator.
    return (message) => ({ output: Buffer.from(`${jsonRecord(message)}\n`, 'utf8'), warnings: NONE });
  }
  const binaryAsHex = options.terminal && !options.raw;
  const { format } = options;
  if (format !== undefined) {
    const renderOptions = { eol: options.eol, binaryAsHex, pretty: options.pretty };
    return (message) => renderFormat(format, message, renderOptions);
  }
  if (options.terminal) {
    return (message) => ({ output: terminalLine(message, options), warnings: NONE });
  }
  const defaultOptions = { verbose: options.verbose, eol: options.eol, binaryAsHex, pretty: options.pretty };
  return (message) => ({ output: formatDefault(message, defaultOptions), warnings: NONE });
}
