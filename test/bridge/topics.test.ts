/** Topic lines as mosquitto reads them, and the reconnect delays: no broker needed. */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/core/bridge/backoff.js';
import { inRoute, outRoute, routes, toLocal, toRemote } from '../../src/core/bridge/topics.js';

describe('bridge topics', () => {
  const list = routes([
    { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'home/', remotePrefix: 'site1/' },
    { pattern: 'cmd/+', direction: 'in', qos: 2, localPrefix: 'home/', remotePrefix: 'site1/' },
    { pattern: '', direction: 'both', qos: 0, localPrefix: 'local/one', remotePrefix: 'remote/one' },
    { pattern: 'plain/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' },
  ]);

  it('subscribes to prefix + pattern on each side; the empty pattern makes the prefixes the topics', () => {
    expect(list.map((r) => [r.localFilter, r.remoteFilter, r.out, r.in])).toEqual([
      ['home/sensors/#', 'site1/sensors/#', true, false],
      ['home/cmd/+', 'site1/cmd/+', false, true],
      ['local/one', 'remote/one', true, true],
      ['plain/#', 'plain/#', true, true],
    ]);
  });

  it('swaps the prefixes of the first line of the direction that matches', () => {
    const out = outRoute(list, 'home/sensors/t1');
    expect(toRemote(out, 'home/sensors/t1')).toBe('site1/sensors/t1');
    expect(outRoute(list, 'home/cmd/x')).toBeUndefined(); // an in-only line
    const inn = inRoute(list, 'site1/cmd/x');
    expect(toLocal(inn, 'site1/cmd/x')).toBe('home/cmd/x');
    expect(toRemote(outRoute(list, 'local/one'), 'local/one')).toBe('remote/one');
    expect(toLocal(inRoute(list, 'remote/one'), 'remote/one')).toBe('local/one');
    expect(toRemote(outRoute(list, 'plain/a'), 'plain/a')).toBe('plain/a');
  });

  it('lets a message no line matches cross unchanged, as mosquitto', () => {
    expect(toLocal(inRoute(list, 'other/x'), 'other/x')).toBe('other/x');
  });
});

describe('bridge reconnect delay', () => {
  it('is constant without a cap', () => {
    const b = new Backoff(5000, undefined);
    expect([b.next(), b.next(), b.next()]).toEqual([5000, 5000, 5000]);
  });

  it('grows with jitter between the base and three times the last, never past the cap, and starts over after a reset', () => {
    let r = 0;
    const b = new Backoff(1000, 30_000, () => r);
    r = 1;
    expect(b.next()).toBe(3000);
    expect(b.next()).toBe(9000);
    expect(b.next()).toBe(27_000);
    expect(b.next()).toBe(30_000);
    r = 0;
    expect(b.next()).toBe(1000);
    b.reset();
    r = 1;
    expect(b.next()).toBe(3000);
    r = 0.5;
    const d = b.next();
    expect(d).toBeGreaterThanOrEqual(1000);
    expect(d).toBeLessThanOrEqual(9000);
  });
});
