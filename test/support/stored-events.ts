import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** How many events of the org (of `meter`, when given) Postgres holds: what "nothing stored" checks. */
export async function countStoredEvents(
  app: INestApplication,
  orgId: string,
  meter?: string,
): Promise<number> {
  const [{ n }] = await app.get(DataSource).query(
    `SELECT count(*)::int AS n FROM usage_events
        WHERE org_id = $1 AND ($2::text IS NULL OR meter = $2::text)`,
    [orgId, meter ?? null],
  );
  return n;
}
