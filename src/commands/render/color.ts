/**
 * Colour for terminal output. chalk decides from the stream (a TTY or not) and FORCE_COLOR,
 * but not from NO_COLOR (https://no-color.org): that check is ours, so every command gets
 * plain text in pipes, in CI logs and whenever the user asked for it.
 */
import { Chalk, supportsColor, supportsColorStderr, type ChalkInstance } from 'chalk';

/** True when NO_COLOR is set to anything but the empty string, as no-color.org defines it. */
export function noColorRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.NO_COLOR;
  return value !== undefined && value !== '';
}

/** A chalk instance for stdout or stderr: level 0 (plain text) unless that stream takes colour. */
export function colorFor(stream: 'stdout' | 'stderr', env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  const support = stream === 'stdout' ? supportsColor : supportsColorStderr;
  const level = noColorRequested(env) || support === false ? 0 : support.level;
  return new Chalk({ level });
}
