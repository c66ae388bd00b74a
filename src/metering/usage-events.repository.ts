import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { createPartitionSql, MonthPartition } from './usage-partitions';

/** One event as written: already validated, deduplicated within its flush. */
export interface EventRow {
  orgId: string;
  apiKeyId: string | null;
  eventId: string;
  meter: string;
  time: Date;
  subject: string | null;
  value: number | null;
  data: Record<string, unknown>;
  groupKey: string;
  groupValues: Record<string, string>;
  /** For a unique_count meter, the data property whose distinct values it counts. */
  uniqueProperty?: string | null;
  /** Where the event stood in its request's batch (to name it in an error); not stored. */
  position?: string;
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Claims the ids, inserts the events whose id was free and adds them to the hourly rollups and
 * the monthly totals, in one statement (so one transaction): reports read those and can never
 * disagree with the events.
 * A unique_count event's value joins its period's distinct values when it is new there, and the
 * period's total counts the values this statement added: a concurrent writer with the same value
 * waits on its key and then finds it taken, so the count stays exact without a scan.
 * Rollup, total and distinct rows are written in key order, so concurrent writers lock them in
 * the same order.
 */
const INSERT_EVENTS_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                       $7::float8[], $8::jsonb[], $9::text[], $10::jsonb[], $11::text[])
    AS t(org_id, api_key_id, event_id, meter, time, subject, value, data, group_key, group_values,
         unique_property)
),
claimed AS (
  INSERT INTO usage_event_ids (org_id, event_id)
  SELECT org_id, event_id FROM input
  ON CONFLICT DO NOTHING
  RETURNING org_id, event_id
),
fresh AS (
  SELECT i.* FROM input i JOIN claimed c ON c.org_id = i.org_id AND c.event_id = i.event_id
),
events AS (
  INSERT INTO usage_events (org_id, event_id, meter, time, subject, api_key_id, value, data)
  SELECT org_id, event_id, meter, time, subject, api_key_id, value, data FROM fresh
),
rollups AS (
  INSERT INTO usage_rollups AS r (org_id, meter, hour, subject, api_key_id, group_key, group_values,
                                  count, sum, min, max, latest_value, latest_time)
  SELECT org_id, meter, date_trunc('hour', time, 'UTC'), COALESCE(subject, ''), COALESCE(api_key_id, '${NIL_UUID}'),
         group_key, (array_agg(group_values))[1], count(*), COALESCE(sum(value::numeric), 0), min(value), max(value),
         (array_agg(value ORDER BY time DESC))[1], max(time)
    FROM fresh
   GROUP BY org_id, meter, date_trunc('hour', time, 'UTC'), COALESCE(subject, ''), COALESCE(api_key_id, '${NIL_UUID}'), group_key
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (org_id, meter, hour, subject, api_key_id, group_key) DO UPDATE SET
    count = r.count + excluded.count,
    sum = r.sum + excluded.sum,
    min = LEAST(r.min, excluded.min),
    max = GREATEST(r.max, excluded.max),
    latest_value = CASE WHEN r.latest_time IS NULL OR excluded.latest_time >= r.latest_time
                        THEN excluded.latest_value ELSE r.latest_value END,
    latest_time = GREATEST(r.latest_time, excluded.latest_time)
),
distinct_values AS (
  INSERT INTO usage_period_distinct (org_id, meter, period, value)
  SELECT DISTINCT org_id, meter, date_trunc('month', time, 'UTC'), data ->> unique_property
    FROM fresh
   WHERE unique_property IS NOT NULL AND data ->> unique_property IS NOT NULL
   ORDER BY 1, 2, 3, 4
  ON CONFLICT DO NOTHING
  RETURNING org_id, meter, period
),
totals AS (
  INSERT INTO usage_period_totals AS t (org_id, period, meter, count, sum, min, max, latest_value, latest_time,
                                        distinct_count)
  SELECT f.org_id, f.period, f.meter, f.count, f.sum, f.min, f.max, f.latest_value, f.latest_time,
         COALESCE(d.added, 0)
    FROM (SELECT org_id, date_trunc('month', time, 'UTC') AS period, meter, count(*) AS count,
                 COALESCE(sum(value::numeric), 0) AS sum, min(value) AS min, max(value) AS max,
                 (array_agg(value ORDER BY time DESC))[1] AS latest_value, max(time) AS latest_time
            FROM fresh
           GROUP BY org_id, date_trunc('month', time, 'UTC'), meter) f
    LEFT JOIN (SELECT org_id, period, meter, count(*) AS added FROM distinct_values
                GROUP BY org_id, period, meter) d USING (org_id, period, meter)
   ORDER BY 1, 2, 3
  ON CONFLICT (org_id, period, meter) DO UPDATE SET
    distinct_count = t.distinct_count + excluded.distinct_count,
    count = t.count + excluded.count,
    sum = t.sum + excluded.sum,
    min = LEAST(t.min, excluded.min),
    max = GREATEST(t.max, excluded.max),
    latest_value = CASE WHEN t.latest_time IS NULL OR excluded.latest_time >= t.latest_time
                        THEN excluded.latest_value ELSE t.latest_value END,
    latest_time = GREATEST(t.latest_time, excluded.latest_time)
)
SELECT org_id AS "orgId", event_id AS "eventId" FROM claimed`;

/**
 * INSERT_EVENTS_SQL runs as a named prepared statement: Postgres parses and plans it once per
 * connection instead of at every flush (measured: a one-event flush, a metered call, 1.15 ms
 * unnamed and 0.60 ms prepared; a 1000-event one 20.2 and 18.8 ms). Each connection gets a name
 * of its own: the embedded PGlite serves every socket connection from one session, where a name
 * that one connection prepared would already exist for the next.
 */
const statementNames = new WeakMap<PoolClient, string>();
let connectionsSeen = 0;

function statementName(client: PoolClient): string {
  let name = statementNames.get(client);
  if (!name) statementNames.set(client, (name = `usage_insert_events_${++connectionsSeen}`));
  return name;
}

@Injectable()
export class UsageEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes the rows; answers the (org, id) pairs that were new, i.e. not duplicates. */
  async insertEvents(
    rows: EventRow[],
    manager?: EntityManager,
  ): Promise<{ orgId: string; eventId: string }[]> {
    if (rows.length === 0) return [];
    const params = this.insertParams(rows);
    if (manager && !manager.queryRunner) return manager.query(INSERT_EVENTS_SQL, params);
    // TypeORM's query() takes text only: the statement goes to the driver's connection, in the
    // caller's transaction when there is one, failing as TypeORM's queries fail.
    const runner = manager?.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      try {
        const result = await client.query<{ orgId: string; eventId: string }>({
          name: statementName(client),
          text: INSERT_EVENTS_SQL,
          values: params,
        });
        return result.rows;
      } catch (error) {
        throw new QueryFailedError(INSERT_EVENTS_SQL, params, error as Error);
      }
    } finally {
      if (!manager) await runner.release();
    }
  }

  private insertParams(rows: EventRow[]): unknown[] {
    return [
      rows.map((r) => r.orgId),
      rows.map((r) => r.apiKeyId),
      rows.map((r) => r.eventId),
      rows.map((r) => r.meter),
      rows.map((r) => r.time.toISOString()),
      rows.map((r) => r.subject),
      rows.map((r) => r.value),
      rows.map((r) => JSON.stringify(r.data)),
      rows.map((r) => r.groupKey),
      rows.map((r) => JSON.stringify(r.groupValues)),
      rows.map((r) => r.uniqueProperty ?? null),
    ];
  }

  /** Creates a month partition; an existing one is fine. */
  async createPartition(partition: MonthPartition): Promise<void> {
    await this.dataSource.query(createPartitionSql(partition));
  }
}
