/**
 * The real mosquitto (2.0) as the oracle: every fixture we call valid must also start mosquitto
 * (it opens every listener), and what we call an unknown directive must make it exit with its
 * "Unknown configuration variable". Ports are rewritten to free ones and the fixtures copied to
 * a temporary directory with real (throwaway, self-signed) certificate files, since mosquitto
 * opens everything it is given, relative to its working directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfError, fsConfReader, readMosquittoConf, type ConfReader } from '../../../src/core/config/mosquitto-conf.js';
import { freePort } from '../../helpers/free-port.js';
import { killPeers, needPeers, peers, spawnPeer } from '../../helpers/peers.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/conf');
const VALID = ['three-listeners.conf', 'per-listener-true.conf', 'per-listener-false.conf', 'include-main.conf', 'ignored.conf', 'crlf.conf'];

const gate = needPeers('mosquitto');
let dir: string;

/** The file system as mosquitto sees it when started in `dir`. */
const inDir = (): ConfReader => ({
  listDir: (d) => fsConfReader.listDir(isAbsolute(d) ? d : join(dir, d)),
  readFile: (p) => fsConfReader.readFile(isAbsolute(p) ? p : join(dir, p)),
});

/** Copies the fixtures into `dir` with every `listener N` / `port N` moved to a free port (the same N to the same port). */
async function copyFixtures(): Promise<void> {
  const ports = new Map<string, number>();
  const rewrite = async (text: string): Promise<string> => {
    let out = '';
    for (const line of text.split('\n')) {
      const m = /^(listener|port) (\d+)(.*)$/.exec(line.replace(/\r$/, ''));
      if (!m) {
        out += `${line}\n`;
        continue;
      }
      if (!ports.has(m[2]!)) ports.set(m[2]!, await freePort());
      out += `${m[1]} ${ports.get(m[2]!)}${m[3]}${line.endsWith('\r') ? '\r' : ''}\n`;
    }
    return out.slice(0, -1);
  };
  cpSync(FIXTURES, dir, { recursive: true });
  for (const name of [...readdirSync(dir).filter((n) => n.endsWith('.conf')), ...readdirSync(join(dir, 'include.d')).map((n) => join('include.d', n))]) {
    writeFileSync(join(dir, name), await rewrite(readFileSync(join(dir, name), 'utf8')));
  }
}

/** Resolves when a TCP connection to 127.0.0.1:port succeeds. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts mosquitto on `file` in `dir`; resolves once every listener accepts connections, rejects if it exits first. */
async function mosquittoAccepts(file: string, ports: number[]): Promise<void> {
  // mosquitto takes relative paths from its working directory; spawnPeer has no cwd, so a shell
  // changes to it and execs mosquitto (the process killed is then mosquitto itself).
  const p = spawnPeer('/bin/sh', ['-c', `cd '${dir}' && exec '${peers().mosquitto}' -c '${file}'`]);
  const exited = p.waitForExit(10_000).then((e) => {
    throw new Error(`mosquitto refused ${file} (exit ${e.code ?? e.signal}):\n${p.stderr()}`);
  });
  const ready = (async () => {
    for (;;) {
      const up = await Promise.all(ports.map(canConnect));
      if (up.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await Promise.race([ready, exited]);
  } finally {
    exited.catch(() => undefined);
    await p.kill();
  }
}

describe.skipIf(gate.skip)('the real mosquitto agrees', () => {
  beforeAll(async () => {
    if (gate.missing.length > 0) return;
    dir = mkdtempSync(join(tmpdir(), 'mqt-conf-mosquitto-'));
    // Started as root, mosquitto drops to its own user, which must still read (and write) here.
    chmodSync(dir, 0o777);
    await copyFixtures();
    mkdirSync(join(dir, 'certs'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'certs/server.key'), '-out', join(dir, 'certs/server.crt'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    // Self-signed: the certificate is its own CA.
    cpSync(join(dir, 'certs/server.crt'), join(dir, 'certs/ca.crt'));
    for (const f of ['certs/server.key', 'certs/server.crt', 'certs/ca.crt']) chmodSync(join(dir, f), 0o644);
    chmodSync(join(dir, 'certs'), 0o755);
    writeFileSync(join(dir, 'passwd'), '', { mode: 0o644 });
    writeFileSync(join(dir, 'acl'), '', { mode: 0o644 });
    mkdirSync(join(dir, 'data'), { mode: 0o777 });
  });
  beforeEach(gate.check);
  afterEach(killPeers);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of VALID) {
    it(`${name}: we accept it, and mosquitto starts with it and opens every listener we read`, async () => {
      const conf = readMosquittoConf(name, inDir());
      expect(conf.listeners.length).toBeGreaterThan(0);
      await mosquittoAccepts(name, conf.listeners.map((l) => l.port));
    });
  }

  it('unknown-directive.conf: we call it an unknown directive, and mosquitto refuses it the same way', async () => {
    let ours: unknown;
    try {
      readMosquittoConf('unknown-directive.conf', inDir());
    } catch (e) {
      ours = e;
    }
    expect(ours).toBeInstanceOf(ConfError);
    expect((ours as ConfError).message).toBe('unknown-directive.conf:3: unknown directive "brige_attempt_unsubscribe" (did you mean "bridge_attempt_unsubscribe"?); mosquitto would refuse it too, fix the spelling');
    const p = spawnPeer('/bin/sh', ['-c', `cd '${dir}' && exec '${peers().mosquitto}' -c unknown-directive.conf`]);
    const exit = await p.waitForExit(10_000);
    expect(exit.code).not.toBe(0);
    expect(p.stderr()).toContain('Error: Unknown configuration variable "brige_attempt_unsubscribe".');
    expect(p.stderr()).toContain('Error found at unknown-directive.conf:3.');
  });
});
