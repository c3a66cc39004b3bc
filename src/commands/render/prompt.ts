/**
 * Questions on the terminal (inquirer), only ever asked when stdin and stderr are terminals;
 * each has a flag that answers it instead (-P VALUE, --password-env, --password-file). The
 * prompt is drawn on stderr so that stdout stays clean for --json and pipes.
 */
import { password } from '@inquirer/prompts';

export async function promptPassword(message: string): Promise<string> {
  return password({ message, mask: '*' }, { output: process.stderr, clearPromptOnDone: true });
}
