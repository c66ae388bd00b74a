/**
 * Pure helpers for the usage reports' time bounds: parsing `from`/`to`, the one-year limit, the
 * whole hours the hourly rollups can answer for, UTC calendar windows and billing periods.
 */

export const USAGE_WINDOWS = ['hour', 'day', 'month'] as const;
export type UsageWindow = (typeof USAGE_WINDOWS)[number];

const HOUR_MS = 3_600_000;

/** `YYYY-MM`, a billing period (calendar month, UTC). */
export const PERIOD = /^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/;

/** A date (`YYYY-MM-DD`, taken as UTC midnight) or a date-time with `Z` or an offset. */
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2})))?$/;

/** Instants outside these years are refused (Postgres has no year 0, JS prints 10000 oddly). */
const MIN_YEAR = 1970;
const MAX_YEAR = 9998;

export const INSTANT_RULE =
  'an ISO-8601 date-time with a time zone (Z or ±hh:mm), or a date (UTC midnight), in the years 1970 to 9998';

/** The instant an ISO-8601 string names, or null when it is not one we accept. */
export function parseInstant(text: string): Date | null {
  const m = INSTANT.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', zone, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  if (zone && zone !== 'Z' && (Number(oh) > 23 || Number(om) > 59)) return null;
  // Date.parse reads a date-only string as UTC and honours an explicit zone: the cases left.
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The same instant one calendar year later (UTC); 29 February rolls to 1 March. */
export function addYear(at: Date): Date {
  const next = new Date(at.getTime());
  next.setUTCFullYear(next.getUTCFullYear() + 1);
  return next;
}

/**
 * The problems with a `[from, to)` range: `to` must be after `from`, and at most one calendar
 * year after it.
 */
export function rangeProblems(from: Date, to: Date): string[] {
  if (to.getTime() <= from.getTime()) return ['to must be after from'];
  if (to.getTime() > addYear(from).getTime()) return ['from and to must be at most 1 year apart'];
  return [];
}

export const floorHour = (at: Date) => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
export const ceilHour = (at: Date) => new Date(Math.ceil(at.getTime() / HOUR_MS) * HOUR_MS);

/**
 * The whole hours the hourly rollups can answer for: `from` rounded down and `to` rounded up to
 * the hour.
 */
export function hourRange(from: Date, to: Date): { from: Date; to: Date } {
  return { from: floorHour(from), to: ceilHour(to) };
}

/** The start of the UTC calendar window holding `at` (what Postgres' `date_trunc` gives in UTC). */
export function windowStart(at: Date, window: UsageWindow): Date {
  if (window === 'hour') return floorHour(at);
  if (window === 'day')
    return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** The end (exclusive) of the UTC calendar window that starts at `start`. */
export function nextWindow(start: Date, window: UsageWindow): Date {
  if (window === 'hour') return new Date(start.getTime() + HOUR_MS);
  if (window === 'day')
    return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1));
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/**
 * The calendar window starting at `start`, clipped to the queried range: the first and the last
 * windows may be partial, and then say so.
 */
export function clippedWindow(
  start: Date,
  window: UsageWindow,
  range: { from: Date; to: Date },
): { windowStart: Date; windowEnd: Date } {
  const end = nextWindow(start, window);
  return {
    windowStart: start < range.from ? range.from : start,
    windowEnd: end > range.to ? range.to : end,
  };
}

/** `YYYY-MM` of `now` in UTC. */
export function currentPeriod(now: Date): string {
  return now.toISOString().slice(0, 7);
}

/** The first instant of a `YYYY-MM` period, as the ISO-8601 string Postgres reads. */
export function periodStart(period: string): string {
  return `${period}-01T00:00:00Z`;
}

/** `value / included` as a percentage rounded to 2 decimals; null when nothing is included. */
export function percentUsed(value: number, included: number): number | null {
  if (included <= 0) return null;
  return Math.round((value * 10_000) / included) / 100;
}

/** ISO-8601 basic format (no colons, which some file systems refuse): 20260501T000000Z. */
export function compactInstant(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The export's file name: `usage-<orgId>-<from>-<to>.csv`, instants in ISO-8601 basic format. */
export function exportFilename(orgId: string, from: Date, to: Date): string {
  return `usage-${orgId}-${compactInstant(from)}-${compactInstant(to)}.csv`;
}
