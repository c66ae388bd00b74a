import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The one admission path for `/v1`: marks that make every instance re-seed a hard-quota counter
 * after a decision taken without Redis, and the first answers of recording verify calls, kept per
 * `Idempotency-Key` (as a SHA-256) for 24 hours.
 */
export class AdmissionPath1764500000000 implements MigrationInterface {
  name = 'AdmissionPath1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE quota_counter_resets (
        org_id uuid NOT NULL,
        meter text NOT NULL,
        period text NOT NULL,
        marked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (org_id, meter, period)
      )`);
    await q.query(`
      CREATE TABLE verify_answers (
        org_id uuid NOT NULL,
        key_hash text NOT NULL,
        answer jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (org_id, key_hash)
      )`);
    await q.query(`CREATE INDEX verify_answers_created_idx ON verify_answers (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE verify_answers`);
    await q.query(`DROP TABLE quota_counter_resets`);
  }
}
