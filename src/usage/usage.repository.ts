import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { MeterAggregation } from '../catalogue/catalogue.types';
import { REPORTS } from '../database/typeorm-options';
import { requireOrgId } from '../database/tenant-scope';
import { NIL_UUID } from '../metering/usage-events.repository';
import { UsageWindow } from './usage-bounds';
import { UsageError } from './usage.errors';

/** How windows are split: by API key, by subject, or by one of the meter's group-by keys. */
export type UsageGrouping =
  { by: 'apiKeyId' } | { by: 'subject' } | { by: 'data'; key: string } | null;

export interface WindowQuery {
  meter: string;
  window: UsageWindow;
  grouping: UsageGrouping;
  /** Only usage of this subject. */
  subject?: string;
  from: Date;
  to: Date;
  /** Rows wanted at most: one more is read, to tell that there were too many. */
  maxRows: number;
}

/** One window (and group): numbers as the driver returns them (numeric and bigint as strings). */
export interface WindowRow {
  windowStart: Date;
  group: string | null;
  value: string | number | null;
}

/** A meter's totals over a period, every aggregate at once. */
export interface PeriodTotalsRow {
  meter: string;
  count: string;
  sum: string;
  min: number | null;
  max: number | null;
  avg: string | null;
  latest: number | null;
  /** Distinct values of a unique_count meter, kept as they were ingested. */
  distinct: string;
}

/** A stored event as reports show it; times already ISO-8601 UTC (from Postgres). */
export interface EventRecord {
  id: string;
  type: string;
  time: string;
  subject: string | null;
  apiKeyId: string | null;
  value: number | null;
  data: Record<string, unknown>;
  receivedAt: string;
  /** The event time to the microsecond: the keyset position (never shown). */
  position: string;
}

export interface EventsQuery {
  from?: Date;
  to?: Date;
  type?: string;
  subject?: string;
  /** Keyset: (time to the microsecond, event id) of the last row of the previous page. */
  after?: readonly [string, string];
  order: 'oldest' | 'newest';
  limit: number;
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

/** Times as ISO-8601 UTC, whatever the session's time zone. */
const isoUtc = (column: string, fraction = 'MS') =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.${fraction}"Z"')`;

const EVENT_COLUMNS = `event_id AS id, meter AS type, ${isoUtc('time')} AS time, subject,
  api_key_id AS "apiKeyId", value, data, ${isoUtc('received_at')} AS "receivedAt",
  ${isoUtc('time', 'US')} AS position`;

/**
 * The usage reports' reads: monthly totals, hourly rollups, and raw events where rollups cannot
 * answer. All on the reports' own pool, whose statements Postgres cancels past
 * `REPORT_TIMEOUT_MS` (then 503 `report_timeout`); none holds a connection longer than a statement.
 */
@Injectable()
export class UsageRepository {
  constructor(@InjectDataSource(REPORTS) private readonly dataSource: DataSource) {}

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
      query.maxRows + 1,
      query.subject ?? null,
    ];
    if (query.grouping?.by === 'data') params.push(query.grouping.key);
    const group = rollupGroup(query.grouping, '$7');
    return this.report(
      `SELECT date_trunc('${query.window}', hour, 'UTC') AS "windowStart",
              ${group ? `${group} AS "group",` : ''} ${ROLLUP_VALUE[aggregation]} AS value
         FROM usage_rollups
        WHERE org_id = $1 AND meter = $2 AND hour >= $3::timestamptz AND hour < $4::timestamptz
          AND ($6::text IS NULL OR subject = $6::text)
        GROUP BY 1${group ? ', 2' : ''}
        ORDER BY 1${group ? ', 2' : ''}
        LIMIT $5`,
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
      query.maxRows + 1,
      query.subject ?? null,
    ];
    if (query.grouping?.by === 'data') params.push(query.grouping.key);
    const group = eventGroup(query.grouping, '$8');
    return this.report(
      `SELECT date_trunc('${query.window}', time, 'UTC') AS "windowStart",
              ${group ? `${group} AS "group",` : ''} count(DISTINCT data ->> $5) AS value
         FROM usage_events
        WHERE org_id = $1 AND meter = $2 AND time >= $3::timestamptz AND time < $4::timestamptz
          AND ($7::text IS NULL OR subject = $7::text)
        GROUP BY 1${group ? ', 2' : ''}
        ORDER BY 1${group ? ', 2' : ''}
        LIMIT $6`,
      params,
    );
  }

  /**
   * Every meter's aggregates over one calendar month, from the monthly totals (one row per meter),
   * unique_count meters' distinct values included.
   */
  periodTotals(
    orgId: string,
    periodStart: Date,
    manager?: EntityManager,
  ): Promise<PeriodTotalsRow[]> {
    return this.report(
      `SELECT meter, count, sum, min, max, sum / NULLIF(count, 0) AS avg, latest_value AS latest,
              distinct_count AS distinct
         FROM usage_period_totals
        WHERE org_id = $1 AND period = $2`,
      [requireOrgId(orgId), periodStart.toISOString()],
      manager,
    );
  }

  /**
   * One page of the org's events in keyset order (time, then id), oldest or newest first: short
   * statements, so that an export or a listing never holds a connection between pages.
   */
  eventsPage(orgId: string, query: EventsQuery): Promise<EventRecord[]> {
    const newest = query.order === 'newest';
    return this.report(
      `SELECT ${EVENT_COLUMNS}
         FROM usage_events
        WHERE org_id = $1
          AND ($2::timestamptz IS NULL OR time >= $2::timestamptz)
          AND ($3::timestamptz IS NULL OR time < $3::timestamptz)
          AND ($4::text IS NULL OR meter = $4::text)
          AND ($5::text IS NULL OR subject = $5::text)
          AND ($6::timestamptz IS NULL OR (time, event_id) ${newest ? '<' : '>'} ($6::timestamptz, $7::text))
        ORDER BY time ${newest ? 'DESC' : 'ASC'}, event_id ${newest ? 'DESC' : 'ASC'}
        LIMIT $8`,
      [
        requireOrgId(orgId),
        query.from?.toISOString() ?? null,
        query.to?.toISOString() ?? null,
        query.type ?? null,
        query.subject ?? null,
        query.after?.[0] ?? null,
        query.after?.[1] ?? null,
        query.limit,
      ],
    );
  }

  /**
   * A report statement (in `manager`'s transaction when given: billing reads the usage it
   * invoices under its own locks); Postgres cancelling it for its time limit is a 503
   * `report_timeout`.
   */
  private async report<T>(sql: string, params: unknown[], manager?: EntityManager): Promise<T> {
    try {
      return await (manager ?? this.dataSource).query(sql, params);
    } catch (error) {
      const code = (error as QueryFailedError & { driverError?: { code?: string } }).driverError
        ?.code;
      if (error instanceof QueryFailedError && code === '57014') {
        throw new UsageError(
          'report_timeout',
          'The report took too long; ask for a shorter range or a coarser window',
          { retryAfterSeconds: 5 },
        );
      }
      throw error;
    }
  }
}
