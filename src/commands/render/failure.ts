/**
 * Turns what the client layers throw into the CLI's errors, so every client command fails the
 * same way: a bad flag value or combination is a usage error (`Use 'mqt <cmd> --help'`), a
 * refused connection exits with the CONNACK reason code, anything else expected is one line
 * with exit code 1. Unexpected errors pass through untouched (main() shows those with --debug).
 */
import { ConfigError } from '../../core/client/config.js';
import { ConnectError } from '../../core/client/diagnose.js';
import { PayloadError } from '../../core/client/payload.js';
import { PropertyError } from '../../core/client/properties.js';
import { MqttError } from '../../core/codec/errors.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { OptionError } from '../options/values.js';

export function asCliError(err: unknown, command: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof OptionError || err instanceof PropertyError) return new UsageError(err.message, command);
  if (err instanceof ConnectError) {
    // Exit codes are one byte: a CONNACK code always fits (0x01–0xA2); other failures are 1.
    const exitCode = err.reasonCode !== undefined && err.reasonCode > 0 && err.reasonCode < 256 ? err.reasonCode : ExitCode.Failure;
    return new CliError(err.message, { command, exitCode, cause: err });
  }
  if (err instanceof ConfigError || err instanceof PayloadError) return new CliError(err.message, { command, cause: err });
  // A topic or property the codec refuses (e.g. a topic alias the broker does not allow).
  if (err instanceof MqttError) return new CliError(err.message, { command, cause: err });
  return err;
}
