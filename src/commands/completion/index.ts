/**
 * `mqt completion bash|zsh|fish`: prints a shell completion script on stdout. The scripts are
 * written from the CLI's own definitions (from-yargs.ts), so they complete every command and
 * flag the CLI has. Made as a factory: the command needs the whole CLI (src/cli.ts) to read,
 * and takes it as a function instead of importing it, which would be an import circle.
 */
import type { Argv, CommandModule } from 'yargs';
import { bashScript } from './bash.js';
import { fishScript } from './fish.js';
import { specFromYargs } from './from-yargs.js';
import { SHELLS, type CommandSpec, type Shell } from './spec.js';
import { zshScript } from './zsh.js';

export { SHELLS, type Shell } from './spec.js';
export { specFromYargs } from './from-yargs.js';

/** The script for `shell`; pure, given the spec. */
export function completionScript(shell: Shell, spec: CommandSpec): string {
  switch (shell) {
    case 'bash':
      return bashScript(spec);
    case 'zsh':
      return zshScript(spec);
    case 'fish':
      return fishScript(spec);
  }
}

export interface CompletionArgs {
  shell: Shell;
}

/** The `completion` command; `buildCli` builds the whole CLI whose definitions the script completes. */
export function completionCommand(buildCli: () => Argv): CommandModule<object, CompletionArgs> {
  return {
    command: 'completion <shell>',
    describe: 'Print a shell completion script (bash, zsh or fish) for mqt',
    builder: (yargs: Argv) =>
      yargs
        .positional('shell', { type: 'string', choices: SHELLS, describe: 'The shell to complete in' })
        .example('source <($0 completion bash)', 'Complete mqt in this bash (add the line to ~/.bashrc to keep it)')
        .example('$0 completion zsh > "${fpath[1]}/_mqt"', 'Install for zsh, then start a new shell (or run compinit)')
        .example('$0 completion fish > ~/.config/fish/completions/mqt.fish', 'Install for fish') as unknown as Argv<CompletionArgs>,
    handler: (argv) => {
      const spec = specFromYargs(buildCli(), 'mqt');
      process.stdout.write(completionScript(argv.shell, spec));
    },
  };
}
