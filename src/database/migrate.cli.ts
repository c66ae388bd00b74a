import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfiguration } from '../config/configuration';
import { loadEnvFile } from '../config/env-file';
import { startEmbeddedPostgres } from './embedded-postgres';
import { runMigrationsLocked } from './migrate';
import { buildDataSourceOptions } from './typeorm-options';

/** `npm run migration:run`: applies pending migrations to DATABASE_URL, or to the embedded PGlite. */
async function main(): Promise<void> {
  const logger = new Logger('Migrations');
  loadEnvFile();
  const { database } = loadConfiguration(process.env);
  const embedded = database.url
    ? undefined
    : await startEmbeddedPostgres({ dataDir: database.embeddedDataDir });
  const url = database.url ?? embedded!.url;
  const dataSource = await new DataSource(
    buildDataSourceOptions({ url, embedded: !!embedded }),
  ).initialize();
  try {
    const applied = await runMigrationsLocked(dataSource);
    logger.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations');
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

main().catch((error: Error) => {
  new Logger('Migrations').error(error.message);
  process.exit(1);
});
