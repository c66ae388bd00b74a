/**
 * B4's month of usage, written by SQL in seconds rather than through HTTP in hours: `events`
 * events in one org's current month, half of them in a unique_count meter (`active_users`,
 * distinct `data.user` values), a quarter in a count meter (`api_calls`) and a quarter in a sum
 * meter (`tokens`, `data.tokens`).
 *
 * THE ONE PLACE THAT KNOWS THE USAGE SCHEMA. It must fill whatever tables ingestion fills, as
 * ingestion fills them (src/metering/usage-events.repository.ts, INSERT_EVENTS_SQL): each entry
 * of TABLE_FILLS below is one of that statement's CTEs, reading the generated rows where the
 * ingestion reads its batch (`fresh`). When ingestion starts writing another table, add its
 * statement here, or the summary will be timed against a database ingestion never produces.
 */
import { Client } from 'pg';
import { SUM_PROPERTY, SUMMARY_METERS, UNIQUE_PROPERTY } from './setup';
import { since } from './stats';

export interface SeedPlan {
  orgId: string;
  apiKeyId: string;
  events: number;
  /** Distinct `data.user` values of the unique_count meter. */
  users: number;
  /** The month's first instant; events are spread from there to `until`. */
  from: Date;
  until: Date;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const SUBJECTS = 100;

/**
 * Events number `n` in [$7, $8), in time order, so that every index is filled at its right-hand
 * edge as a month of real traffic would. By `n % 4`: 0 and 1 are active_users (users 0, 1, 2, …
 * in turn, so that min(events / 2, users) of them are distinct), 2 is api_calls, 3 is tokens.
 * Columns are those of ingestion's `input`: value is null but for the sum meter.
 */
const GENERATED = `(
SELECT $1::uuid AS org_id,
       $2::uuid AS api_key_id,
       'seed-' || lpad(n::text, 10, '0') AS event_id,
       CASE WHEN n % 4 < 2 THEN '${SUMMARY_METERS.unique}'
            WHEN n % 4 = 2 THEN '${SUMMARY_METERS.count}'
            ELSE '${SUMMARY_METERS.sum}' END AS meter,
       $4::timestamptz + (n * $5::float8 / $3::float8) * interval '1 second' AS time,
       'customer-' || (n % ${SUBJECTS}) AS subject,
       CASE WHEN n % 4 = 3 THEN (1 + n % 1000)::float8 END AS value,
       CASE WHEN n % 4 < 2 THEN jsonb_build_object('${UNIQUE_PROPERTY}', 'user-' || ((n / 4 * 2 + n % 4) % $6))
            WHEN n % 4 = 3 THEN jsonb_build_object('${SUM_PROPERTY}', 1 + n % 1000)
            ELSE '{}'::jsonb END AS data
  FROM generate_series($7::bigint, $8::bigint - 1) AS n) AS fresh`;

/**
 * Ingestion's `fresh` for the derived tables: the seeded events read back, which Postgres scans
 * and aggregates in parallel where a generated series runs on one core. The summary org has no
 * other events. The seed meters have no group-by, so every event's group key is `{}`.
 */
const SEEDED = `(
SELECT org_id, api_key_id, event_id, meter, time, subject, value, data,
       '{}'::text AS group_key, '{}'::jsonb AS group_values
  FROM usage_events
 WHERE org_id = $1 AND time >= $2 AND time < $3) AS fresh`;

/**
 * The value of the latest event, as ingestion's `(array_agg(value ORDER BY time DESC))[1]`
 * (equal up to the choice between events of the same microsecond, which it leaves open too):
 * an ordered aggregate sorts every group's rows, and took most of the seed's time.
 */
const LATEST_VALUE = `(max(ARRAY[extract(epoch FROM time)::float8, value]))[2]`;

interface TableFill {
  table: string;
  /** Reads the generated events (split in halves that run at once) or the seeded ones. */
  source: 'generated' | 'seeded';
  sql: string;
}

/**
 * In order: what the events table needs first, then what ingestion derives from the same rows.
 * The summary org has no usage before the seed, so the upserts of the rollups and totals reduce
 * to inserts (their ON CONFLICT clauses would never fire).
 */
const TABLE_FILLS: TableFill[] = [
  {
    table: 'usage_event_ids',
    source: 'generated',
    sql: `INSERT INTO usage_event_ids (org_id, event_id) SELECT org_id, event_id FROM ${GENERATED}`,
  },
  {
    table: 'usage_events',
    source: 'generated',
    sql: `INSERT INTO usage_events (org_id, event_id, meter, time, subject, api_key_id, value, data)
          SELECT org_id, event_id, meter, time, subject, api_key_id, value, data FROM ${GENERATED}`,
  },
  {
    table: 'usage_rollups',
    source: 'seeded',
    sql: `INSERT INTO usage_rollups (org_id, meter, hour, subject, api_key_id, group_key, group_values,
                                     count, sum, min, max, latest_value, latest_time)
          SELECT org_id, meter, date_trunc('hour', time, 'UTC'), COALESCE(subject, ''),
                 COALESCE(api_key_id, '${NIL_UUID}'), group_key, min(group_values::text)::jsonb,
                 count(*), COALESCE(sum(value::numeric), 0), min(value), max(value),
                 ${LATEST_VALUE}, max(time)
            FROM ${SEEDED}
           GROUP BY org_id, meter, date_trunc('hour', time, 'UTC'), COALESCE(subject, ''),
                    COALESCE(api_key_id, '${NIL_UUID}'), group_key`,
  },
  {
    // Ingestion's `distinct_values`: each distinct value of a unique_count meter once per period.
    table: 'usage_period_distinct',
    source: 'seeded',
    sql: `INSERT INTO usage_period_distinct (org_id, meter, period, value)
          SELECT DISTINCT org_id, meter, date_trunc('month', time, 'UTC'), data ->> '${UNIQUE_PROPERTY}'
            FROM ${SEEDED} WHERE meter = '${SUMMARY_METERS.unique}'`,
  },
  {
    // The month is the sum of its hours: the same figures as ingestion's aggregate over `fresh`,
    // from the rollups just written rather than from another scan of every event; its distinct
    // count is the number of distinct values just written, as ingestion counts those it adds.
    table: 'usage_period_totals',
    source: 'seeded',
    sql: `INSERT INTO usage_period_totals (org_id, period, meter, count, sum, min, max, latest_value, latest_time,
                                           distinct_count)
          SELECT r.org_id, r.period, r.meter, r.count, r.sum, r.min, r.max, r.latest_value, r.latest_time,
                 COALESCE(d.added, 0)
            FROM (SELECT org_id, date_trunc('month', hour, 'UTC') AS period, meter, sum(count) AS count,
                         sum(sum) AS sum, min(min) AS min, max(max) AS max,
                         (max(ARRAY[extract(epoch FROM latest_time)::float8, latest_value]))[2] AS latest_value,
                         max(latest_time) AS latest_time
                    FROM usage_rollups
                   WHERE org_id = $1 AND hour >= $2 AND hour < $3
                   GROUP BY org_id, date_trunc('month', hour, 'UTC'), meter) r
            LEFT JOIN (SELECT org_id, period, meter, count(*) AS added FROM usage_period_distinct
                        WHERE org_id = $1 AND period >= $2 AND period < $3
                        GROUP BY org_id, period, meter) d USING (org_id, period, meter)`,
  },
];

/** Tables ingestion writes, for the ANALYZE after the seed (as autovacuum would get to). */
export const SEEDED_TABLES = TABLE_FILLS.map((f) => f.table);

export interface SeedResult {
  events: number;
  seconds: number;
  analyzeSeconds: number;
  /** Seconds per table statement (statements of a split table add up). */
  tables: Record<string, number>;
}

/**
 * Runs TABLE_FILLS: the generated tables' halves on `lanes` connections at once (one per core is
 * what Postgres can use: the statements are CPU-bound), then the derived tables one by one, each
 * aggregated by Postgres's parallel workers. Each statement commits by itself: a seed interrupted
 * half-way is dropped with the database.
 */
export async function seedSummaryMonth(
  databaseUrl: string,
  plan: SeedPlan,
  lanes = 2,
): Promise<SeedResult> {
  const spanSeconds = Math.max(1, (plan.until.getTime() - plan.from.getTime()) / 1000);
  const monthEnd = new Date(
    Date.UTC(plan.from.getUTCFullYear(), plan.from.getUTCMonth() + 1, 1),
  ).toISOString();
  const generated = (lo: number, hi: number) => [
    plan.orgId,
    plan.apiKeyId,
    plan.events,
    plan.from.toISOString(),
    spanSeconds,
    plan.users,
    lo,
    hi,
  ];
  const half = Math.ceil(plan.events / 2);
  const parallel = TABLE_FILLS.filter((f) => f.source === 'generated').flatMap((fill) => [
    { fill, params: generated(0, half) },
    { fill, params: generated(half, plan.events) },
  ]);
  const derived = TABLE_FILLS.filter((f) => f.source === 'seeded');
  const tables: Record<string, number> = {};
  const clients = Array.from({ length: lanes }, () => {
    const client = new Client({ connectionString: databaseUrl });
    client.on('error', () => undefined); // the query in flight fails too, and says why
    return client;
  });
  const timed = async (client: Client, fill: TableFill, params: unknown[]) => {
    const began = performance.now();
    await client.query(fill.sql, params);
    tables[fill.table] = (tables[fill.table] ?? 0) + since(began) / 1000;
  };
  const start = performance.now();
  try {
    await Promise.all(clients.map((c) => c.connect()));
    // A seed is rebuilt at every run: no need to wait for each commit to reach the disk. The
    // aggregates hash a few hundred thousand groups: in memory, not in batches spilled to disk.
    for (const c of clients) await c.query(`SET synchronous_commit = off; SET work_mem = '256MB'`);
    await Promise.all(
      clients.map(async (client) => {
        for (let item = parallel.shift(); item; item = parallel.shift())
          await timed(client, item.fill, item.params);
      }),
    );
    // Statistics of the new rows first, or the planner walks the index for most of the table.
    await clients[0].query('ANALYZE usage_events');
    for (const fill of derived)
      await timed(clients[0], fill, [plan.orgId, plan.from.toISOString(), monthEnd]);
    const seconds = since(start) / 1000;
    const analyzing = performance.now();
    await clients[0].query(`ANALYZE ${SEEDED_TABLES.join(', ')}`);
    return { events: plan.events, seconds, analyzeSeconds: since(analyzing) / 1000, tables };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}
