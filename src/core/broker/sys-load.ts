/**
 * The 1, 5 and 15 minute load averages of $SYS/broker/load/…, worked out as mosquitto's
 * sys_tree.c does: each interval, the counter's rate over it (per minute) pulls the average
 * towards itself by 1 - e^(-elapsed/period), the exponential moving average of the Unix
 * load average. Mosquitto counts elapsed time in whole seconds; we use the time that really
 * passed, so a late timer does not read as a burst.
 */

/** The three periods, in seconds, with the topic suffix each is published under. */
export const LOAD_PERIODS: ReadonlyArray<{ readonly seconds: number; readonly suffix: string }> = [
  { seconds: 60, suffix: '1min' },
  { seconds: 300, suffix: '5min' },
  { seconds: 900, suffix: '15min' },
];

/** The averages of one counter (messages received, bytes sent, …). */
export class LoadAverage {
  /** Per minute, one value per LOAD_PERIODS entry; 0 until the first interval has passed, as mosquitto. */
  readonly values: number[] = LOAD_PERIODS.map(() => 0);
  private last: number;

  /** `start`: the counter's reading when the broker began publishing. */
  constructor(start: number) {
    this.last = start;
  }

  /** Takes the counter's reading (a running total), `elapsedSeconds` after the previous one. */
  sample(reading: number, elapsedSeconds: number): void {
    const delta = reading - this.last;
    this.last = reading;
    if (!(elapsedSeconds > 0)) return;
    const perMinute = (delta * 60) / elapsedSeconds;
    for (let i = 0; i < LOAD_PERIODS.length; i++) {
      const decay = Math.exp(-elapsedSeconds / LOAD_PERIODS[i]!.seconds);
      this.values[i] = perMinute + decay * (this.values[i]! - perMinute);
    }
  }
}

/** A load as mosquitto prints it: two decimals ("%.2f"). */
export function formatLoad(value: number): string {
  return value.toFixed(2);
}
