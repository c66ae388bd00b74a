import { Injectable } from '@nestjs/common';
import { Response } from 'express';
import { IncomingHttpHeaders } from 'node:http';
import { extractApiKey } from '../api-keys/api-key-format';
import { ApiKeyUsageTracker } from '../api-keys/api-key-usage.tracker';
import { ApiKeyVerifier, KeyCheck, VerifiedApiKey } from '../api-keys/api-key-verifier.service';
import { setRateLimitHeaders } from '../rate-limit/rate-limit-headers';
import { takeRequestUnit } from '../rate-limit/rate-limit.guard';
import { RateDecision, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { VerifyCode, VerifyResultDto } from './verify.dto';

const CODES: Record<Exclude<KeyCheck['status'], 'valid'>, VerifyCode> = {
  not_found: 'NOT_FOUND',
  revoked: 'REVOKED',
  expired: 'EXPIRED',
};

@Injectable()
export class GatewayService {
  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly usage: ApiKeyUsageTracker,
    private readonly limiter: RateLimiterService,
  ) {}

  /** The gateway call: is this key good for one more request right now? */
  async verify(headers: IncomingHttpHeaders, response: Response): Promise<VerifyResultDto> {
    const result = await this.verifier.check(extractApiKey(headers));
    if (result.status !== 'valid') return verdict(CODES[result.status], result.key);
    const key = result.key;
    if (!key.scopes.includes('verify')) return verdict('FORBIDDEN', key);
    const decision = await takeRequestUnit(this.limiter, key, response);
    setRateLimitHeaders(response, decision);
    if (!decision.allowed) return verdict('RATE_LIMITED', key, decision);
    this.usage.noteUse(key.id);
    return verdict('VALID', key, decision);
  }
}

function verdict(code: VerifyCode, key?: VerifiedApiKey, decision?: RateDecision): VerifyResultDto {
  return {
    valid: code === 'VALID',
    code,
    keyId: key?.id ?? null,
    orgId: key?.orgId ?? null,
    scopes: key?.scopes ?? [],
    ratelimit: decision
      ? { limit: decision.limit, remaining: decision.remaining, reset: decision.resetSeconds }
      : key
        ? { limit: key.rateLimit.limit, remaining: key.rateLimit.limit, reset: 0 }
        : null,
  };
}
