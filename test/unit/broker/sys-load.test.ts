/** The $SYS load averages: mosquitto's exponential moving averages of a counter's rate per minute. */
import { describe, expect, it } from 'vitest';
import { formatLoad, LoadAverage } from '../../../src/core/broker/sys-load.js';

describe('LoadAverage', () => {
  it('starts at 0 and rises towards a steady rate as 1 - e^(-t/period), whatever the interval', () => {
    // 120 a minute (2 a second), read every second or every 10 seconds for 5 minutes.
    for (const step of [1, 10]) {
      const load = new LoadAverage(1000);
      expect(load.values).toEqual([0, 0, 0]);
      let total = 1000;
      for (let t = step; t <= 300; t += step) {
        total += 2 * step;
        load.sample(total, step);
      }
      const expected = [60, 300, 900].map((period) => 120 * (1 - Math.exp(-300 / period)));
      load.values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    }
  });

  it('decays towards 0 once the counter stops, by e^(-elapsed/period); a zero interval changes nothing', () => {
    const load = new LoadAverage(0);
    load.sample(600, 60); // 600 a minute for one minute
    const after = [...load.values];
    load.sample(600, 0);
    expect(load.values).toEqual(after);
    load.sample(600, 30); // nothing for 30 s
    [60, 300, 900].forEach((period, i) => expect(load.values[i]).toBeCloseTo(after[i]! * Math.exp(-30 / period), 9));
  });

  it('prints two decimals, as mosquitto\'s %.2f', () => {
    expect([formatLoad(0), formatLoad(1.005), formatLoad(58.0349), formatLoad(2182.4)]).toEqual(['0.00', '1.00', '58.03', '2182.40']);
  });
});
