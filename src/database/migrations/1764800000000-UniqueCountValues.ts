import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `unique_count` meters kept exact as events arrive, instead of counting distinct values over a
 * month of raw events at every read: `usage_period_distinct` holds each distinct value once per
 * (org, meter, period), its primary key being the "already seen" rule, and
 * `usage_period_totals.distinct_count` counts the rows ingestion added there. Both are written by
 * the statement that writes the events, so they never disagree with them.
 *
 * The backfill reads the events still stored (periods dropped by retention have no events to
 * count, and their summaries read 0 before this migration too). It locks the usage tables
 * against writers meanwhile, so that no event is committed between the backfill and the count.
 * Readers are not blocked.
 *
 * Like the rollups and totals, the distinct values are kept when retention drops a month's raw
 * events: they are what the period's count was made from.
 */
export class UniqueCountValues1764800000000 implements MigrationInterface {
  name = 'UniqueCountValues1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_period_distinct (
        org_id uuid NOT NULL,
        meter text NOT NULL,
        period timestamptz NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (org_id, meter, period, value)
      )`);
    await q.query(
      `ALTER TABLE usage_period_totals ADD COLUMN distinct_count bigint NOT NULL DEFAULT 0`,
    );

    await q.query(`LOCK TABLE usage_event_ids, usage_period_totals IN EXCLUSIVE MODE`);
    await q.query(`
      INSERT INTO usage_period_distinct (org_id, meter, period, value)
      SELECT DISTINCT e.org_id, e.meter, date_trunc('month', e.time, 'UTC'), e.data ->> m.value_property
        FROM usage_events e
        JOIN meters m ON m.slug = e.meter AND m.aggregation = 'unique_count'
       WHERE e.data ->> m.value_property IS NOT NULL`);
    await q.query(`
      UPDATE usage_period_totals t SET distinct_count = d.n
        FROM (SELECT org_id, meter, period, count(*) AS n FROM usage_period_distinct
               GROUP BY org_id, meter, period) d
       WHERE t.org_id = d.org_id AND t.meter = d.meter AND t.period = d.period`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_period_totals DROP COLUMN distinct_count`);
    await q.query(`DROP TABLE usage_period_distinct`);
  }
}
