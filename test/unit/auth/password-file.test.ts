import { describe, expect, it } from 'vitest';
import { hashPassword, makeEntry, parsePasswordFile, PasswordFileError } from '../../../src/core/auth/password-file.js';

// Written by /usr/bin/mosquitto_passwd 2.0 (-c -b alice secret; -H sha512 -b bob hunter2).
const MOSQ = [
  'alice:$7$101$r/Emd9GRdO31HdM/$Xk83356GAJdocXC1/aXr5ukx5Ozg2WKeEuqjFobIazrt0HlaYzG5rj5WIeZ6waod2wq7c809y6P80bNperSGJg==',
  'bob:$6$SOTg1XMfuqjr+0ax$aJddeByg0gPwc63WOevqLFgkzysg1w1m87xvLGflqJSsCt/9o8axr+akn3dAteoYs6Dr0qPuloIMSoQ292mUVA==',
].join('\n');

describe('password file', () => {
  it('verifies $7$ and $6$ hashes written by mosquitto_passwd', () => {
    const t = parsePasswordFile(MOSQ + '\n', 'pw');
    expect(t.verify('alice', Buffer.from('secret'))).toBe(true);
    expect(t.verify('alice', Buffer.from('Secret'))).toBe(false);
    expect(t.verify('bob', Buffer.from('hunter2'))).toBe(true);
    expect(t.verify('bob', Buffer.from('secret'))).toBe(false);
    expect(t.verify('carol', Buffer.from('secret'))).toBe(false);
    expect(t.verify('alice', undefined)).toBe(false);
  });
  it('skips blank and comment lines, drops trailing CR and spaces, and formats back in order', () => {
    const t = parsePasswordFile('# c\n\n' + MOSQ.replace('\n', ' \r\n') + '\r\n', 'pw');
    expect(t.entries().map((e) => e.username)).toEqual(['alice', 'bob']);
    expect(t.format()).toBe(MOSQ + '\n');
  });
  it('names file and line of a bad line', () => {
    expect(() => parsePasswordFile('\nnocolon\n', 'f.pw')).toThrow(/^f\.pw:2: no ":"/);
    expect(() => parsePasswordFile('u:$5$abc$def\n', 'f.pw')).toThrow(PasswordFileError);
    expect(() => parsePasswordFile('u:plain\n', 'f.pw')).toThrow(/f\.pw:1: the password is not hashed/);
  });
  it('hashes as mosquitto does, with a given salt and iterations', () => {
    const salt = Buffer.from('r/Emd9GRdO31HdM/', 'base64');
    expect(hashPassword('secret', { salt })).toBe(MOSQ.split('\n')[0]!.slice('alice:'.length));
    const e = makeEntry('x', 'pw', { iterations: 1000 });
    expect(e.field.startsWith('$7$1000$')).toBe(true);
    const t = parsePasswordFile(`x:${e.field}\ny:${hashPassword('q', { type: 'sha512' })}\n`, 'f');
    expect(t.verify('x', Buffer.from('pw'))).toBe(true);
    expect(t.verify('y', Buffer.from('q'))).toBe(true);
  });
});
