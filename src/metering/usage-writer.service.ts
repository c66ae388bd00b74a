import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { EntityManager } from 'typeorm';
import { EventRow, UsageEventsRepository } from './usage-events.repository';

interface PendingWrite {
  rows: EventRow[];
  resolve: (fresh: boolean[]) => void;
  reject: (error: unknown) => void;
}

const MAX_ROWS_PER_FLUSH = 5_000;
const MAX_CONCURRENT_FLUSHES = 2;
const identity = (row: EventRow) => `${row.orgId}\u0000${row.eventId}`;

/**
 * Group commit for usage events. Requests that arrive while a flush is running are written
 * together by the next one, in one statement and one transaction. Each request's promise settles
 * only after that transaction commits.
 *
 * One request's bad data must never fail another's: when a flush's statement fails, each request
 * in it is written again on its own, so only the one at fault is refused. (A dead connection is
 * not a request's fault: it fails them all at once, without the retries.)
 */
@Injectable()
export class UsageWriter implements BeforeApplicationShutdown {
  private queue: PendingWrite[] = [];
  private flushing = 0;
  private idle: (() => void)[] = [];

  constructor(private readonly events: UsageEventsRepository) {}

  /** Resolves, once durable, with one flag per row: true if it was new, false if a duplicate. */
  write(rows: EventRow[]): Promise<boolean[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.pump();
    });
  }

  /** Writes in the caller's transaction, outside group commit (quotas decided in Postgres). */
  async writeIn(manager: EntityManager, rows: EventRow[]): Promise<boolean[]> {
    const fresh = new Set((await this.events.insertEvents(rows, manager)).map(identityOf));
    return rows.map((row) => fresh.has(identity(row)));
  }

  /** Everything accepted is written before the process lets go of the database. */
  beforeApplicationShutdown(): Promise<void> {
    return this.drained();
  }

  /** Resolves once nothing is queued or being written. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.flushing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.flushing < MAX_CONCURRENT_FLUSHES && this.queue.length > 0) {
      const batch: PendingWrite[] = [];
      let size = 0;
      while (
        this.queue.length > 0 &&
        (batch.length === 0 || size + this.queue[0].rows.length <= MAX_ROWS_PER_FLUSH)
      ) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.rows.length;
      }
      this.flushing++;
      void this.flush(batch).finally(() => {
        this.flushing--;
        this.pump();
        if (this.queue.length === 0 && this.flushing === 0)
          this.idle.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  private async flush(batch: PendingWrite[]): Promise<void> {
    try {
      const results = await this.insertTogether(batch);
      batch.forEach((pending, i) => pending.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1 || !(error instanceof QueryFailedError)) {
        batch.forEach((pending) => pending.reject(error));
        return;
      }
      await Promise.all(
        batch.map((pending) =>
          this.insertTogether([pending]).then(([fresh]) => pending.resolve(fresh), pending.reject),
        ),
      );
    }
  }

  /** One statement for the whole batch; per request, which of its rows were new. */
  private async insertTogether(batch: PendingWrite[]): Promise<boolean[][]> {
    // Within one flush the first request to present an id owns it; later ones are duplicates.
    const owners = new Map<string, EventRow>();
    for (const pending of batch)
      for (const row of pending.rows)
        if (!owners.has(identity(row))) owners.set(identity(row), row);
    const fresh = new Set((await this.events.insertEvents([...owners.values()])).map(identityOf));
    return batch.map((pending) =>
      pending.rows.map((row) => owners.get(identity(row)) === row && fresh.has(identity(row))),
    );
  }
}

const identityOf = (claimed: { orgId: string; eventId: string }) =>
  `${claimed.orgId}\u0000${claimed.eventId}`;
