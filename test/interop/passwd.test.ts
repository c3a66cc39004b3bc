/**
 * Password files across mosquitto and us: mosquitto_passwd's files verify with our reader, `mqt passwd`'s files
 * let clients into the real mosquitto (right password in, wrong one refused), and the prompt works on a real pty.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPasswordFile } from '../../src/core/auth/password-file.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { killPeers, needPeers, runPeer } from '../helpers/peers.js';
import { assertFreshBuild, MQT_BIN, spawnMqt } from '../helpers/spawn-mqt.js';

const gate = needPeers('mosquitto', 'mosquitto-clients');
const dir = mkdtempSync(join(tmpdir(), 'mqt-passwd-'));
// mosquitto started as root drops to its own user, which must reach the files.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Answers the prompts on a real terminal: python's pty, writing each answer after its prompt appears.
const PTY = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
answers = [a.encode() + b'\\r' for a in os.environ['ANSWERS'].split(',')]
prompts = [b'Password: ', b'Reenter password: ']
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    out += data
    while answers and prompts and out.endswith(prompts[0]):
        os.write(fd, answers.pop(0)); prompts.pop(0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status))
`;

describe.skipIf(gate.skip)('password files with mosquitto', () => {
  let mosquitto: RunningMosquitto | undefined;
  beforeEach(gate.check);
  afterEach(async () => {
    await mosquitto?.stop();
    mosquitto = undefined;
    await killPeers();
  });

  async function pub(user: string, password: string, version: '311' | '5'): Promise<{ code: number | null; stderr: string }> {
    return runPeer('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto!.port), '-V', version === '5' ? '5' : 'mqttv311', '-u', user, '-P', password, '-t', 't', '-m', 'x'], { timeoutMs: 5000 });
  }

  it('reads and verifies what mosquitto_passwd writes ($7$ with -c/-b, $6$ with -H sha512)', async () => {
    const file = join(dir, 'mosq');
    expect((await runPeer('mosquitto_passwd', ['-c', '-b', file, 'alice', 'secret'])).code).toBe(0);
    expect((await runPeer('mosquitto_passwd', ['-H', 'sha512', '-b', file, 'bob', 'hunter2'])).code).toBe(0);
    const t = readPasswordFile(file);
    expect(t.get('alice')!.field.startsWith('$7$101$')).toBe(true);
    expect(t.get('bob')!.field.startsWith('$6$')).toBe(true);
    expect(t.verify('alice', Buffer.from('secret'))).toBe(true);
    expect(t.verify('bob', Buffer.from('hunter2'))).toBe(true);
    expect(t.verify('bob', Buffer.from('secret'))).toBe(false);
  });

  it('mosquitto accepts the file mqt passwd writes; a wrong password is refused (not authorised, 3.1.1 and 5.0)', async () => {
    assertFreshBuild();
    const file = join(dir, 'ours');
    expect((await spawnMqt(['passwd', '-c', '-b', file, 'alice', 'secret'])).code).toBe(0);
    expect((await spawnMqt(['passwd', '-H', 'sha512', '-b', file, 'bob', 'hunter2'])).code).toBe(0);
    expect((await spawnMqt(['passwd', '-I', '1000', '-b', file, 'carol', 'pw3'])).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644); // for mosquitto's own user; a later write keeps the mode
    expect((await spawnMqt(['passwd', '-b', file, 'carol', 'pw3'])).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    mosquitto = await startMosquitto({ config: [`password_file ${file}`, 'allow_anonymous false'] });
    for (const v of ['311', '5'] as const) {
      expect((await pub('alice', 'secret', v)).code).toBe(0);
      expect((await pub('bob', 'hunter2', v)).code).toBe(0);
      expect((await pub('carol', 'pw3', v)).code).toBe(0);
      const wrong = await pub('alice', 'nope', v);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/not authori[sz]ed/i);
      expect((await pub('nobody', 'secret', v)).stderr).toMatch(/not authori[sz]ed/i);
    }
  });

  it('-U hashes a plain file mosquitto then accepts, refuses a hashed one, and -D removes a user keeping order', async () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'u1:pw1\nu2:pw2\nu3:pw3\n');
    expect((await spawnMqt(['passwd', '-U', file])).code).toBe(0);
    const again = await spawnMqt(['passwd', '-U', file]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already hashed/);
    expect((await spawnMqt(['passwd', '-D', file, 'u2'])).code).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')[0])).toEqual(['u1', 'u3', '']);
    const missing = await spawnMqt(['passwd', '-D', file, 'u2']);
    expect(missing.code).not.toBe(0);
    mosquitto = await startMosquitto({ config: [`password_file ${file}`, 'allow_anonymous false'] });
    expect((await pub('u1', 'pw1', '311')).code).toBe(0);
    expect((await pub('u3', 'pw3', '5')).code).toBe(0);
    expect((await pub('u2', 'pw2', '311')).code).not.toBe(0);
  });

  it('prompts twice without echo on a terminal, and refuses a mismatch', async () => {
    const file = join(dir, 'tty');
    writeFileSync(file, '');
    const run = (answers: string) =>
      runPeer('python3', ['-c', PTY, process.execPath, MQT_BIN, 'passwd', file, 'dave'], { env: { ...process.env, ANSWERS: answers, NO_COLOR: '1' }, timeoutMs: 10_000 });
    const ok = await run('s3cret,s3cret');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Password: ');
    expect(ok.stdout).toContain('Reenter password: ');
    expect(ok.stdout).not.toContain('s3cret');
    expect(readPasswordFile(file).verify('dave', Buffer.from('s3cret'))).toBe(true);
    const bad = await run('one,two');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/do not match/);
    expect(readPasswordFile(file).verify('dave', Buffer.from('s3cret'))).toBe(true);
  });
});
