import type { Argv, CommandModule } from 'yargs';

export interface PasswdArgs {
  args: string[];
}

/** A drop-in for mosquitto_passwd: same flags, same file. */
const passwd: CommandModule<object, PasswdArgs> = {
  command: 'passwd [args..]',
  describe: 'Manage a mosquitto password file, like mosquitto_passwd',
  builder: (yargs: Argv) =>
    yargs
      .positional('args', { type: 'string', array: true, default: [], describe: 'passwordfile username [password]' })
      .option('H', { type: 'string', requiresArg: true, choices: ['sha512', 'sha512-pbkdf2'], describe: 'Hash: sha512-pbkdf2 (default, $7$) or sha512 ($6$, mosquitto 1.6)' })
      .option('I', { type: 'number', requiresArg: true, describe: 'PBKDF2 iterations (default 101)' })
      .option('c', { type: 'boolean', describe: 'Create a new password file (overwrites an existing one)' })
      .option('D', { type: 'boolean', describe: 'Delete the user' })
      .option('b', { type: 'boolean', describe: 'Batch: the password is the third argument' })
      .option('U', { type: 'boolean', describe: 'Hash a plain-text password file in place' })
      .group(['c', 'D', 'b', 'U'], 'What to do:')
      .group(['H', 'I'], 'Hash:')
      .example('$0 passwd -c /etc/mosquitto/passwd alice', 'Create the file with user alice (asks for the password)')
      .example('$0 passwd -b passwd bob s3cret', 'Add or change bob without asking')
      .example('$0 passwd -D passwd bob', 'Remove bob') as unknown as Argv<PasswdArgs>,
  handler: async (argv) => {
    const { runPasswd } = await import('./passwd-run.js');
    await runPasswd(argv as unknown as Readonly<Record<string, unknown>>);
  },
};

export default passwd;
