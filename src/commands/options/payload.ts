/**
 * Where `mqt pub` takes its payload from (mosquitto_pub's -m, -f, -s, -l, -n, plus --size
 * for random bytes and --line-topic for one topic per line), and how given text becomes bytes
 * (--encoding). Exactly one source: mosquitto refuses two as well.
 */
import type { Options } from 'yargs';
import { MAX_PAYLOAD, PAYLOAD_ENCODINGS, type PayloadEncoding, type PayloadSource } from '../../core/client/payload.js';
import { integer, OptionError, str, text, type ArgvLike } from './values.js';

export const payloadOptions = {
  message: { alias: 'm', type: 'string', requiresArg: true, coerce: text('message', { allowEmpty: true }), describe: 'Payload to send (also the second positional argument)' },
  file: { alias: 'f', type: 'string', requiresArg: true, coerce: text('file'), describe: 'Send the content of this file as the payload' },
  stdin: { alias: 's', type: 'boolean', describe: 'Send all of standard input as one message' },
  'stdin-line': { alias: 'l', type: 'boolean', describe: 'Send each line of standard input as a message, over one connection' },
  'line-topic': { type: 'string', requiresArg: true, coerce: text('line-topic'), describe: 'With -l: each line is <topic><SEP><payload> (implies -l)' },
  'null-message': { alias: 'n', type: 'boolean', describe: 'Send a zero-length payload (with -r: clear the retained message)' },
  size: { type: 'string', requiresArg: true, coerce: integer('size', 0, MAX_PAYLOAD), describe: 'Send this many random bytes' },
  encoding: {
    requiresArg: true,
    choices: PAYLOAD_ENCODINGS as unknown as string[],
    defaultDescription: 'utf8',
    describe: 'Decode the given payload (message, file, stdin) from hex or base64 into bytes',
  },
} as const satisfies Record<string, Options>;

export interface PayloadGroup {
  source: PayloadSource;
  encoding: PayloadEncoding;
}

/**
 * The one payload source given. `positional` is the `[message]` argument of `mqt pub`,
 * which is the same as -m.
 */
export function readPayload(argv: ArgvLike, positional: string | undefined): PayloadGroup {
  const message = str(argv, 'message');
  if (message !== undefined && positional !== undefined) throw new OptionError(`the message is given twice: as '${positional}' and with -m`);
  const lineTopic = str(argv, 'line-topic');
  const lines = argv['stdin-line'] === true || lineTopic !== undefined;
  const candidates: [string, PayloadSource | undefined][] = [
    ['a message', message !== undefined || positional !== undefined ? { kind: 'message', text: (message ?? positional)! } : undefined],
    ['-f', argv.file !== undefined ? { kind: 'file', path: String(argv.file) } : undefined],
    ['-s', argv.stdin === true ? { kind: 'stdin' } : undefined],
    [lineTopic !== undefined && argv['stdin-line'] !== true ? '--line-topic' : '-l', lines ? { kind: 'lines', topicSeparator: lineTopic } : undefined],
    ['-n', argv['null-message'] === true ? { kind: 'null' } : undefined],
    ['--size', typeof argv.size === 'number' ? { kind: 'random', size: argv.size } : undefined],
  ];
  const given = candidates.filter(([, s]) => s !== undefined) as [string, PayloadSource][];
  if (given.length === 0) {
    throw new OptionError('no payload: give it as the second argument or with -m, or use -f FILE, -s, -l, --size N, or -n for an empty one');
  }
  if (given.length > 1) throw new OptionError(`${given.map(([n]) => n).join(' and ')} both give the payload: use one`);
  const source = given[0]![1];
  const encoding = (str(argv, 'encoding') ?? 'utf8') as PayloadEncoding;
  if (encoding !== 'utf8' && (source.kind === 'null' || source.kind === 'random')) {
    throw new OptionError(`--encoding decodes a payload you give; ${source.kind === 'null' ? '-n' : '--size'} has none to decode`);
  }
  return { source, encoding };
}
