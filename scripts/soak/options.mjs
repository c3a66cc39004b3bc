/**
 * The soak's command line: `--minutes N --connections N --interval S --out DIR`. A bad option
 * is one line on stderr naming it, and exit 2 (thrown as UsageError, caught by soak.mjs).
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const USAGE =
  'usage: npm run soak -- [--minutes N] [--connections N] [--interval S] [--out DIR] [--seed N]\n' +
  '  --minutes N       how long the load runs, before the drain (default 10; fractions allowed)\n' +
  '  --connections N   concurrent MQTT connections (default 10000; at least 100)\n' +
  '  --interval S      seconds between samples and printed blocks (default 60)\n' +
  '  --out DIR         where results.json and rss.svg go (default soak-results)\n' +
  '  --seed N          seed of the random choices (default: from the clock; printed)\n';

const MIN_CONNECTIONS = 100;

function number(raw, name, { integer, min }) {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}, got '${raw}'`);
  }
  return n;
}

/** The options out of argv (after the script's path); throws UsageError. `help: true` when asked for. */
export function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        minutes: { type: 'string', default: '10' },
        connections: { type: 'string', default: '10000' },
        interval: { type: 'string', default: '60' },
        out: { type: 'string', default: 'soak-results' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${err.message.split('\n')[0]} (try --help)`);
  }
  if (values.help) return { help: true };
  const minutes = number(values.minutes, 'minutes', { integer: false, min: 0.05 });
  const connections = number(values.connections, 'connections', { integer: true, min: MIN_CONNECTIONS });
  const interval = number(values.interval, 'interval', { integer: false, min: 1 });
  if (values.out.trim() === '') throw new UsageError('--out needs a directory');
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : number(values.seed, 'seed', { integer: true, min: 0 });
  return { help: false, minutes, connections, interval, out: values.out, seed };
}
