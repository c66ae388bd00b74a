import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';

/** `limit` requests per `periodSeconds`: a plan's (shared by its org's keys) or a key's own. */
export interface RateLimit {
  limit: number;
  periodSeconds: number;
}

export const MAX_RATE_LIMIT = 1_000_000;
export const MAX_RATE_PERIOD_SECONDS = 86_400;

export class RateLimitDto implements RateLimit {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_RATE_LIMIT, example: 100 })
  @IsInt()
  @Min(1)
  @Max(MAX_RATE_LIMIT)
  limit: number;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_RATE_PERIOD_SECONDS, example: 60 })
  @IsInt()
  @Min(1)
  @Max(MAX_RATE_PERIOD_SECONDS)
  periodSeconds: number;
}

/** Whether `own` lets through no more than `plan` does over time (its rate is not higher). */
export function isNoFasterThan(own: RateLimit, plan: RateLimit): boolean {
  // limit/period compared without division: both sides are small integers, so this is exact.
  return own.limit * plan.periodSeconds <= plan.limit * own.periodSeconds;
}
