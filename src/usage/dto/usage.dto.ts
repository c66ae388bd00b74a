import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ENFORCEMENTS, Enforcement, METER_SLUG } from '../../catalogue/catalogue.types';
import { INSTANT_OR_DATE_RULE, IsInstant } from '../../common/instant';
import { PageOf, PageQueryDto } from '../../common/pagination';
import { PERIOD_PATTERN } from '../../common/period';
import { USAGE_WINDOWS, UsageWindow } from '../usage-bounds';

const RANGE_NOTE = '`to` must be after `from` and at most one calendar year later.';

export class UsageRangeQueryDto {
  @ApiProperty({
    format: 'date-time',
    example: '2026-05-01T00:00:00Z',
    description: `Start (inclusive): ${INSTANT_OR_DATE_RULE}. ${RANGE_NOTE}`,
  })
  @IsInstant({ allowDate: true })
  from: string;

  @ApiProperty({
    format: 'date-time',
    example: '2026-06-01T00:00:00Z',
    description: `End (exclusive): ${INSTANT_OR_DATE_RULE}.`,
  })
  @IsInstant({ allowDate: true })
  to: string;
}

export class UsageQueryDto extends UsageRangeQueryDto {
  @ApiProperty({ example: 'api_calls', description: 'A meter slug' })
  @IsString()
  @Matches(METER_SLUG, { message: 'meter must be a meter slug' })
  meter: string;

  @ApiPropertyOptional({
    enum: USAGE_WINDOWS,
    default: 'day',
    description: 'UTC calendar hours, days or months',
  })
  @IsOptional()
  @IsIn(USAGE_WINDOWS)
  window: UsageWindow = 'day';

  @ApiPropertyOptional({
    example: 'apiKeyId',
    description:
      "`apiKeyId`, `subject`, or one of the meter's `groupBy` keys (a key named like the first two means them)",
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  groupBy?: string;

  @ApiPropertyOptional({
    example: 'customer-42',
    maxLength: 256,
    description: 'Only the usage of this subject',
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  subject?: string;
}

export class UsageSummaryQueryDto {
  @ApiPropertyOptional({
    pattern: '^\\d{4}-\\d{2}$',
    example: '2026-05',
    description: 'A billing period (UTC calendar month). Default: the current one',
  })
  @IsOptional()
  @Matches(PERIOD_PATTERN, {
    message: 'period must be a month written YYYY-MM (years 1970 to 9999)',
  })
  period?: string;
}

export class UsageWindowDto {
  @ApiProperty({ format: 'date-time' }) windowStart: string;
  @ApiProperty({ format: 'date-time', description: 'Exclusive' }) windowEnd: string;
  @ApiProperty({ description: "The meter's aggregation over the window", example: 1200 })
  value: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { apiKeyId: '6f1c2b1e-8a4e-4a57-9a53-3c3a2e0c1d11' },
    description: 'With `groupBy`: the group, `{<groupBy>: value}` (null for events without one)',
  })
  groupBy?: Record<string, string | null>;
}

export class UsageResponseDto {
  @ApiProperty({ example: 'api_calls' }) meter: string;
  @ApiProperty({ enum: USAGE_WINDOWS }) window: UsageWindow;
  @ApiProperty({
    type: [UsageWindowDto],
    description: 'Ordered by windowStart, then group; windows without usage are left out',
  })
  data: UsageWindowDto[];
}

export class UsageSummaryLineDto {
  @ApiProperty({ example: 'api_calls' }) meter: string;
  @ApiProperty({
    description: "The meter's aggregation over the period; 0 when unused",
    example: 425,
  })
  value: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 1000,
    description: "Units included per period by the org's plan; null for a meter it does not list",
  })
  included: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 575,
    description: 'max(0, included - value)',
  })
  remaining: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 42.5,
    description:
      'value / included × 100, rounded to 2 decimals (over 100 past a soft quota); null when the plan does not list the meter or includes 0 units',
  })
  percentUsed: number | null;
  @ApiProperty({ enum: ENFORCEMENTS, nullable: true }) enforcement: Enforcement | null;
}

export class UsageSummaryDto {
  @ApiProperty({ example: '2026-05' }) period: string;
  @ApiProperty({
    type: [UsageSummaryLineDto],
    description:
      "The plan's meters first (in the plan's order), then every other meter used in the period (by slug)",
  })
  data: UsageSummaryLineDto[];
}

export class EventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'api_calls', description: 'Only events of this meter' })
  @IsOptional()
  @IsString()
  @Matches(METER_SLUG, { message: 'type must be a meter slug' })
  type?: string;

  @ApiPropertyOptional({ example: 'customer-42', maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  subject?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-11-01T00:00:00Z',
    description: `Events at or after this time: ${INSTANT_OR_DATE_RULE}`,
  })
  @IsOptional()
  @IsInstant({ allowDate: true })
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-01T00:00:00Z',
    description: `Events before this time: ${INSTANT_OR_DATE_RULE}`,
  })
  @IsOptional()
  @IsInstant({ allowDate: true })
  to?: string;
}

export class EventDto {
  @ApiProperty({ example: 'req-7f3c2a', description: 'The idempotency key it was sent with' })
  id: string;
  @ApiProperty({ example: 'api_calls', description: 'Its meter' }) type: string;
  @ApiProperty({ format: 'date-time' }) time: string;
  @ApiProperty({ type: String, nullable: true, example: 'customer-42' }) subject: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { tokens: 1200 } })
  data: Record<string, unknown>;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The key that sent it',
  })
  apiKeyId: string | null;
  @ApiProperty({ format: 'date-time', description: 'When it was stored' }) receivedAt: string;
}

export class EventPageDto extends PageOf(EventDto) {}
