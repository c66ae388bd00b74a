import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventRow, UsageEventsRepository } from './usage-events.repository';

interface PendingWrite {
  rows: EventRow[];
  resolve: (claimed: boolean[]) => void;
  reject: (error: unknown) => void;
}

const MAX_ROWS_PER_FLUSH = 5_000;
const MAX_CONCURRENT_FLUSHES = 2;
const identity = (row: EventRow) => `${row.orgId}\u0000${row.eventId}`;

/**
 * Group commit for usage events. Requests that arrive while a flush is running are written
 * together by the next one, in one statement and one transaction. Each request's promise settles
 * only after that transaction commits (or fails: then only the requests of that flush fail).
 */
@Injectable()
export class UsageWriter {
  private queue: PendingWrite[] = [];
  private flushing = 0;

  constructor(
    private readonly events: UsageEventsRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Resolves, once durable, with one flag per row: true if it was new, false if a duplicate. */
  write(rows: EventRow[]): Promise<boolean[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.pump();
    });
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
      });
    }
  }

  private async flush(batch: PendingWrite[]): Promise<void> {
    // Within one flush the first request to present an id owns it; later ones are duplicates.
    const owners = new Map<string, EventRow>();
    for (const pending of batch)
      for (const row of pending.rows)
        if (!owners.has(identity(row))) owners.set(identity(row), row);
    try {
      const claimed = await this.events.insertEvents([...owners.values()]);
      const fresh = new Set(claimed.map((c) => `${c.orgId}\u0000${c.eventId}`));
      for (const pending of batch) {
        pending.resolve(
          pending.rows.map((row) => owners.get(identity(row)) === row && fresh.has(identity(row))),
        );
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  /**
   * For hard quotas while Redis is unreachable: decides them against Postgres, exactly, under an
   * advisory lock per org, meter and period, in the transaction that writes the events.
   * `check` receives the committed usage of each charged meter and throws to refuse.
   */
  writeWithQuotaLocks(
    rows: EventRow[],
    charges: { orgId: string; meter: string; period: string; aggregation: 'count' | 'sum' }[],
    check: (used: number[]) => void,
  ): Promise<boolean[]> {
    return this.dataSource.transaction(async (manager) => {
      const ordered = [...charges].sort((a, b) =>
        `${a.meter}:${a.period}`.localeCompare(`${b.meter}:${b.period}`),
      );
      for (const c of ordered) await this.events.lockQuota(manager, c.orgId, c.meter, c.period);
      const used = await Promise.all(
        charges.map((c) =>
          this.events.usedInPeriod(c.orgId, c.meter, c.period, c.aggregation, manager),
        ),
      );
      check(used);
      const claimed = new Set(
        (await this.events.insertEvents(rows, manager)).map((c) => `${c.orgId}\u0000${c.eventId}`),
      );
      return rows.map((row) => claimed.has(identity(row)));
    });
  }
}
