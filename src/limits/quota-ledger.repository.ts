import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { periodBounds } from '../common/period';
import { requireOrgId } from '../database/tenant-scope';

/** A hard-quota counter: one org's usage of one meter in one period. */
export interface QuotaCounterId {
  orgId: string;
  meter: string;
  /** `YYYY-MM` */
  period: string;
}

/** How a meter's quota is measured: events (`count`) or their values (`sum`). */
export type QuotaMeasure = 'count' | 'sum';

/**
 * What hard quotas are decided against in Postgres: the committed usage in `usage_period_totals`
 * (written by metering in the same statement as the events), advisory locks that serialise
 * decisions made without Redis, and the marks that make every instance re-seed a Redis counter
 * after such a decision.
 */
@Injectable()
export class QuotaLedgerRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Committed units of a counter. */
  async usedInPeriod(
    counter: QuotaCounterId,
    measure: QuotaMeasure,
    manager?: EntityManager,
  ): Promise<number> {
    const [row] = await (manager ?? this.dataSource).query(
      `SELECT COALESCE(${measure === 'count' ? 'sum(count)' : 'sum(sum)'}, 0)::float8 AS used
         FROM usage_period_totals
        WHERE org_id = $1 AND meter = $2 AND period = $3`,
      [requireOrgId(counter.orgId), counter.meter, periodBounds(counter.period).from.toISOString()],
    );
    return Number(row.used);
  }

  /** Serialises decisions on one counter across every instance, until the transaction ends. */
  async lockCounter(manager: EntityManager, counter: QuotaCounterId): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `quota:${requireOrgId(counter.orgId)}:${counter.meter}:${counter.period}`,
    ]);
  }

  /** Marks counters whose Redis copy no longer includes all committed usage. */
  async markForReseed(manager: EntityManager, counters: QuotaCounterId[]): Promise<void> {
    await manager.query(
      `INSERT INTO quota_counter_resets (org_id, meter, period)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [counters.map((c) => c.orgId), counters.map((c) => c.meter), counters.map((c) => c.period)],
    );
  }

  /** Takes (deletes and returns) up to `limit` marks; another instance never takes the same one. */
  async takeReseedMarks(limit: number): Promise<QuotaCounterId[]> {
    // TypeORM answers a DELETE … RETURNING with [rows, count].
    const [rows]: [QuotaCounterId[], number] = await this.dataSource.query(
      `DELETE FROM quota_counter_resets
        WHERE (org_id, meter, period) IN (
          SELECT org_id, meter, period FROM quota_counter_resets
           ORDER BY marked_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING org_id AS "orgId", meter, period`,
      [limit],
    );
    return rows;
  }

  /** Puts marks back when they could not be acted on. */
  async restoreReseedMarks(counters: QuotaCounterId[]): Promise<void> {
    await this.dataSource.transaction((manager) => this.markForReseed(manager, counters));
  }
}
