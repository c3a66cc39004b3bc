/**
 * The admin token, for the broker (`mqt broker --admin-token-file`) and for its command-line
 * clients (`mqt broker clients`, `mqt broker kick`) alike: the first line of the file, trimmed,
 * else MQT_ADMIN_TOKEN. One reader, so both sides agree on what a token file holds.
 */
import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** Where the token came from, for messages ("the token from --admin-token-file F was refused"). */
export interface AdminToken {
  token: string;
  source: string;
}

const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** The token and where it came from; undefined when neither the file nor MQT_ADMIN_TOKEN gives one. */
export function readAdminTokenFrom(file: string | undefined, command: string, env: NodeJS.ProcessEnv = process.env): AdminToken | undefined {
  if (file === undefined) {
    const t = env.MQT_ADMIN_TOKEN?.trim();
    return t === undefined || t === '' ? undefined : { token: t, source: 'MQT_ADMIN_TOKEN' };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    throw new CliError(`cannot read --admin-token-file ${file}: ${WHY[code] ?? (code || String(cause))}`, { command, cause });
  }
  const token = (text.split('\n')[0] ?? '').trim();
  if (token === '') throw new CliError(`--admin-token-file ${file} is empty: put the token on its first line`, { command });
  return { token, source: `--admin-token-file ${file}` };
}
