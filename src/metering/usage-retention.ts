import { currentPeriod, isPeriod, shiftPeriod } from '../common/period';

/** A month partition of `usage_events` and the period (`YYYY-MM`) it holds. */
export interface PeriodPartition {
  name: string;
  period: string;
}

const PARTITION_NAME = /^usage_events_y(\d{4})m(\d{2})$/;

/** `usage_events_y2026m03` → `2026-03`; undefined for any other table (the default partition). */
export function partitionPeriod(name: string): string | undefined {
  const match = PARTITION_NAME.exec(name);
  const period = match ? `${match[1]}-${match[2]}` : undefined;
  return isPeriod(period) ? period : undefined;
}

/**
 * With `RETENTION_MONTHS` = `months`, the current period and the `months` before it keep their
 * events: the partitions of older periods are past retention, oldest first.
 */
export function partitionsPastRetention(
  names: string[],
  now: Date,
  months: number,
): PeriodPartition[] {
  const oldestKept = shiftPeriod(currentPeriod(now), -months);
  return names
    .map((name) => ({ name, period: partitionPeriod(name) }))
    .filter((p): p is PeriodPartition => p.period !== undefined && p.period < oldestKept)
    .sort((a, b) => a.period.localeCompare(b.period));
}
