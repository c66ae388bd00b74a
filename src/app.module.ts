import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BillingModule } from './billing/billing.module';
import { CatalogueModule } from './catalogue/catalogue.module';
import { LoggingModule } from './common/logging.module';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { LimitsModule } from './limits/limits.module';
import { MeteringModule } from './metering/metering.module';
import { MetricsModule } from './metrics/metrics.module';
import { OrgsModule } from './orgs/orgs.module';
import { RedisModule } from './redis/redis.module';
import { UsageModule } from './usage/usage.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    AppConfigModule,
    ScheduleModule.forRoot(),
    EventEmitterModule.forRoot(),
    LoggingModule,
    DatabaseModule,
    RedisModule,
    MetricsModule,
    HealthModule,
    UsersModule,
    AuditModule,
    LimitsModule,
    AuthModule,
    OrgsModule,
    ApiKeysModule,
    CatalogueModule,
    MeteringModule,
    UsageModule,
    GatewayModule,
    WebhooksModule,
    BillingModule,
  ],
})
export class AppModule {}
