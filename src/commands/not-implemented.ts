import { CliError, ExitCode } from './errors.js';

/**
 * What a subcommand's handler lazy-imports until its own issue lands. The handler
 * already has the final shape (`await import(…)`, then run), so filling a command in
 * means pointing that import at the real module, and `mqt --help` never loads it.
 */
export function notImplemented(command: string): CliError {
  return new CliError('not implemented yet', { command, exitCode: ExitCode.NotImplemented });
}
