import { Controller, Get, Logger, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { CurrentMembership, Roles } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import { EVENT_CSV_COLUMNS } from './csv';
import {
  UsageQueryDto,
  UsageRangeQueryDto,
  UsageResponseDto,
  UsageSummaryDto,
  UsageSummaryQueryDto,
} from './dto/usage.dto';
import { EventsReportService, MAX_EXPORTS_PER_ORG } from './events-report.service';
import { IdleConsumerError } from './pull-stream';
import { UsageService } from './usage.service';
import { ApiErrors } from '../common/api-errors';

/** Every report query has a time limit (REPORT_TIMEOUT_MS). */
export const REPORT_TIMEOUT = {
  503: '`report_timeout` (past REPORT_TIMEOUT_MS) or `database_unavailable`, with `Retry-After`',
};

export const SUMMARY_DESCRIPTION =
  "One line per meter of the org's plan (value 0 when unused), with its quota: `included`, " +
  '`remaining` = max(0, included − value), `percentUsed` = value / included × 100 rounded to 2 ' +
  'decimals (above 100 past a soft quota; null when the plan includes 0 units) and `enforcement`. ' +
  'Then every other meter used in the period, with those four fields null. Values follow each ' +
  "meter's aggregation over the UTC calendar month.";

@ApiTags('usage')
@Controller('orgs/:orgId/usage')
export class UsageController {
  private readonly logger = new Logger(UsageController.name);

  constructor(
    private readonly usage: UsageService,
    private readonly events: EventsReportService,
  ) {}

  @Get()
  @Roles('member')
  @ApiOperation({
    operationId: 'getUsage',
    summary: "A meter's usage per UTC hour, day or month, optionally split by a group",
    description:
      'Usage is kept in hourly rollups, so the range is widened to whole hours: `from` is rounded ' +
      'down and `to` rounded up to the hour. Windows are UTC calendar hours, days or months; the ' +
      'first and the last are clipped to that range (their `windowStart`/`windowEnd` say so). ' +
      "Each value is the meter's aggregation over its window (count, sum, min, max, avg, latest " +
      'or unique_count); windows without usage are left out.',
  })
  @ApiOkResponse({ type: UsageResponseDto })
  @ApiErrors({
    400: '`validation_failed` (bad or missing parameters, `to` not after `from`, more than a year, a groupBy the meter does not have), `unknown_meter`, or `too_many_rows` (more than 10,000 windows × groups: ask for a coarser window or a shorter range)',
    ...REPORT_TIMEOUT,
  })
  windows(
    @CurrentMembership() membership: Membership,
    @Query() query: UsageQueryDto,
  ): Promise<UsageResponseDto> {
    return this.usage.windows(membership.orgId, query);
  }

  @Get('summary')
  @Roles('member')
  @ApiOperation({
    operationId: 'getUsageSummary',
    summary: 'Usage of every meter in a billing period, against the plan',
    description: SUMMARY_DESCRIPTION,
  })
  @ApiOkResponse({ type: UsageSummaryDto })
  @ApiErrors({ 400: '`validation_failed`: period is not YYYY-MM', ...REPORT_TIMEOUT })
  summary(
    @CurrentMembership() membership: Membership,
    @Query() query: UsageSummaryQueryDto,
  ): Promise<UsageSummaryDto> {
    return this.usage.summary(membership.orgId, query.period);
  }

  @Get('export')
  @Roles('member')
  @ApiOperation({
    operationId: 'exportUsage',
    summary: "The org's raw events in [from, to) as CSV, streamed, ordered by time",
    description:
      `RFC 4180 CSV (CRLF line ends, fields quoted when needed) with a header row: ` +
      `${EVENT_CSV_COLUMNS.join(', ')}. \`data\` is compact JSON; times are ISO-8601 UTC. ` +
      'The range is exact (no rounding), at most one year. Served as an attachment named ' +
      '`usage-<orgId>-<from>-<to>.csv`, times in ISO-8601 basic format (20260501T000000Z). ' +
      "Cells a spreadsheet would run as a formula start with `'`. At most " +
      `${MAX_EXPORTS_PER_ORG} exports of an org run at once (429 \`too_many_exports\`); a client ` +
      'that reads nothing for 30 seconds is cut off.',
  })
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: 'The CSV file',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrors({
    400: '`validation_failed`: bad from/to, `to` not after `from`, or more than a year',
    429: `\`too_many_exports\`: ${MAX_EXPORTS_PER_ORG} exports of the org are running`,
    ...REPORT_TIMEOUT,
  })
  async export(
    @CurrentMembership() membership: Membership,
    @Query() query: UsageRangeQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const csv = await this.events.exportCsv(membership.orgId, query);
    response.status(200);
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', `attachment; filename="${csv.filename}"`);
    response.setHeader('Cache-Control', 'no-store');
    try {
      // Backpressure end to end; either side failing destroys the other (and frees the cursor).
      await pipeline(csv.body, response);
    } catch (error) {
      // Headers are out: all that is left is to cut the response short, which pipeline did.
      if (error instanceof IdleConsumerError) this.logger.warn('Usage export cut off: idle client');
      else if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        this.logger.error({ err: error }, 'Usage export failed mid-stream');
    }
  }
}
