import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { validationFailed } from '../common/domain-error';
import { parseInstant } from '../common/instant';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { LeaseLimiter } from '../limits/lease-limiter';
import { EVENT_CSV_HEADER, eventCsvRow } from './csv';
import { EventDto, EventsQueryDto, UsageRangeQueryDto } from './dto/usage.dto';
import { pullStream } from './pull-stream';
import { exportFilename } from './usage-bounds';
import { UsageError } from './usage.errors';
import { EventRecord, UsageRepository } from './usage.repository';
import { checkedRange } from './usage.service';

/** Events read per statement of an export. */
const EXPORT_PAGE_ROWS = 1_000;
/** Exports of one org running at once, across every instance. */
export const MAX_EXPORTS_PER_ORG = 2;
/** A client that reads nothing of an export for this long is cut off. */
export const EXPORT_IDLE_MS = 30_000;

/** An events cursor: the event time to the microsecond (as Postgres writes it), then the id. */
const EVENTS_ORDER = [/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/, /^[\s\S]{1,128}$/] as const;

export interface CsvExport {
  filename: string;
  body: Readable;
}

function toEventDto(row: EventRecord): EventDto {
  return {
    id: row.id,
    type: row.type,
    time: row.time,
    subject: row.subject,
    data: row.data,
    apiKeyId: row.apiKeyId,
    receivedAt: row.receivedAt,
  };
}

/**
 * The org's raw events: listed newest first (what OpenMeter users debug with) and exported as CSV.
 * Both read short keyset pages, each its own statement, so neither holds a connection or a
 * transaction while it waits on a client.
 */
@Injectable()
export class EventsReportService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly leases: LeaseLimiter,
  ) {}

  async list(orgId: string, query: EventsQueryDto): Promise<Page<EventDto>> {
    const from = query.from ? parseInstant(query.from, { allowDate: true })! : undefined;
    const to = query.to ? parseInstant(query.to, { allowDate: true })! : undefined;
    if (from && to && to <= from)
      throw validationFailed([{ field: 'to', message: 'to must be after from' }]);
    const rows = await this.usage.eventsPage(orgId, {
      from,
      to,
      type: query.type,
      subject: query.subject,
      after: decodeCursor(query.cursor, EVENTS_ORDER),
      order: 'newest',
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit, (r) => [r.position, r.id], toEventDto);
  }

  /**
   * The org's events in `[from, to)` as CSV, oldest first. At most MAX_EXPORTS_PER_ORG run at once
   * per org (429 past that); the first page is read before answering, so that a database failure
   * is still a proper error response.
   */
  async exportCsv(orgId: string, query: UsageRangeQueryDto): Promise<CsvExport> {
    const { from, to } = checkedRange(query);
    const lease = await this.leases.acquire(`{org:${orgId}}:exports`, MAX_EXPORTS_PER_ORG);
    if (!lease) {
      throw new UsageError(
        'too_many_exports',
        `At most ${MAX_EXPORTS_PER_ORG} exports of an org run at once; try again when one ends`,
        { retryAfterSeconds: 5 },
      );
    }
    let after: [string, string] | undefined;
    let done = false;
    const page = async (): Promise<string | null> => {
      if (done) return null;
      const rows = await this.usage.eventsPage(orgId, {
        from,
        to,
        after,
        order: 'oldest',
        limit: EXPORT_PAGE_ROWS,
      });
      done = rows.length < EXPORT_PAGE_ROWS;
      if (rows.length) after = [rows[rows.length - 1].position, rows[rows.length - 1].id];
      return rows.map(eventCsvRow).join('');
    };
    let first: string;
    try {
      first = EVENT_CSV_HEADER + (await page());
    } catch (error) {
      await lease.release();
      throw error;
    }
    let pending: string | null = first;
    const body = pullStream(
      async () => {
        const chunk = pending ?? (await page());
        pending = null;
        return chunk;
      },
      () => lease.release(),
      { idleMs: EXPORT_IDLE_MS },
    );
    return { filename: exportFilename(orgId, from, to), body };
  }
}
