import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users, orgs and memberships, and the catalogue an org's plan refers to (meters and plans),
 * seeded with meter `api_calls` and plans `free`, `pro` and `enterprise`.
 *
 * Timestamps are truncated to milliseconds so that the JavaScript `Date` in a page cursor
 * compares exactly with the stored value.
 */
export class Foundation1764380000000 implements MigrationInterface {
  name = 'Foundation1764380000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        CONSTRAINT users_email_lower CHECK (email = lower(email))
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);

    await q.query(`
      CREATE TABLE meters (
        slug text PRIMARY KEY CHECK (slug ~ '^[a-z][a-z0-9_]{0,63}$'),
        name text NOT NULL,
        aggregation text NOT NULL
          CHECK (aggregation IN ('count','sum','min','max','avg','latest','unique_count')),
        value_property text,
        group_by text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      )`);

    // A plan's meters (quota, enforcement, price model) are one validated JSON document: they are
    // always read and written together with the plan, and the price model is a tagged union.
    await q.query(`
      CREATE TABLE plans (
        code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_-]{0,63}$'),
        name text NOT NULL,
        currency char(3) NOT NULL,
        base_fee bigint NOT NULL DEFAULT 0 CHECK (base_fee >= 0),
        rate_limit integer NOT NULL CHECK (rate_limit > 0),
        rate_limit_period_seconds integer NOT NULL CHECK (rate_limit_period_seconds > 0),
        meters jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      )`);

    await q.query(`
      CREATE TABLE orgs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        plan_code text NOT NULL DEFAULT 'free' REFERENCES plans (code),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      )`);

    await q.query(`
      CREATE TABLE org_members (
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner','admin','member')),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        PRIMARY KEY (org_id, user_id)
      )`);
    await q.query(
      `CREATE INDEX org_members_user_idx ON org_members (user_id, created_at DESC, org_id)`,
    );

    await q.query(
      `INSERT INTO meters (slug, name, aggregation) VALUES ('api_calls', 'API calls', 'count')`,
    );
    const plan = (
      code: string,
      name: string,
      baseFee: number,
      limit: number,
      included: number,
      enforcement: 'hard' | 'soft',
      unitAmount: string,
    ) =>
      q.query(
        `INSERT INTO plans (code, name, currency, base_fee, rate_limit, rate_limit_period_seconds, meters)
         VALUES ($1, $2, 'USD', $3, $4, 1, $5)`,
        [
          code,
          name,
          baseFee,
          limit,
          JSON.stringify([
            { meter: 'api_calls', included, enforcement, price: { model: 'flat', unitAmount } },
          ]),
        ],
      );
    await plan('free', 'Free', 0, 10, 1_000, 'hard', '0');
    await plan('pro', 'Pro', 4_900, 100, 100_000, 'soft', '0.1');
    await plan('enterprise', 'Enterprise', 99_900, 1_000, 10_000_000, 'soft', '0.05');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE org_members`);
    await q.query(`DROP TABLE orgs`);
    await q.query(`DROP TABLE plans`);
    await q.query(`DROP TABLE meters`);
    await q.query(`DROP TABLE users`);
  }
}
