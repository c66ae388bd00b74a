import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { isDatabaseUnavailable } from '../common/http-exception.filter';
import { AppConfig } from '../config/configuration';
import { MetricsService, PoolFigures } from '../metrics/metrics.service';
import { EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { runMigrationsLocked } from './migrate';
import { buildDataSourceOptions, ConnectionSettings, REPORTS } from './typeorm-options';

const CONNECTION_SETTINGS = Symbol('CONNECTION_SETTINGS');

/** Connection attempts at start, a second apart, before the process gives up. */
const START_ATTEMPTS = 5;
const START_RETRY_MS = 1_000;

/**
 * Connects a data source at start, waiting out a Postgres that is not up yet or slow to answer (a
 * deploy that starts both together, a busy machine): each attempt is bounded by the connect
 * timeout, the whole by START_ATTEMPTS. Anything else (a wrong password, a missing database)
 * fails at once.
 */
async function connectAtStart(options: DataSourceOptions): Promise<DataSource> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new DataSource(options).initialize();
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !isDatabaseUnavailable(error)) throw error;
      new Logger('Database').warn(
        `Postgres not reachable (${(error as Error).message}); attempt ${attempt + 1} of ${START_ATTEMPTS} in ${START_RETRY_MS} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
    }
  }
}

interface ResolvedConnection extends ConnectionSettings {
  embeddedServer?: EmbeddedPostgres;
}

/** Resolves where Postgres is: `DATABASE_URL`, or an embedded PGlite started for this process. */
@Module({
  providers: [
    {
      provide: CONNECTION_SETTINGS,
      inject: [ConfigService],
      useFactory: async (config: ConfigService<AppConfig, true>): Promise<ResolvedConnection> => {
        const database = config.get('database', { infer: true });
        if (database.url) return { url: database.url, embedded: false };
        const embeddedServer = await startEmbeddedPostgres({ dataDir: database.embeddedDataDir });
        new Logger('Database').log(`Embedded PGlite Postgres under ${database.embeddedDataDir}`);
        return { url: embeddedServer.url, embedded: true, embeddedServer };
      },
    },
  ],
  exports: [CONNECTION_SETTINGS],
})
class ConnectionModule implements OnApplicationShutdown {
  constructor(@Inject(CONNECTION_SETTINGS) private readonly connection: ResolvedConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.embeddedServer?.stop();
  }
}

/**
 * TypeORM over the resolved connection, as two pools: the main one, and a smaller one of the
 * reports (usage windows, summaries, events, exports) whose statements Postgres cancels past
 * `REPORT_TIMEOUT_MS`, so that no report, however heavy, can take the connections every other
 * request needs. Pending migrations run inside the main data source's factory, under an advisory
 * lock, so that no provider ever sees an unmigrated schema.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [ConnectionModule],
      inject: [CONNECTION_SETTINGS, ConfigService],
      useFactory: (connection: ResolvedConnection, config: ConfigService<AppConfig, true>) => ({
        ...buildDataSourceOptions(connection, {
          size: config.get('database', { infer: true }).poolSize,
        }),
        migrationsRun: config.get('database', { infer: true }).migrationsRun,
        // connectAtStart() retries, within a bound; the module's own retries would multiply it.
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options) => {
        const dataSource = await connectAtStart({ ...options!, migrationsRun: false });
        if (options!.migrationsRun) {
          const applied = await runMigrationsLocked(dataSource);
          if (applied.length > 0)
            new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
        }
        return dataSource;
      },
    }),
    ConnectionModule,
  ],
  providers: [
    {
      provide: getDataSourceToken(REPORTS),
      inject: [getDataSourceToken(), CONNECTION_SETTINGS, ConfigService],
      useFactory: async (
        main: DataSource,
        connection: ResolvedConnection,
        config: ConfigService<AppConfig, true>,
      ): Promise<DataSource> => {
        const { poolSize } = config.get('database', { infer: true });
        // A database of one connection (the embedded PGlite: one session, whose socket server
        // would interleave two connections' statements) serves the reports on that connection.
        if (connection.embedded || poolSize === 1) return main;
        return connectAtStart(
          buildDataSourceOptions(connection, {
            size: Math.max(2, Math.ceil(poolSize / 4)),
            statementTimeoutMs: config.get('usage', { infer: true }).reportTimeoutMs,
          }),
        );
      },
    },
  ],
  exports: [getDataSourceToken(REPORTS)],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(getDataSourceToken()) private readonly main: DataSource,
    @Inject(getDataSourceToken(REPORTS)) private readonly reports: DataSource,
    metrics: MetricsService,
  ) {
    metrics.watchDatabasePool('main', poolOf(main));
    if (reports !== main) metrics.watchDatabasePool('reports', poolOf(reports));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.reports !== this.main && this.reports.isInitialized) await this.reports.destroy();
  }
}

/** node-postgres' Pool under a TypeORM data source (its driver's `master`). */
function poolOf(dataSource: DataSource): PoolFigures {
  return (dataSource.driver as unknown as { master: PoolFigures }).master;
}
