/**
 * A spinner on stderr while a command waits (ora), only where a person watches: stderr is a
 * terminal, CI is not set, and the user did not ask for --quiet. Elsewhere every method does
 * nothing, so callers never branch. ora is imported only when a spinner will show.
 */
export interface Spinner {
  /** Replaces the text. */
  text(text: string): void;
  /** Ends the spinner, leaving `line` (if any) as a finished line on stderr. */
  stop(line?: string): void;
}

/** No spinner: nothing while waiting, but the final line still shows (a terminal in CI, say). */
const NONE: Spinner = {
  text: () => undefined,
  stop: (line) => {
    if (line !== undefined) process.stderr.write(`${line}\n`);
  },
};

export interface SpinnerEnvironment {
  isTTY: boolean;
  /** Terminal width; ora redraws by counting wrapped lines, which needs one (a bare pty reports 0). */
  columns?: number | undefined;
  env: NodeJS.ProcessEnv;
  quiet: boolean;
}

export function spinnerAllowed({ isTTY, columns, env, quiet }: SpinnerEnvironment): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return isTTY && (columns === undefined || columns > 0) && !ci && !quiet;
}

export async function startSpinner(text: string, options: { quiet: boolean; color: boolean }): Promise<Spinner> {
  if (!spinnerAllowed({ isTTY: process.stderr.isTTY === true, columns: process.stderr.columns, env: process.env, quiet: options.quiet })) return NONE;
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr, color: options.color ? 'cyan' : false, discardStdin: false }).start();
  return {
    text: (t) => {
      spinner.text = t;
    },
    stop: (line) => {
      spinner.stop();
      if (line !== undefined) process.stderr.write(`${line}\n`);
    },
  };
}
