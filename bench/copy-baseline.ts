/**
 * B3's yardstick: the rows the events scenario sends, COPY'd by this process (pg-copy-streams)
 * into a plain table whose only constraint is the idempotency key (org_id, event_id). It is what
 * Postgres can absorb on this machine with no HTTP, validation, rollups or ids table, so
 * ingestion ÷ COPY says how much of the database's speed the service keeps.
 *
 * One COPY stream: the baseline is the simplest bulk load, not a tuned one. The table keeps
 * growing across rounds, as the usage tables do.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyChunkMaker } from './scenarios/events';
import { since } from './stats';

export const COPY_TABLE = 'bench_copy_baseline';

export interface CopyResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

let copies = 0;

/** COPYs `rows` rows (rounded up to whole chunks of `chunkSize`) and times it, end to end. */
export async function copyBaseline(
  db: Client,
  orgId: string,
  rows: number,
  chunkSize: number,
): Promise<CopyResult> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS ${COPY_TABLE} (
      org_id uuid NOT NULL,
      event_id text NOT NULL,
      meter text NOT NULL,
      time timestamptz NOT NULL,
      subject text,
      value double precision,
      data jsonb NOT NULL,
      PRIMARY KEY (org_id, event_id)
    )`);
  const chunks = Math.max(1, Math.ceil(rows / chunkSize));
  const chunk = copyChunkMaker(orgId, chunkSize, new Date());
  const round = ++copies;
  // Chunks are produced as COPY asks for them (the template join costs microseconds), so the
  // timing is Postgres's, not the generator's, and memory stays flat whatever the row count.
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < chunks; i++) yield chunk(`c${round}x${i}`);
    })(),
  );
  const start = performance.now();
  await pipeline(
    source,
    db.query(
      copyFrom(
        `COPY ${COPY_TABLE} (org_id, event_id, meter, time, subject, value, data) FROM STDIN`,
      ),
    ),
  );
  const seconds = since(start) / 1000;
  const copied = chunks * chunkSize;
  return { rows: copied, seconds, rowsPerSecond: copied / seconds };
}
