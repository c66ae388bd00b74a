import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodPartition } from './usage-retention';

/** What became of one partition past retention. */
export type PartitionOutcome =
  | { dropped: true }
  /** `openOrgs` orgs with usage in the period have no finalized invoice for it yet. */
  | { dropped: false; openOrgs: number }
  /** Another instance is running retention, or ingestion held the table past the lock timeout. */
  | { dropped: false; busy: true };

/**
 * Retention of raw events, platform-wide (no org of its own): drops whole month partitions of
 * `usage_events`. Rollups, monthly totals, closed periods and invoices are kept.
 */
@Injectable()
export class UsageRetentionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async listEventPartitions(): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'usage_events'::regclass`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * Detaches and drops the partition when every org with usage in its period has closed the
   * period (its invoice is finalized, so no event can enter it any more), all in one transaction
   * under the retention lock. DETACH takes an exclusive lock on `usage_events`: a short lock
   * timeout gives way to ingestion, and the next run tries again.
   */
  async dropIfFinalized(
    partition: PeriodPartition,
    lockTimeoutMs: number,
  ): Promise<PartitionOutcome> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }]: { locked: boolean }[] = await manager.query(
        `SELECT pg_try_advisory_xact_lock(hashtextextended('usage-retention', 0)) AS locked`,
      );
      if (!locked) return { dropped: false, busy: true };
      const [{ open }]: { open: number }[] = await manager.query(
        `SELECT count(DISTINCT t.org_id)::int AS open FROM usage_period_totals t
          WHERE t.period = ($1 || '-01T00:00:00Z')::timestamptz
            AND NOT EXISTS (SELECT 1 FROM usage_closed_periods c
                             WHERE c.org_id = t.org_id AND c.period = $1)`,
        [partition.period],
      );
      if (open > 0) return { dropped: false, openOrgs: open };
      await manager.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
      // The name comes from the catalogue and matched the partition pattern; quoted all the same.
      const table = `"${partition.name.replace(/"/g, '""')}"`;
      try {
        await manager.query(`ALTER TABLE usage_events DETACH PARTITION ${table}`);
      } catch (error) {
        if ((error as { driverError?: { code?: string } }).driverError?.code === '55P03')
          return { dropped: false, busy: true };
        throw error;
      }
      await manager.query(`DROP TABLE ${table}`);
      return { dropped: true };
    });
  }
}
