/**
 * Billing periods: calendar months in UTC, written `YYYY-MM`. The one place that turns periods
 * into instants and back, so no code depends on the process's time zone.
 */

/** `YYYY-MM` with a month 01–12 and a year the rest of the platform can store (1970–9999). */
export const PERIOD_PATTERN = /^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/;

export const isPeriod = (text: unknown): text is string =>
  typeof text === 'string' && PERIOD_PATTERN.test(text);

/** The first instant of the UTC calendar month holding `at`, `offset` months later. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** `YYYY-MM` of an instant, in UTC. */
export function periodOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

export function currentPeriod(now: Date = new Date()): string {
  return periodOf(now);
}

/** `[from, to)` of a period. */
export function periodBounds(period: string): { from: Date; to: Date } {
  const [year, month] = period.split('-').map(Number);
  return { from: new Date(Date.UTC(year, month - 1, 1)), to: new Date(Date.UTC(year, month, 1)) };
}

/** The period `offset` months after `period`. */
export function shiftPeriod(period: string, offset: number): string {
  return periodOf(monthStart(periodBounds(period).from, offset));
}

/** Whole seconds from `now` until the next period begins (when a monthly quota opens again); ≥ 1. */
export function secondsToNextPeriod(now: number = Date.now()): number {
  return Math.max(1, Math.ceil((monthStart(new Date(now), 1).getTime() - now) / 1000));
}
