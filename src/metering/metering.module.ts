import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { CatalogueCache } from './catalogue-cache';
import { EventsController } from './events.controller';
import { MeteredGuard, MeteredInterceptor } from './metered';
import { MeteringService } from './metering.service';
import { UsageEventsRepository } from './usage-events.repository';
import { UsagePartitionsService } from './usage-partitions.service';
import { UsageWriter } from './usage-writer.service';

@Module({
  imports: [RateLimitModule, CatalogueModule],
  controllers: [EventsController],
  providers: [
    CatalogueCache,
    MeteringService,
    UsageEventsRepository,
    UsageWriter,
    UsagePartitionsService,
    MeteredGuard,
    MeteredInterceptor,
  ],
  exports: [
    RateLimitModule,
    MeteringService,
    MeteredGuard,
    MeteredInterceptor,
    UsageEventsRepository,
    CatalogueCache,
  ],
})
export class MeteringModule {}
