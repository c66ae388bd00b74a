/**
 * B3's events: the batches `POST /v1/events` receives, the same rows in COPY's text format for
 * the baseline, and the check that what was accepted is durable, idempotent and in the rollups.
 */
import { Client } from 'pg';
import { call } from '../setup';

export const EVENT_METER = 'api_calls';
const SUBJECTS = 100;
/** Event ids are `evt-<stem>-<index>`: the stem makes every batch of the run unique. */
export const EVENT_ID_PREFIX = 'evt-';
const STEM = '@STEM@';

const eventId = (stem: string, i: number) => `${EVENT_ID_PREFIX}${stem}-${i}`;
const subject = (i: number) => `customer-${i % SUBJECTS}`;

/**
 * A batch body is serialised once with a placeholder and the stem joined in per request, so the
 * load generator spends microseconds per batch and its CPU stays with the server.
 */
export function batchMaker(size: number): (stem: string) => string {
  const parts = JSON.stringify({
    events: Array.from({ length: size }, (_, i) => ({
      id: eventId(STEM, i),
      type: EVENT_METER,
      subject: subject(i),
    })),
  }).split(STEM);
  return (stem) => parts.join(stem);
}

/** COPY text escaping for the few characters our values could hold. */
const copyText = (value: string) => value.replace(/[\\\t\n\r]/g, (c) => `\\${c}`);

/**
 * The same events as rows of the COPY baseline's columns (org_id, event_id, meter, time,
 * subject, value, data), `size` rows per chunk. `time` is the server's "now" for an event sent
 * without one; value and data are what ingestion stores for a count meter.
 */
export function copyChunkMaker(orgId: string, size: number, time: Date): (stem: string) => string {
  const rows = Array.from({ length: size }, (_, i) =>
    [orgId, eventId(STEM, i), EVENT_METER, time.toISOString(), subject(i), '\\N', '{}']
      .map((v, column) => (column === 5 ? v : copyText(v)))
      .join('\t'),
  );
  const parts = `${rows.join('\n')}\n`.split(STEM);
  return (stem) => parts.join(stem);
}

interface IngestionCheckInput {
  db: Client;
  base: string;
  apiKey: string;
  orgId: string;
  batchSize: number;
  /** Events that 202 responses reported as accepted, warm-ups included. */
  accepted: number;
  /** The stems of the batches answered 202 (requests cut off at the end of a run are not). */
  acceptedStems: readonly string[];
}

/**
 * "Durable, idempotent, rollups kept": every event a 202 accepted is stored, a replayed batch is
 * accepted as duplicates only, and the hourly rollups and monthly totals count what the events
 * table holds. Answers the problems found (none: an empty list).
 */
export async function checkIngestion(input: IngestionCheckInput): Promise<string[]> {
  const problems: string[] = [];
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    Number((await input.db.query(sql, [input.orgId, EVENT_METER, ...params])).rows[0].n ?? 0);
  try {
    const stored = await count(
      `SELECT count(*) AS n FROM usage_events
        WHERE org_id = $1 AND meter = $2 AND split_part(event_id, '-', 2) = ANY($3::text[])`,
      [input.acceptedStems],
    );
    if (stored !== input.accepted)
      problems.push(`B3: ${input.accepted} events accepted, ${stored} of them stored`);
    // The meter's events also include one per successful ping: compare all of them.
    const events = await count(
      `SELECT count(*) AS n FROM usage_events WHERE org_id = $1 AND meter = $2`,
    );
    const rollups = await count(
      `SELECT sum(count) AS n FROM usage_rollups WHERE org_id = $1 AND meter = $2`,
    );
    const totals = await count(
      `SELECT sum(count) AS n FROM usage_period_totals WHERE org_id = $1 AND meter = $2`,
    );
    if (rollups !== events || totals !== events)
      problems.push(`B3: ${events} events stored, rollups count ${rollups}, totals ${totals}`);
  } catch (error) {
    // The usage tables are about to change: a check that cannot run says so rather than fail.
    problems.push(`B3: ingestion not checked: ${(error as Error).message}`);
  }
  const replay = batchMaker(input.batchSize)(input.acceptedStems[0] ?? 'none');
  const again = await call<{ accepted: number; duplicates: number }>(
    input.base,
    'POST',
    '/v1/events',
    { body: JSON.parse(replay) as object, headers: { 'x-api-key': input.apiKey } },
  ).catch((error: Error) => ({ accepted: NaN, duplicates: NaN, error: error.message }));
  if (again.accepted !== 0)
    problems.push(`B3: a replayed batch was accepted again: ${JSON.stringify(again)}`);
  return problems;
}
