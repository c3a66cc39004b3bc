import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileAuth } from '../../../src/core/auth/file-auth.js';
import { hashPassword } from '../../../src/core/auth/password-file.js';
import type { ClientInfo } from '../../../src/core/broker/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mqt-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pw = join(dir, 'pw');
const acl = join(dir, 'acl');
writeFileSync(pw, `alice:${hashPassword('secret')}\n`);
writeFileSync(acl, 'user alice\ntopic a/#\n');

const client = (username?: string, tls = false): ClientInfo =>
  ({
    clientId: 'c1',
    protocolVersion: 5,
    username,
    remoteAddress: '127.0.0.1',
    transport: tls ? { listener: { useIdentityAsUsername: true } } : undefined,
  }) as unknown as ClientInfo;

describe('FileAuth', () => {
  it('authenticates with the password file; refuses with 0x87 as mosquitto 2.0', () => {
    const h = FileAuth.load({ passwordFile: pw }).hooks();
    expect(h.authenticate(client('alice'), 'alice', Buffer.from('secret'))).toBe(true);
    expect(h.authenticate(client('alice'), 'alice', Buffer.from('nope'))).toBe(0x87);
    expect(h.authenticate(client('bob'), 'bob', Buffer.from('secret'))).toBe(0x87);
    expect(h.authenticate(client(), undefined, undefined)).toBe(0x87);
    expect(h.authenticate(client('cn', true), 'cn', undefined)).toBe(true);
    expect(FileAuth.load({ passwordFile: pw, allowAnonymous: true }).hooks().authenticate(client(), undefined, undefined)).toBe(true);
  });
  it('authorizes by the ACL; without one all but $SYS publishing is allowed', () => {
    const open = FileAuth.load({}).hooks();
    expect(open.authorizePublish(client('x'), '$SYS/a', 0, false)).toBe(false);
    expect(open.authorizePublish(client('x'), 'b', 0, false)).toBe(true);
    const h = FileAuth.load({ aclFile: acl }).hooks();
    expect(h.authorizePublish(client('alice'), 'a/1', 0, false)).toBe(true);
    expect(h.authorizePublish(client('alice'), 'b', 0, false)).toBe(false);
    expect(h.authorizeSubscribe(client('alice'), 'a/+', 1)).toBe(1);
    expect(h.authorizeSubscribe(client('alice'), 'b/+', 1)).toBe(false);
    expect(h.authorizeRead(client('alice'), 'a/x', 0, false)).toBe(true);
  });
  it('reload swaps tables only when both files parse', () => {
    const a = FileAuth.load({ passwordFile: pw, aclFile: acl });
    const h = a.hooks();
    writeFileSync(acl, 'user alice\ntopic b/#\n');
    expect(a.reload()).toEqual({ ok: true });
    expect(h.authorizePublish(client('alice'), 'b/1', 0, false)).toBe(true);
    writeFileSync(acl, 'user alice\nbogus b/#\n');
    const r = a.reload();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/acl:2: unknown keyword/);
    expect(h.authorizePublish(client('alice'), 'b/1', 0, false)).toBe(true);
  });
  it('load throws a one-line error naming the file', () => {
    expect(() => FileAuth.load({ passwordFile: join(dir, 'missing') })).toThrow(/cannot read password file .*missing: ENOENT/);
  });
});
