/**
 * How the CLI ends on an error: one line on stderr and the error's exit code. Shared by both
 * entries of the CLI, the whole one (src/cli.ts) and `mqt broker` on its own (src/cli-broker.ts),
 * and the only place in mqt that calls process.exit. Free of yargs, so the broker's entry stays so.
 */
import { CliError, ExitCode, UsageError } from './commands/errors.js';

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** What main() prints for an error and the exit code it uses. Pure, so it is testable in-process. */
export function describeError(err: unknown, debug: boolean): { text: string; exitCode: number } {
  if (err instanceof CliError) {
    const prefix = err.command ? `mqt ${err.command}` : 'mqt';
    let text = `${prefix}: ${oneLine(err.message)}\n`;
    if (err instanceof UsageError) text += `Use '${prefix} --help'\n`;
    if (debug && err.cause instanceof Error && err.cause.stack) text += `${err.cause.stack}\n`;
    return { text, exitCode: err.exitCode };
  }
  if (debug && err instanceof Error && err.stack) {
    return { text: `mqt: ${err.stack}\n`, exitCode: ExitCode.Failure };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { text: `mqt: ${oneLine(message)} (run with --debug for a stack trace)\n`, exitCode: ExitCode.Failure };
}

/** Prints `err` as describeError says and exits with its code. `argv` is searched for --debug (parsing may have failed). */
export function exitWithError(err: unknown, argv: readonly string[]): never {
  const debug = argv.includes('--debug') || argv.includes('-d');
  const { text, exitCode } = describeError(err, debug);
  process.stderr.write(text);
  process.exit(exitCode);
}
