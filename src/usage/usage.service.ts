import { Injectable } from '@nestjs/common';
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

/** A meter's value over a period, from its rollup totals (unique_count is counted apart). */
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
      return 0;
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
   * the period. Reads the monthly totals (one row per meter), plus raw events for unique_count meters.
   */
  async summary(orgId: string, period = currentPeriod(new Date())): Promise<UsageSummaryDto> {
    const { from, to } = periodBounds(period);
    // Meters are never deleted, so the catalogue names every meter with usage, except one created
    // in the last few seconds (the cache's TTL) that another instance already ingests for.
    const meters = await this.catalogue.meterMap();
    const all = [...meters.values()];
    const [plan, totals, uniques] = await Promise.all([
      this.plans.findPlanForOrg(orgId),
      this.usage.periodTotals(orgId, from),
      this.usage.periodUniqueCounts(
        orgId,
        all
          .filter((m) => m.aggregation === 'unique_count' && m.valueProperty)
          .map((m) => ({ slug: m.slug, property: m.valueProperty! })),
        from,
        to,
      ),
    ]);
    const totalsByMeter = new Map(totals.map((t) => [t.meter, t]));
    const uniqueByMeter = new Map(uniques.map((u) => [u.meter, toNumber(u.value)]));
    const valueOf = (slug: string): number => {
      const meter = meters.get(slug);
      if (!meter) return 0;
      return meter.aggregation === 'unique_count'
        ? (uniqueByMeter.get(slug) ?? 0)
        : periodValue(meter, totalsByMeter.get(slug));
    };

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
    const unplanned = totals
      .map((t) => t.meter)
      .filter((slug) => !plannedSlugs.has(slug))
      .sort();
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
}
