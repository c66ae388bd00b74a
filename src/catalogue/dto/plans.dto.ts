import { PageOf } from '../../common/pagination';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO4217CurrencyCode,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { RateLimitDto } from '../../limits/rate-limit';
import { ENFORCEMENTS, Enforcement, METER_SLUG, PLAN_CODE } from '../catalogue.types';
import { PriceModel } from '../price-model';
import { IsPriceModel, PRICE_MODEL_DTOS, PRICE_MODEL_SCHEMA } from './price-model.dto';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const MAX_PLAN_METERS = 100;

@ApiExtraModels(...PRICE_MODEL_DTOS)
export class PlanMeterDto {
  @ApiProperty({ example: 'api_calls', description: 'Slug of an existing meter' })
  @IsString()
  @Matches(METER_SLUG, { message: 'meter must be a meter slug' })
  meter: string;

  @ApiProperty({ type: 'integer', minimum: 0, example: 100_000, description: 'Units per month' })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  included: number;

  @ApiProperty({
    enum: ENFORCEMENTS,
    description: '`hard`: refused past `included`; `soft`: accepted and billed as overage',
  })
  @IsIn(ENFORCEMENTS)
  enforcement: Enforcement;

  @ApiProperty({ ...PRICE_MODEL_SCHEMA, description: 'Price of the billable units' })
  @IsPriceModel()
  price: PriceModel;
}

/** Everything a plan has but its code: the body of PUT. */
export class PlanContentDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Pro' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ example: 'USD', description: 'ISO-4217 code' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be 3 upper-case letters' })
  @IsISO4217CurrencyCode({ message: 'currency must be an ISO-4217 code such as USD' })
  currency: string;

  @ApiProperty({ type: 'integer', minimum: 0, example: 4900, description: 'Minor units a month' })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  baseFee: number;

  @ApiProperty({ type: RateLimitDto, description: 'For every API key of the org without its own' })
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit: RateLimitDto;

  @ApiProperty({ type: [PlanMeterDto], maxItems: MAX_PLAN_METERS })
  @IsArray()
  @ArrayMaxSize(MAX_PLAN_METERS)
  @ArrayUnique((m: PlanMeterDto | undefined) => m?.meter, {
    message: 'meters must not list the same meter twice',
  })
  @ValidateNested({ each: true })
  @Type(() => PlanMeterDto)
  meters: PlanMeterDto[];
}

export class UpdatePlanDto extends PlanContentDto {
  @ApiPropertyOptional({
    description: 'Cannot change: if sent, must equal the code in the path',
    example: 'pro',
  })
  @IsOptional()
  @IsString()
  code?: string;
}

export class CreatePlanDto extends PlanContentDto {
  @ApiProperty({ pattern: PLAN_CODE.source, example: 'pro' })
  @IsString()
  @Matches(PLAN_CODE, {
    message:
      'code must start with a lower-case letter, then lower-case letters, digits, "_" or "-", at most 64 characters',
  })
  code: string;
}

export class PublicPlanDto {
  @ApiProperty({ example: 'pro' }) code: string;
  @ApiProperty({ example: 'Pro' }) name: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ type: 'integer', example: 4900 }) baseFee: number;
  @ApiProperty({ type: RateLimitDto }) rateLimit: RateLimitDto;
  @ApiProperty({ type: [PlanMeterDto] }) meters: PlanMeterDto[];
}

export class PlanDto extends PublicPlanDto {
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class PlanPageDto extends PageOf(PlanDto) {}

export class PublicPlanPageDto extends PageOf(PublicPlanDto) {}
