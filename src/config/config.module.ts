import { Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { loadConfiguration } from './configuration';

/**
 * Validates the environment once at boot (a bad value stops the process, naming the variable)
 * and exposes it as a typed `ConfigService<AppConfig, true>`.
 */
@Global()
@Module({
  imports: [
    NestConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      ignoreEnvVars: false,
      ignoreEnvFile: process.env.NODE_ENV === 'test',
      load: [() => ({ ...loadConfiguration(process.env) })],
    }),
  ],
})
export class AppConfigModule {}
