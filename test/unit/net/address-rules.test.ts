import { describe, expect, it } from 'vitest';
import { AddressRuleError, AddressRules, CidrSet, ipv4ToNumber } from '../../../src/core/net/address-rules.js';

describe('CidrSet', () => {
  it('reads IPv4 CIDRs and bare addresses (/32)', () => {
    const set = new CidrSet(['10.0.0.0/8', ' 192.168.1.7 ']);
    expect(set.has('10.255.1.2')).toBe(true);
    expect(set.has('11.0.0.1')).toBe(false);
    expect(set.has('192.168.1.7')).toBe(true);
    expect(set.has('192.168.1.8')).toBe(false);
  });

  it('/0 holds every IPv4 address, not IPv6 ones', () => {
    const set = new CidrSet(['0.0.0.0/0']);
    expect(set.has('203.0.113.9')).toBe(true);
    expect(set.has('2001:db8::1')).toBe(false);
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 address, in rules and in addresses', () => {
    const set = new CidrSet(['127.0.0.1/32', '::ffff:10.0.0.0/104']);
    expect(set.has('::ffff:127.0.0.1')).toBe(true);
    expect(set.has('::FFFF:127.0.0.2')).toBe(false);
    expect(set.has('10.1.2.3')).toBe(true);
    expect(set.has('::ffff:10.9.9.9')).toBe(true);
  });

  it('reads IPv6 CIDRs and bare addresses (/128)', () => {
    const set = new CidrSet(['fd00::/8', '2001:db8::1']);
    expect(set.has('fd12:3456::1')).toBe(true);
    expect(set.has('fe80::1')).toBe(false);
    expect(set.has('2001:db8::1')).toBe(true);
    expect(set.has('2001:db8::2')).toBe(false);
    expect(set.has('127.0.0.1')).toBe(false);
  });

  it.each([
    ['10.0.0.0/33', /allowFrom '10.0.0.0\/33' is not a CIDR: the prefix length must be 0 to 32/],
    ['fd00::/129', /'fd00::\/129' is not a CIDR: the prefix length must be 0 to 128/],
    ['256.1.1.1', /'256.1.1.1' is not a CIDR: not an IPv4 or IPv6 address/],
    ['10.0.0.0/x', /the prefix length after \/ is not a number/],
    ['localhost', /'localhost' is not a CIDR/],
  ])('refuses %s with one line quoting it', (cidr, message) => {
    const fn = (): CidrSet => new CidrSet([cidr], 'allowFrom');
    expect(fn).toThrow(AddressRuleError);
    expect(fn).toThrow(message);
    try {
      fn();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('ipv4ToNumber reads only dotted quads', () => {
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToNumber('1.2.3.4')).toBe(0x01020304);
    for (const bad of ['1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.256', '', '::1', '1.2.3.4 ']) expect(ipv4ToNumber(bad)).toBe(-1);
  });
});

describe('AddressRules', () => {
  it('admits everyone without lists', () => {
    expect(new AddressRules().allows('198.51.100.1')).toBe(true);
  });

  it('allowFrom admits only its addresses; denyFrom wins over it', () => {
    const rules = new AddressRules(['127.0.0.0/8', 'fd00::/8'], ['127.0.0.2', 'fd00::bad']);
    expect(rules.allows('127.0.0.1')).toBe(true);
    expect(rules.allows('::ffff:127.0.0.1')).toBe(true);
    expect(rules.allows('127.0.0.2')).toBe(false);
    expect(rules.allows('::ffff:127.0.0.2')).toBe(false);
    expect(rules.allows('fd00::1')).toBe(true);
    expect(rules.allows('fd00::bad')).toBe(false);
    expect(rules.allows('10.0.0.1')).toBe(false);
    expect(rules.allows('::1')).toBe(false);
  });

  it('denyFrom alone refuses only its addresses', () => {
    const rules = new AddressRules(undefined, ['::1', '10.0.0.0/8']);
    expect(rules.allows('::1')).toBe(false);
    expect(rules.allows('::2')).toBe(true);
    expect(rules.allows('10.3.3.3')).toBe(false);
    expect(rules.allows('127.0.0.1')).toBe(true);
  });

  it('an empty allowFrom admits no one; an unknown address is refused', () => {
    expect(new AddressRules([]).allows('127.0.0.1')).toBe(false);
    expect(new AddressRules().allows(undefined)).toBe(false);
  });
});
