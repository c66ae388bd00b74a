import { monthStart } from '../common/period';

/**
 * `usage_events` is partitioned by calendar month (UTC) of the event time. Pure helpers for the
 * partitions' names and bounds, for the service that creates them ahead (the first migration
 * creates the first ones with the same names, in SQL).
 */
export interface MonthPartition {
  name: string;
  /** Inclusive lower bound, ISO-8601 UTC. */
  from: string;
  /** Exclusive upper bound, ISO-8601 UTC. */
  to: string;
}

export function monthPartition(date: Date): MonthPartition {
  const start = monthStart(date);
  const month = String(start.getUTCMonth() + 1).padStart(2, '0');
  return {
    name: `usage_events_y${start.getUTCFullYear()}m${month}`,
    from: start.toISOString(),
    to: monthStart(start, 1).toISOString(),
  };
}

/** The months whose partitions must exist around `now`: events reach 35 days back and 5 minutes ahead. */
export function partitionsAround(now: Date, monthsBack = 2, monthsAhead = 2): MonthPartition[] {
  const out: MonthPartition[] = [];
  for (let offset = -monthsBack; offset <= monthsAhead; offset++)
    out.push(monthPartition(monthStart(now, offset)));
  return out;
}

export function createPartitionSql(partition: MonthPartition): string {
  return `CREATE TABLE IF NOT EXISTS ${partition.name} PARTITION OF usage_events
            FOR VALUES FROM ('${partition.from}') TO ('${partition.to}')`;
}
