/**
 * Pure helpers for the usage reports' time bounds: the one-year limit, the whole hours the hourly
 * rollups can answer for, and UTC calendar windows. (Instants are parsed by common/instant.ts,
 * periods by common/period.ts.)
 */

import { Problem } from '../common/domain-error';

export const USAGE_WINDOWS = ['hour', 'day', 'month'] as const;
export type UsageWindow = (typeof USAGE_WINDOWS)[number];

const HOUR_MS = 3_600_000;

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
export function rangeProblems(from: Date, to: Date): Problem[] {
  if (to.getTime() <= from.getTime()) return [{ field: 'to', message: 'to must be after from' }];
  if (to.getTime() > addYear(from).getTime())
    return [{ field: 'from', message: 'from and to must be at most 1 year apart' }];
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
