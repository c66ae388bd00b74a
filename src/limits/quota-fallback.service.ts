import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { secondsToNextPeriod } from '../common/period';
import { REDIS, RedisClient } from '../redis/redis.module';
import { LimiterService, QuotaCharge } from './limiter.service';
import { LimitsError } from './limits.errors';
import { QuotaLedgerRepository } from './quota-ledger.repository';

/** Marks handled per pass of the repair job. */
const REPAIR_BATCH = 500;

/**
 * Hard quotas while Redis cannot be asked: decided against the committed usage in Postgres, under
 * an advisory lock per counter held by the transaction that writes the usage, so still exactly.
 *
 * Such a write bypasses the Redis counters, which then under-count. The transaction therefore also
 * marks the counters it touched, and every instance that can reach Redis deletes marked counters
 * (so that the next decision re-seeds them from Postgres) within about a second: at start, when
 * its Redis connection comes back, and every second. An instance cut off from a Redis that others
 * still reach is the one case left: until the mark is acted on, the others decide on a counter
 * short of this instance's writes.
 */
@Injectable()
export class QuotaFallback implements OnModuleInit {
  private readonly logger = new Logger(QuotaFallback.name);
  private repairing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: QuotaLedgerRepository,
    private readonly limiter: LimiterService,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  onModuleInit(): void {
    this.redis?.on('ready', () => void this.repairCounters());
  }

  /**
   * Runs `write` in a transaction that first decides `charges` of `orgId` against Postgres;
   * throws `quota_exceeded` (and writes nothing) when one would go over.
   */
  writeWithinQuota<T>(
    orgId: string,
    charges: QuotaCharge[],
    write: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      const counters = charges
        .map((c) => ({ orgId, meter: c.meter, period: c.period, charge: c }))
        // One lock order for everyone, so two requests never wait on each other in a cycle.
        .sort((a, b) => `${a.meter}:${a.period}`.localeCompare(`${b.meter}:${b.period}`));
      for (const counter of counters) await this.ledger.lockCounter(manager, counter);
      for (const counter of counters) {
        const used = await this.ledger.usedInPeriod(counter, counter.charge.measure, manager);
        if (used + counter.charge.amount > counter.charge.included) {
          throw new LimitsError(
            'quota_exceeded',
            `The monthly quota of ${counter.meter} is used up for this period`,
            { retryAfterSeconds: secondsToNextPeriod() },
          );
        }
      }
      if (this.redis && counters.length > 0) await this.ledger.markForReseed(manager, counters);
      return write(manager);
    });
  }

  /** Deletes the Redis counters marked by decisions made without Redis (see the class comment). */
  @Interval(1_000)
  async repairCounters(): Promise<void> {
    if (!this.redis || this.redis.status !== 'ready' || this.repairing) return;
    this.repairing = true;
    try {
      for (;;) {
        const marks = await this.ledger.takeReseedMarks(REPAIR_BATCH);
        if (marks.length === 0) return;
        try {
          await this.limiter.forgetQuotas(marks);
        } catch (error) {
          await this.ledger.restoreReseedMarks(marks);
          throw error;
        }
        if (marks.length < REPAIR_BATCH) return;
      }
    } catch (error) {
      this.logger.warn(`Quota counters not repaired yet: ${(error as Error).message}`);
    } finally {
      this.repairing = false;
    }
  }
}
