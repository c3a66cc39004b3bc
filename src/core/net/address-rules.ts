/**
 * Which remote addresses a listener admits: allow and deny lists of CIDRs (mosquitto has no such
 * option; this is what a firewall rule would do, kept next to the listener). Decided once per TCP
 * connection, before a byte is read, so it must be cheap: IPv4 is compared as one 32-bit number
 * against precomputed masks, with no allocation beyond reading the address string; IPv6 goes to
 * node:net's BlockList. An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket
 * reports for an IPv4 peer) is the IPv4 address, on both sides.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A CIDR that cannot be read; the message quotes it. */
export class AddressRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRuleError';
  }
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** `a.b.c.d` as an unsigned 32-bit number, or -1 when it is not one. */
export function ipv4ToNumber(address: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** The IPv4 address inside `address`: itself, or the tail of an IPv4-mapped IPv6 address. */
function asIPv4(address: string): number {
  if (address.length > 7 && address.charCodeAt(0) === 58) {
    const m = MAPPED.exec(address);
    return m === null ? -1 : ipv4ToNumber(m[1]!);
  }
  return ipv4ToNumber(address);
}

/** A set of CIDRs. */
export class CidrSet {
  /** IPv4 rules as network, mask pairs (unsigned). */
  private readonly v4: number[] = [];
  private readonly v6 = new BlockList();
  private hasV6 = false;

  /** Throws an AddressRuleError naming the first CIDR that is not one. `what` names the list in the message. */
  constructor(cidrs: readonly string[], what = 'address rule') {
    for (const raw of cidrs) this.add(raw.trim(), what);
  }

  private add(cidr: string, what: string): void {
    const slash = cidr.indexOf('/');
    const addr = slash < 0 ? cidr : cidr.slice(0, slash);
    const bitsText = slash < 0 ? undefined : cidr.slice(slash + 1);
    const fail = (why: string): never => {
      throw new AddressRuleError(`${what} '${cidr}' is not a CIDR: ${why} (write e.g. 192.168.1.0/24, 10.0.0.7 or fd00::/8)`);
    };
    if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) fail('the prefix length after / is not a number');
    const v4 = asIPv4(addr);
    if (v4 >= 0) {
      // A mapped address counts in IPv4 bits: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
      let bits = bitsText === undefined ? 32 : Number(bitsText);
      if (addr.includes(':') && bitsText !== undefined) bits -= 96;
      if (bits < 0 || bits > 32) fail(`the prefix length must be 0 to 32 for IPv4`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      this.v4.push((v4 & mask) >>> 0, mask);
      return;
    }
    if (!isIPv6(addr)) fail(isIPv4(addr) ? 'a bad IPv4 address' : 'not an IPv4 or IPv6 address');
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    if (bits > 128) fail('the prefix length must be 0 to 128 for IPv6');
    this.v6.addSubnet(addr, bits, 'ipv6');
    this.hasV6 = true;
  }

  get size(): number {
    return this.v4.length / 2 + (this.hasV6 ? this.v6.rules.length : 0);
  }

  /** Whether `address` (as a socket reports it) is in the set. */
  has(address: string): boolean {
    const v4 = asIPv4(address);
    if (v4 >= 0) {
      const rules = this.v4;
      for (let i = 0; i < rules.length; i += 2) if ((v4 & rules[i + 1]!) >>> 0 === rules[i]) return true;
      return false;
    }
    return this.hasV6 && isIPv6(address) && this.v6.check(address, 'ipv6');
  }
}

/** allowFrom and denyFrom of one listener. */
export class AddressRules {
  private readonly allow: CidrSet | undefined;
  private readonly deny: CidrSet | undefined;

  constructor(allowFrom?: readonly string[], denyFrom?: readonly string[]) {
    this.allow = allowFrom === undefined ? undefined : new CidrSet(allowFrom, 'allowFrom');
    this.deny = denyFrom === undefined || denyFrom.length === 0 ? undefined : new CidrSet(denyFrom, 'denyFrom');
  }

  /** Refused when denied, or when an allow list is given and the address is not in it; an unknown address (socket gone) is refused. */
  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    if (this.deny?.has(address) === true) return false;
    return this.allow === undefined || this.allow.has(address);
  }
}
