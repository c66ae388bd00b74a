import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { MeteringModule } from '../metering/metering.module';
import { OrgGuardModule } from '../orgs/org-guard.module';
import { UsageController } from './usage.controller';
import { UsageRepository } from './usage.repository';
import { UsageService } from './usage.service';
import { UsageV1Controller } from './usage-v1.controller';

/**
 * Usage reports: windows and summaries from the hourly rollups, the raw CSV export, and the
 * summary for API keys (`usage:read`).
 */
@Module({
  imports: [MeteringModule, CatalogueModule, OrgGuardModule],
  controllers: [UsageController, UsageV1Controller],
  providers: [UsageService, UsageRepository],
})
export class UsageModule {}
