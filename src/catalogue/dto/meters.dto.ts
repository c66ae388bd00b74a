import { PageOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateIf,
} from 'class-validator';
import {
  AGGREGATIONS_WITH_VALUE,
  DATA_KEY,
  METER_AGGREGATIONS,
  METER_SLUG,
  MeterAggregation,
} from '../catalogue.types';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const MAX_GROUP_BY = 16;

const DATA_KEY_RULE = 'letters, digits and underscores, not starting with a digit, at most 64';

export class CreateMeterDto {
  @ApiProperty({ pattern: METER_SLUG.source, example: 'tokens' })
  @IsString()
  @Matches(METER_SLUG, {
    message:
      'slug must start with a lower-case letter, then lower-case letters, digits or underscores, at most 64 characters',
  })
  slug: string;

  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Tokens' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;

  @IsIn(METER_AGGREGATIONS)
  aggregation: MeterAggregation;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    pattern: DATA_KEY.source,
    example: 'tokens',
    description:
      'The key of the event `data` that is aggregated. Required for every aggregation but `count` ' +
      '(for `unique_count`, the key whose distinct values are counted)',
  })
  @ValidateIf(
    (o: CreateMeterDto) =>
      AGGREGATIONS_WITH_VALUE.includes(o.aggregation) ||
      (o.valueProperty !== undefined && o.valueProperty !== null),
  )
  @IsDefined({
    message: `valueProperty is required for the ${AGGREGATIONS_WITH_VALUE.join(', ')} aggregations`,
  })
  @IsString()
  @Matches(DATA_KEY, { message: `valueProperty must be ${DATA_KEY_RULE}` })
  valueProperty?: string | null;

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_GROUP_BY,
    example: ['model'],
    description: 'Keys of the event `data` that usage may be grouped by. Default: none',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_GROUP_BY)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(DATA_KEY, { each: true, message: `each value in groupBy must be ${DATA_KEY_RULE}` })
  groupBy?: string[];
}

/** PUT replaces `name` and `groupBy`; the other fields may be sent back unchanged only. */
export class UpdateMeterDto extends PickType(CreateMeterDto, ['name', 'groupBy'] as const) {
  @ApiPropertyOptional({
    description: 'Cannot change: if sent, must equal the current slug',
    example: 'tokens',
  })
  @IsOptional()
  @IsString()
  slug?: string;

  @ApiPropertyOptional({
    enum: METER_AGGREGATIONS,
    description: 'Cannot change: if sent, must equal the current aggregation',
  })
  @IsOptional()
  @IsString()
  aggregation?: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'tokens',
    description: 'Cannot change: if sent, must equal the current value property',
  })
  @IsOptional()
  @IsString()
  valueProperty?: string | null;
}

export class MeterDto {
  @ApiProperty({ example: 'tokens' }) slug: string;
  @ApiProperty({ example: 'Tokens' }) name: string;
  @ApiProperty({ enum: METER_AGGREGATIONS }) aggregation: MeterAggregation;
  @ApiProperty({ type: String, nullable: true, example: 'tokens' }) valueProperty: string | null;
  @ApiProperty({ type: [String], example: ['model'] }) groupBy: string[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class MeterPageDto extends PageOf(MeterDto) {}
