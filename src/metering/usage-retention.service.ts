import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Cron, CronExpression } from '@nestjs/schedule';
import { AppConfig } from '../config/configuration';
import { partitionsPastRetention } from './usage-retention';
import { UsageRetentionRepository } from './usage-retention.repository';

/** How long a drop waits for ingestion to let go of `usage_events` before it tries another day. */
const LOCK_TIMEOUT_MS = 2_000;

export interface RetentionRun {
  /** Periods whose raw events were dropped. */
  dropped: string[];
  /** Periods past retention kept because an org's invoice is not finalized, or the table was busy. */
  kept: string[];
}

/**
 * `RETENTION_MONTHS` (unset: keep everything): raw events of periods older than the current one
 * and the N before it are dropped, a month partition at a time, once every invoice of the period
 * is finalized. Reports and invoices of those periods keep answering from rollups and totals;
 * the events listing and export of them are empty. Any instance may run it: one at a time.
 */
@Injectable()
export class UsageRetentionService {
  private readonly logger = new Logger(UsageRetentionService.name);
  private readonly months: number | undefined;

  constructor(
    private readonly repository: UsageRetentionRepository,
    config: ConfigService<AppConfig, true>,
  ) {
    this.months = config.get('usage', { infer: true }).retentionMonths;
  }

  @Cron(CronExpression.EVERY_DAY_AT_4AM)
  async dropExpiredEvents(now = new Date()): Promise<RetentionRun> {
    const run: RetentionRun = { dropped: [], kept: [] };
    if (this.months === undefined) return run;
    try {
      const names = await this.repository.listEventPartitions();
      for (const partition of partitionsPastRetention(names, now, this.months)) {
        const outcome = await this.repository.dropIfFinalized(partition, LOCK_TIMEOUT_MS);
        if (outcome.dropped) {
          run.dropped.push(partition.period);
          this.logger.log(
            `Raw events of ${partition.period} dropped (RETENTION_MONTHS=${this.months})`,
          );
        } else {
          run.kept.push(partition.period);
          if ('openOrgs' in outcome)
            this.logger.warn(
              `Raw events of ${partition.period} kept past retention: ${outcome.openOrgs} org(s) have no finalized invoice for it`,
            );
        }
      }
    } catch (error) {
      this.logger.error(`Retention paused: ${(error as Error).message}`);
    }
    return run;
  }
}
