/**
 * How a client command talks to the person or program running it: --quiet, --json,
 * --no-color. (-d/--debug is defined once for every command in src/cli.ts; read() reports it.)
 */
import type { Options } from 'yargs';
import type { ArgvLike } from './values.js';

export const globalOptions = {
  quiet: { type: 'boolean', describe: 'Print nothing but errors' },
  json: { type: 'boolean', describe: 'Print one JSON object per line on stdout, for programs' },
  // yargs reads --no-color as color: false.
  color: { type: 'boolean', describe: 'Colour on a terminal (--no-color or NO_COLOR turn it off)' },
} as const satisfies Record<string, Options>;

export interface GlobalGroup {
  quiet: boolean;
  json: boolean;
  /** False with --no-color or NO_COLOR; whether a stream takes colour is decided by render/. */
  color: boolean;
  debug: boolean;
}

export function readGlobal(argv: ArgvLike, env: NodeJS.ProcessEnv = process.env): GlobalGroup {
  // NO_COLOR set to anything but '' (https://no-color.org), as render/color.ts reads it; checked
  // here without importing that module, which loads chalk, on every start-up.
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return {
    quiet: argv.quiet === true,
    json: argv.json === true,
    color: argv.color !== false && !noColor,
    debug: argv.debug === true,
  };
}
