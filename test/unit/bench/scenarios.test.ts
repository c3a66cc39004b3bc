/** The run plan's QoS 0 window: per subscriber, shared by the publishers it hears. */
import { describe, expect, it } from 'vitest';
import { makePlan, QOS0_WINDOW_PER_SUBSCRIBER, validateConfig } from '../../../src/core/bench/scenarios.js';
import type { BenchConfig } from '../../../src/core/bench/types.js';
import { CONFIG } from './fixtures.js';

const cfg = (over: Partial<BenchConfig>): BenchConfig => ({ ...CONFIG, qos: 0, ...over });

describe('makePlan: QoS 0 window', () => {
  it('defaults to QOS0_WINDOW_PER_SUBSCRIBER per publisher when each subscriber hears one publisher', () => {
    expect(makePlan(cfg({}), 'x', 1).qos0Window).toEqual([QOS0_WINDOW_PER_SUBSCRIBER]);
    expect(makePlan(cfg({ scenario: 'fan-out', subs: 10 }), 'x', 1).qos0Window).toEqual([5000]);
  });

  it('splits the window among the publishers of a wildcard subscriber', () => {
    expect(makePlan(cfg({ scenario: 'fan-in', pubs: 10, subs: 1 }), 'x', 1).qos0Window).toEqual(new Array(10).fill(500));
  });

  it('takes config.qos0Window instead of the default', () => {
    expect(makePlan(cfg({ qos0Window: 800 }), 'x', 1).qos0Window).toEqual([800]);
    expect(makePlan(cfg({ scenario: 'fan-in', pubs: 10, subs: 1, qos0Window: 2000 }), 'x', 1).qos0Window).toEqual(new Array(10).fill(200));
  });

  it('refuses a window below 1', () => {
    expect(() => validateConfig(cfg({ qos0Window: 0 }))).toThrow(/qos0Window/);
    expect(() => validateConfig(cfg({ qos0Window: 1.5 }))).toThrow(/qos0Window/);
  });
});
