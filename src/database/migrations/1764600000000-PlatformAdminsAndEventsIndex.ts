import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Platform admin is a flag on the user, set by the start-up bootstrap, the admin command or
 * another admin (never by signing up with some address). The events listing and the export read
 * an org's events by (time, event_id), newest or oldest first.
 */
export class PlatformAdminsAndEventsIndex1764600000000 implements MigrationInterface {
  name = 'PlatformAdminsAndEventsIndex1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN is_platform_admin boolean NOT NULL DEFAULT false`);
    await q.query(
      `CREATE INDEX users_platform_admins_idx ON users (created_at, id) WHERE is_platform_admin`,
    );
    await q.query(`DROP INDEX usage_events_org_time_idx`);
    await q.query(
      `CREATE INDEX usage_events_org_time_event_idx ON usage_events (org_id, time, event_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX usage_events_org_time_event_idx`);
    await q.query(`CREATE INDEX usage_events_org_time_idx ON usage_events (org_id, time, meter)`);
    await q.query(`DROP INDEX users_platform_admins_idx`);
    await q.query(`ALTER TABLE users DROP COLUMN is_platform_admin`);
  }
}
