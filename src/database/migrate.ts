import { DataSource, MigrationExecutor } from 'typeorm';

/** Arbitrary but fixed: every instance of this service takes the same lock to migrate. */
const MIGRATION_LOCK_ID = 727_465_001;

/**
 * Runs pending migrations while holding a Postgres advisory lock, so that several instances
 * starting together migrate once and the others wait. Lock and migrations share one connection
 * (an embedded PGlite has only one).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const queryRunner = dataSource.createQueryRunner();
  await queryRunner.connect();
  try {
    await queryRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      const executor = new MigrationExecutor(dataSource, queryRunner);
      executor.transaction = 'each';
      const done = await executor.executePendingMigrations();
      return done.map((m) => m.name);
    } finally {
      await queryRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await queryRunner.release();
  }
}
