import { DataSourceOptions } from 'typeorm';
import { join } from 'node:path';

export interface ConnectionSettings {
  url: string;
  /** An embedded PGlite serves one connection only. */
  embedded: boolean;
}

/** One definition of the connection, shared by the app and the TypeORM CLI. */
export function buildDataSourceOptions(settings: ConnectionSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: [join(__dirname, '..', '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    extra: settings.embedded
      ? { max: 1 }
      : { max: 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 },
  };
}
