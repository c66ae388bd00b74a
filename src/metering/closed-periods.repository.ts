import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { requireOrgId } from '../database/tenant-scope';

/** One org's billing period. */
export interface OrgPeriod {
  orgId: string;
  /** `YYYY-MM` */
  period: string;
}

const lockKey = `'usage-period:' || o || ':' || p`;

/**
 * The periods whose invoice is finalized: no event may enter them any more. Writers of late
 * events (dated in a past period) hold a shared lock on each (org, period) they write, and closing
 * a period takes it exclusively, so a late event is either in the invoice or refused, never both
 * nor neither.
 */
@Injectable()
export class ClosedPeriodsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Which of `periods` of the org are closed (outside any transaction: a first, cheap look). */
  async findClosed(orgId: string, periods: string[]): Promise<Set<string>> {
    const rows: { period: string }[] = await this.dataSource.query(
      `SELECT period FROM usage_closed_periods WHERE org_id = $1 AND period = ANY($2::text[])`,
      [requireOrgId(orgId), periods],
    );
    return new Set(rows.map((r) => r.period));
  }

  /** Takes the shared locks of `pairs`, then answers which of them are closed. */
  async lockAndFindClosed(manager: EntityManager, pairs: OrgPeriod[]): Promise<Set<string>> {
    const orgs = pairs.map((p) => p.orgId);
    const periods = pairs.map((p) => p.period);
    // One lock order for every writer, so that two never wait on each other in a cycle.
    await manager.query(
      `SELECT pg_advisory_xact_lock_shared(hashtextextended(${lockKey}, 0))
         FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::text[]) AS x(o, p) ORDER BY 1, 2) AS pairs`,
      [orgs, periods],
    );
    const rows: OrgPeriod[] = await manager.query(
      `SELECT c.org_id AS "orgId", c.period FROM usage_closed_periods c
         JOIN unnest($1::uuid[], $2::text[]) AS x(o, p) ON c.org_id = x.o AND c.period = x.p`,
      [orgs, periods],
    );
    return new Set(rows.map((r) => `${r.orgId}:${r.period}`));
  }

  /**
   * Waits for every writer of late events of the period, and keeps new ones out, until commit
   * (true). Without `wait`, answers false at once when anyone holds the period.
   */
  async lockForClosing(
    manager: EntityManager,
    orgId: string,
    period: string,
    wait = true,
  ): Promise<boolean> {
    const lock = wait ? 'pg_advisory_xact_lock' : 'pg_try_advisory_xact_lock';
    const [row]: { locked: boolean | null }[] = await manager.query(
      `SELECT ${lock}(hashtextextended(${lockKey}, 0)) AS locked FROM (VALUES ($1::uuid, $2::text)) AS x(o, p)`,
      [requireOrgId(orgId), period],
    );
    // pg_advisory_xact_lock returns void (null): it only returns once it holds the lock.
    return row.locked !== false;
  }

  async markClosed(manager: EntityManager, orgId: string, period: string): Promise<void> {
    await manager.query(
      `INSERT INTO usage_closed_periods (org_id, period) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [requireOrgId(orgId), period],
    );
  }
}
