/**
 * The verified-password tags (password-file.ts, VerifiedTags): a reconnect with the password that
 * verified last time skips PBKDF2, and nothing else does. node:crypto's pbkdf2Sync is counted, not
 * timed, so the test is exact on a noisy machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

const counter = vi.hoisted(() => ({ pbkdf2: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    pbkdf2Sync: (...args: Parameters<typeof real.pbkdf2Sync>) => {
      counter.pbkdf2++;
      return real.pbkdf2Sync(...args);
    },
  };
});

const { FileAuth } = await import('../../../src/core/auth/file-auth.js');
const { hashPassword, makeEntry, parsePasswordFile } = await import('../../../src/core/auth/password-file.js');

const secret = Buffer.from('secret');
const dir = mkdtempSync(join(tmpdir(), 'mqt-verified-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verified passwords', () => {
  beforeEach(() => {
    counter.pbkdf2 = 0;
  });

  it('a password that verified is recognised again without PBKDF2', () => {
    const t = parsePasswordFile(`alice:${hashPassword('secret')}\n`, 'pw');
    counter.pbkdf2 = 0;
    expect(t.verify('alice', secret)).toBe(true);
    expect(counter.pbkdf2).toBe(1);
    for (let i = 0; i < 5; i++) expect(t.verify('alice', Buffer.from('secret'))).toBe(true);
    expect(counter.pbkdf2).toBe(1);
  });

  it('a wrong password always costs the full hash and is never remembered', () => {
    const t = parsePasswordFile(`alice:${hashPassword('secret')}\nbob:${hashPassword('other')}\n`, 'pw');
    counter.pbkdf2 = 0;
    expect(t.verify('alice', secret)).toBe(true);
    expect(t.verify('alice', Buffer.from('Secret'))).toBe(false);
    expect(t.verify('alice', Buffer.from('Secret'))).toBe(false);
    // alice's remembered password is not bob's: each user has their own tag.
    expect(t.verify('bob', secret)).toBe(false);
    expect(t.verify('nobody', secret)).toBe(false);
    expect(counter.pbkdf2).toBe(5);
    expect(t.verify('alice', secret)).toBe(true);
    expect(counter.pbkdf2).toBe(5);
  });

  it('a changed or deleted user forgets the remembered password', () => {
    const t = parsePasswordFile(`alice:${hashPassword('secret')}\n`, 'pw');
    expect(t.verify('alice', secret)).toBe(true);
    t.set(makeEntry('alice', 'new one'));
    expect(t.verify('alice', secret)).toBe(false);
    expect(t.verify('alice', Buffer.from('new one'))).toBe(true);
    t.delete('alice');
    expect(t.verify('alice', Buffer.from('new one'))).toBe(false);
  });

  it('a reload forgets every remembered password: the old one is refused at once', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, `alice:${hashPassword('secret')}\n`);
    const auth = FileAuth.load({ passwordFile: file });
    const h = auth.hooks();
    const alice = { clientId: 'c', username: 'alice' } as never;
    expect(h.authenticate(alice, 'alice', secret)).toBe(true);
    expect(h.authenticate(alice, 'alice', secret)).toBe(true);
    writeFileSync(file, `alice:${hashPassword('rotated')}\n`);
    expect(auth.reload()).toEqual({ ok: true });
    expect(h.authenticate(alice, 'alice', secret)).toBe(0x87);
    expect(h.authenticate(alice, 'alice', Buffer.from('rotated'))).toBe(true);
  });

  it('$6$ entries are checked every time (one SHA-512 is cheaper than the tag)', () => {
    const t = parsePasswordFile(`bob:${hashPassword('hunter2', { type: 'sha512' })}\n`, 'pw');
    counter.pbkdf2 = 0;
    expect(t.verify('bob', Buffer.from('hunter2'))).toBe(true);
    expect(t.verify('bob', Buffer.from('hunter3'))).toBe(false);
    expect(counter.pbkdf2).toBe(0);
  });
});
