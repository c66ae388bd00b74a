import { DataSourceOptions } from 'typeorm';
import { join } from 'node:path';

export interface ConnectionSettings {
  url: string;
  /** An embedded PGlite runs one statement at a time: each pool gets one connection. */
  embedded: boolean;
}

export interface PoolSettings {
  /** Connections of this pool. */
  size: number;
  /** Postgres cancels any statement of this pool running longer (ms). */
  statementTimeoutMs?: number;
}

/** The name of the reports' own pool (see DatabaseModule). */
export const REPORTS = 'reports';

/**
 * A request waits at most this long for a connection: an unreachable Postgres is a 503 within
 * seconds, while a busy server (slow to start a backend under load) is still waited for.
 */
export const CONNECT_TIMEOUT_MS = 5_000;
/** One connection for everything (PGlite): waiting for it is queueing, not an outage. */
const SINGLE_CONNECTION_WAIT_MS = 30_000;

/** One definition of the connection, shared by the app and the TypeORM CLI. */
export function buildDataSourceOptions(
  settings: ConnectionSettings,
  pool: PoolSettings = { size: 10 },
): DataSourceOptions {
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
    extra: {
      max: settings.embedded ? 1 : pool.size,
      connectionTimeoutMillis:
        settings.embedded || pool.size === 1 ? SINGLE_CONNECTION_WAIT_MS : CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      ...(pool.statementTimeoutMs ? { statement_timeout: pool.statementTimeoutMs } : {}),
    },
  };
}
