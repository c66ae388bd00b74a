import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { MeteringModule } from '../metering/metering.module';
import { OrgsModule } from '../orgs/orgs.module';
import { LimitsModule } from '../limits/limits.module';
import { EventsListController } from './events.controller';
import { EventsReportService } from './events-report.service';
import { UsageController } from './usage.controller';
import { UsageRepository } from './usage.repository';
import { UsageService } from './usage.service';
import { UsageV1Controller } from './usage-v1.controller';

/**
 * Usage reports: windows and summaries from the hourly rollups, the raw CSV export, and the
 * summary for API keys (`usage:read`).
 */
@Module({
  imports: [ApiKeysModule, MeteringModule, CatalogueModule, OrgsModule, LimitsModule],
  controllers: [UsageController, UsageV1Controller, EventsListController],
  providers: [UsageService, UsageRepository, EventsReportService],
  exports: [UsageService],
})
export class UsageModule {}
