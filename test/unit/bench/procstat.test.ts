/** Reading the kernel's count of dropped SYNs out of /proc/net/netstat. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listenOverflows, parseListenOverflows } from '../../../src/core/bench/procstat.js';

// The layout of /proc/net/netstat (shortened): a line of names, a line of values, per group.
const NETSTAT = [
  'TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPHPHits',
  'TcpExt: 0 3 17 19 123456',
  'IpExt: InNoRoutes ListenOverflows InOctets',
  'IpExt: 0 99 5000',
  '',
].join('\n');

describe('parseListenOverflows', () => {
  it("takes the TcpExt value under the ListenOverflows name, not another group's", () => {
    expect(parseListenOverflows(NETSTAT)).toBe(17);
  });

  it('is undefined when the counter or the group is missing', () => {
    expect(parseListenOverflows('TcpExt: SyncookiesSent\nTcpExt: 0\n')).toBeUndefined();
    expect(parseListenOverflows('IpExt: InNoRoutes\nIpExt: 0\n')).toBeUndefined();
    expect(parseListenOverflows('')).toBeUndefined();
  });
});

describe('listenOverflows', () => {
  it.runIf(existsSync('/proc/net/netstat'))('reads a count on Linux', () => {
    const n = listenOverflows();
    expect(Number.isInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(0);
  });
});
