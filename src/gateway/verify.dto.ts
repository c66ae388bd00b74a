import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsOptional, IsPositive, IsString, MaxLength } from 'class-validator';
import { API_KEY_SCOPES, ApiKeyScope } from '../api-keys/api-key-scopes';

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
  @ApiProperty() limit: number;
  @ApiProperty() remaining: number;
  @ApiProperty({ description: 'Seconds until a unit comes back' }) reset: number;
}

export class VerifyResultDto {
  @ApiProperty() valid: boolean;
  @ApiProperty({ enum: VERIFY_CODES }) code: VerifyCode;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) keyId: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) orgId: string | null;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ type: RateLimitStateDto, nullable: true }) ratelimit: RateLimitStateDto | null;
  @ApiPropertyOptional() quota?: { meter: string; limit: number; remaining: number; reset: number };
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
    description: 'Units of `meter` to record (a whole number ≤ 1000 for count meters)',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  cost?: number;
}
