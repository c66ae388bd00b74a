import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { DECIMAL_AMOUNT, PRICE_MODELS, priceModelProblems } from '../price-model';

/**
 * The price model is a tagged union, validated as a whole by `priceModelProblems` (shared with
 * the unit tests); the classes below only describe it to Swagger.
 */
export function IsPriceModel(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isPriceModel',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => priceModelProblems(value).length === 0,
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} is not a valid price model: ${priceModelProblems(args.value).join('; ')}`,
      },
    });
}

const AMOUNT_SCHEMA = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: DECIMAL_AMOUNT.source },
  ],
  description: 'Minor units: a non-negative integer, or a decimal string such as "0.5"',
};

export class PriceTierDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    example: 1000,
    description: 'Inclusive upper bound; strictly increasing; null in (and only in) the last tier',
  })
  upTo: number | null;

  @ApiProperty({ ...AMOUNT_SCHEMA, example: '0.5' }) unitAmount: number | string;
  @ApiPropertyOptional({ ...AMOUNT_SCHEMA, example: 0 }) flatAmount?: number | string;
}

export class FlatPriceDto {
  @ApiProperty({ enum: ['flat'] }) model: 'flat';
  @ApiProperty({ ...AMOUNT_SCHEMA, example: '0.1' }) unitAmount: number | string;
}

export class GraduatedPriceDto {
  @ApiProperty({ enum: ['graduated'] }) model: 'graduated';
  @ApiProperty({ type: [PriceTierDto], minItems: 1 }) tiers: PriceTierDto[];
}

export class VolumePriceDto {
  @ApiProperty({ enum: ['volume'] }) model: 'volume';
  @ApiProperty({ type: [PriceTierDto], minItems: 1 }) tiers: PriceTierDto[];
}

export class PackagePriceDto {
  @ApiProperty({ enum: ['package'] }) model: 'package';
  @ApiProperty({ type: 'integer', minimum: 1, example: 1000 }) packageSize: number;
  @ApiProperty({ ...AMOUNT_SCHEMA, example: 200 }) packageAmount: number | string;
}

export const PRICE_MODEL_DTOS = [FlatPriceDto, GraduatedPriceDto, VolumePriceDto, PackagePriceDto];

export const PRICE_MODEL_SCHEMA = {
  oneOf: PRICE_MODEL_DTOS.map((dto) => ({ $ref: getSchemaPath(dto) })),
  discriminator: {
    propertyName: 'model',
    mapping: Object.fromEntries(
      PRICE_MODELS.map((model, i) => [model, getSchemaPath(PRICE_MODEL_DTOS[i])]),
    ),
  },
};
