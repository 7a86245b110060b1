/**
 * A strict HTTP-date parser (RFC 9110 §5.6.7). `Date.parse` accepts far too
 * much (`Date.parse("1")` is a date in 2001 on some engines), and an
 * `Expires: 0` must read as "invalid", so sluice parses the three allowed
 * formats itself:
 *
 * - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
 * - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year more than 50
 *   years in the future is read as the past century)
 * - asctime: `Sun Nov  6 08:49:37 1994`
 *
 * Matching is case-insensitive and ignores surrounding whitespace. The day
 * name is not checked against the date, as RFC 9110 lets recipients ignore it.
 *
 * @module
 */

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const IMF_FIXDATE =
  /^(?:mon|tue|wed|thu|fri|sat|sun), (\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC_850 =
  /^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\d{1,2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME =
  /^(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/**
 * Parses an HTTP-date.
 *
 * @param value The field value, or `null` when absent.
 * @param now The current time in milliseconds, used only to resolve the
 * two-digit years of the obsolete RFC 850 format.
 * @returns Milliseconds since the Unix epoch, or `undefined` when `value` is
 * absent or not a valid HTTP-date.
 *
 * @example Valid and invalid dates
 * ```ts
 * import { parseHttpDate } from "./http_date.ts";
 *
 * console.log(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")); // 784111777000
 * console.log(parseHttpDate("0")); // undefined
 * ```
 */
export function parseHttpDate(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text.length < 20 || text.length > 40) return undefined;
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    return _build(m[3]!, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(text);
  if (m !== null) {
    return _build(m[6]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!);
  }
  m = RFC_850.exec(text);
  if (m !== null) {
    const twoDigits = Number(m[3]);
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + twoDigits;
    if (year > currentYear + 50) year -= 100;
    return _build(String(year), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  return undefined;
}

/**
 * Formats a time as an IMF-fixdate, for `If-Modified-Since` and `Date`.
 *
 * @param ms Milliseconds since the Unix epoch.
 * @returns The HTTP-date.
 *
 * @example Formatting
 * ```ts
 * import { formatHttpDate } from "./http_date.ts";
 *
 * console.log(formatHttpDate(784111777000)); // "Sun, 06 Nov 1994 08:49:37 GMT"
 * ```
 */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

function _build(
  year: string,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const monthIndex = MONTHS[month.toLowerCase()];
  if (monthIndex === undefined) return undefined;
  const y = Number(year);
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  // A leap second (60) is allowed by the grammar; it reads as the next second.
  const s = Number(second);
  // Date.UTC reads years below 100 as 19xx; no real HTTP-date has one.
  if (y < 100 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) {
    return undefined;
  }
  const ms = Date.UTC(y, monthIndex, d, h, min, s);
  // Reject days past the end of the month (Date.UTC would roll them over).
  if (new Date(ms - (s === 60 ? 1000 : 0)).getUTCDate() !== d) return undefined;
  return ms;
}
