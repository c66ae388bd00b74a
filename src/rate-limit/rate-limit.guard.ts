import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
  InternalServerErrorException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Response } from 'express';
import { ApiKeyRequest } from '../api-keys/api-key.guard';
import { VerifiedApiKey } from '../api-keys/api-key-verifier.service';
import { setRateLimitHeaders } from './rate-limit-headers';
import {
  LimiterUnavailableError,
  LimitsDecision,
  QuotaCharge,
  QuotaSeed,
  RateDecision,
  RateLimiterService,
} from './rate-limiter.service';

export const rateLimited = () =>
  new HttpException(
    { code: 'rate_limited', message: 'Rate limit exceeded for this API key' },
    HttpStatus.TOO_MANY_REQUESTS,
  );

/**
 * Takes one unit of the key's rate limit (its own, else its org's plan). Guards run in order,
 * so this runs after ApiKeyGuard has verified the key.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limiter: RateLimiterService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ApiKeyRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    if (!request.apiKey)
      throw new InternalServerErrorException('RateLimitGuard must run after ApiKeyGuard');
    const decision = await takeRequestUnit(this.limiter, request.apiKey, response);
    setRateLimitHeaders(response, decision);
    if (!decision.allowed) throw rateLimited();
    return true;
  }
}

/** One unit of the key's limit; a closed limiter answers 503 rather than guessing. */
export async function takeRequestUnit(
  limiter: RateLimiterService,
  key: VerifiedApiKey,
  response: Response,
): Promise<RateDecision> {
  return (await takeLimitsDecision(limiter, key, 1, [], response, async () => 0)).rate;
}

/** The key's rate limit and the given hard quotas in one decision; 503 when the limiter is closed and down. */
export async function takeLimitsDecision(
  limiter: RateLimiterService,
  key: VerifiedApiKey,
  cost: number,
  charges: QuotaCharge[],
  response: Response | undefined,
  seed: QuotaSeed,
): Promise<LimitsDecision> {
  try {
    return await limiter.decide(key.orgId, key.id, key.rateLimit, cost, charges, seed);
  } catch (error) {
    if (!(error instanceof LimiterUnavailableError)) throw error;
    response?.setHeader('Retry-After', '1');
    throw new ServiceUnavailableException({
      code: 'rate_limiter_unavailable',
      message: 'Rate limiting is unavailable; try again shortly',
    });
  }
}
