import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { UsageEventsRepository } from './usage-events.repository';
import { partitionsAround } from './usage-partitions';

/** Keeps month partitions of `usage_events` created two months ahead (at boot and daily). */
@Injectable()
export class UsagePartitionsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsagePartitionsService.name);

  constructor(private readonly events: UsageEventsRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensurePartitions();
  }

  @Cron(CronExpression.EVERY_DAY_AT_3AM)
  async ensurePartitions(now = new Date()): Promise<void> {
    for (const partition of partitionsAround(now)) {
      try {
        await this.events.createPartition(partition);
      } catch (error) {
        // Another instance may be creating the same one (duplicate table): that is fine.
        const code = (error as { driverError?: { code?: string } }).driverError?.code;
        if (code !== '42P07' && code !== '23505')
          this.logger.error(`Partition ${partition.name}: ${(error as Error).message}`);
      }
    }
  }
}
