import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { LimitsModule } from '../limits/limits.module';
import { AdmissionService } from './admission.service';
import { ClosedPeriodsRepository } from './closed-periods.repository';
import { EventsController } from './events.controller';
import { MeteringService } from './metering.service';
import { UsageEventsRepository } from './usage-events.repository';
import { UsagePartitionsService } from './usage-partitions.service';
import { UsageRetentionRepository } from './usage-retention.repository';
import { UsageRetentionService } from './usage-retention.service';
import { UsageWriter } from './usage-writer.service';

/**
 * Usage in: the admission of every `/v1` call (`@ApiKeyAuth`, `@Metered`), event ingestion and
 * the group-commit writer. Modules with `/v1` routes import this one and ApiKeysModule.
 */
@Module({
  imports: [ApiKeysModule, CatalogueModule, LimitsModule],
  controllers: [EventsController],
  providers: [
    AdmissionService,
    ClosedPeriodsRepository,
    MeteringService,
    UsageEventsRepository,
    UsageWriter,
    UsagePartitionsService,
    UsageRetentionRepository,
    UsageRetentionService,
  ],
  // V1CallGuard and V1CallFilter (`@ApiKeyAuth`) are built by Nest in each controller's module.
  exports: [AdmissionService, MeteringService],
})
export class MeteringModule {}
