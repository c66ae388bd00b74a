import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { currentPeriod, periodBounds, shiftPeriod } from '../../src/common/period';

/** The period before the current one (it has ended, and events may still be dated in it). */
export const previousPeriod = (): string => shiftPeriod(currentPeriod(), -1);

/**
 * An instant in the previous period that an event may still be dated at (within 35 days): the
 * last hour of it, minus `minutes`.
 */
export function inPreviousPeriod(minutes = 0): string {
  return new Date(
    periodBounds(currentPeriod()).from.getTime() - 3_600_000 - minutes * 60_000,
  ).toISOString();
}

/**
 * Moves an org's creation and plan history `days` back, as if it had existed (on the plans it was
 * moved to so far) that long: for invoices of an ended period.
 */
export async function backdateOrg(
  app: INestApplication,
  orgId: string,
  days: number,
): Promise<void> {
  const db = app.get(DataSource);
  const shift = `make_interval(days => ${Number(days)})`;
  await db.query(`UPDATE orgs SET created_at = created_at - ${shift} WHERE id = $1`, [orgId]);
  await db.query(
    `UPDATE org_plan_changes SET changed_at = changed_at - ${shift} WHERE org_id = $1`,
    [orgId],
  );
}
