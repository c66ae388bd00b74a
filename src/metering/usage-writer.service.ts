import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { currentPeriod, periodOf } from '../common/period';
import { ClosedPeriodsRepository, OrgPeriod } from './closed-periods.repository';
import { periodClosed } from './metering.errors';
import { isDatabaseUnavailable } from '../common/http-exception.filter';
import { MetricsService } from '../metrics/metrics.service';
import { EventRow, UsageEventsRepository } from './usage-events.repository';

interface PendingWrite {
  rows: EventRow[];
  resolve: (fresh: boolean[]) => void;
  reject: (error: unknown) => void;
}

/** Per request of a batch: which rows were new, or why the request is refused. */
type WriteResult = boolean[] | Error;

const MAX_ROWS_PER_FLUSH = 5_000;
const MAX_CONCURRENT_FLUSHES = 2;
const identity = (row: EventRow) => `${row.orgId}\u0000${row.eventId}`;
const identityOf = (claimed: { orgId: string; eventId: string }) =>
  `${claimed.orgId}\u0000${claimed.eventId}`;

/**
 * Group commit for usage events. Requests that arrive while a flush is running are written
 * together by the next one, in one statement and one transaction. Each request's promise settles
 * only after that transaction commits.
 *
 * One request's bad data must never fail another's: when a flush's statement fails, each request
 * in it is written again on its own, one after the other in arrival order (so the first owner of
 * an id still wins), and only the one at fault is refused. A database that is unreachable is no
 * request's fault: it fails them all at once, without retries that would each wait for it again.
 *
 * Events dated in a past period are written under a shared lock of their (org, period) and only
 * if that period is not closed (its invoice finalized); finalizing takes the lock exclusively.
 */
@Injectable()
export class UsageWriter implements BeforeApplicationShutdown {
  private queue: PendingWrite[] = [];
  private flushing = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly events: UsageEventsRepository,
    private readonly closed: ClosedPeriodsRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

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
    const [result] = await this.insertTogether([{ rows }], manager);
    if (result instanceof Error) throw result;
    return result;
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
      settle(batch, await this.writeBatch(batch));
    } catch (error) {
      const requestsFault = error instanceof QueryFailedError && !isDatabaseUnavailable(error);
      if (batch.length === 1 || !requestsFault) {
        batch.forEach((pending) => pending.reject(error));
        return;
      }
      for (const [i, pending] of batch.entries()) {
        try {
          settle([pending], await this.writeBatch([pending]));
        } catch (retryError) {
          pending.reject(retryError);
          if (!isDatabaseUnavailable(retryError)) continue;
          batch.slice(i + 1).forEach((rest) => rest.reject(retryError));
          return;
        }
      }
    }
  }

  /** The batch's statement; in a transaction holding the period locks when it has late events. */
  private async writeBatch(batch: PendingWrite[]): Promise<WriteResult[]> {
    const started = process.hrtime.bigint();
    const now = currentPeriod();
    const results = batch.some((p) => p.rows.some((r) => periodOf(r.time) < now))
      ? await this.dataSource.transaction((manager) => this.insertTogether(batch, manager))
      : await this.insertTogether(batch);
    this.metrics.writerFlushDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.writerBatchRows.observe(batch.reduce((rows, p) => rows + p.rows.length, 0));
    return results;
  }

  /**
   * One statement for the requests of `batch` (in `manager`'s transaction when given, where late
   * events are first checked against closed periods); per request, which of its rows were new.
   */
  private async insertTogether(
    batch: Pick<PendingWrite, 'rows'>[],
    manager?: EntityManager,
  ): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(batch.length);
    let open = batch.map((_, i) => i);
    const late = lateRows(batch);
    if (late.length > 0) {
      if (!manager) throw new Error('Late events are written in a transaction');
      const closed = await this.closed.lockAndFindClosed(manager, late);
      open = open.filter((i) => {
        const rows = batch[i].rows.filter((r) => closed.has(`${r.orgId}:${periodOf(r.time)}`));
        if (rows.length) results[i] = periodClosed(rows);
        return rows.length === 0;
      });
    }
    // Within one flush the first request to present an id owns it; later ones are duplicates.
    // Each row's identity is built once: it is read three times.
    const identities = open.map((i) => batch[i].rows.map(identity));
    const owners = new Map<string, EventRow>();
    open.forEach((i, k) =>
      batch[i].rows.forEach((row, j) => {
        if (!owners.has(identities[k][j])) owners.set(identities[k][j], row);
      }),
    );
    const claimed = await this.events.insertEvents([...owners.values()], manager);
    const fresh = new Set(claimed.map(identityOf));
    open.forEach((i, k) => {
      results[i] = batch[i].rows.map(
        (row, j) => owners.get(identities[k][j]) === row && fresh.has(identities[k][j]),
      );
    });
    return results;
  }
}

/** The distinct (org, period) of rows dated before the current period. */
function lateRows(batch: Pick<PendingWrite, 'rows'>[]): OrgPeriod[] {
  const now = currentPeriod();
  const pairs = new Map<string, OrgPeriod>();
  for (const { rows } of batch) {
    for (const row of rows) {
      const period = periodOf(row.time);
      if (period < now) pairs.set(`${row.orgId}:${period}`, { orgId: row.orgId, period });
    }
  }
  return [...pairs.values()];
}

function settle(batch: PendingWrite[], results: WriteResult[]): void {
  batch.forEach((pending, i) => {
    const result = results[i];
    if (result instanceof Error) pending.reject(result);
    else pending.resolve(result);
  });
}
