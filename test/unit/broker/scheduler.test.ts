import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, Scheduler } from '../../../src/core/broker/scheduler.js';

describe('Scheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires deadlines in order of their time, each once', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const s = new Scheduler();
    const fired: string[] = [];
    const mk = (name: string): Deadline => new Deadline(() => fired.push(name));
    const a = mk('a');
    const b = mk('b');
    const c = mk('c');
    s.schedule(c, 1_000_300);
    s.schedule(a, 1_000_100);
    s.schedule(b, 1_000_200);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(s.size).toBe(0);
    s.close();
  });

  it('moves and cancels deadlines', () => {
    vi.useFakeTimers({ now: 0 });
    const s = new Scheduler();
    const fired: string[] = [];
    const a = new Deadline(() => fired.push('a'));
    const b = new Deadline(() => fired.push('b'));
    s.schedule(a, 100);
    s.schedule(b, 200);
    s.schedule(a, 300); // moved later
    s.cancel(b);
    expect(b.scheduled).toBe(false);
    vi.advanceTimersByTime(250);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['a']);
    s.schedule(b, Infinity); // never: not scheduled
    expect(b.scheduled).toBe(false);
    s.close();
  });

  // setTimeout fires after 1 ms for anything above 2^31-1 ms (24.8 days): the scheduler must not.
  it('keeps waits longer than setTimeout can hold', () => {
    vi.useFakeTimers({ now: 0 });
    const s = new Scheduler();
    let fired = 0;
    const d = new Deadline(() => fired++);
    const thirtyDays = 30 * 24 * 3600 * 1000;
    s.schedule(d, thirtyDays);
    vi.advanceTimersByTime(10);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(0x7fffffff);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(thirtyDays - 0x7fffffff - 10 - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(2);
    expect(fired).toBe(1);
    s.close();
  });

  it('lets a fired deadline schedule itself again, and fires nothing after close', () => {
    vi.useFakeTimers({ now: 0 });
    const s = new Scheduler();
    let n = 0;
    const d: Deadline = new Deadline((now) => {
      n++;
      if (n < 3) s.schedule(d, now + 10);
    });
    s.schedule(d, 10);
    vi.advanceTimersByTime(100);
    expect(n).toBe(3);
    s.schedule(d, 200);
    s.close();
    vi.advanceTimersByTime(500);
    expect(n).toBe(3);
  });
});
