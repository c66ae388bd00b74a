import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage events (partitioned by month of the event time), their idempotency keys, and hourly
 * rollups kept in the same transaction as the events they count.
 *
 * Postgres cannot enforce a unique key across partitions unless it holds the partition key, and
 * the same event id may come back with another time: ids are therefore claimed in their own
 * table, `usage_event_ids`, whose primary key is the idempotency rule.
 *
 * No foreign keys on the usage tables: the org id always comes from a verified API key, orgs are
 * never deleted by the API, and a per-row key check costs about an eighth of the ingestion time.
 */
export class UsageMetering1764400000000 implements MigrationInterface {
  name = 'UsageMetering1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_event_ids (
        org_id uuid NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (org_id, event_id)
      )`);

    await q.query(`
      CREATE TABLE usage_events (
        org_id uuid NOT NULL,
        event_id text NOT NULL,
        meter text NOT NULL,
        time timestamptz NOT NULL,
        subject text,
        api_key_id uuid,
        value double precision,
        data jsonb NOT NULL DEFAULT '{}',
        received_at timestamptz NOT NULL DEFAULT clock_timestamp()
      ) PARTITION BY RANGE (time)`);
    await q.query(`CREATE INDEX usage_events_org_time_idx ON usage_events (org_id, time, meter)`);
    // Catches an event whose month has no partition yet (the service creates them ahead).
    await q.query(`CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT`);
    // Monthly partitions from two months back to two ahead (the app keeps creating them ahead).
    // Frozen SQL, as every migration: it must mean the same whatever the code becomes.
    await q.query(`
      DO $$
      DECLARE m date;
      BEGIN
        FOR m IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months',
                                        date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months',
                                        interval '1 month')::date
        LOOP
          EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
            'usage_events_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM'),
            m::text || 'T00:00:00Z', (m + interval '1 month')::date::text || 'T00:00:00Z');
        END LOOP;
      END $$`);

    // group_key is the canonical JSON of the meter's group-by values, so that it can be part of
    // the primary key; group_values holds the same as jsonb for queries. A missing API key or
    // subject is stored as the nil UUID / '' for the same reason.
    await q.query(`
      CREATE TABLE usage_rollups (
        org_id uuid NOT NULL,
        meter text NOT NULL,
        hour timestamptz NOT NULL,
        subject text NOT NULL DEFAULT '',
        api_key_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
        group_key text NOT NULL DEFAULT '{}',
        group_values jsonb NOT NULL DEFAULT '{}',
        count bigint NOT NULL,
        sum numeric NOT NULL DEFAULT 0,
        min double precision,
        max double precision,
        latest_value double precision,
        latest_time timestamptz,
        PRIMARY KEY (org_id, meter, hour, subject, api_key_id, group_key)
      )`);

    // The same aggregates per calendar month (UTC): what the period summary reads, one row per
    // meter, however many events the month holds.
    await q.query(`
      CREATE TABLE usage_period_totals (
        org_id uuid NOT NULL,
        period timestamptz NOT NULL,
        meter text NOT NULL,
        count bigint NOT NULL,
        sum numeric NOT NULL DEFAULT 0,
        min double precision,
        max double precision,
        latest_value double precision,
        latest_time timestamptz,
        PRIMARY KEY (org_id, period, meter)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usage_period_totals`);
    await q.query(`DROP TABLE usage_rollups`);
    await q.query(`DROP TABLE usage_events`);
    await q.query(`DROP TABLE usage_event_ids`);
  }
}
