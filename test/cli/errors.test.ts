import { describe, expect, it } from 'vitest';
import { buildCli, describeError } from '../../src/cli.js';
import { CliError, ExitCode, UsageError } from '../../src/commands/errors.js';

// In-process checks of the pieces main() is made of: what a thrown error prints and
// which exit code it maps to, and that parsing rejects instead of exiting.

/** parseAsync() throws synchronously for validation errors and rejects for handler errors; catch both. */
async function parseError(argv: string[]): Promise<unknown> {
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    return err;
  }
  throw new Error(`mqt ${argv.join(' ')} did not fail`);
}

describe('describeError', () => {
  it('prints an unexpected error as one line with a --debug hint, exit 1', () => {
    const { text, exitCode } = describeError(new Error('socket hang up\n  while reading'), false);
    expect(text).toBe('mqt: socket hang up while reading (run with --debug for a stack trace)\n');
    expect(exitCode).toBe(ExitCode.Failure);
  });

  it('prints the stack trace of an unexpected error with --debug', () => {
    const err = new Error('boom');
    const { text, exitCode } = describeError(err, true);
    expect(text).toContain('mqt: Error: boom\n');
    expect(text).toMatch(/^\s+at .+errors\.test\.ts/m);
    expect(exitCode).toBe(ExitCode.Failure);
  });

  it('prints something readable for a thrown non-Error', () => {
    expect(describeError('plain string', false).text).toBe('mqt: plain string (run with --debug for a stack trace)\n');
  });

  it('prints a CliError as `mqt <command>: message` with its own exit code and no hint', () => {
    const { text, exitCode } = describeError(new CliError('cannot read payload.bin', { command: 'pub', exitCode: 7 }), false);
    expect(text).toBe('mqt pub: cannot read payload.bin\n');
    expect(exitCode).toBe(7);
  });

  it('adds the cause of a CliError only with --debug', () => {
    const err = new CliError('cannot read payload.bin', { command: 'pub', cause: new Error('ENOENT') });
    expect(describeError(err, false).text).toBe('mqt pub: cannot read payload.bin\n');
    expect(describeError(err, true).text).toMatch(/^mqt pub: cannot read payload\.bin\nError: ENOENT\n\s+at /);
  });

  it('adds the usage hint to a UsageError, for the command or the top level', () => {
    expect(describeError(new UsageError('Unknown argument: x', 'sub'), false)).toEqual({
      text: "mqt sub: Unknown argument: x\nUse 'mqt sub --help'\n",
      exitCode: ExitCode.Failure,
    });
    expect(describeError(new UsageError('Missing command'), false).text).toBe("mqt: Missing command\nUse 'mqt --help'\n");
  });
});

describe('buildCli', () => {
  it('rejects a bad command line with a UsageError instead of exiting', async () => {
    const err = await parseError(['pub', 'topic', '--no-such-flag']);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ command: 'pub', exitCode: ExitCode.Failure });
  });

  it('rejects a handler-detected bad value (a wildcard topic in pub) as a UsageError of that command, before connecting', async () => {
    const err = await parseError(['pub', 'a/#', 'x']);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ command: 'pub', exitCode: ExitCode.Failure });
    expect((err as Error).message).toContain('[MQTT-3.3.2-2]');
  });
});
