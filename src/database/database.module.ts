import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/configuration';
import { EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { runMigrationsLocked } from './migrate';
import { buildDataSourceOptions, ConnectionSettings } from './typeorm-options';

const CONNECTION_SETTINGS = Symbol('CONNECTION_SETTINGS');

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
 * TypeORM over the resolved connection. Pending migrations run inside the data source factory,
 * under an advisory lock, so that no provider ever sees an unmigrated schema.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [ConnectionModule],
      inject: [CONNECTION_SETTINGS, ConfigService],
      useFactory: (connection: ResolvedConnection, config: ConfigService<AppConfig, true>) => ({
        ...buildDataSourceOptions(connection),
        migrationsRun: config.get('database', { infer: true }).migrationsRun,
      }),
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource({ ...options!, migrationsRun: false }).initialize();
        if (options!.migrationsRun) {
          const applied = await runMigrationsLocked(dataSource);
          if (applied.length > 0)
            new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
        }
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
