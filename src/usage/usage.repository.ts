import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import Cursor from 'pg-cursor';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { MeterAggregation } from '../catalogue/catalogue.types';
import { requireOrgId } from '../database/tenant-scope';
import { NIL_UUID } from '../metering/usage-events.repository';
import { EventExportRow } from './csv';
import { UsageWindow } from './usage-bounds';

/** How windows are split: by API key, by subject, or by one of the meter's group-by keys. */
export type UsageGrouping =
  { by: 'apiKeyId' } | { by: 'subject' } | { by: 'data'; key: string } | null;

export interface WindowQuery {
  meter: string;
  window: UsageWindow;
  grouping: UsageGrouping;
  from: Date;
  to: Date;
}

/** One window (and group): numbers as the driver returns them (numeric and bigint as strings). */
export interface WindowRow {
  windowStart: Date;
  group: string | null;
  value: string | number | null;
}

/** A meter's rollups over a period, every aggregate at once. */
export interface PeriodTotalsRow {
  meter: string;
  count: string;
  sum: string;
  min: number | null;
  max: number | null;
  avg: string | null;
  latest: number | null;
}

/** The value of a rollup-backed aggregation over a set of rollup rows. */
const ROLLUP_VALUE: Record<Exclude<MeterAggregation, 'unique_count'>, string> = {
  count: 'sum(count)',
  sum: 'sum(sum)',
  min: 'min(min)',
  max: 'max(max)',
  avg: 'sum(sum) / NULLIF(sum(count), 0)',
  latest: '(array_agg(latest_value ORDER BY latest_time DESC))[1]',
};

/** Rollups store a missing subject as '' and a missing API key as the nil UUID: report null. */
function rollupGroup(grouping: UsageGrouping, keyParam: string): string {
  if (grouping === null) return '';
  if (grouping.by === 'apiKeyId') return `NULLIF(api_key_id, '${NIL_UUID}')::text`;
  if (grouping.by === 'subject') return `NULLIF(subject, '')`;
  return `group_values ->> ${keyParam}`;
}

/** The same groups from raw events: only scalar values are group-by values (as at ingestion). */
function eventGroup(grouping: UsageGrouping, keyParam: string): string {
  if (grouping === null) return '';
  if (grouping.by === 'apiKeyId') return `api_key_id::text`;
  if (grouping.by === 'subject') return `NULLIF(subject, '')`;
  return `CASE WHEN jsonb_typeof(data -> ${keyParam}) IN ('string', 'number', 'boolean')
               THEN data ->> ${keyParam} END`;
}

/** Times as ISO-8601 UTC with milliseconds, whatever the session's time zone. */
const isoUtc = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const EXPORT_SQL = `
SELECT event_id AS id, meter AS type, ${isoUtc('time')} AS time, subject,
       api_key_id AS "apiKeyId", value, data, ${isoUtc('received_at')} AS "receivedAt"
  FROM usage_events
 WHERE org_id = $1 AND time >= $2::timestamptz AND time < $3::timestamptz
 ORDER BY time, event_id`;

/** Past this, a cursor that does not close is taken for a broken connection. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * A server-side cursor over an org's events, on a connection of its own held in a read-only
 * transaction (one snapshot for the whole export; on embedded PGlite the transaction also keeps
 * other connections' statements from interleaving with the open portal).
 */
export class EventCursor {
  private closed = false;

  constructor(
    private readonly client: PoolClient,
    private readonly release: (error?: Error) => void,
    private readonly cursor: Cursor<EventExportRow>,
  ) {}

  read(rows: number): Promise<EventExportRow[]> {
    return this.cursor.read(rows);
  }

