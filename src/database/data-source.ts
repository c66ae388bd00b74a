import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfiguration } from '../config/configuration';
import { loadEnvFile } from '../config/env-file';
import { buildDataSourceOptions } from './typeorm-options';

/**
 * The TypeORM CLI's data source (`npm run migration:generate`, `migration:revert`). It needs a
 * real server: set DATABASE_URL. `npm run migration:run` uses src/database/migrate.cli.ts, which
 * also handles the embedded default and takes the migration lock.
 */
loadEnvFile();
const { database } = loadConfiguration(process.env);
if (!database.url) throw new Error('DATABASE_URL must be set for the TypeORM CLI');

export default new DataSource(buildDataSourceOptions({ url: database.url, embedded: false }));
