import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing and notifications:
 * - `org_plan_changes`: which plan an org was on when (an invoice bills the plan of the end of its
 *   period), written with every plan change; backfilled from the audit log.
 * - `invoices`: finalized invoices, immutable snapshots (lines, tiers, totals, the plan as it was),
 *   one per org and period; `usage_closed_periods`: the periods no late event may enter.
 * - `webhook_endpoints`, the outbox `webhook_messages` (one per occurrence, `dedupe_key` unique)
 *   and `webhook_deliveries` (one per message and endpoint, with its retry state).
 * - The trigger that writes `quota.threshold` messages in the transaction of the usage that
 *   crosses 80% or 100% of a plan meter's `included`: exactly once, since concurrent writers of
 *   one org, period and meter are serialised on its `usage_period_totals` row.
 */
export class Billing1764700000000 implements MigrationInterface {
  name = 'Billing1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE org_plan_changes (
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        plan_code text NOT NULL,
        PRIMARY KEY (org_id, changed_at)
      )`);
    // The plan each org started on (the first recorded change's `from`, else its plan today), then
    // every change the audit log recorded.
    await q.query(`
      INSERT INTO org_plan_changes (org_id, changed_at, plan_code)
      SELECT o.id, o.created_at,
             COALESCE((SELECT a.meta ->> 'from' FROM audit_events a
                        WHERE a.org_id = o.id AND a.action = 'org.plan_changed'
                        ORDER BY a.at, a.id LIMIT 1), o.plan_code)
        FROM orgs o`);
    await q.query(`
      INSERT INTO org_plan_changes (org_id, changed_at, plan_code)
      SELECT DISTINCT ON (a.org_id, a.at) a.org_id, a.at, a.meta ->> 'to'
        FROM audit_events a
       WHERE a.action = 'org.plan_changed' AND a.meta ->> 'to' IS NOT NULL
       ORDER BY a.org_id, a.at, a.id DESC
      ON CONFLICT DO NOTHING`);

    await q.query(`
      CREATE TABLE invoices (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        finalized_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        plan jsonb NOT NULL,
        currency char(3) NOT NULL,
        base_fee bigint NOT NULL,
        lines jsonb NOT NULL,
        subtotal bigint NOT NULL,
        total bigint NOT NULL,
        CONSTRAINT invoices_org_period_key UNIQUE (org_id, period)
      )`);
    await q.query(`CREATE INDEX invoices_org_page_idx ON invoices (org_id, period DESC, id DESC)`);

    await q.query(`
      CREATE TABLE usage_closed_periods (
        org_id uuid NOT NULL,
        period text NOT NULL,
        closed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (org_id, period)
      )`);

    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        url text NOT NULL,
        events text[] NOT NULL,
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      )`);
    await q.query(
      `CREATE INDEX webhook_endpoints_org_page_idx ON webhook_endpoints (org_id, created_at DESC, id DESC)`,
    );
    await q.query(`
      CREATE TABLE webhook_messages (
        id text PRIMARY KEY,
        org_id uuid NOT NULL,
        type text NOT NULL,
        body text NOT NULL,
        dedupe_key text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        message_id text NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        org_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_status_code integer,
        last_error text,
        first_attempt_at timestamptz,
        next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        UNIQUE (message_id, endpoint_id)
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_endpoint_page_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC)`,
    );

    // The outbox write shared by the trigger below and the application (invoice.finalized): the
    // message once per dedupe key, then one delivery per endpoint of the org that wants the type.
    await q.query(`
      CREATE FUNCTION enqueue_webhook(p_org uuid, p_type text, p_data jsonb, p_dedupe text)
      RETURNS text LANGUAGE plpgsql AS $$
      DECLARE
        v_id text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
        v_inserted text;
      BEGIN
        INSERT INTO webhook_messages (id, org_id, type, body, dedupe_key)
        VALUES (v_id, p_org, p_type,
                jsonb_build_object(
                  'type', p_type,
                  'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'data', p_data)::text,
                p_dedupe)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id INTO v_inserted;
        IF v_inserted IS NULL THEN RETURN NULL; END IF;
        INSERT INTO webhook_deliveries (message_id, endpoint_id, org_id)
        SELECT v_inserted, e.id, p_org FROM webhook_endpoints e
         WHERE e.org_id = p_org AND p_type = ANY (e.events);
        RETURN v_inserted;
      END $$`);

    await q.query(`
      CREATE FUNCTION usage_quota_thresholds() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        v_aggregation text;
        v_included numeric;
        v_old numeric;
        v_new numeric;
        v_period text := to_char(NEW.period AT TIME ZONE 'UTC', 'YYYY-MM');
        v_threshold int;
      BEGIN
        SELECT m.aggregation INTO v_aggregation FROM meters m WHERE m.slug = NEW.meter;
        IF v_aggregation NOT IN ('count', 'sum', 'max') THEN RETURN NULL; END IF;
        SELECT (pm ->> 'included')::numeric INTO v_included
          FROM orgs o JOIN plans p ON p.code = o.plan_code, jsonb_array_elements(p.meters) pm
         WHERE o.id = NEW.org_id AND pm ->> 'meter' = NEW.meter;
        IF v_included IS NULL OR v_included <= 0 THEN RETURN NULL; END IF;
        v_new := CASE v_aggregation WHEN 'count' THEN NEW.count WHEN 'sum' THEN NEW.sum ELSE NEW.max END;
        v_old := CASE WHEN TG_OP = 'INSERT' THEN 0
                      ELSE CASE v_aggregation WHEN 'count' THEN OLD.count WHEN 'sum' THEN OLD.sum ELSE OLD.max END
                 END;
        FOREACH v_threshold IN ARRAY ARRAY[80, 100] LOOP
          IF COALESCE(v_old, 0) * 100 < v_included * v_threshold
             AND v_new * 100 >= v_included * v_threshold THEN
            PERFORM enqueue_webhook(
              NEW.org_id, 'quota.threshold',
              jsonb_build_object('orgId', NEW.org_id, 'meter', NEW.meter, 'period', v_period,
                                 'threshold', v_threshold, 'value', v_new, 'included', v_included),
              'quota.threshold:' || NEW.org_id || ':' || NEW.meter || ':' || v_period || ':' || v_threshold);
          END IF;
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER usage_quota_thresholds AFTER INSERT OR UPDATE ON usage_period_totals
      FOR EACH ROW EXECUTE FUNCTION usage_quota_thresholds()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER usage_quota_thresholds ON usage_period_totals`);
    await q.query(`DROP FUNCTION usage_quota_thresholds()`);
    await q.query(`DROP FUNCTION enqueue_webhook(uuid, text, jsonb, text)`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_messages`);
    await q.query(`DROP TABLE webhook_endpoints`);
    await q.query(`DROP TABLE usage_closed_periods`);
    await q.query(`DROP TABLE invoices`);
    await q.query(`DROP TABLE org_plan_changes`);
  }
}