  /** Closes the portal, ends the transaction and returns the connection; once, on any path. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await this.cursor.close();
          await this.client.query('ROLLBACK');
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Cursor did not close')), CLOSE_TIMEOUT_MS);
        }),
      ]);
      this.release();
    } catch (error) {
      // A connection in an unknown state must not go back to the pool.
      this.release(error instanceof Error ? error : new Error(String(error)));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The usage reports' reads: hourly rollups, and raw events where rollups cannot answer. */
@Injectable()
export class UsageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A count, sum, min, max, avg or latest meter per UTC window (and group), from the rollups. */
  rollupWindows(
    orgId: string,
    aggregation: Exclude<MeterAggregation, 'unique_count'>,
    query: WindowQuery,
  ): Promise<WindowRow[]> {
    const params: unknown[] = [
      requireOrgId(orgId),
      query.meter,
      query.from.toISOString(),
      query.to.toISOString(),
    ];
    if (query.grouping?.by === 'data') params.push(query.grouping.key);
    const group = rollupGroup(query.grouping, '$5');
    return this.dataSource.query(
      `SELECT date_trunc('${query.window}', hour, 'UTC') AS "windowStart",
              ${group ? `${group} AS "group",` : ''} ${ROLLUP_VALUE[aggregation]} AS value
         FROM usage_rollups
        WHERE org_id = $1 AND meter = $2 AND hour >= $3::timestamptz AND hour < $4::timestamptz
        GROUP BY 1${group ? ', 2' : ''}
        ORDER BY 1${group ? ', 2' : ''}`,
      params,
    );
  }

  /**
   * A unique_count meter per UTC window (and group), from raw events: distinct values do not add
   * up across rollups. The bounds on `time` let Postgres skip the other months' partitions.
   */
  uniqueWindows(orgId: string, property: string, query: WindowQuery): Promise<WindowRow[]> {
    const params: unknown[] = [
      requireOrgId(orgId),
      query.meter,
      query.from.toISOString(),
      query.to.toISOString(),
      property,
    ];
    if (query.grouping?.by === 'data') params.push(query.grouping.key);
    const group = eventGroup(query.grouping, '$6');
    return this.dataSource.query(
      `SELECT date_trunc('${query.window}', time, 'UTC') AS "windowStart",
              ${group ? `${group} AS "group",` : ''} count(DISTINCT data ->> $5) AS value
         FROM usage_events
        WHERE org_id = $1 AND meter = $2 AND time >= $3::timestamptz AND time < $4::timestamptz
        GROUP BY 1${group ? ', 2' : ''}
        ORDER BY 1${group ? ', 2' : ''}`,
      params,
    );
  }

  /**
   * Every aggregate of each of `meters` that has rollups in `[from, to)`, in one pass. Naming the
   * meters lets Postgres walk the primary key (org, meter, hour) straight to the period for each;
   * `latest` is only computed for `latestMeters` (it sorts).
   */
  /** Every meter's aggregates over one calendar month, from the monthly totals (one row per meter). */
  periodTotals(orgId: string, periodStart: Date): Promise<PeriodTotalsRow[]> {
    return this.dataSource.query(
      `SELECT meter, count, sum, min, max, sum / NULLIF(count, 0) AS avg, latest_value AS latest
         FROM usage_period_totals
        WHERE org_id = $1 AND period = $2`,
      [requireOrgId(orgId), periodStart.toISOString()],
    );
  }

  /** Distinct values of each unique_count meter's property in `[from, to)`, from raw events. */
  periodUniqueCounts(
    orgId: string,
    meters: { slug: string; property: string }[],
    from: Date,
    to: Date,
  ): Promise<{ meter: string; value: string }[]> {
    if (meters.length === 0) return Promise.resolve([]);
    return this.dataSource.query(
      `SELECT m.meter, count(DISTINCT e.data ->> m.property) AS value
         FROM unnest($2::text[], $3::text[]) AS m (meter, property)
         JOIN usage_events e
           ON e.org_id = $1 AND e.meter = m.meter
          AND e.time >= $4::timestamptz AND e.time < $5::timestamptz
        GROUP BY m.meter`,
      [
        requireOrgId(orgId),
        meters.map((m) => m.slug),
        meters.map((m) => m.property),
        from.toISOString(),
        to.toISOString(),
      ],
    );
  }

  /**
   * Opens a cursor over the org's events in `[from, to)`, ordered by time. The caller must
   * `close()` it: it holds a pooled connection until then.
   */
  async openEventCursor(orgId: string, from: Date, to: Date): Promise<EventCursor> {
    const params = [requireOrgId(orgId), from.toISOString(), to.toISOString()];
    const driver = this.dataSource.driver as PostgresDriver;
    const [client, release] = (await driver.obtainMasterConnection()) as [
      PoolClient,
      (error?: Error) => void,
    ];
    try {
      await client.query('BEGIN READ ONLY');
    } catch (error) {
      release(error as Error);
      throw error;
    }
    return new EventCursor(client, release, client.query(new Cursor(EXPORT_SQL, params)));
  }
}
