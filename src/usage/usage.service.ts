import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Meter } from '../catalogue/catalogue.types';
import { CatalogueCache } from '../catalogue/catalogue-cache';
import { PlansService } from '../catalogue/plans.service';
import { validationFailed } from '../common/domain-error';
import { parseInstant } from '../common/instant';
import { currentPeriod, periodBounds } from '../common/period';
import {
  UsageQueryDto,
  UsageRangeQueryDto,
  UsageResponseDto,
  UsageSummaryDto,
  UsageSummaryLineDto,
} from './dto/usage.dto';
import { clippedWindow, hourRange, percentUsed, rangeProblems } from './usage-bounds';
import { UsageError } from './usage.errors';
import { PeriodTotalsRow, UsageGrouping, UsageRepository, WindowRow } from './usage.repository';

/** bigint and numeric arrive as strings: the contract wants JSON numbers. */
export const toNumber = (value: string | number | null | undefined): number =>
  value === null || value === undefined ? 0 : Number(value);

/** A meter's value over a period, from its monthly totals. */
export function periodValue(meter: Meter, totals: PeriodTotalsRow | undefined): number {
  if (!totals) return 0;
  switch (meter.aggregation) {
    case 'count':
      return toNumber(totals.count);
    case 'sum':
      return toNumber(totals.sum);
    case 'min':
      return toNumber(totals.min);
    case 'max':
      return toNumber(totals.max);
    case 'avg':
      return toNumber(totals.avg);
    case 'latest':
      return toNumber(totals.latest);
    case 'unique_count':
      return toNumber(totals.distinct);
  }
}

/** `from` and `to` as instants, once the range is known to be valid. */
export function checkedRange(query: UsageRangeQueryDto): { from: Date; to: Date } {
  // The DTO has checked both are instants.
  const from = parseInstant(query.from, { allowDate: true })!;
  const to = parseInstant(query.to, { allowDate: true })!;
  const problems = rangeProblems(from, to);
  if (problems.length) throw validationFailed(problems);
  return { from, to };
}

/** One `/usage` answer holds at most this many windows × groups. */
export const MAX_USAGE_ROWS = 10_000;

/** Usage reports: windows and the period summary. */
@Injectable()
export class UsageService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly catalogue: CatalogueCache,
    private readonly plans: PlansService,
  ) {}

  async windows(orgId: string, query: UsageQueryDto): Promise<UsageResponseDto> {
    const { from, to } = checkedRange(query);
    // The rollups are hourly: whole hours are all they can answer for.
    const range = hourRange(from, to);
    const meter = (await this.catalogue.meterMap()).get(query.meter);
    if (!meter) {
      throw new UsageError('unknown_meter', `There is no meter "${query.meter}"`, {
        problems: [{ field: 'meter', message: `meter: there is no meter "${query.meter}"` }],
      });
    }
    const grouping = this.grouping(meter, query.groupBy);
    const windowQuery = {
      meter: meter.slug,
      window: query.window,
      grouping,
      subject: query.subject,
      maxRows: MAX_USAGE_ROWS,
      ...range,
    };
    const rows: WindowRow[] =
      meter.aggregation === 'unique_count'
        ? await this.usage.uniqueWindows(orgId, meter.valueProperty!, windowQuery)
        : await this.usage.rollupWindows(orgId, meter.aggregation, windowQuery);
    if (rows.length > MAX_USAGE_ROWS) {
      throw new UsageError(
        'too_many_rows',
        `The answer would have more than ${MAX_USAGE_ROWS} rows: ask for a coarser window or a shorter range`,
      );
    }
    return {
      meter: meter.slug,
      window: query.window,
      data: rows.map((row) => {
        const { windowStart, windowEnd } = clippedWindow(row.windowStart, query.window, range);
        return {
          windowStart: windowStart.toISOString(),
          windowEnd: windowEnd.toISOString(),
          value: toNumber(row.value),
          ...(query.groupBy !== undefined ? { groupBy: { [query.groupBy]: row.group } } : {}),
        };
      }),
    };
  }

  private grouping(meter: Meter, groupBy: string | undefined): UsageGrouping {
    if (groupBy === undefined) return null;
    if (groupBy === 'apiKeyId' || groupBy === 'subject') return { by: groupBy };
    if (meter.groupBy.includes(groupBy)) return { by: 'data', key: groupBy };
    const keys = ['apiKeyId', 'subject', ...meter.groupBy].join(', ');
    throw validationFailed([{ field: 'groupBy', message: `groupBy must be one of: ${keys}` }]);
  }

  /**
   * One line per meter the org's plan lists (0 when unused), then one per other meter used in
   * the period. Reads the monthly totals (one row per meter), unique_count meters included.
   */
  async summary(orgId: string, period = currentPeriod(new Date())): Promise<UsageSummaryDto> {
    // Meters are never deleted, so the catalogue names every meter with usage, except one created
    // in the last few seconds (the cache's TTL) that another instance already ingests for.
    const [plan, values] = await Promise.all([
      this.plans.findPlanForOrg(orgId),
      this.periodValues(orgId, period),
    ]);
    const valueOf = (slug: string): number => values.get(slug) ?? 0;

    const planned = plan?.meters ?? [];
    const plannedSlugs = new Set(planned.map((m) => m.meter));
    const data: UsageSummaryLineDto[] = planned.map((line) => {
      const value = valueOf(line.meter);
      return {
        meter: line.meter,
        value,
        included: line.included,
        remaining: Math.max(0, line.included - value),
        percentUsed: percentUsed(value, line.included),
        enforcement: line.enforcement,
      };
    });
    const unplanned = [...values.keys()].filter((slug) => !plannedSlugs.has(slug)).sort();
    for (const slug of unplanned) {
      data.push({
        meter: slug,
        value: valueOf(slug),
        included: null,
        remaining: null,
        percentUsed: null,
        enforcement: null,
      });
    }
    return { period, data };
  }

  /**
   * Each meter's aggregation over one period, for every meter with usage in it: what the summary
   * shows and what invoices bill. From the monthly totals (one row per meter), where ingestion
   * also counts the distinct values of unique_count meters. `within` reads in a caller's
   * transaction (with the catalogue already in hand, so that nothing else waits for a connection
   * meanwhile).
   */
  async periodValues(
    orgId: string,
    period: string,
    within?: { manager: EntityManager; meters: ReadonlyMap<string, Meter> },
  ): Promise<Map<string, number>> {
    const [meters, totals] = await Promise.all([
      within?.meters ?? this.catalogue.meterMap(),
      this.usage.periodTotals(orgId, periodBounds(period).from, within?.manager),
    ]);
    const values = new Map<string, number>();
    for (const row of totals) {
      const meter = meters.get(row.meter);
      values.set(row.meter, meter ? periodValue(meter, row) : 0);
    }
    return values;
  }
}
