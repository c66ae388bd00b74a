import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { PageOf } from '../../common/pagination';
import { PERIOD_PATTERN } from '../../common/period';

const AMOUNT = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
  ],
  description: 'Minor units: an integer, or a decimal string when fractional (exact, unrounded)',
};

export class InvoicePeriodQueryDto {
  @ApiPropertyOptional({
    example: '2026-11',
    description: 'A billing period (UTC calendar month). Default: the current one',
  })
  @IsOptional()
  @Matches(PERIOD_PATTERN, {
    message: 'period must be a month written YYYY-MM (years 1970 to 9999)',
  })
  period?: string;
}

export class InvoiceTierDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 1000 }) upTo: number | null;
  @ApiProperty({ description: 'Billable units charged in this tier', example: 1000 })
  quantity: number;
  @ApiProperty({ ...AMOUNT, example: '0.5' }) unitAmount: number | string;
  @ApiProperty({ ...AMOUNT, example: 0 }) flatAmount: number | string;
  @ApiProperty({ ...AMOUNT, example: 500 }) amount: number | string;
}

export class InvoiceLineDto {
  @ApiProperty({ example: 'api_calls' }) meter: string;
  @ApiProperty({ description: "The meter's aggregation over the period", example: 12_500 })
  quantity: number;
  @ApiProperty({ example: 10_000 }) included: number;
  @ApiProperty({ description: 'max(0, quantity − included)', example: 2_500 }) billable: number;
  @ApiProperty({ description: 'Minor units, rounded half-up once', example: 1_250 })
  amount: number;
  @ApiPropertyOptional({ type: [InvoiceTierDto], description: 'Graduated and volume prices' })
  tiers?: InvoiceTierDto[];
}

export class InvoicePlanDto {
  @ApiProperty({ example: 'pro' }) code: string;
  @ApiProperty({ example: 'Pro' }) name: string;
}

export class InvoiceDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Finalized invoices only' }) id?: string;
  @ApiProperty({ format: 'uuid' }) orgId: string;
  @ApiProperty({ example: '2026-11' }) period: string;
  @ApiProperty({ enum: ['draft', 'finalized'] }) status: 'draft' | 'finalized';
  @ApiPropertyOptional({ format: 'date-time' }) finalizedAt?: string;
  @ApiProperty({ type: InvoicePlanDto, description: "The org's plan at the end of the period" })
  plan: InvoicePlanDto;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ example: 4_900, description: 'Minor units' }) baseFee: number;
  @ApiProperty({ type: [InvoiceLineDto] }) lines: InvoiceLineDto[];
  @ApiProperty({ example: 1_250, description: 'Σ line amounts' }) subtotal: number;
  @ApiProperty({ example: 6_150, description: 'baseFee + subtotal' }) total: number;
}

export class InvoicePageDto extends PageOf(InvoiceDto) {}
