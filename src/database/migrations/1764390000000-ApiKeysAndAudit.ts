import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys (only a hash and a display prefix of the secret) and the per-org audit log. */
export class ApiKeysAndAudit1764390000000 implements MigrationInterface {
  name = 'ApiKeysAndAudit1764390000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL,
        scopes text[] NOT NULL,
        rate_limit integer CHECK (rate_limit > 0),
        rate_limit_period_seconds integer CHECK (rate_limit_period_seconds > 0),
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        created_by uuid REFERENCES users (id) ON DELETE SET NULL,
        replaces_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        CONSTRAINT api_keys_rate_limit_pair CHECK ((rate_limit IS NULL) = (rate_limit_period_seconds IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash)`);
    await q.query(
      `CREATE INDEX api_keys_org_page_idx ON api_keys (org_id, created_at DESC, id DESC)`,
    );

    await q.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text NOT NULL,
        meta jsonb NOT NULL DEFAULT '{}',
        at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      )`);
    await q.query(
      `CREATE INDEX audit_events_org_page_idx ON audit_events (org_id, at DESC, id DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP TABLE api_keys`);
  }
}
