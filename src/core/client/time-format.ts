/**
 * Time stamps for `mqt sub` output: mosquitto's %I, %U, @X (strftime) and @N, the %j "tst"
 * field, and the ISO time of the --json record.
 *
 * A ReceivedTime carries the local UTC offset it was taken in, so formatting is plain
 * arithmetic (no Date getters that read the process time zone) and tests can pin any zone.
 * Names (%a, %b, %p, …) are those of the C locale, which is what mosquitto_sub prints under
 * LANG=C and what scripts parse.
 */

export interface ReceivedTime {
  /** Whole seconds since the Unix epoch. */
  seconds: number;
  /** Nanoseconds into that second, 0–999,999,999. */
  nanos: number;
  /** The local time zone's offset from UTC at that moment, in minutes (east positive: CET is 60). */
  offsetMinutes: number;
  /** The local zone's short name (strftime %Z), e.g. "UTC" or "GMT+1". */
  zone: string;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
/** Re-anchor the monotonic clock to the wall clock when they drift apart by more than this. */
const MAX_DRIFT_NS = 1_000n * NS_PER_MS;

// The wall clock gives milliseconds; @N and %U promise nanoseconds. A monotonic hrtime
// reading anchored to the wall clock gives both, and the anchor moves if the system clock
// is stepped (NTP, suspend), so stamps never wander far from Date.now().
let anchorHr = 0n;
let anchorEpochNs = 0n;

const zoneNames = new Map<number, string>();

function zoneName(offsetMinutes: number, at: Date): string {
  let name = zoneNames.get(offsetMinutes);
  if (name === undefined) {
    name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
    zoneNames.set(offsetMinutes, name);
  }
  return name;
}

/** The current time, with nanosecond digits and the local offset. */
export function receivedNow(): ReceivedTime {
  const wallNs = BigInt(Date.now()) * NS_PER_MS;
  const hr = process.hrtime.bigint();
  let epochNs = anchorEpochNs + (hr - anchorHr);
  if (anchorHr === 0n || epochNs - wallNs > MAX_DRIFT_NS || wallNs - epochNs > MAX_DRIFT_NS) {
    anchorHr = hr;
    anchorEpochNs = wallNs;
    epochNs = wallNs;
  }
  const seconds = Number(epochNs / NS_PER_S);
  const at = new Date(seconds * 1000);
  const offsetMinutes = -at.getTimezoneOffset();
  return { seconds, nanos: Number(epochNs % NS_PER_S), offsetMinutes, zone: zoneName(offsetMinutes, at) };
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

function pad(n: number, width: number, fill = '0'): string {
  return String(n).padStart(width, fill);
}

/** A Date whose UTC fields are the local fields of `t`. */
function localFields(t: ReceivedTime): Date {
  return new Date((t.seconds + t.offsetMinutes * 60) * 1000);
}

/** strftime %z: +hhmm / -hhmm. */
function offsetText(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60), 2)}${pad(abs % 60, 2)}`;
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000);
}

/** ISO 8601 week number and week-based year (strftime %V, %G). */
function isoWeek(d: Date): { week: number; year: number } {
  const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
  // The Thursday of this week decides the year the week belongs to.
  const thursday = new Date(d.getTime() + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  return { week: Math.floor(dayOfYear(thursday) / 7) + 1, year };
}

/**
 * One strftime conversion, as mosquitto's `@X` passes `%X` to strftime(3) (glibc, C locale).
 * An unknown conversion comes out as written, `%` and the character, as glibc does.
 */
export function strftimeChar(c: string, t: ReceivedTime): string {
  const d = localFields(t);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  const day = d.getUTCDate();
  const hour = d.getUTCHours();
  const weekday = d.getUTCDay();
  const hour12 = hour % 12 === 0 ? 12 : hour % 12;
  switch (c) {
    case 'a': return DAYS[weekday]!.slice(0, 3);
    case 'A': return DAYS[weekday]!;
    case 'b':
    case 'h': return MONTHS[month]!.slice(0, 3);
    case 'B': return MONTHS[month]!;
    case 'c': return `${DAYS[weekday]!.slice(0, 3)} ${MONTHS[month]!.slice(0, 3)} ${pad(day, 2, ' ')} ${strftimeChar('T', t)} ${year}`;
    case 'C': return pad(Math.floor(year / 100), 2);
    case 'd': return pad(day, 2);
    case 'D':
    case 'x': return `${pad(month + 1, 2)}/${pad(day, 2)}/${pad(year % 100, 2)}`;
    case 'e': return pad(day, 2, ' ');
    case 'F': return `${year}-${pad(month + 1, 2)}-${pad(day, 2)}`;
    case 'g': return pad(isoWeek(d).year % 100, 2);
    case 'G': return String(isoWeek(d).year);
    case 'H': return pad(hour, 2);
    case 'I': return pad(hour12, 2);
    case 'j': return pad(dayOfYear(d) + 1, 3);
    case 'k': return pad(hour, 2, ' ');
    case 'l': return pad(hour12, 2, ' ');
    case 'm': return pad(month + 1, 2);
    case 'M': return pad(d.getUTCMinutes(), 2);
    case 'n': return '\n';
    case 'p': return hour < 12 ? 'AM' : 'PM';
    case 'P': return hour < 12 ? 'am' : 'pm';
    case 'r': return `${pad(hour12, 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)} ${hour < 12 ? 'AM' : 'PM'}`;
    case 'R': return `${pad(hour, 2)}:${pad(d.getUTCMinutes(), 2)}`;
    case 's': return String(t.seconds);
    case 'S': return pad(d.getUTCSeconds(), 2);
    case 't': return '\t';
    case 'T':
    case 'X': return `${pad(hour, 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
    case 'u': return String(weekday === 0 ? 7 : weekday);
    case 'U': return pad(Math.floor((dayOfYear(d) + 7 - weekday) / 7), 2);
    case 'V': return pad(isoWeek(d).week, 2);
    case 'w': return String(weekday);
    case 'W': return pad(Math.floor((dayOfYear(d) + 7 - ((weekday + 6) % 7)) / 7), 2);
    case 'y': return pad(year % 100, 2);
    case 'Y': return String(year);
    case 'z': return offsetText(t.offsetMinutes);
    case 'Z': return t.zone;
    case '%': return '%';
    default: return `%${c}`;
  }
}

