import { PageOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsInstant } from '../../common/instant';
import { RateLimitDto } from '../../limits/rate-limit';
import { API_KEY_SCOPES, ApiKeyScope } from '../api-key-scopes';

export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600;

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'production backend' })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiPropertyOptional({
    enum: API_KEY_SCOPES,
    isArray: true,
    description: 'Default: all three scopes',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes?: ApiKeyScope[];

  @ApiPropertyOptional({ format: 'date-time', description: 'Must be in the future' })
  @IsOptional()
  @IsInstant()
  expiresAt?: string;

  @ApiPropertyOptional({
    type: RateLimitDto,
    description: "Overrides the org plan's rate limit for this key",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;
}

export class RotateApiKeyDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_ROTATION_GRACE_SECONDS,
    default: 0,
    example: 3600,
    description: 'Seconds the old key keeps working',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_ROTATION_GRACE_SECONDS)
  gracePeriodSeconds?: number;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'production backend' }) name: string;
  @ApiProperty({ example: 'mk_live_a1B2', description: 'The first 12 characters of the key' })
  prefix: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ type: RateLimitDto, nullable: true }) rateLimit: RateLimitDto | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The secret. Shown this once: store it now.', example: 'mk_live_…' })
  key: string;
}

export class ApiKeyPageDto extends PageOf(ApiKeyDto) {}
