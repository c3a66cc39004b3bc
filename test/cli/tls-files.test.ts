import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

// A TLS file mqt cannot use is the same one-line error, exit code 1, in every command: pub and
// sub go through MQTT.js, bench through the raw dialer (in the calling thread, or in worker
// threads with --workers), lwt-test through both. They all read the files with core/net.
// Nothing listens on the port: a command that skipped the files would say "connection refused".

beforeAll(() =>
  assertFreshBuild(['core/net/tls-files.ts', 'core/net/dial.ts', 'core/client/connect.ts', 'core/client/diagnose.ts', 'core/bench/shard.ts', 'commands/bench-run.ts', 'commands/pub-run.ts']),
);

let dir = '';
let port = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mqt-cli-tls-'));
  mkdirSync(join(dir, 'empty'));
  port = await freePort();
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const COMMANDS: [string, string[]][] = [
  ['pub', ['pub', '-t', 'a/b', '-m', 'x']],
  ['sub', ['sub', '-t', 'a/b', '-C', '1']],
  ['bench', ['bench', '--msgs', '10']],
  ['bench', ['bench', '--workers', '2', '--pubs', '2', '--msgs', '10']],
  ['bench', ['bench', 'conn', '--conns', '4']],
  ['lwt-test', ['lwt-test']],
];

describe.each([
  ['an empty --capath', () => ['--capath', join(dir, 'empty')], () => `the CA directory '${join(dir, 'empty')}' is empty: it holds no .pem, .crt or .cer files`],
  ['a missing --cafile', () => ['--cafile', join(dir, 'nope.pem')], () => `cannot read the CA file '${join(dir, 'nope.pem')}': no such file`],
])('%s', (_name, flags, message) => {
  it.concurrent.each(COMMANDS)('mqt %s (%j) prints the same one line and exits 1', async (command, args) => {
    const r = await spawnMqt([...args, '-h', '127.0.0.1', '-p', String(port), ...flags()], { timeoutMs: 20_000 });
    expect(r.stderr).toBe(`mqt ${command}: ${message()}\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });
});