/** mosquitto's %I: strftime "%FT%T%z" in local time, e.g. 2016-08-10T09:47:38+0100. */
export function isoLocal(t: ReceivedTime): string {
  return `${strftimeChar('F', t)}T${strftimeChar('T', t)}${offsetText(t.offsetMinutes)}`;
}

/** mosquitto's %U: Unix time with nanoseconds, e.g. 1470818943.786368637. */
export function unixWithNanos(t: ReceivedTime): string {
  return `${t.seconds}.${pad(t.nanos, 9)}`;
}

/** mosquitto's @N: the nanoseconds into the current second, nine digits. */
export function nanosText(t: ReceivedTime): string {
  return pad(t.nanos, 9);
}

/**
 * The "tst" field of mosquitto's %j/%J, byte for byte: local time with microseconds, then a
 * literal 'Z' and the offset (2026-11-22T01:27:41.133300Z+0000). The 'Z' is a mosquitto
 * quirk (it is not ISO 8601 with an offset after it), kept because -F is the compatibility
 * surface: scripts written against mosquitto_sub parse this text. --json has a clean time.
 */
export function mosquittoTimestamp(t: ReceivedTime): string {
  return `${strftimeChar('F', t)}T${strftimeChar('T', t)}.${pad(Math.floor(t.nanos / 1000), 6)}Z${offsetText(t.offsetMinutes)}`;
}

/** ISO 8601 in UTC with milliseconds, as Date#toISOString: the --json "received" field. */
export function isoUtc(t: ReceivedTime): string {
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1_000_000)).toISOString();
}
