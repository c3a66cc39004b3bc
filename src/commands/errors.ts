/**
 * Errors a command handler throws on purpose. Handlers never call process.exit:
 * they throw one of these, and src/exit.ts alone turns it into text on stderr and
 * an exit code.
 */

import { ExitCode } from './exit-status.js';

/** Exit codes shared by every subcommand: the one table of them is exit-status.ts (and the man pages). */
export { ExitCode };

export interface CliErrorOptions {
  exitCode?: number;
  /** The subcommand the error belongs to; printed as the `mqt <command>:` prefix. */
  command?: string;
  cause?: unknown;
}

/** An expected failure: printed as one line, `mqt <command>: <message>`, never with a stack. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly command: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? ExitCode.Failure;
    this.command = options.command;
  }
}

/** A command line that yargs (or a builder's check) rejected; main() adds the `Use 'mqt … --help'` line. */
export class UsageError extends CliError {
  constructor(message: string, command?: string) {
    super(message, { exitCode: ExitCode.Failure, command });
    this.name = 'UsageError';
  }
}
