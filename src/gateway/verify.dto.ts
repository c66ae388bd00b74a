import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsOptional, IsPositive, IsString, Max, MaxLength } from 'class-validator';
import { API_KEY_SCOPES, ApiKeyScope } from '../api-keys/api-key-scopes';
import { MAX_VALUE } from '../metering/event-validation';

export const VERIFY_CODES = [
  'VALID',
  'NOT_FOUND',
  'REVOKED',
  'EXPIRED',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'FORBIDDEN',
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

export class RateLimitStateDto {
  @ApiProperty({ example: 100 }) limit: number;
  @ApiProperty({ example: 99 }) remaining: number;
  @ApiProperty({ description: 'Seconds until a unit comes back', example: 1 }) reset: number;
}

export class QuotaStateDto {
  @ApiProperty({ example: 'api_calls' }) meter: string;
  @ApiProperty({ description: 'Units included this period', example: 1000 }) limit: number;
  @ApiProperty({ example: 958 }) remaining: number;
  @ApiProperty({ description: 'Seconds until the next period', example: 86400 }) reset: number;
}

export class VerifyResultDto {
  @ApiProperty({ example: true }) valid: boolean;
  @ApiProperty({ enum: VERIFY_CODES, example: 'VALID' }) code: VerifyCode;
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Absent for NOT_FOUND, REVOKED and EXPIRED',
  })
  keyId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Absent for NOT_FOUND, REVOKED and EXPIRED' })
  orgId?: string;
  @ApiPropertyOptional({ enum: API_KEY_SCOPES, isArray: true, example: ['verify'] })
  scopes?: ApiKeyScope[];
  @ApiPropertyOptional({ type: RateLimitStateDto }) ratelimit?: RateLimitStateDto;
  @ApiPropertyOptional({
    type: QuotaStateDto,
    description: "With `meter` on a plan's hard quota: the quota after this call",
  })
  quota?: QuotaStateDto;
}

export class VerifyRequestDto {
  @ApiPropertyOptional({
    example: 'api_calls',
    description: 'Record usage of this meter when the key is valid',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  meter?: string;

  @ApiPropertyOptional({
    default: 1,
    example: 1,
    description:
      'Units of `meter` to record (a whole number ≤ 1000 for count meters, at most 2^53 for others)',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  // It becomes the value of a usage event: the same bound as an ingested one.
  @Max(MAX_VALUE, { message: 'cost must be at most 2^53' })
  cost?: number;
}
