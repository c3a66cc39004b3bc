import { describe, expect, it } from 'vitest';
import { parseAclFile } from '../../../src/core/auth/acl-file.js';
import { filterCovers, filtersOverlap } from '../../../src/core/auth/topic-filter.js';
import { topicMatches } from '../../../src/core/topic/match.js';

describe('topic filter relations', () => {
  it('matches', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'ab')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('a/b', 'a/b/')).toBe(false);
  });
  it('overlaps', () => {
    expect(filtersOverlap('a/+', '+/b')).toBe(true);
    expect(filtersOverlap('a/b', 'a/c')).toBe(false);
    expect(filtersOverlap('a/#', 'a')).toBe(true);
    expect(filtersOverlap('#', '$SYS/#')).toBe(false);
    expect(filtersOverlap('$SYS/+', '$SYS/#')).toBe(true);
    expect(filtersOverlap('a/+/c', 'a/b')).toBe(false);
  });
  it('covers', () => {
    expect(filterCovers('a/#', 'a/+/c')).toBe(true);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('+/b', 'x/b')).toBe(true);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
    expect(filterCovers('a/#', 'a')).toBe(true);
  });
});

const ACL = `
# general: anonymous only
topic read public/#
  user alice
topic readwrite alice/#
topic deny alice/secret
topic write  logs
user bob
topic bob/#
pattern read devices/%c/#
pattern readwrite users/%u/#
topic read $SYS/#
`;

describe('acl file', () => {
  const acl = parseAclFile(ACL, 'acl');
  it('general lines apply to anonymous clients only', () => {
    expect(acl.canRead(undefined, 'c', 'public/x')).toBe(true);
    expect(acl.canWrite(undefined, 'c', 'public/x')).toBe(false);
    expect(acl.canRead('alice', 'c', 'public/x')).toBe(false);
  });
  it('user blocks, access words, deny wins, no rule means denied', () => {
    expect(acl.canWrite('alice', 'c', 'alice/x')).toBe(true);
    expect(acl.canRead('alice', 'c', 'alice/secret')).toBe(false);
    expect(acl.canWrite('alice', 'c', 'logs')).toBe(true);
    expect(acl.canRead('alice', 'c', 'logs')).toBe(false);
    expect(acl.canWrite('bob', 'c', 'bob/a/b')).toBe(true);
    expect(acl.canRead('carol', 'c', 'alice/x')).toBe(false);
  });
  it('patterns substitute %u and %c, never for names holding + or #', () => {
    expect(acl.canRead('carol', 'dev1', 'devices/dev1/t')).toBe(true);
    expect(acl.canWrite('carol', 'dev1', 'devices/dev1/t')).toBe(false);
    expect(acl.canWrite('carol', 'x', 'users/carol/a')).toBe(true);
    expect(acl.canRead(undefined, 'x', 'users/carol/a')).toBe(false);
    expect(acl.canRead('c+', 'x', 'users/c+/a')).toBe(false);
    expect(acl.canRead('carol', '#', 'devices/#/t')).toBe(false);
  });
  it('$SYS read rules work only where given', () => {
    expect(acl.canRead('bob', 'c', '$SYS/broker/uptime')).toBe(true);
    expect(acl.canRead('alice', 'c', '$SYS/broker/uptime')).toBe(false);
  });
  it('subscribe: refused when nothing readable overlaps or a deny covers it', () => {
    expect(acl.canSubscribe('alice', 'c', 'alice/+')).toBe(true);
    expect(acl.canSubscribe('alice', 'c', '#')).toBe(true);
    expect(acl.canSubscribe('alice', 'c', 'alice/secret')).toBe(false);
    expect(acl.canSubscribe('alice', 'c', 'logs')).toBe(false);
    expect(acl.canSubscribe('bob', 'c', '#')).toBe(true);
    expect(acl.canSubscribe('alice', 'c', '$SYS/#')).toBe(false);
  });
  it('names file and line of a bad line', () => {
    expect(() => parseAclFile('user a\nfoo bar\n', 'f.acl')).toThrow(/^f\.acl:2: unknown keyword "foo"/);
    expect(() => parseAclFile('user\n', 'f.acl')).toThrow(/f\.acl:1: "user" needs a user name/);
  });
});
